"""The audit log page, for org admins."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import db
from lms.admin.forms import role_choices
from lms.audit import services
from lms.certify.render import available_templates
from lms.i18n import choose_language
from lms.pagination import page_number
from lms.people.scope import managing_scope_for

blueprint = Blueprint("audit", __name__, template_folder="templates")


@blueprint.before_request
@login_required
def require_sign_in():
    return None


@blueprint.get("/org/<int:organisation_id>/audit")
def log(organisation_id: int):
    database = db.get_session()
    scope = managing_scope_for(database, current_user, organisation_id)
    catalogue = current_app.extensions["lms.catalogue"]
    language = choose_language()
    titles = {course.id: course.title(language) for course in catalogue.all()}
    designs = {name: template.title for name, template in available_templates().items()}
    return render_template("audit/log.html", scope=scope, organisation=scope.organisation,
                           page=services.events(database, organisation_id, page_number(request.args.get("page"))),
                           titles=titles, roles=dict(role_choices()), designs=designs, moment=_moment,
                           shown=lambda details: services.with_erased_shown(details or {}, _("(details erased)")))


def _moment(iso: str | None) -> datetime | None:
    """A time the log stored as text, back as a datetime to show in the local zone."""
    try:
        return datetime.fromisoformat(iso) if iso else None
    except (TypeError, ValueError):
        return None
