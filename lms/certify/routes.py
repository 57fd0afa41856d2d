"""Certificates: the learner's download, the public verification page, and revocation."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms import db
from lms.certify import batches, codes, render, services
from lms.certify.forms import BatchForm, DesignForm, RevokeForm, VerifyForm
from lms.errors import InvalidInput
from lms.extensions import limiter
from lms.forms import accepts_uploads_up_to, form_status, show_error
from lms.guests import browser
from lms.i18n import choose_language
from lms.pagination import page_number, paginate
from lms.people.scope import managing_scope_for, scope_for

LOGO_UPLOAD_READ_LIMIT = 8 * 1024 * 1024
blueprint = Blueprint("certify", __name__, template_folder="templates")


def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


def _cache() -> services.PdfCache:
    return services.PdfCache(current_app.config["CERTIFICATE_CACHE_DIR"])


@blueprint.get("/certificates/<code>.pdf")
def download(code: str):
    database = db.get_session()
    if current_user.is_authenticated:
        holder = {"user_id": current_user.id}
    else:  # someone who learned an open course without an account
        guest = browser.current_guest(database)
        if guest is None:
            return current_app.login_manager.unauthorized()
        holder = {"user_id": None, "guest_id": guest.id}
    try:
        certificate = services.downloadable_certificate(database, typed_code=code, **holder)
    except services.CertificateRevoked as revoked:
        return revoked_page(revoked.certificate)
    return send_certificate(certificate)


def send_certificate(certificate):
    """The certificate as a PDF download (drawn once per content, then from the cache), or the
    410 page when it has been revoked. The caller has decided the person may have it."""
    if certificate.revoked_at is not None:
        return revoked_page(certificate)
    drawing = services.drawing_for(db.get_session(), certificate, current_app.extensions["lms.catalogue"],
                                   base_url=current_app.config["BASE_URL"])
    path = services.pdf_path(drawing, _cache())
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=f"certificate-{codes.display(certificate.code)}.pdf", etag=drawing.key)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def revoked_page(certificate):
    """410 Gone: the holder is told the certificate was withdrawn and when, not the reason,
    which the organisation keeps for its records."""
    catalogue = current_app.extensions["lms.catalogue"]
    course = catalogue.get(certificate.completion.course_id)
    response = current_app.make_response((render_template(
        "certify/revoked.html", certificate=certificate, course=course,
        course_title=course.title(choose_language()) if course else certificate.completion.course_id,
        code=codes.display(certificate.code)), 410))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/verify")
@limiter.limit(_verify_limit)
def verify_form():
    form = VerifyForm(request.args)
    if "code" in request.args and form.validate():
        code = codes.normalise(form.code.data)
        if code is not None:
            return redirect(url_for("certify.verify", code=codes.display(code)))
        form.code.errors.append(_("That is not a valid verification code. Check each character and try again."))
    status = 400 if "code" in request.args and form.errors else 200
    return render_template("certify/verify_form.html", form=form), status


@blueprint.get("/verify/<code>")
@limiter.limit(_verify_limit)
def verify(code: str):
    database = db.get_session()
    certificate = services.find_by_code(database, code)
    if certificate is None:
        abort(404)
    catalogue = current_app.extensions["lms.catalogue"]
    course = catalogue.get(certificate.completion.course_id)
    return render_template(
        "certify/verify.html", certificate=certificate, status=services.status_of(certificate),
        name=certificate.completion.holder_name, course_title=course.title() if course else certificate.completion.course_id,
        code=codes.display(certificate.code))


# --- for the organisation's admins -------------------------------------------------------

@blueprint.get("/org/<int:organisation_id>/certificates")
@login_required
def organisation_certificates(organisation_id: int):
    database = db.get_session()
    scope = _managing_scope(organisation_id)
    page = paginate(database, scope.certificates(), page_number(request.args.get("page")))
    batch_form = _batch_form()
    return render_template("certify/organisation_certificates.html", organisation=scope.organisation, page=page,
                           batch_form=batch_form,
                           catalogue=current_app.extensions["lms.catalogue"], status_of=services.status_of,
                           display=codes.display)


@blueprint.route("/org/<int:organisation_id>/certificates/<int:certificate_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke(organisation_id: int, certificate_id: int):
    database = db.get_session()
    scope = scope_for(database, current_user, organisation_id)
    certificate = scope.certificate(database, certificate_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            services.revoke(database, certificate, reason=form.reason.data, revoked_by=current_user)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            flash(_("Certificate %(code)s has been revoked.", code=codes.display(certificate.code)))
            return redirect(url_for("certify.organisation_certificates", organisation_id=organisation_id))
    return render_template("certify/revoke.html", form=form, organisation=scope.organisation, certificate=certificate,
                           name=certificate.completion.holder_name, code=codes.display(certificate.code)), form_status(form)


def _managing_scope(organisation_id: int):
    return managing_scope_for(db.get_session(), current_user, organisation_id)


@blueprint.route("/org/<int:organisation_id>/certificate-design", methods=["GET", "POST"])
@login_required
# Read a logo up to a few times its own limit, so a too-large one gets the form's own
# message ("smaller than 512 KB") with the choices kept, not a bare "file too large" page.
@accepts_uploads_up_to(LOGO_UPLOAD_READ_LIMIT)
def design(organisation_id: int):
    database = db.get_session()
    scope = _managing_scope(organisation_id)
    organisation = scope.organisation
    form = DesignForm(data={"template": organisation.certificate_template or render.DEFAULT_TEMPLATE})
    form.template.choices = [(name, template.title) for name, template in render.available_templates().items()]
    if form.validate_on_submit():
        upload = form.logo.data
        logo = (upload.read(), upload.filename or "") if upload and getattr(upload, "filename", "") else None
        try:
            services.set_design(database, organisation, template_name=form.template.data, logo_upload=logo,
                                remove_logo=form.remove_logo.data, changed_by=current_user)
        except InvalidInput as problem:
            database.rollback()
            show_error(form, problem)
        else:
            database.commit()
            flash(_("The certificate design has been saved."))
            return redirect(url_for("certify.design", organisation_id=organisation_id))
    return render_template("certify/design.html", form=form, organisation=organisation), form_status(form)


@blueprint.get("/org/<int:organisation_id>/certificate-design/preview.pdf")
@login_required
def design_preview(organisation_id: int):
    scope = _managing_scope(organisation_id)
    catalogue = current_app.extensions["lms.catalogue"]
    course = next(iter(catalogue.all()), None)
    drawing = services.sample_drawing(scope.organisation, course.title() if course else "Prevent awareness",
                                      base_url=current_app.config["BASE_URL"], language="en")
    path = services.pdf_path(drawing, _cache())
    return send_file(path, mimetype="application/pdf", download_name="certificate-preview.pdf")


def _batch_form() -> BatchForm:
    form = BatchForm()
    form.course.choices = [("", _("All courses"))] + [(c.id, c.title()) for c in current_app.extensions["lms.catalogue"].all()]
    return form


@blueprint.post("/org/<int:organisation_id>/certificates/batches")
@login_required
def start_batch(organisation_id: int):
    database = db.get_session()
    scope = _managing_scope(organisation_id)
    form = _batch_form()
    if form.validate_on_submit():
        try:
            batch = batches.create_batch(database, scope, kind=form.kind.data, course_id=form.course.data or None,
                                         requested_by=current_user)
        except InvalidInput as problem:
            show_error(form, problem)
        else:
            database.commit()
            batches.start(current_app._get_current_object(), batch.id)
            return redirect(url_for("certify.batch", organisation_id=organisation_id, batch_id=batch.id))
    return render_template("certify/batch_form.html", form=form, organisation=scope.organisation), form_status(form)


@blueprint.get("/org/<int:organisation_id>/certificates/batches/<int:batch_id>")
@login_required
def batch(organisation_id: int, batch_id: int):
    database = db.get_session()
    scope = scope_for(database, current_user, organisation_id)
    found = batches.get_batch(database, scope, batch_id)
    return render_template("certify/batch.html", batch=found, organisation=scope.organisation,
                           may_manage=scope.can_manage)


@blueprint.get("/org/<int:organisation_id>/certificates/batches/<int:batch_id>/download")
@login_required
def batch_download(organisation_id: int, batch_id: int):
    database = db.get_session()
    scope = scope_for(database, current_user, organisation_id)
    found = batches.get_batch(database, scope, batch_id)
    path = batches.output_path(current_app.config["BATCH_DIR"], found)
    if found.status != "done" or not path.exists():
        abort(404)
    kind = batches.kind_of(found)
    mimetype = "application/pdf" if kind == "pdf" else "application/zip"
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=f"certificates-{found.id}.{kind}")
