"""The learner's pages: my courses, lessons, the quiz and its results, and the trainer's deck."""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, send_from_directory,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.security import safe_join

from lms import db
from lms.catalogue import Course
from lms.catalogue.loader import LANGUAGE
from lms.errors import InvalidInput
from lms.forms import ConfirmForm, show_error
from lms.guests import browser
from lms.guests import services as guests
from lms.guests.forms import CertificateNameForm
from lms.i18n import choose_language
from lms.learn import offline, services
from lms.translate.services import language_status as translation_status
from lms.models import Role
from lms.pagination import Page, page_number
from lms.people.scope import holds_role_anywhere, signed_in_organisations
from lms.site.services import current_organisation_id
from lms.training.services import plan_for

blueprint = Blueprint("learn", __name__, template_folder="templates")
SLIDES_PER_PAGE = 6
PRESENTERS = (Role.TRAINER.value, Role.ORG_ADMIN.value, Role.CHAMPION.value)
# What an open course shows to someone without an account; the rest needs signing in.
OPEN_ENDPOINTS = frozenset({"learn.course", "learn.lesson", "learn.lesson_read", "learn.asset", "learn.offline_bundle",
                            "learn.quiz_start", "learn.quiz", "learn.result", "learn.certificate_name"})


@blueprint.before_request
def require_sign_in():
    if current_user.is_authenticated:
        return None
    if request.endpoint in OPEN_ENDPOINTS:
        course = catalogue().get((request.view_args or {}).get("course_id"))
        if course is not None and course.open:
            return None
    return current_app.login_manager.unauthorized()


def catalogue():
    return current_app.extensions["lms.catalogue"]


def _learner() -> services.Learner | None:
    """The person signed in, or the guest learner this browser is learning as."""
    if current_user.is_authenticated:
        return services.Learner(user_id=current_user.id)
    guest = browser.current_guest(db.get_session())
    return services.Learner(guest_id=guest.id) if guest is not None else None


def _learner_or_new_guest() -> tuple[services.Learner, bool]:
    """The learner, or a new guest learner for someone with neither an account nor a code (only
    open courses get this far without signing in); whether the guest is new."""
    learner = _learner()
    if learner is not None:
        return learner, False
    guest = guests.start(db.get_session())
    browser.remember(guest)
    return services.Learner(guest_id=guest.id), True


def _state(course: Course) -> services.CourseState:
    learner = _learner()
    if learner is None:  # someone reading an open course who has not started it
        return services.CourseState(course, services.NOT_STARTED)
    return services.course_state(db.get_session(), learner, course, refresher_days=_refresher_days())


def _then_show_code(address: str, new_guest: bool) -> str:
    """A guest who has just been given a reference code sees it (and can keep it) first."""
    return url_for("guests.card", next=address) if new_guest else address


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
    state = _state(course)
    language, status = _language(course)
    return render_template("learn/course.html", course=course, state=state, language=language, status=status,
                           form=ConfirmForm())


@blueprint.get("/courses/<course_id>/lessons/<slug>")
def lesson(course_id: str, slug: str):
    course = _course(course_id)
    if slug not in course.module_slugs:
        abort(404)
    language, status = _language(course)
    module, fell_back = course.module(slug, language)
    position = course.module_slugs.index(slug)
    state = _state(course)
    return render_template(
        "learn/lesson.html", course=course, module=module, fell_back=fell_back, language=language, status=status,
        position=position, state=state,
        previous=course.module_slugs[position - 1] if position > 0 else None,
        next=course.module_slugs[position + 1] if position + 1 < len(course.module_slugs) else None,
    )


@blueprint.post("/courses/<course_id>/lessons/<slug>/read")
@browser.limit_new_guests
def lesson_read(course_id: str, slug: str):
    course = _course(course_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if slug not in course.module_slugs:
        abort(404)
    database = db.get_session()
    learner, new_guest = _learner_or_new_guest()
    services.mark_lesson_read(database, learner, course, slug)
    database.commit()
    position = course.module_slugs.index(slug)
    if position + 1 < len(course.module_slugs):
        onward = url_for("learn.lesson", course_id=course.id, slug=course.module_slugs[position + 1], **kept_language())
    else:
        onward = url_for("learn.course", course_id=course.id, _anchor="quiz", **kept_language())
    return redirect(_then_show_code(onward, new_guest))


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


@blueprint.get("/courses/<course_id>/offline.html")
def offline_bundle(course_id: str):
    """Every lesson on one page, with nothing that needs the network, to save and read offline."""
    course = _course(course_id)
    language, status = _language(course)
    base_url = current_app.config["BASE_URL"]
    response = current_app.make_response(render_template(
        "learn/offline.html", course=course, language=language, status=status, stylesheet=offline.stylesheet(),
        lessons=offline.lessons(course, language, base_url),
        course_address=base_url.rstrip("/") + url_for("learn.course", course_id=course.id)))
    response.headers["Content-Disposition"] = f'attachment; filename="{course.id}-{language}.html"'
    # The page carries its own stylesheet and images; as served, it may load nothing else.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return response


# --- the quiz -----------------------------------------------------------------------------

@blueprint.route("/courses/<course_id>/quiz", methods=["GET", "POST"])
@browser.limit_new_guests
def quiz_start(course_id: str):
    course = _course(course_id)
    database = db.get_session()
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            learner, new_guest = _learner_or_new_guest()
            attempt = services.start_attempt(database, learner, course, choose_language())
        except InvalidInput as problem:
            database.rollback()
            flash(str(problem.message))
            return redirect(url_for("learn.course", course_id=course.id))
        database.commit()
        return redirect(_then_show_code(url_for("learn.quiz", course_id=course.id, attempt_id=attempt.id), new_guest))
    state = _state(course)
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
    learner = _learner()
    if learner is None:
        abort(404)
    attempt = services.get_attempt(database, learner, course, attempt_id)
    language, status = _language(course)
    form = ConfirmForm()
    answers: dict[str, list[str]] = {}
    problem = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            answers = _answers_from_form(request.form)
            services.submit_attempt(database, learner, course, attempt.id, answers,
                                    organisation_id=_current_organisation_id() if learner.user_id else None)
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
    return render_result(_course(course_id), attempt_id)


def render_result(course: Course, attempt_id: int, *, name_form=None):
    """The result page; a guest who passed is asked for the name to print on the certificate."""
    database = db.get_session()
    learner = _learner()
    if learner is None:
        abort(404)
    attempt = services.get_attempt(database, learner, course, attempt_id)
    if attempt.submitted_at is None:
        return redirect(url_for("learn.quiz", course_id=course.id, attempt_id=attempt.id))
    language, status = _language(course)
    questions = services.attempt_questions(course, attempt, language)
    certificate = services.certificate_of_attempt(database, attempt)
    guest = browser.current_guest(database) if learner.guest_id is not None else None
    if guest is not None and attempt.passed and name_form is None:
        name_form = CertificateNameForm(name=guest.name or None)
    return render_template("learn/result.html", course=course, attempt=attempt, questions=questions,
                           certificate=certificate, guest=guest, name_form=name_form,
                           form=ConfirmForm(), language=language, status=status)


@blueprint.post("/courses/<course_id>/quiz/<int:attempt_id>/certificate-name")
def certificate_name(course_id: str, attempt_id: int):
    """A guest learner who passed gives the name to print; the certificate is then issued."""
    course = _course(course_id)
    database = db.get_session()
    guest = None if current_user.is_authenticated else browser.current_guest(database)
    if guest is None:
        abort(404)
    form = CertificateNameForm()
    if form.validate_on_submit():
        try:
            guests.name_certificate(database, guest, course, attempt_id, form.name.data)
        except InvalidInput as problem:
            database.rollback()
            show_error(form, problem)
        else:
            database.commit()
            return redirect(url_for("learn.result", course_id=course.id, attempt_id=attempt_id))
    return render_result(course, attempt_id, name_form=form), 400


# --- the trainer's deck -------------------------------------------------------------------

@blueprint.app_template_global("may_present")
def _may_present() -> bool:
    """Trainers, champions and admins may show a course's slides and notes."""
    return current_user.is_authenticated and holds_role_anywhere(db.get_session(), current_user, PRESENTERS)


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
