from __future__ import annotations

import math
import time
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import or_, update

from lms import db
from lms.auth import services
from lms.auth.forms import (AccountForm, ChangePasswordForm, ForgotPasswordForm, JoinCodeForm, RegisterForm,
                            ResetPasswordForm, SignInForm)
from lms.db import utcnow
from lms.errors import InvalidInput
from lms.extensions import limiter
from lms.forms import ConfirmForm, form_status, show_error
from lms.i18n import choose_language, language_options
from lms.mail import send_email
from lms.models import Invite, Organisation, User
from lms.people import passwords
from lms.people import services as people
from lms.site.routes import _same_site_path
from lms.site.services import ORGANISATION_KEY

blueprint = Blueprint("auth", __name__, template_folder="templates")


def _account_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


def _address_limit() -> str:
    return current_app.config["ADDRESS_RATE_LIMIT"]


def _typed_account() -> str:
    """The account a sign-in is for, as the email was typed (case and spaces do not matter)."""
    return "account:" + (request.form.get("email") or "").strip().casefold()


def _failed(response) -> bool:
    # A sign-in or join that worked redirects; only the ones that did not are counted, so a
    # class signing in together from one school address is not turned away.
    return response.status_code != 302


def _minutes_to_wait() -> int:
    limit = limiter.current_limit
    seconds = limit.window.reset_time - time.time() if limit is not None else 60
    return max(1, math.ceil(seconds / 60))


@blueprint.errorhandler(RateLimitExceeded)
def too_many_attempts(_error):
    """The form again, with what was typed (not the password) and how long to wait."""
    minutes = _minutes_to_wait()
    message = ngettext("There have been too many attempts. For your security, wait %(num)d minute, then try again.",
                       "There have been too many attempts. For your security, wait %(num)d minutes, then try again.",
                       minutes)
    forms = {"auth.sign_in": (SignInForm, "auth/sign_in.html"), "auth.join": (JoinCodeForm, "auth/join.html"),
             "auth.forgot_password": (ForgotPasswordForm, "auth/forgot_password.html")}
    form_class, template = forms.get(request.endpoint, (None, None))
    if form_class is None:
        page = render_template("error.html", status=429)
    else:
        form = form_class()
        form.form_errors.append(message)
        page = render_template(template, form=form)
    return page, 429, {"Retry-After": str(minutes * 60)}


# Failed attempts are counted per address and per account, in storage every worker shares.
_limit_failures_per_address = limiter.limit(_address_limit, methods=["POST"], deduct_when=_failed, scope="address")
_limit_failures_per_account = limiter.limit(_account_limit, methods=["POST"], deduct_when=_failed,
                                            key_func=_typed_account, scope="account")


def start_session(user: User, organisation_id: int | None = None) -> None:
    # A fresh session at sign-in, so nothing planted in the old cookie carries over.
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    if organisation_id:
        session[ORGANISATION_KEY] = organisation_id
    # login_user must get the real object: given the current_user proxy it would point at itself.
    login_user(user._get_current_object() if hasattr(user, "_get_current_object") else user)


@blueprint.route("/sign-in", methods=["GET", "POST"])
@_limit_failures_per_address
@_limit_failures_per_account
@db.reads_only
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("site.home"))
    form = SignInForm()
    if form.validate_on_submit():
        database = db.get_session()
        user = people.authenticate(database, form.email.data, form.password.data)
        if user is not None:
            # For retention (an account unused for LMS_RETAIN_INACTIVE_DAYS is erased), to the
            # day: a write at most once a day per person.
            now = utcnow()
            db.write_now(update(User).where(User.id == user.id, or_(User.last_seen_at.is_(None),
                                                                      User.last_seen_at < now - timedelta(days=1)))
                         .values(last_seen_at=now))
            start_session(user)
            return redirect(_same_site_path(request.args.get("next")) or url_for("site.home"))
        # One message for an unknown email and a wrong password, so neither reveals an account.
        form.form_errors.append(_("The email address or password is not right. Check them and try again."))
    return render_template("auth/sign_in.html", form=form), form_status(form)


@blueprint.post("/sign-out")
def sign_out():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    logout_user()
    session.clear()
    flash(_("You have signed out."))
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"], scope="address")
@db.reads_only  # it sends an email, and must not hold SQLite's write lock while the mail server answers
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        database = db.get_session()
        user = people.find_user_by_email(database, form.email.data)
        if user is not None:
            token = services.make_reset_token(current_app.config["SECRET_KEY"], user)
            link = current_app.config["BASE_URL"].rstrip("/") + url_for("auth.reset_password", token=token)
            with force_locale(user.preferred_language or str(get_locale())):
                send_email(user.email, _("Reset your Prevent LMS password"),
                           render_template("auth/email/reset_password.txt", user=user, link=link,
                                           minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60))
        # The same page whether or not the account exists.
        return render_template("auth/reset_sent.html", email=form.email.data)
    return render_template("auth/forgot_password.html", form=form), form_status(form)


@blueprint.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    database = db.get_session()
    user = services.user_for_reset_token(database, current_app.config["SECRET_KEY"], token,
                                         current_app.config["PASSWORD_RESET_MAX_AGE"])
    if user is None:
        return render_template("auth/reset_invalid.html"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            people.set_password(user, form.password.data)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            start_session(user)
            flash(_("Your password has been changed and you are signed in."))
            return redirect(url_for("site.home"))
    return render_template("auth/reset_password.html", form=form), form_status(form)


# --- joining an organisation -------------------------------------------------------------

@blueprint.route("/join", methods=["GET", "POST"])
@_limit_failures_per_address
@db.reads_only
def join():
    """Type the code a trainer reads out."""
    form = JoinCodeForm()
    if form.validate_on_submit():
        organisation = people.find_organisation_by_join_code(db.get_session(), form.code.data)
        if organisation is not None:
            return redirect(url_for("auth.join_organisation", token=organisation.invite_token))
        form.code.errors.append(_("That join code was not found. Check it with your trainer and try again."))
    return render_template("auth/join.html", form=form), form_status(form)


@blueprint.route("/join/<token>", methods=["GET", "POST"])
def join_organisation(token: str):
    """The organisation's invite link (the join code leads here too)."""
    database = db.get_session()
    organisation = people.find_organisation_by_invite_token(database, token)
    if organisation is None:
        return render_template("auth/invite_invalid.html"), 404
    return _join_or_register(database, organisation, invite=None)


@blueprint.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """A personal invitation emailed to one address."""
    database = db.get_session()
    invite = people.find_open_invite(database, token)
    if invite is None:
        return render_template("auth/invite_invalid.html"), 404
    return _join_or_register(database, invite.organisation, invite=invite)


def _join_or_register(database, organisation: Organisation, invite: Invite | None):
    if current_user.is_authenticated:
        if invite is not None and invite.email != current_user.email:
            # A personal invitation may carry an admin role: it is only for the address it was sent to.
            return render_template("auth/invite_other_address.html", invite=invite), 403
        form = ConfirmForm()
        if form.validate_on_submit():
            if invite is not None:
                people.accept_invite(database, invite, current_user)
            else:
                people.join_organisation(database, current_user, organisation)
            database.commit()
            session[ORGANISATION_KEY] = organisation.id
            flash(_("You have joined %(organisation)s.", organisation=organisation.name))
            return redirect(url_for("site.home"))
        already = people.membership_of(database, current_user, organisation.id) is not None
        return render_template("auth/join_confirm.html", form=form, organisation=organisation, invite=invite, already=already)

    form = RegisterForm()
    form.preferred_language.choices = language_options()
    if request.method == "GET":
        form.preferred_language.data = choose_language()
        if invite is not None:
            form.name.data = invite.name
    if invite is not None:
        form.email.data = invite.email  # the invitation is for this address; it cannot be changed here
    if form.validate_on_submit():
        try:
            user = people.create_user(database, email=form.email.data, name=form.name.data, password=form.password.data,
                                      preferred_language=form.preferred_language.data)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            if invite is not None:
                people.accept_invite(database, invite, user)
            else:
                people.join_organisation(database, user, organisation)
            database.commit()
            start_session(user, organisation.id)
            flash(_("Welcome. Your account is ready and you have joined %(organisation)s.", organisation=organisation.name))
            return redirect(url_for("site.home"))
    return render_template("auth/register.html", form=form, organisation=organisation, invite=invite), form_status(form)


# --- the account page ----------------------------------------------------------------------

@blueprint.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = AccountForm(obj=current_user if request.method == "GET" else None)
    form.preferred_language.choices = language_options()
    if request.method == "GET" and not current_user.preferred_language:
        form.preferred_language.data = choose_language()
    if form.validate_on_submit():
        try:
            people.update_account(current_user, name=form.name.data, preferred_language=form.preferred_language.data)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            db.get_session().commit()
            session["locale"] = current_user.preferred_language
            flash(_("Your details have been saved."))
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form), form_status(form)


@blueprint.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not passwords.check_password(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("Your current password is not right"))
        else:
            try:
                people.set_password(current_user, form.password.data)
            except InvalidInput as problem:
                show_error(form, problem)
            else:
                db.get_session().commit()
                start_session(current_user)  # the session token changed; keep this browser signed in
                flash(_("Your password has been changed. Other devices have been signed out."))
                return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form), form_status(form)
