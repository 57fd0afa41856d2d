"""Learning without an account: starting an open course, the reference code to keep, carrying
on from another device, the name for a certificate, and claiming it all into an account."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import db
from lms.errors import InvalidInput
from lms.extensions import limiter
from lms.forms import ConfirmForm, form_status, show_error
from lms.guests import browser, reference, services
from lms.guests.forms import ClaimForm, ResumeForm
from lms.i18n import choose_language
from lms.learn.services import Learner, course_states

blueprint = Blueprint("guests", __name__, template_folder="templates")


def _limit() -> str:
    return current_app.config["ADDRESS_RATE_LIMIT"]


# Only refused references count, so a guess at other people's learning runs into the limit;
# resuming and claiming share one count per address.
_limit_wrong_references = limiter.shared_limit(_limit, scope="reference", methods=["POST"],
                                               deduct_when=lambda response: response.status_code == 400)


def _catalogue():
    return current_app.extensions["lms.catalogue"]


def _open_course(course_id: str):
    course = _catalogue().get(course_id)
    if course is None or not course.open:
        abort(404)
    return course


def _next_address(fallback: str) -> str:
    """Where to go on from the code page: a path on this site only."""
    wanted = request.values.get("next", "")
    return wanted if wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted else fallback


@blueprint.post("/courses/<course_id>/start-without-account")
@browser.limit_new_guests
def start(course_id: str):
    course = _open_course(course_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    first_lesson = url_for("learn.lesson", course_id=course.id, slug=course.module_slugs[0])
    if current_user.is_authenticated:
        return redirect(first_lesson)
    database = db.get_session()
    if browser.current_guest(database) is None:
        browser.remember(services.start(database))
        database.commit()
    return redirect(url_for("guests.card", next=first_lesson))


def reference_shown(code: str) -> dict:
    """The code for the page: grouped, and in the page's own digits too where it has them."""
    zero = reference.native_zero(str(get_locale()))
    local = reference.in_script(reference.display(code), zero) if code.isdecimal() and zero else None
    return {"grouped": reference.display(code), "groups": reference.groups(code), "local": local,
            "digits": code.isdecimal()}


@blueprint.get("/learning-code")
def card():
    database = db.get_session()
    guest = browser.current_guest(database)
    if guest is None:
        return redirect(url_for("guests.resume"))
    # The open courses, and any other this record holds a certificate of (a walk-in's session).
    states = [state for state in course_states(database, Learner(guest_id=guest.id), _catalogue().all(),
                                               refresher_days=current_app.config["REFRESHER_DAYS"])
              if state.course.open or state.completion is not None]
    return render_template("guests/card.html", code=reference_shown(guest.reference_code), states=states,
                           next=_next_address(""), form=ConfirmForm(), language=choose_language(),
                           locale=str(get_locale()))


@blueprint.route("/learning-code/resume", methods=["GET", "POST"])
@_limit_wrong_references
def resume():
    if current_user.is_authenticated:  # signed in, learning by code goes into the account
        return redirect(url_for("guests.claim"))
    form = ResumeForm()
    if form.validate_on_submit():
        database = db.get_session()
        try:
            guest = services.resume(database, form.reference.data)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            browser.remember(guest)
            return redirect(url_for("guests.card"))
    return render_template("guests/resume.html", form=form), form_status(form)


@blueprint.post("/learning-code/forget")
def forget():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    browser.forget()
    flash(_("This device no longer shows your learning. Your reference code still brings it back."))
    return redirect(url_for("site.home"))


@blueprint.route("/certificates/claim", methods=["GET", "POST"])
@login_required
@_limit_wrong_references
def claim():
    form = ClaimForm()
    if form.validate_on_submit():
        database = db.get_session()
        try:
            moved = services.claim(database, current_user, form.reference.data)
        except InvalidInput as problem:
            database.rollback()
            show_error(form, problem)
        else:
            database.commit()
            browser.forget()
            if moved is None:
                flash(_("This learning is already in your account."))
            elif moved:
                flash(ngettext("%(num)d completed course has been added to your account.",
                               "%(num)d completed courses have been added to your account.", moved))
            else:
                flash(_("Your learning is now in your account."))
            return redirect(url_for("learn.my_courses"))
    return render_template("guests/claim.html", form=form), form_status(form)


@blueprint.app_template_global("guest_reference")
def guest_reference() -> str:
    """The reference code of the guest this browser is learning as, grouped; "" for none."""
    guest = None if current_user.is_authenticated else browser.current_guest(db.get_session())
    return reference.display(guest.reference_code) if guest is not None else ""
