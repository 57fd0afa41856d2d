"""Using these courses and certificates elsewhere: the SCORM 1.2 package, for an organisation's
admins, and Open Badges, for holders and the platforms that check them."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask_login import current_user, login_required

from lms import db
from lms.certify import codes
from lms.certify.services import certificate_of_user, find_by_code
from lms.extensions import limiter
from lms.interop import badges, scorm
from lms.models import Organisation
from lms.people.scope import MAX_ID, managing_scope_for

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


# --- Open Badges 2.0, hosted verification ------------------------------------------------------

def _base() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def _json(body: dict, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Access-Control-Allow-Origin"] = "*"  # a backpack checks from its own page
    return response


def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


@blueprint.get("/badges/assertions/<code>")
@limiter.limit(_verify_limit)
def badge_assertion(code: str):
    certificate = find_by_code(db.get_session(), code)
    if certificate is None or (certificate.completion.user_id is None and certificate.completion.holder_erased_at is None):
        return _json({"error": "No badge has this code."}, 404)
    if certificate.completion.holder_erased_at is not None:
        return _json(badges.revoked(_base(), certificate, "The holder's details have been erased."), 410)
    if certificate.revoked_at is not None:
        return _json(badges.revoked(_base(), certificate, "Revoked by the organisation that issued it."), 410)
    return _json(badges.assertion(_base(), current_app.secret_key, certificate))


@blueprint.get("/badges/classes/<key>/<course_id>")
def badge_class(key: str, course_id: str):
    issuer_id = badges.issuer_from_key(current_app.secret_key, key)
    course = current_app.extensions["lms.catalogue"].get(course_id)
    if issuer_id is None or course is None:
        return _json({"error": "No badge class is at this address."}, 404)
    organisation_id = None if issuer_id == badges.PLATFORM_ISSUER else issuer_id
    return _json(badges.badge_class(_base(), current_app.secret_key, organisation_id, course))


@blueprint.get("/badges/issuers/<key>")
def badge_issuer(key: str):
    issuer_id = badges.issuer_from_key(current_app.secret_key, key)
    organisation = None
    if issuer_id not in (None, badges.PLATFORM_ISSUER):
        organisation = db.get_session().get(Organisation, issuer_id) if 0 < issuer_id <= MAX_ID else None
        if organisation is None:
            issuer_id = None
    if issuer_id is None:
        return _json({"error": "No issuer is at this address."}, 404)
    return _json(badges.issuer(_base(), current_app.secret_key, organisation))


@blueprint.get("/badges/images/<course_id>.svg")
def badge_image(course_id: str):
    course = current_app.extensions["lms.catalogue"].get(course_id)
    if course is None:
        abort(404)
    return Response(badges.image(course), mimetype="image/svg+xml")


@blueprint.get("/certificates/<code>/badge.svg")
@login_required
def badge_download(code: str):
    """The holder's badge, to add to a backpack or another platform."""
    certificate = certificate_of_user(db.get_session(), current_user.id, code)
    if certificate.revoked_at is not None:
        abort(410)
    course = current_app.extensions["lms.catalogue"].get(certificate.completion.course_id)
    if course is None:
        abort(404)
    svg = badges.baked(badges.image(course), badges.assertion_url(_base(), certificate))
    return Response(svg, mimetype="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="badge-{codes.display(certificate.code)}.svg"'})
