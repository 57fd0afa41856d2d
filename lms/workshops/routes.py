"""Trainers' sessions: the list, one session's page, scheduling, changing, cancelling, and
calendar files. Thin: each route reads the form, calls a service and renders."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import segno
from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request, send_file,
                   url_for)
from flask import session as browser_session  # this module has a view named session
from flask_babel import gettext as _
from flask_babel import ngettext, refresh
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from lms import db
from lms.db import utcnow
from lms.errors import InvalidInput
from lms.forms import ConfirmForm, form_status, show_error
from lms.extensions import limiter
from lms.i18n import SESSION_KEY as LOCALE_KEY
from lms.i18n import available_locales, choose_language, language_name
from lms.models import Attendance, User
from lms.workshops import calendar, register, services, slides_pdf
from lms.workshops.forms import AddAttendeeForm, CancelForm, CheckInCodeForm, WalkInForm, WorkshopForm

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
            flash(_("The session is scheduled."))
            return redirect(url_for("workshops.session", organisation_id=organisation_id, workshop_id=workshop.id))
    return _edit_page(scope, form)


@blueprint.get("/org/<int:organisation_id>/sessions/<int:workshop_id>")
@login_required
def session(organisation_id: int, workshop_id: int):
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    return render_template("workshops/session.html", organisation=scope.organisation, workshop=workshop,
                           title=_title(workshop.course_id, choose_language()), zone=_zone(),
                           may_change=services.may_change(scope, workshop) and not workshop.cancelled_at,
                           confirm_form=ConfirmForm())


@blueprint.route("/org/<int:organisation_id>/sessions/<int:workshop_id>/edit", methods=["GET", "POST"])
@login_required
def edit(organisation_id: int, workshop_id: int):
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    if not services.may_change(scope, workshop) or workshop.cancelled_at:
        abort(403)
    plan = services.plan_of(workshop, _zone())
    form = _form(database, scope, WorkshopForm(
        course=plan.course_id, language=plan.language, day=plan.day, start=plan.start, end=plan.end, venue=plan.venue,
        online_link=plan.online_link, capacity=plan.capacity, team=str(plan.team_id or ""),
        trainer="" if plan.trainer_id == current_user.id else str(plan.trainer_id or ""), notes=plan.notes))
    if form.validate_on_submit():
        try:
            services.change(database, scope, current_user, _catalogue().all(), workshop_id, form.plan(), _zone())
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            flash(_("The session has been changed."))
            return redirect(url_for("workshops.session", organisation_id=organisation_id, workshop_id=workshop_id))
    return _edit_page(scope, form, workshop)


@blueprint.route("/org/<int:organisation_id>/sessions/<int:workshop_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(organisation_id: int, workshop_id: int):
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    if not services.may_change(scope, workshop) or workshop.cancelled_at:
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
        workshop = register.open_workshop(db.get_session(), form.code.data, utcnow())
        if workshop is not None:
            return redirect(url_for("workshops.check_in", code=register.display_code(workshop.check_in_code)))
        form.code.errors.append(_("That code does not match a session open for check-in. Check it with your trainer."))
    return render_template("workshops/check_in_code.html", form=form), form_status(form)


@blueprint.route("/check-in/<code>", methods=["GET", "POST"])
@_limit_wrong_codes
def check_in(code: str):
    database = db.get_session()
    workshop = register.open_workshop(database, code, utcnow())
    if workshop is None:
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
    return render_template("workshops/check_in.html", workshop=workshop, title=title, form=form,
                           account_form=account_form, mine=mine), form_status(form)


# --- the trainer's register ------------------------------------------------------------------

def _register_page(organisation_id: int, workshop_id: int, add_form: AddAttendeeForm | None = None):
    database, scope, workshop = _workshop_in_scope(organisation_id, workshop_id)
    add_form = add_form or AddAttendeeForm(formdata=None)
    base = current_app.config["BASE_URL"].rstrip("/")
    check_in_url = base + url_for("workshops.check_in", code=register.display_code(workshop.check_in_code),
                                  lang=workshop.language)
    return render_template(
        "workshops/register.html", organisation=scope.organisation, workshop=workshop,
        title=_title(workshop.course_id, choose_language()), attendances=register.register(database, workshop),
        may_change=services.may_change(scope, workshop) and not workshop.cancelled_at, add_form=add_form,
        confirm_form=ConfirmForm(), code=register.display_code(workshop.check_in_code), check_in_url=check_in_url,
        check_in_address=base + url_for("workshops.check_in_code"),
        qr=segno.make(check_in_url, error="m").svg_data_uri(scale=5, dark="#0b0c0c"),
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
                           may_change=services.may_change(scope, workshop) and not workshop.cancelled_at)


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


@blueprint.post("/org/<int:organisation_id>/sessions/<int:workshop_id>/register/reopen")
@login_required
def reopen_register(organisation_id: int, workshop_id: int):
    return _register_action(organisation_id, workshop_id, lambda database, scope: register.reopen_register(
        database, scope, current_user, workshop_id), _("Check-in is open again."))


@blueprint.get("/org/<int:organisation_id>/sessions/<int:workshop_id>/slides.pdf")
@login_required
def slides_download(organisation_id: int, workshop_id: int):
    """The session's deck in its language, as 16:9 slides or (?handout=1) an A4 handout."""
    _, _, workshop = _workshop_in_scope(organisation_id, workshop_id)
    course = _catalogue().get(workshop.course_id)
    if course is None:
        abort(404)
    handout = request.args.get("handout") == "1"
    path = slides_pdf.cached_deck(course, workshop.language, handout=handout,
                                  folder=current_app.config["CERTIFICATE_CACHE_DIR"] / "slides")
    name = f"{course.id}-{workshop.language}-{'handout' if handout else 'slides'}.pdf"
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=name)
