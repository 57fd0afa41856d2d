"""Site admins create organisations; org admins run theirs: teams, invitations, roles."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from lms import db
from lms.admin.forms import (InviteForm, InviteUploadForm, MembershipForm, OrganisationForm, PrivacyDetailsForm, TeamForm,
                             role_choices, team_choices)
from lms.errors import InvalidInput
from lms.forms import ConfirmForm, form_status, show_error
from lms.mail import send_email
from lms.pagination import page_number, paginate
from lms.models import Invite, Organisation
from lms.people import services as people
from lms.people.scope import Scope, managing_scope_for, scope_for

blueprint = Blueprint("admin", __name__, template_folder="templates")


@blueprint.before_request
@login_required
def require_sign_in():
    return None


# --- site admin --------------------------------------------------------------------------

@blueprint.route("/admin/organisations", methods=["GET", "POST"])
def organisations():
    if not current_user.is_site_admin:
        abort(404)
    database = db.get_session()
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            organisation = people.create_organisation(database, form.name.data)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            flash(_("%(name)s has been created. Invite its first org admin below.", name=organisation.name))
            return redirect(url_for("admin.organisation", organisation_id=organisation.id))
    rows = database.scalars(select(Organisation).order_by(Organisation.name)).all()
    return render_template("admin/organisations.html", form=form, organisations=rows), form_status(form)


# --- one organisation --------------------------------------------------------------------

def _scope(organisation_id: int) -> Scope:
    return scope_for(db.get_session(), current_user, organisation_id)


def _managing_scope(organisation_id: int) -> Scope:
    return managing_scope_for(db.get_session(), current_user, organisation_id)


@blueprint.get("/org/<int:organisation_id>")
def organisation(organisation_id: int):
    database = db.get_session()
    scope = _scope(organisation_id)
    search = request.args.get("q", "")[:200]
    members = paginate(database, scope.people(search), page_number(request.args.get("page"))) if scope.sees_people else None
    teams = database.scalars(scope.teams()).all() if scope.sees_people else []
    invites = database.scalars(scope.invites().where(Invite.accepted_at.is_(None))).unique().all() if scope.can_manage else []
    return render_template(
        "admin/organisation.html", scope=scope, organisation=scope.organisation, members=members, teams=teams,
        invites=invites, roles=dict(role_choices()), search=search, join_code=people.format_join_code(scope.organisation.join_code),
        team_form=TeamForm(), confirm_form=ConfirmForm(),
    )


@blueprint.post("/org/<int:organisation_id>/teams")
def create_team(organisation_id: int):
    database = db.get_session()
    scope = _managing_scope(organisation_id)
    form = TeamForm()
    if form.validate_on_submit():
        try:
            team = people.create_team(database, scope, form.name.data)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            flash(_("Team %(name)s has been added.", name=team.name))
            return redirect(url_for("admin.organisation", organisation_id=organisation_id, _anchor="teams"))
    return render_template("admin/team_new.html", form=form, organisation=scope.organisation), form_status(form)


@blueprint.post("/org/<int:organisation_id>/join-code")
def regenerate_join_code(organisation_id: int):
    database = db.get_session()
    scope = _managing_scope(organisation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    people.regenerate_join_code(database, scope)
    database.commit()
    flash(_("A new join code and invite link have been made. The old ones no longer work."))
    return redirect(url_for("admin.organisation", organisation_id=organisation_id))


@blueprint.route("/org/<int:organisation_id>/privacy", methods=["GET", "POST"])
def privacy_details(organisation_id: int):
    """The organisation's controller details, shown on the privacy notice."""
    database = db.get_session()
    scope = _managing_scope(organisation_id)
    organisation = scope.organisation
    form = PrivacyDetailsForm(data={"controller": organisation.privacy_controller, "contact": organisation.privacy_contact})
    if form.validate_on_submit():
        try:
            people.set_privacy_details(database, scope, controller=form.controller.data or "",
                                       contact=form.contact.data or "", actor=current_user)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            flash(_("The details on your privacy notice have been saved."))
            return redirect(url_for("admin.organisation", organisation_id=organisation_id, _anchor="privacy"))
    return render_template("admin/privacy_details.html", form=form, organisation=organisation), form_status(form)


def _send_invitation(invite: Invite) -> None:
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("auth.accept_invitation", token=invite.token)
    with force_locale(current_user.preferred_language or "en"):
        send_email(invite.email, _("You are invited to join %(organisation)s on Prevent LMS", organisation=invite.organisation.name),
                   render_template("admin/email/invitation.txt", invite=invite, link=link, inviter=current_user))


@blueprint.route("/org/<int:organisation_id>/invite", methods=["GET", "POST"])
def invite(organisation_id: int):
    database = db.get_session()
    scope = _managing_scope(organisation_id)
    form = InviteForm()
    form.team.choices = team_choices(database.scalars(scope.teams()))
    if form.validate_on_submit():
        try:
            created = people.invite_person(database, scope, email=form.email.data, name=form.name.data,
                                           role=form.role.data, team_id=int(form.team.data) if form.team.data else None,
                                           invited_by=current_user)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            _send_invitation(created)
            flash(_("An invitation has been emailed to %(email)s.", email=created.email))
            return redirect(url_for("admin.organisation", organisation_id=organisation_id, _anchor="invites"))
    return render_template("admin/invite.html", form=form, organisation=scope.organisation), form_status(form)


@blueprint.route("/org/<int:organisation_id>/invite/upload", methods=["GET", "POST"])
def invite_upload(organisation_id: int):
    database = db.get_session()
    scope = _managing_scope(organisation_id)
    form = InviteUploadForm()
    report = None
    if form.validate_on_submit():
        try:
            report = people.invite_from_csv(database, scope, form.file.data.read(), invited_by=current_user)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            for created in report.invited:
                _send_invitation(created)
    status = 400 if (report and report.problems and not report.invited) else form_status(form)
    return render_template("admin/invite_upload.html", form=form, organisation=scope.organisation, report=report), status


@blueprint.post("/org/<int:organisation_id>/invites/<int:invite_id>/cancel")
def cancel_invite(organisation_id: int, invite_id: int):
    database = db.get_session()
    scope = _managing_scope(organisation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    people.cancel_invite(database, scope, invite_id, cancelled_by=current_user)
    database.commit()
    flash(_("The invitation has been cancelled."))
    return redirect(url_for("admin.organisation", organisation_id=organisation_id, _anchor="invites"))


@blueprint.route("/org/<int:organisation_id>/members/<int:membership_id>", methods=["GET", "POST"])
def member(organisation_id: int, membership_id: int):
    database = db.get_session()
    scope = _managing_scope(organisation_id)
    membership = scope.membership(database, membership_id)
    form = MembershipForm(data={"role": membership.role, "team": str(membership.team_id or ""),
                                "championed": people.championed_team_ids(database, membership.id)})
    teams = database.scalars(scope.teams()).all()
    form.team.choices = team_choices(teams)
    form.championed.choices = [(team.id, team.name) for team in teams]
    if form.validate_on_submit():
        try:
            people.change_membership(database, scope, membership_id, role=form.role.data,
                                     team_id=int(form.team.data) if form.team.data else None,
                                     championed_team_ids=set(form.championed.data or []))
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            flash(_("Changes to %(name)s have been saved.", name=membership.user.name))
            return redirect(url_for("admin.organisation", organisation_id=organisation_id, _anchor="people"))
    return render_template("admin/member.html", form=form, organisation=scope.organisation, membership=membership,
                           confirm_form=ConfirmForm()), form_status(form)


@blueprint.post("/org/<int:organisation_id>/members/<int:membership_id>/remove")
def remove_member(organisation_id: int, membership_id: int):
    database = db.get_session()
    scope = _managing_scope(organisation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = scope.membership(database, membership_id).user.name
    people.remove_membership(database, scope, membership_id)
    database.commit()
    flash(_("%(name)s has been removed from the organisation.", name=name))
    return redirect(url_for("admin.organisation", organisation_id=organisation_id, _anchor="people"))
