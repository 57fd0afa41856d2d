"""Trainers' sessions: the list, one session's page, scheduling, changing, cancelling, and
calendar files. Thin: each route reads the form, calls a service and renders."""
from __future__ import annotations

import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request, send_file,
                   url_for)
from flask import session as browser_session  # this module has a view named session
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext, refresh
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from lms import db, jobs
from lms.certify import batches
from lms.certify.routes import send_certificate
from lms.db import utcnow
from lms.errors import InvalidInput
from lms.forms import ConfirmForm, form_status, show_error
from lms.extensions import limiter
from lms.guests import reference
from lms.i18n import SESSION_KEY as LOCALE_KEY
from lms.i18n import available_locales, choose_language, language_name
from lms.reports.exports import csv_chunks, neutralise
from lms.models import Attendance, User
from lms.workshops import calendar, evaluation, presenter, register, services, slides_pdf
from lms.workshops.forms import AddAttendeeForm, CancelForm, CheckInCodeForm, EvaluationForm, WalkInForm, WorkshopForm

blueprint = Blueprint("workshops", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/workshops/static")


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _catalogue():
    return current_app.extensions["lms.catalogue"]


def _title(course_id: str, language: str) -> str:
    course = _catalogue().get(course_id)
    return course.title(language) if course else course_id


def _workshop_in_scope(organisation_id: int, workshop_id: int):
    """The database session, the user's scope and the session they asked for (404 otherwise)."""
    database = db.get_session()
    scope = services.sessions_scope(database, current_user, organisation_id)
    return database, scope, services.get_workshop(database, scope, workshop_id)


def _workshop_and_course(organisation_id: int, workshop_id: int):
    """As _workshop_in_scope, with the session's course (404 if it is no longer installed)."""
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    course = _catalogue().get(workshop.course_id)
    if course is None:
        abort(404)
    return database, scope, workshop, course


def _form(database, scope, form: WorkshopForm) -> WorkshopForm:
    language = choose_language()
    courses = services.session_courses(database, scope.organisation_id, _catalogue().all())
    codes = sorted({code for course in courses for code in services.deck_languages(course)}, key=lambda c: (c != "en", c))
    form.fill_choices([(course.id, course.title(language)) for course in courses],
                      [(code, language_name(code)) for code in codes],
                      database.scalars(scope.teams()).all(), services.trainers(database, scope), current_user.id)
    return form


def _edit_page(scope, form: WorkshopForm, workshop=None):
    return render_template("workshops/edit.html", organisation=scope.organisation, form=form, workshop=workshop,
                           may_choose_trainer=scope.can_manage), form_status(form)


@blueprint.get("/org/<int:organisation_id>/sessions")
@login_required
def sessions(organisation_id: int):
    database = db.get_session()
    scope = services.sessions_scope(database, current_user, organisation_id)
    listing = services.listing(database, scope, utcnow())
    return render_template("workshops/list.html", organisation=scope.organisation, listing=listing,
                           title_of=lambda w: _title(w.course_id, choose_language()), zone=_zone(),
                           feed_url=_feed_url(current_user))


def _draw_decks_ahead(course_id: str, language: str) -> None:
    course = _catalogue().get(course_id)
    if course is not None and slides_pdf.decks_missing(current_app, course, language):
        jobs.enqueue(current_app._get_current_object(), slides_pdf.draw_decks, course_id, language)


@blueprint.route("/org/<int:organisation_id>/sessions/new", methods=["GET", "POST"])
@login_required
def schedule(organisation_id: int):
    database = db.get_session()
    scope = services.sessions_scope(database, current_user, organisation_id)
    form = _form(database, scope, WorkshopForm())
    if form.validate_on_submit():
        try:
            workshop = services.schedule(database, scope, current_user, _catalogue().all(), form.plan(), _zone())
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            _draw_decks_ahead(workshop.course_id, workshop.language)
            flash(_("The session is scheduled."))
            return redirect(url_for("workshops.session", organisation_id=organisation_id, workshop_id=workshop.id))
    return _edit_page(scope, form)


@blueprint.get("/org/<int:organisation_id>/sessions/<int:workshop_id>")
@login_required
def session(organisation_id: int, workshop_id: int):
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    return render_template("workshops/session.html", organisation=scope.organisation, workshop=workshop,
                           title=_title(workshop.course_id, choose_language()), zone=_zone(),
                           may_change=services.may_still_change(scope, workshop),
                           confirm_form=ConfirmForm())


@blueprint.route("/org/<int:organisation_id>/sessions/<int:workshop_id>/edit", methods=["GET", "POST"])
@login_required
def edit(organisation_id: int, workshop_id: int):
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    if not services.may_still_change(scope, workshop):
        abort(403)
    plan = services.plan_of(workshop, _zone())
    form = _form(database, scope, WorkshopForm(
        course=plan.course_id, language=plan.language, day=plan.day, start=plan.start, end=plan.end, venue=plan.venue,
        online_link=plan.online_link, capacity=plan.capacity, team=str(plan.team_id or ""),
        trainer="" if plan.trainer_id == current_user.id else str(plan.trainer_id or ""), notes=plan.notes))
    if form.validate_on_submit():
        try:
            changed = services.change(database, scope, current_user, _catalogue().all(), workshop_id, form.plan(),
                                      _zone())
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            _draw_decks_ahead(changed.course_id, changed.language)
            flash(_("The session has been changed."))
            return redirect(url_for("workshops.session", organisation_id=organisation_id, workshop_id=workshop_id))
    return _edit_page(scope, form, workshop)


@blueprint.route("/org/<int:organisation_id>/sessions/<int:workshop_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(organisation_id: int, workshop_id: int):
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    if not services.may_still_change(scope, workshop):
        abort(403)
    form = CancelForm()
    if form.validate_on_submit():
        services.cancel(database, scope, current_user, workshop_id, form.reason.data or "")
        database.commit()
        flash(_("The session has been cancelled."))
        return redirect(url_for("workshops.session", organisation_id=organisation_id, workshop_id=workshop_id))
    return render_template("workshops/cancel.html", organisation=scope.organisation, workshop=workshop, form=form,
                           title=_title(workshop.course_id, choose_language()), zone=_zone()), form_status(form)


def _ics(content: bytes, filename: str) -> Response:
    return Response(content, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-cache"})


def _page_of(workshop) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for(
        "workshops.session", organisation_id=workshop.organisation_id, workshop_id=workshop.id)


@blueprint.get("/org/<int:organisation_id>/sessions/<int:workshop_id>/calendar.ics")
@login_required
def session_calendar(organisation_id: int, workshop_id: int):
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    language = choose_language()
    content = calendar.calendar([workshop], name=_title(workshop.course_id, language),
                                title_of=lambda w: _title(w.course_id, language), page_of=_page_of,
                                base_url=current_app.config["BASE_URL"], now=utcnow())
    return _ics(content, f"session-{workshop.id}.ics")


# A calendar app cannot sign in, so the trainer's feed is a signed address. It names the
# account's session token, so changing the password (which renews the token) retires it.
def _feed_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="trainer-calendar-feed")


def _feed_url(user: User) -> str:
    token = _feed_serializer().dumps([user.id, user.session_token])
    return current_app.config["BASE_URL"].rstrip("/") + url_for("workshops.trainer_feed", token=token)


@blueprint.get("/sessions/feed/<token>.ics")
def trainer_feed(token: str):
    try:
        user_id, session_token = _feed_serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        abort(404)
    database = db.get_session()
    user = database.get(User, user_id) if isinstance(user_id, int) and 0 < user_id < 2**31 else None
    if user is None or user.session_token != session_token:
        abort(404)
    language = user.preferred_language or "en"
    workshops = services.trainer_sessions(database, user, utcnow() - timedelta(days=90))
    content = calendar.calendar(workshops, name=_("Sessions you run"), title_of=lambda w: _title(w.course_id, language),
                                page_of=_page_of, base_url=current_app.config["BASE_URL"], now=utcnow())
    return _ics(content, "sessions.ics")


# --- check-in, on the attendee's phone -------------------------------------------------------

def _check_in_limit() -> str:
    return current_app.config["ADDRESS_RATE_LIMIT"]


def _refused(response) -> bool:
    # Only wrong or closed codes count towards the limit: a room of phones behind one
    # address, checking in at once, must all get through.
    return response.status_code in (400, 404)


_limit_wrong_codes = limiter.limit(_check_in_limit, deduct_when=_refused, scope="check-in")


def _attendance_key(workshop) -> str:
    return f"attendance-{workshop.id}"


def _in_session_language(workshop) -> None:
    """The check-in pages open in the session's language, unless the person chose one."""
    if LOCALE_KEY not in browser_session and not current_user.is_authenticated and workshop.language in available_locales():
        browser_session[LOCALE_KEY] = workshop.language
        refresh()


@blueprint.route("/check-in", methods=["GET", "POST"])
@_limit_wrong_codes
@db.reads_only
def check_in_code():
    """Type the code from the first slide (the QR code leads straight to the next page)."""
    form = CheckInCodeForm()
    if form.validate_on_submit():
        workshop = register.workshop_by_code(db.get_session(), form.code.data)
        if workshop is not None and register.check_in_open(workshop, utcnow()):
            return redirect(url_for("workshops.check_in", code=register.display_code(workshop.check_in_code)))
        # After the register is closed, the same code still leads to the questions after the session.
        if workshop is not None and evaluation.stage_open(workshop, evaluation.AFTER, utcnow()):
            return redirect(url_for("workshops.evaluate", code=register.display_code(workshop.check_in_code),
                                    stage=evaluation.AFTER))
        form.code.errors.append(_("That code does not match a session open for check-in. Check it with your trainer."))
    return render_template("workshops/check_in_code.html", form=form), form_status(form)


@blueprint.route("/check-in/<code>", methods=["GET", "POST"])
@_limit_wrong_codes
def check_in(code: str):
    database = db.get_session()
    workshop = register.workshop_by_code(database, code)
    if workshop is None or not register.check_in_open(workshop, utcnow()):
        if request.method == "GET" and workshop is not None and evaluation.stage_open(workshop, evaluation.AFTER,
                                                                                       utcnow()):
            return redirect(url_for("workshops.evaluate", code=code, stage=evaluation.AFTER))
        return render_template("workshops/check_in_closed.html"), 404
    _in_session_language(workshop)
    title = _title(workshop.course_id, workshop.language)
    mine = register.own_attendance(database, workshop, browser_session.get(_attendance_key(workshop)))
    if current_user.is_authenticated:
        mine = mine or database.scalars(select(Attendance).where(Attendance.workshop_id == workshop.id,
                                                                 Attendance.user_id == current_user.id)).first()
    form = WalkInForm()
    account_form = ConfirmForm()
    if request.method == "POST" and mine is None:
        if current_user.is_authenticated:
            if not account_form.validate_on_submit():
                abort(400)
            mine = register.check_in_account(database, workshop, current_user)
        elif form.validate_on_submit():
            try:
                mine = register.check_in_walk_in(database, workshop, name=form.name.data, email=form.email.data or "",
                                                 consent=form.consent.data)
            except InvalidInput as problem:
                show_error(form, problem)
        if mine is not None:
            database.commit()
            browser_session[_attendance_key(workshop)] = mine.id
            return redirect(url_for("workshops.check_in", code=code))
    elif request.method == "POST":
        # Already checked in (a second tap, a resent form): nothing changes.
        return redirect(url_for("workshops.check_in", code=code))
    stages = [stage for stage in evaluation.STAGES if evaluation.stage_open(workshop, stage, utcnow())]
    return render_template("workshops/check_in.html", workshop=workshop, title=title, form=form,
                           account_form=account_form, mine=mine, stages=stages,
                           check_in_code=register.display_code(workshop.check_in_code)), form_status(form)


@blueprint.get("/check-in/<code>/certificate.pdf")
@_limit_wrong_codes
def walk_in_certificate(code: str):
    """A walk-in's own certificate, to the browser that checked in; nobody else's, ever."""
    database = db.get_session()
    workshop = register.workshop_by_code(database, code)
    certificate = register.own_certificate(database, workshop, browser_session.get(_attendance_key(workshop))) \
        if workshop else None
    if certificate is None:
        abort(404)
    return send_certificate(certificate)


def _guest_reference(certificate) -> str | None:
    """The reference that claims a walk-in's certificate into an account, until it is claimed."""
    guest = certificate.completion.guest if certificate is not None else None
    return reference.display(guest.reference_code) if guest is not None else None


# --- evaluation, on the attendee's phone -----------------------------------------------------

FREE_TEXT_QUESTIONS = {
    evaluation.BEFORE: _l("What would you most like to learn in this session? (optional)"),
    evaluation.AFTER: _l("What will you do differently after this session? (optional)"),
}


def _respondent(workshop) -> str:
    """This phone's anonymous key for the session (a random token kept in its browser)."""
    key = f"evaluation-{workshop.id}"
    token = browser_session.get(key)
    if not isinstance(token, str) or len(token) != 32:
        token = browser_session[key] = secrets.token_hex(16)
    return evaluation.respondent_key(current_app.config["SECRET_KEY"], token)


@blueprint.route("/check-in/<code>/<any(before, after):stage>", methods=["GET", "POST"])
@_limit_wrong_codes
def evaluate(code: str, stage: str):
    database = db.get_session()
    workshop = evaluation.workshop_for(database, code, stage, utcnow())
    course = _catalogue().get(workshop.course_id) if workshop else None
    if workshop is None or course is None:
        return render_template("workshops/check_in_closed.html"), 404
    _in_session_language(workshop)
    language = choose_language()
    respondent = _respondent(workshop)
    answered = evaluation.has_answered(database, workshop, stage, respondent)
    form = EvaluationForm.with_outcomes(course.learning_outcomes(language), str(FREE_TEXT_QUESTIONS[stage]))
    if request.method == "POST" and answered:
        return redirect(url_for("workshops.evaluate", code=code, stage=stage))  # a second tap changes nothing
    if form.validate_on_submit():
        try:
            evaluation.record(database, workshop, course, stage=stage, respondent=respondent, ratings=form.ratings(),
                              comment=form.comment.data or "", language=language)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            return redirect(url_for("workshops.evaluate", code=code, stage=stage))
    certificate = register.own_certificate(database, workshop, browser_session.get(_attendance_key(workshop)))
    return render_template("workshops/evaluate.html", workshop=workshop, title=course.title(language), form=form,
                           stage=stage, answered=answered, code=code, minimum=evaluation.MIN_ANSWERS,
                           certificate=certificate if certificate and certificate.revoked_at is None else None,
                           reference=_guest_reference(certificate),
                           other=[s for s in evaluation.STAGES if s != stage
                                  and evaluation.stage_open(workshop, s, utcnow())]), form_status(form)


# --- what the sessions changed ----------------------------------------------------------------

@blueprint.get("/org/<int:organisation_id>/sessions/<int:workshop_id>/evaluation")
@login_required
def session_evaluation(organisation_id: int, workshop_id: int):
    database, scope, workshop, course = _workshop_and_course(organisation_id, workshop_id)
    language = choose_language()
    report = evaluation.session_report(database, workshop, course, language)
    return render_template("workshops/evaluation.html", organisation=scope.organisation, workshop=workshop,
                           title=course.title(language), report=report, minimum=evaluation.MIN_ANSWERS, zone=_zone())


def _evaluation_summary(organisation_id: int):
    database = db.get_session()
    scope = services.sessions_scope(database, current_user, organisation_id)
    language = choose_language()
    courses = _catalogue().all()
    return scope, language, courses, evaluation.organisation_report(database, scope, courses, language)


@blueprint.get("/org/<int:organisation_id>/sessions/evaluation")
@login_required
def evaluation_summary(organisation_id: int):
    scope, language, courses, reports = _evaluation_summary(organisation_id)
    titles = {course.id: course.title(language) for course in courses}
    return render_template("workshops/evaluation_summary.html", organisation=scope.organisation, reports=reports,
                           titles=titles, minimum=evaluation.MIN_ANSWERS)


@blueprint.get("/org/<int:organisation_id>/sessions/evaluation.csv")
@login_required
def evaluation_csv(organisation_id: int):
    scope, language, courses, reports = _evaluation_summary(organisation_id)
    titles = {course.id: course.title(language) for course in courses}
    header, rows = evaluation_table(reports, titles)
    return Response(csv_chunks(header, rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="session-evaluation-{organisation_id}.csv"',
        "Cache-Control": "private, no-cache"})


def _figure(value, shown: bool, decimals: int = 1) -> str:
    if not shown or value is None:
        return _("fewer than %(num)d answers", num=evaluation.MIN_ANSWERS)
    return format_decimal(value, format="#,##0.0" if decimals else "#,##0")


def evaluation_table(reports, titles: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    """The organisation's evaluation as spreadsheet rows, each figure withheld as on the page."""
    header = [_("Course"), _("Learning outcome"), _("Sessions"), _("Answers before"), _("Mean before"),
              _("Answers after"), _("Mean after"), _("Mean change")]
    rows = []
    for report in reports:
        for row in report.outcomes:
            rows.append([neutralise(titles.get(report.course_id, report.course_id)), neutralise(row.outcome),
                         _figure(len(report.sessions), True, 0),
                         _figure(row.before.count, row.before.shown, 0), _figure(row.before.mean, row.before.shown),
                         _figure(row.after.count, row.after.shown, 0), _figure(row.after.mean, row.after.shown),
                         _figure(row.change, row.change is not None)])
    return header, rows


# --- the trainer's register ------------------------------------------------------------------

def _check_in_of(workshop) -> presenter.CheckIn:
    base = current_app.config["BASE_URL"].rstrip("/")
    code = register.display_code(workshop.check_in_code)
    return presenter.CheckIn(code=code, address=base + url_for("workshops.check_in_code"),
                             url=base + url_for("workshops.check_in", code=code, lang=workshop.language))


def _register_page(organisation_id: int, workshop_id: int, add_form: AddAttendeeForm | None = None):
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    add_form = add_form or AddAttendeeForm(formdata=None)
    check_in = _check_in_of(workshop)
    return render_template(
        "workshops/register.html", organisation=scope.organisation, workshop=workshop,
        title=_title(workshop.course_id, choose_language()), attendances=register.register(database, workshop),
        may_change=services.may_still_change(scope, workshop), add_form=add_form,
        confirm_form=ConfirmForm(), code=check_in.code, check_in_url=check_in.url, check_in_address=check_in.address,
        qr=check_in.qr(),
    ), form_status(add_form)


@blueprint.get("/org/<int:organisation_id>/sessions/<int:workshop_id>/register")
@login_required
def register_page(organisation_id: int, workshop_id: int):
    return _register_page(organisation_id, workshop_id)


@blueprint.get("/org/<int:organisation_id>/sessions/<int:workshop_id>/register/rows")
@login_required
def register_rows(organisation_id: int, workshop_id: int):
    """The register's rows alone, for the page's script to refresh them without a reload."""
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    return render_template("workshops/_register_rows.html", organisation=scope.organisation, workshop=workshop,
                           attendances=register.register(database, workshop), confirm_form=ConfirmForm(),
                           may_change=services.may_still_change(scope, workshop))


def _register_action(organisation_id: int, workshop_id: int, action, message: str):
    database = db.get_session()
    scope = services.sessions_scope(database, current_user, organisation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        action(database, scope)
    except InvalidInput as problem:
        database.rollback()
        flash(str(problem.message))
        return redirect(url_for("workshops.register_page", organisation_id=organisation_id, workshop_id=workshop_id))
    database.commit()
    flash(message)
    return redirect(url_for("workshops.register_page", organisation_id=organisation_id, workshop_id=workshop_id))


@blueprint.post("/org/<int:organisation_id>/sessions/<int:workshop_id>/register/add")
@login_required
def add_attendee(organisation_id: int, workshop_id: int):
    form = AddAttendeeForm()
    if form.validate_on_submit():
        database = db.get_session()
        scope = services.sessions_scope(database, current_user, organisation_id)
        try:
            attendance = register.add_attendee(database, scope, current_user, workshop_id, name=form.name.data,
                                               email=form.email.data or "")
        except InvalidInput as problem:
            database.rollback()
            show_error(form, problem)
        else:
            database.commit()
            flash(_("%(name)s is on the register.", name=attendance.name))
            return redirect(url_for("workshops.register_page", organisation_id=organisation_id, workshop_id=workshop_id))
    return _register_page(organisation_id, workshop_id, form)


@blueprint.post("/org/<int:organisation_id>/sessions/<int:workshop_id>/register/<int:attendance_id>/attended")
@login_required
def mark_attended(organisation_id: int, workshop_id: int, attendance_id: int):
    attended = request.form.get("attended") == "yes"
    return _register_action(organisation_id, workshop_id, lambda database, scope: register.set_attended(
        database, scope, current_user, workshop_id, attendance_id, attended), _("The register has been updated."))


@blueprint.route("/org/<int:organisation_id>/sessions/<int:workshop_id>/register/<int:attendance_id>/edit",
                 methods=["GET", "POST"])
@login_required
def edit_attendee(organisation_id: int, workshop_id: int, attendance_id: int):
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    attendance = register.own_attendance(database, workshop, attendance_id)
    if attendance is None:
        abort(404)
    if not services.may_still_change(scope, workshop):
        abort(403)
    form = AddAttendeeForm() if request.method == "POST" else AddAttendeeForm(name=attendance.name, email=attendance.email)
    if form.validate_on_submit():
        try:
            register.change_attendee(database, scope, current_user, workshop_id, attendance_id, name=form.name.data,
                                     email=form.email.data or "")
        except InvalidInput as problem:
            database.rollback()
            show_error(form, problem)
        else:
            database.commit()
            flash(_("The register has been updated."))
            return redirect(url_for("workshops.register_page", organisation_id=organisation_id, workshop_id=workshop_id))
    return render_template("workshops/edit_attendee.html", organisation=scope.organisation, workshop=workshop,
                           attendance=attendance, form=form,
                           title=_title(workshop.course_id, choose_language())), form_status(form)


@blueprint.post("/org/<int:organisation_id>/sessions/<int:workshop_id>/register/<int:attendance_id>/remove")
@login_required
def remove_attendee(organisation_id: int, workshop_id: int, attendance_id: int):
    return _register_action(organisation_id, workshop_id, lambda database, scope: register.remove_attendee(
        database, scope, current_user, workshop_id, attendance_id), _("The person has been taken off the register."))


@blueprint.post("/org/<int:organisation_id>/sessions/<int:workshop_id>/register/close")
@login_required
def close_register(organisation_id: int, workshop_id: int):
    outcome = {}

    def close(database, scope):
        workshop = services.get_workshop(database, scope, workshop_id)
        outcome["count"] = register.close_register(database, scope, current_user, workshop_id,
                                                   _catalogue().get(workshop.course_id))

    response = _register_action(organisation_id, workshop_id, close, "")
    if "count" in outcome:
        browser_session.pop("_flashes", None)
        flash(ngettext("The register is closed. %(num)d completion and certificate recorded.",
                       "The register is closed. %(num)d completions and certificates recorded.", outcome["count"]))
    return response


@blueprint.post("/org/<int:organisation_id>/sessions/<int:workshop_id>/certificates")
@login_required
def session_certificates(organisation_id: int, workshop_id: int):
    """The session's certificates drawn into one PDF by the batch process, to print and hand out."""
    database = db.get_session()
    scope = services.sessions_scope(database, current_user, organisation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        batch = batches.batch_of(database, scope, "pdf", register.certificate_ids(database, scope, workshop_id),
                                 current_user)
    except InvalidInput as problem:
        database.rollback()
        flash(str(problem.message))
        return redirect(url_for("workshops.register_page", organisation_id=organisation_id, workshop_id=workshop_id))
    database.commit()
    batches.start(current_app._get_current_object(), batch.id)
    return redirect(url_for("certify.batch", organisation_id=organisation_id, batch_id=batch.id))


@blueprint.post("/org/<int:organisation_id>/sessions/<int:workshop_id>/register/reopen")
@login_required
def reopen_register(organisation_id: int, workshop_id: int):
    return _register_action(organisation_id, workshop_id, lambda database, scope: register.reopen_register(
        database, scope, current_user, workshop_id), _("Check-in is open again."))


@blueprint.get("/org/<int:organisation_id>/sessions/<int:workshop_id>/slides.pdf")
@login_required
def slides_download(organisation_id: int, workshop_id: int):
    """The session's deck in its language, as 16:9 slides or (?handout=1) an A4 handout."""
    _, _, workshop, course = _workshop_and_course(organisation_id, workshop_id)
    handout = request.args.get("handout") == "1"
    path = slides_pdf.cached_deck(course, workshop.language, handout=handout,
                                  folder=slides_pdf.deck_folder(current_app))
    name = f"{course.id}-{workshop.language}-{'handout' if handout else 'slides'}.pdf"
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=name)


# --- presenting ------------------------------------------------------------------------------

def _presenter_page(organisation_id: int, workshop_id: int, *, view: str, standalone: bool = False) -> str:
    _, _, workshop, course = _workshop_and_course(organisation_id, workshop_id)
    # The check-in slide only while people can still check in.
    check_in = None if workshop.cancelled_at or workshop.closed_at else _check_in_of(workshop)
    return presenter.render_presenter(
        course, workshop.language, view=view, title=course.title(workshop.language), check_in=check_in,
        channel=f"lms-session-{workshop.id}", standalone=standalone,
        back_url=None if standalone else url_for("workshops.session", organisation_id=organisation_id,
                                                  workshop_id=workshop_id),
        speaker_url="#speaker" if standalone else url_for("workshops.present_speaker", organisation_id=organisation_id,
                                                          workshop_id=workshop_id))


@blueprint.get("/org/<int:organisation_id>/sessions/<int:workshop_id>/present")
@login_required
def present(organisation_id: int, workshop_id: int):
    """The audience view, for the projector."""
    return _presenter_page(organisation_id, workshop_id, view="audience")


@blueprint.get("/org/<int:organisation_id>/sessions/<int:workshop_id>/present/speaker")
@login_required
def present_speaker(organisation_id: int, workshop_id: int):
    """The speaker view, for the trainer's own screen."""
    return _presenter_page(organisation_id, workshop_id, view="speaker")


@blueprint.get("/org/<int:organisation_id>/sessions/<int:workshop_id>/slides.html")
@login_required
def slides_file(organisation_id: int, workshop_id: int):
    """The deck as one HTML file that loads nothing, for a laptop with no internet at all."""
    _, _, workshop = _workshop_in_scope(organisation_id, workshop_id)
    html = _presenter_page(organisation_id, workshop_id, view="file", standalone=True)
    return Response(html, mimetype="text/html", headers={
        "Content-Disposition": f'attachment; filename="{workshop.course_id}-{workshop.language}-slides.html"',
        "Cache-Control": "private, no-cache"})
