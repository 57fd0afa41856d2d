from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from lms import db
from lms.extensions import limiter
from lms.i18n import SESSION_KEY as LOCALE_KEY
from lms import i18n
from lms.i18n import available_locales
from lms.people.scope import organisations_for, scope_of, signed_in_organisations
from lms.people.services import format_join_code, membership_of
from lms.site import services

blueprint = Blueprint("site", __name__, template_folder="templates")


@blueprint.get("/")
def home():
    if not current_user.is_authenticated:
        return render_template("site/welcome.html", courses=current_app.extensions["lms.catalogue"].all(),
                               language=i18n.choose_language())
    database = db.get_session()
    organisations = signed_in_organisations()
    current_id = services.current_organisation_id(session, organisations)
    current = next((o for o in organisations if o.id == current_id), None)
    membership = membership_of(database, current_user, current.id) if current else None
    sees_reports = bool(membership) and scope_of(database, current_user, current, membership).sees_people
    return render_template(
        "site/home.html", organisation=current, membership=membership, sees_reports=sees_reports,
        join_code=format_join_code(current.join_code) if current else None,
    )


@blueprint.get("/healthz")
@limiter.exempt
def healthz():
    if services.database_reachable(db.get_engine()):
        return jsonify(status="ok", database="ok")
    return jsonify(status="error", database="unreachable"), 503


@blueprint.get("/readyz")
@limiter.exempt
def readyz():
    """Whether this process should receive traffic: its database answers, the Redis it is
    configured with answers, and it has courses to serve. 503 names what is missing. For a
    load balancer's readiness check; /healthz stays the cheap liveness probe."""
    checks = {"database": "ok" if services.database_reachable(db.get_engine()) else "unreachable"}
    storage = current_app.config.get("RATELIMIT_STORAGE_URI", "")
    if storage.startswith(("redis://", "rediss://")):
        checks["redis"] = "ok" if services.redis_reachable(storage) else "unreachable"
    if current_app.config.get("REDIS_URL"):
        checks["job_queue"] = "ok" if services.redis_reachable(current_app.config["REDIS_URL"]) else "unreachable"
    catalogue = current_app.extensions["lms.catalogue"]
    checks["catalogue"] = "ok" if catalogue.courses else "no courses"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ready else "error", **checks, courses=len(catalogue.courses),
                   broken_courses=sorted(Path(str(folder)).name for folder in catalogue.broken)), 200 if ready else 503


@blueprint.post("/organisation")
def switch_organisation():
    if not current_user.is_authenticated:
        abort(401)
    organisations = organisations_for(db.get_session(), current_user)
    raw = request.form.get("organisation_id", "")
    if not raw.isdigit() or int(raw) not in {o.id for o in organisations}:
        abort(404)
    session[services.ORGANISATION_KEY] = int(raw)
    return redirect(url_for("site.home"))


@blueprint.post("/language")
def choose_language():
    code = request.form.get("language", "")
    if code not in available_locales():
        abort(400)
    session[LOCALE_KEY] = code
    if current_user.is_authenticated:
        # The saved preference wins over the session, so the choice must be saved to stick.
        current_user.preferred_language = code
        db.get_session().commit()
    return redirect(_same_site_path(request.form.get("next")) or url_for("site.home"))


def _same_site_path(target: str | None) -> str | None:
    """Only local paths, so the selector cannot be used to send people elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
