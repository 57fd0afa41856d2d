"""Using these courses in another LMS: the SCORM 1.2 package, for an organisation's admins."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from flask_login import current_user, login_required

from lms import db
from lms.interop import scorm
from lms.people.scope import managing_scope_for

blueprint = Blueprint("interop", __name__, template_folder="templates")


@blueprint.get("/org/<int:organisation_id>/courses/<course_id>/scorm12.zip")
@login_required
def scorm_package(organisation_id: int, course_id: str):
    managing_scope_for(db.get_session(), current_user, organisation_id)
    course = current_app.extensions["lms.catalogue"].get(course_id)
    language = request.args.get("lang", "en")
    if course is None or language not in course.languages:
        abort(404)
    package = scorm.build(course, language)
    return Response(package.data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{package.filename}"', "Cache-Control": "private, no-cache"})
