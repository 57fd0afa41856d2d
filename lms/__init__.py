"""Prevent LMS. create_app() is the one place the application is assembled."""
from __future__ import annotations

import os

from flask import Flask, Response, current_app, render_template, request, session
from flask_babel import Babel
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix

from lms import config as settings
from lms import db
from lms.errors import Forbidden, OutOfScope
from lms.extensions import csrf, limiter, login_manager
from lms.i18n import (install_template_i18n, lang_attributes, language_name, language_name_here, language_options,
                      local_date, page_language, select_locale, text_direction)


def create_app(overrides: dict | None = None, *, secret_required: bool = True) -> Flask:
    """secret_required=False lets the `lms` command run tools that sign nothing without
    LMS_SECRET_KEY; anything that serves requests still refuses to start without it."""
    config = settings.from_environment(overrides, secret_required=secret_required)
    config.update(overrides or {})
    app = Flask(__name__, instance_path=str(config["INSTANCE_DIR"]), instance_relative_config=False)
    app.config.update(config)

    if app.config["PROXY_FIX"]:
        # Only as many hops as there are proxies: a header from beyond them could be forged.
        hops = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    db.init_app(app)
    # One Babel per app: its translation cache belongs to the app's own catalogues.
    Babel(app, locale_selector=select_locale)
    install_template_i18n(app)
    from lms.forms import apply_upload_limit

    app.before_request(apply_upload_limit)
    csrf.init_app(app)
    limiter.init_app(app)
    _warn_about_per_process_limits(app)
    _init_login(app)
    _init_catalogue(app)

    from lms.admin.routes import blueprint as admin_blueprint
    from lms.audit.routes import blueprint as audit_blueprint
    from lms.auth.routes import blueprint as auth_blueprint
    from lms.certify.routes import blueprint as certify_blueprint
    from lms.learn.routes import blueprint as learn_blueprint
    from lms.reports.routes import blueprint as reports_blueprint
    from lms.site.routes import blueprint as site_blueprint
    from lms.training.routes import blueprint as training_blueprint
    from lms.translate.routes import blueprint as translate_blueprint
    from lms.workshops.routes import blueprint as workshops_blueprint
    from lms.guests.routes import blueprint as guests_blueprint
    from lms.privacy.routes import blueprint as privacy_blueprint
    from lms.interop.routes import blueprint as interop_blueprint

    app.register_blueprint(site_blueprint)
    app.register_blueprint(auth_blueprint)
    app.register_blueprint(admin_blueprint)
    app.register_blueprint(learn_blueprint)
    app.register_blueprint(certify_blueprint)
    app.register_blueprint(translate_blueprint)
    app.register_blueprint(training_blueprint)
    app.register_blueprint(reports_blueprint)
    app.register_blueprint(audit_blueprint)
    app.register_blueprint(workshops_blueprint)
    app.register_blueprint(guests_blueprint)
    app.register_blueprint(privacy_blueprint)
    app.register_blueprint(interop_blueprint)
    from lms import serving

    serving.init_app(app)  # after the blueprints: it serves their static folders too

    _init_errors(app)
    app.after_request(_security_headers)
    app.context_processor(_layout_context)
    app.add_template_filter(local_date)
    app.add_template_global(text_direction)
    app.add_template_global(lang_attributes)
    app.add_template_global(language_name)
    app.add_template_global(language_name_here)
    from lms.certify.codes import display as display_code

    app.add_template_global(display_code, name="display_code")
    app.add_template_global(db.utcnow, name="now")

    from lms.cli import register_commands

    register_commands(app)
    return app


def _warn_about_per_process_limits(app: Flask) -> None:
    """Under gunicorn each worker is a process: with memory:// storage each would keep its own
    count, and the sign-in limit would be as many times looser as there are workers."""
    under_gunicorn = os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn")
    if under_gunicorn and app.config["RATELIMIT_ENABLED"] and app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        app.logger.warning(MEMORY_LIMITS_WARNING)


MEMORY_LIMITS_WARNING = ("LMS_RATELIMIT_STORAGE_URI is memory://, so each server process counts sign-in attempts "
                         "on its own: with several workers the limit is looser than configured. "
                         "Set LMS_RATELIMIT_STORAGE_URI=redis://... so that every worker shares one count.")


def _course_url(course_id: str, inside: str) -> str:
    """Web addresses for references inside a course (they match lms/learn/routes.py)."""
    if inside.startswith("modules/") and inside.endswith(".md"):
        return f"/courses/{course_id}/lessons/{inside.removeprefix('modules/').removesuffix('.md')}"
    return f"/courses/{course_id}/{inside}"


def _init_catalogue(app: Flask) -> None:
    from lms.catalogue import discover

    # Courses are read once at start-up; a broken one is logged and left out, never a 500.
    app.extensions["lms.catalogue"] = discover(app.config["COURSE_PATHS"], course_url=_course_url)


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = None  # the sign-in page explains itself
    login_manager.session_protection = "strong"

    from lms.people.scope import keep_signed_in_organisations, user_and_organisations

    @login_manager.user_loader
    def load_user(cookie_id: str):
        user_id, _, token = cookie_id.partition(":")
        if not user_id.isdigit():
            return None
        user, organisations = user_and_organisations(db.get_session(), int(user_id))
        # A changed password changes the token, ending every other session.
        if user is None or user.session_token != token:
            return None
        if request.method in db.SAFE_METHODS:
            # A GET changes no memberships: the header may list what was read with the user. A
            # POST reads them again when asked, after whatever it changed.
            keep_signed_in_organisations(organisations)
        return user


def _init_errors(app: Flask) -> None:
    def render_error(status: int, **context):
        """The error page, after rolling back whatever the failed request left half done. If
        the page itself cannot be drawn, a plain one: an error page must never raise."""
        try:
            db.rollback_request_session()
            return render_template("error.html", status=status, **context), status
        except Exception:  # noqa: BLE001 - the last line of defence
            app.logger.exception("The error page for %s could not be drawn", status)
            return Response(PLAIN_ERROR, status=status, mimetype="text/plain")

    @app.errorhandler(OutOfScope)
    def out_of_scope(_error):
        return render_error(404)

    @app.errorhandler(Forbidden)
    def forbidden(error):
        return render_error(403, message=str(error))

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return render_error(400, csrf=True)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        response = render_error(error.code)
        if error.code == 405 and error.valid_methods:
            return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(InternalServerError)
    def server_error(_error):
        # Flask has already logged the original exception with its traceback.
        return render_error(500)

    @app.errorhandler(OperationalError)
    def database_busy(error: OperationalError):
        if "database is locked" not in str(error.orig):
            raise error  # any other database failure is a 500, logged by Flask
        # SQLite waited its whole busy timeout: say "busy, try again", not "broken".
        app.logger.error("SQLite stayed locked on %s %s", request.method, request.path, exc_info=error)
        response = render_error(503)
        return response[0], 503, {"Retry-After": "10"}


PLAIN_ERROR = "Sorry, something went wrong on our side. Please go back and try again in a minute."


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure or current_app.config["SESSION_COOKIE_SECURE"]:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if current_user and current_user.is_authenticated:
        headers.setdefault("Cache-Control", "private, no-store")
    return response


def _layout_context() -> dict:
    from lms.site.services import current_organisation_id

    organisations = []
    current_id = None
    if current_user and current_user.is_authenticated:
        from lms.people.scope import signed_in_organisations

        organisations = signed_in_organisations()
        current_id = current_organisation_id(session, organisations)
    return {
        "page_language": page_language(),
        "language_options": language_options(),
        "user_organisations": organisations,
        "current_organisation_id": current_id,
    }
