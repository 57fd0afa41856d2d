"""Using these courses and certificates elsewhere: the SCORM 1.2 package and LTI 1.3 platforms,
for an organisation's admins; launches from those platforms; and Open Badges, for holders and
the platforms that check them."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from lms import db
from lms.auth.routes import start_session
from lms.certify import codes
from lms.certify.services import certificate_of_user, find_by_code
from lms.errors import InvalidInput
from lms.extensions import csrf, limiter
from lms.forms import ConfirmForm, form_status, show_error
from lms.i18n import SESSION_KEY, available_locales, choose_language
from lms.interop import badges, lti, scorm
from lms.interop.forms import LtiPlatformForm
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


# --- LTI 1.3: platforms that launch these courses ---------------------------------------------

def _tool_urls() -> dict[str, str]:
    base = _base()
    return {"login": base + url_for("interop.lti_login"), "launch": base + url_for("interop.lti_launch"),
            "jwks": base + url_for("interop.lti_jwks")}


@blueprint.route("/org/<int:organisation_id>/lti", methods=["GET", "POST"])
@login_required
def lti_platforms(organisation_id: int):
    """The tool's details to give a platform, the platforms registered, and a form for another."""
    database = db.get_session()
    scope = managing_scope_for(database, current_user, organisation_id)
    form = LtiPlatformForm()
    if form.validate_on_submit():
        details = lti.PlatformDetails(
            name=form.name.data, issuer=form.issuer.data, client_id=form.client_id.data,
            deployment_ids=(form.deployment_ids.data or "").splitlines(), auth_login_url=form.auth_login_url.data,
            auth_token_url=form.auth_token_url.data, key_set_url=form.key_set_url.data)
        try:
            platform = lti.register_platform(database, scope, details, actor=current_user)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            flash(_("%(platform)s can now open these courses.", platform=platform.name))
            return redirect(url_for("interop.lti_platforms", organisation_id=organisation_id))
    return render_template("interop/lti_platforms.html", organisation=scope.organisation, form=form,
                           platforms=lti.platforms_of(database, scope), tool=_tool_urls(),
                           courses=[(course.id, course.title(choose_language()))
                                    for course in current_app.extensions["lms.catalogue"].all()],
                           remove_form=ConfirmForm()), form_status(form)


@blueprint.post("/org/<int:organisation_id>/lti/<int:platform_id>/remove")
@login_required
def lti_platform_remove(organisation_id: int, platform_id: int):
    database = db.get_session()
    scope = managing_scope_for(database, current_user, organisation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    lti.remove_platform(database, scope, platform_id, actor=current_user)
    database.commit()
    flash(_("The platform can no longer open these courses."))
    return redirect(url_for("interop.lti_platforms", organisation_id=organisation_id))


@blueprint.get("/lti/jwks.json")
def lti_jwks():
    keys = lti.published_keys(db.get_session())
    if not keys["keys"]:
        with db.write_transaction() as database:  # the very first request makes the key
            keys = lti.jwks(database)
    return _json(keys)


def _refused(status: int = 403):
    message = _("This course could not be opened from your learning platform, because the request from it did not pass "
                "our checks. Nothing was recorded. Go back to your learning platform and open the course again. If it "
                "happens again, tell whoever looks after that platform.")
    return render_template("error.html", status=status, message=message), status


@blueprint.route("/lti/login", methods=["GET", "POST"])
@csrf.exempt  # the platform starts the login from its own site; OIDC's state and nonce guard it
def lti_login():
    try:
        with db.write_transaction() as database:
            return lti.begin_login(database, _tool_urls()["launch"])
    except lti.LaunchRefused:
        return _refused(400)


@blueprint.post("/lti/launch")
@csrf.exempt  # the platform posts the id token from its own site; pylti1p3 checks state and nonce
@db.reads_only
def lti_launch():
    catalogue = current_app.extensions["lms.catalogue"]
    courses, languages = {course.id: course for course in catalogue.all()}, set(available_locales())
    try:
        checked = lti.check_launch(db.get_session())
        try:
            with db.write_transaction() as database:
                launched = lti.admit(database, checked, courses, languages)
        except IntegrityError:
            # The same person's first launch in two tabs at once: one made the account (or
            # membership) the other tried to make. Rolled back, nonce and all; the second try finds it.
            with db.write_transaction() as database:
                launched = lti.admit(database, checked, courses, languages)
    except lti.LaunchRefused:
        return _refused()
    start_session(launched.user, launched.organisation_id)
    if launched.language:
        session[SESSION_KEY] = launched.language
    if launched.course_id is None:
        return redirect(url_for("learn.my_courses"))
    return redirect(url_for("learn.course", course_id=launched.course_id,
                            **({"lang": launched.language} if launched.language else {})))


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
