"""A person's own data: the privacy notice, and what is held about them, to download."""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from lms import db
from lms.db import utcnow
from lms.errors import InvalidInput
from lms.forms import ConfirmForm, form_status
from lms.people import passwords
from lms.people.scope import managing_scope_for, scope_for, signed_in_organisations
from lms.i18n import choose_language
from lms.privacy import erasure, holdings, labels, retention
from lms.privacy import notice as privacy_notice
from lms.privacy.forms import DeleteAccountForm

blueprint = Blueprint("privacy", __name__, template_folder="templates")


@blueprint.app_template_global()
def privacy_notice_url(organisation_id: int) -> str:
    """The privacy notice with this organisation's details on it."""
    return url_for("privacy.notice", organisation=privacy_notice.link_token(current_app.secret_key, organisation_id))


@blueprint.get("/privacy")
def notice():
    """Public: what is held and why. ?organisation=<id> shows that organisation's controller
    details; otherwise a signed-in person's organisations."""
    organisations = []
    if "organisation" in request.args:
        found = privacy_notice.find_organisation(db.get_session(), current_app.secret_key, request.args["organisation"])
        if found is None:
            return render_template("error.html", status=404, message=_(
                "This link does not name an organisation. Check the link you followed.")), 404
        organisations = [found]
    elif current_user.is_authenticated:
        organisations = signed_in_organisations()
    return render_template("privacy/notice.html", organisations=organisations,
                           retention=retention.Periods.of(current_app.config))


@blueprint.get("/account/your-data.json")
@login_required
def your_data():
    held = holdings.held_about(db.get_session(), current_user.id)
    body = json.dumps({"generated_at": utcnow().isoformat(), **held}, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="your-data-{utcnow():%Y-%m-%d}.json"'})


@blueprint.get("/account/your-data")
@login_required
def your_data_page():
    """The same as the download, to read: every record, under a heading, field by field."""
    held = holdings.held_about(db.get_session(), current_user.id)
    language = choose_language()
    titles = {course.id: course.title(language) for course in current_app.extensions["lms.catalogue"].all()}
    return render_template("privacy/your_data.html", held=held, sections=labels.SECTIONS,
                           action_sections=labels.ACTION_SECTIONS, fields=labels.FIELDS,
                           shown=lambda field, value: labels.readable(field, value, titles))


# --- erasure -------------------------------------------------------------------------------

@blueprint.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    database = db.get_session()
    form = DeleteAccountForm()
    blocker = erasure.blocker_for_self(database, current_user)
    if form.validate_on_submit():
        if blocker:
            form.form_errors.append(str(blocker))
        elif not passwords.check_password(current_user.password_hash, form.password.data):
            form.password.errors.append(_("Your password is not right"))
        else:
            erasure.erase_account(database, current_user.id, erasure.Storage.of(current_app), erased_by=None,
                                  reason=erasure.OWN_REQUEST)
            database.commit()
            logout_user()
            session.clear()
            flash(_("Your account has been deleted, and your name and email address erased."))
            return redirect(url_for("site.home"))
    return render_template("privacy/delete_account.html", form=form, blocker=blocker), form_status(form)


@blueprint.route("/org/<int:organisation_id>/members/<int:membership_id>/erase", methods=["GET", "POST"])
@login_required
def erase_member(organisation_id: int, membership_id: int):
    database = db.get_session()
    scope = managing_scope_for(database, current_user, organisation_id)
    membership = scope.membership(database, membership_id)
    form = ConfirmForm()
    try:
        erasure.erasable_member(database, scope, membership_id)
    except InvalidInput as refused:
        form.form_errors.append(str(refused.message))
    else:
        if form.validate_on_submit():
            erasure.erase_account(database, membership.user_id, erasure.Storage.of(current_app),
                                  erased_by=current_user, reason=erasure.ORG_ADMIN)
            database.commit()
            flash(_("The person's account has been deleted, and their name and email address erased."))
            return redirect(url_for("admin.organisation", organisation_id=organisation_id, _anchor="people"))
    status = 400 if request.method == "POST" else 200
    return render_template("privacy/erase_member.html", form=form, membership=membership,
                           organisation=scope.organisation), status if form.form_errors else 200


@blueprint.route("/org/<int:organisation_id>/sessions/<int:workshop_id>/register/<int:attendance_id>/erase",
                 methods=["GET", "POST"])
@login_required
def erase_walk_in(organisation_id: int, workshop_id: int, attendance_id: int):
    database = db.get_session()
    scope = scope_for(database, current_user, organisation_id)
    form = ConfirmForm()
    try:
        attendance = erasure.erasable_walk_in(database, scope, workshop_id, attendance_id)
    except InvalidInput as refused:
        return render_template("error.html", status=400, message=str(refused.message)), 400
    if form.validate_on_submit():
        erasure.erase_walk_in(database, attendance, erasure.Storage.of(current_app), erased_by=current_user,
                              reason=erasure.TRAINER)
        database.commit()
        flash(_("The walk-in's name and email address have been erased from the register."))
        return redirect(url_for("workshops.register_page", organisation_id=organisation_id, workshop_id=workshop_id))
    return render_template("privacy/erase_walk_in.html", form=form, attendance=attendance,
                           organisation=scope.organisation)
