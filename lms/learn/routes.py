"""The learner's pages: my courses, lessons, the quiz and its results, and the trainer's deck."""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, send_from_directory,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.security import safe_join

from lms import db
from lms.catalogue import Course
from lms.catalogue.loader import LANGUAGE
from lms.errors import InvalidInput
from lms.forms import ConfirmForm
from lms.i18n import choose_language
from lms.learn import services
from lms.translate.services import language_status as translation_status
from lms.models import Role
from lms.pagination import Page, page_number
from lms.people.scope import holds_role_anywhere, signed_in_organisations
from lms.site.services import current_organisation_id
from lms.training.services import plan_for

blueprint = Blueprint("learn", __name__, template_folder="templates")
SLIDES_PER_PAGE = 6
PRESENTERS = (Role.TRAINER.value, Role.ORG_ADMIN.value, Role.CHAMPION.value)


@blueprint.before_request
@login_required
def require_sign_in():
    return None


def catalogue():
    return current_app.extensions["lms.catalogue"]


def _course(course_id: str) -> Course:
    course = catalogue().get(course_id)
    if course is None:
        abort(404)
    return course


def _language(course: Course) -> tuple[str, str]:
    """(language to show the content in, its status): ?lang=en reads the English original."""
    asked = request.args.get("lang") or choose_language()
    language = services.content_language(course, asked)
    return language, translation_status(db.get_session(), course, language)


@blueprint.app_template_global("kept_language")
def kept_language() -> dict[str, str]:
    """?lang=… chosen on a page (the English original, or a translation), for the links and
    forms that lead on through the course, so "Next lesson" stays in the language being read."""
    asked = request.args.get("lang", "")
    return {"lang": asked} if LANGUAGE.fullmatch(asked) else {}


def _current_organisation_id() -> int | None:
    return current_organisation_id(session, signed_in_organisations())


def _refresher_days() -> int:
    return current_app.config["REFRESHER_DAYS"]


@blueprint.get("/courses")
def my_courses():
    database = db.get_session()
    plan = plan_for(database, current_user.id, _current_organisation_id(), catalogue().all())
    states = services.course_states(database, current_user.id, plan.offered, refresher_days=_refresher_days())
    # Required courses first, soonest deadline first; the rest keep the catalogue's order.
    states.sort(key=lambda state: (state.course.id not in plan.due_days,
                                   plan.due_days.get(state.course.id, 0)))
    return render_template("learn/my_courses.html", states=states, plan=plan, language=choose_language())


@blueprint.get("/courses/<course_id>")
def course(course_id: str):
    course = _course(course_id)
    state = services.course_state(db.get_session(), current_user.id, course, refresher_days=_refresher_days())
    language, status = _language(course)
    return render_template("learn/course.html", course=course, state=state, language=language, status=status)


@blueprint.get("/courses/<course_id>/lessons/<slug>")
def lesson(course_id: str, slug: str):
    course = _course(course_id)
    if slug not in course.module_slugs:
        abort(404)
    language, status = _language(course)
    module, fell_back = course.module(slug, language)
    position = course.module_slugs.index(slug)
    state = services.course_state(db.get_session(), current_user.id, course, refresher_days=_refresher_days())
    return render_template(
        "learn/lesson.html", course=course, module=module, fell_back=fell_back, language=language, status=status,
        position=position, state=state,
        previous=course.module_slugs[position - 1] if position > 0 else None,
        next=course.module_slugs[position + 1] if position + 1 < len(course.module_slugs) else None,
    )


@blueprint.post("/courses/<course_id>/lessons/<slug>/read")
def lesson_read(course_id: str, slug: str):
    course = _course(course_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if slug not in course.module_slugs:
        abort(404)
    database = db.get_session()
    services.mark_lesson_read(database, current_user.id, course, slug)
    database.commit()
    position = course.module_slugs.index(slug)
    if position + 1 < len(course.module_slugs):
        return redirect(url_for("learn.lesson", course_id=course.id, slug=course.module_slugs[position + 1], **kept_language()))
    return redirect(url_for("learn.course", course_id=course.id, _anchor="quiz", **kept_language()))


@blueprint.get("/courses/<course_id>/assets/<path:filename>")
def asset(course_id: str, filename: str):
    course = _course(course_id)
    folder = course.path / "assets"
    if safe_join(str(folder), filename) is None:
        abort(404)
    response = send_from_directory(folder, filename, max_age=86400)
    if filename.lower().endswith(".svg"):
        # An SVG opened on its own must not run script.
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


# --- the quiz -----------------------------------------------------------------------------

@blueprint.route("/courses/<course_id>/quiz", methods=["GET", "POST"])
def quiz_start(course_id: str):
    course = _course(course_id)
    database = db.get_session()
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            attempt = services.start_attempt(database, current_user.id, course, choose_language())
        except InvalidInput as problem:
            flash(str(problem.message))
            return redirect(url_for("learn.course", course_id=course.id))
        database.commit()
        return redirect(url_for("learn.quiz", course_id=course.id, attempt_id=attempt.id))
    state = services.course_state(database, current_user.id, course, refresher_days=_refresher_days())
    return render_template("learn/quiz_start.html", course=course, state=state, form=form, language=_language(course)[0])


def _answers_from_form(form) -> dict[str, list[str]]:
    answers: dict[str, list[str]] = {}
    for key in form:
        if key == "csrf_token":
            continue
        if not key.startswith("q-"):
            raise services.BadSubmission(_("The form sent a field this quiz does not have."))
        answers[key[2:]] = [value for value in form.getlist(key) if value]
    return answers


@blueprint.route("/courses/<course_id>/quiz/<int:attempt_id>", methods=["GET", "POST"])
def quiz(course_id: str, attempt_id: int):
    course = _course(course_id)
    database = db.get_session()
    attempt = services.get_attempt(database, current_user.id, course, attempt_id)
    language, status = _language(course)
    form = ConfirmForm()
    answers: dict[str, list[str]] = {}
    problem = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            answers = _answers_from_form(request.form)
            services.submit_attempt(database, current_user.id, course, attempt.id, answers,
                                    organisation_id=_current_organisation_id())
        except services.Unanswered as unanswered:
            problem = unanswered
        except (services.AttemptFinished, services.CourseChanged, services.BadSubmission) as refused:
            database.rollback()
            return render_template("learn/quiz_refused.html", course=course, attempt=attempt,
                                   message=str(refused.message), language=language), 400
        else:
            database.commit()
            return redirect(url_for("learn.result", course_id=course.id, attempt_id=attempt.id))
    elif attempt.submitted_at is not None:
        return redirect(url_for("learn.result", course_id=course.id, attempt_id=attempt.id))
    elif attempt.course_version != course.version:
        return render_template("learn/quiz_refused.html", course=course, attempt=attempt, language=language,
                               message=str(services.CourseChanged().message)), 409
    questions = services.attempt_questions(course, attempt, language)
    return render_template("learn/quiz.html", course=course, attempt=attempt, questions=questions, answers=answers,
                           problem=problem, form=form, language=language, status=status), 400 if problem else 200


@blueprint.get("/courses/<course_id>/quiz/<int:attempt_id>/result")
def result(course_id: str, attempt_id: int):
    course = _course(course_id)
    database = db.get_session()
    attempt = services.get_attempt(database, current_user.id, course, attempt_id)
    if attempt.submitted_at is None:
        return redirect(url_for("learn.quiz", course_id=course.id, attempt_id=attempt.id))
    language, status = _language(course)
    questions = services.attempt_questions(course, attempt, language)
    return render_template("learn/result.html", course=course, attempt=attempt, questions=questions,
                           certificate=services.certificate_of_attempt(database, attempt),
                           form=ConfirmForm(), language=language, status=status)


# --- the trainer's deck -------------------------------------------------------------------

@blueprint.app_template_global("may_present")
def _may_present() -> bool:
    """Trainers, champions and admins may show a course's slides and notes."""
    return holds_role_anywhere(db.get_session(), current_user, PRESENTERS)


@blueprint.get("/courses/<course_id>/slides")
def slides(course_id: str):
    course = _course(course_id)
    if not _may_present():
        abort(404)
    language, status = _language(course)
    deck = course.deck(language)
    # A few slides a page keeps each page light on a phone; each page still prints whole.
    number = page_number(request.args.get("page"))
    pages = max(1, -(-len(deck) // SLIDES_PER_PAGE))
    number = min(number, pages)
    first = (number - 1) * SLIDES_PER_PAGE
    page = Page(items=deck[first:first + SLIDES_PER_PAGE], number=number, per_page=SLIDES_PER_PAGE, total=len(deck))
    return render_template("learn/slides.html", course=course, page=page, first=first, count=len(deck),
                           language=language, status=status)


@blueprint.get("/courses/<course_id>/slides/<int:number>")
def slide(course_id: str, number: int):
    course = _course(course_id)
    if not _may_present():
        abort(404)
    language, status = _language(course)
    deck = course.deck(language)
    if not 1 <= number <= len(deck):
        abort(404)
    return render_template("learn/slide.html", course=course, slide=deck[number - 1], number=number, count=len(deck),
                           language=language, status=status)
