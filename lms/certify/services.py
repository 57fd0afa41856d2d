"""Certificates without Flask routes: issuing, drawing (cached by content), verifying
and revoking."""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from babel.dates import format_date
from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.catalogue import Catalogue
from lms.certify import codes, render
from lms.dates import add_months
from lms.db import utcnow
from lms.errors import InvalidInput, OutOfScope
from lms.i18n import is_rtl
from lms.models import Certificate, Completion, Organisation, User

VALID = "valid"
EXPIRED = "expired"
REVOKED = "revoked"


class NoPassingCompletion(LookupError):
    """A certificate needs a stored, passing completion behind it."""


def issue_certificate(db: Session, completion_id: int, organisation_id: int | None) -> Certificate:
    """The completion's certificate, issued now if it has none yet."""
    completion = db.get(Completion, completion_id)
    if completion is None:
        raise NoPassingCompletion(completion_id)
    existing = db.scalars(select(Certificate).where(Certificate.completion_id == completion.id)).first()
    if existing is not None:
        return existing
    for _attempt in range(5):  # 80 random bits: a clash is astronomically unlikely, but harmless
        certificate = Certificate(completion_id=completion.id, code=codes.new_code(), organisation_id=organisation_id)
        try:
            with db.begin_nested():
                db.add(certificate)
            return certificate
        except IntegrityError:
            existing = db.scalars(select(Certificate).where(Certificate.completion_id == completion.id)).first()
            if existing is not None:
                return existing
    raise RuntimeError("could not draw a unique certificate code")


def find_by_code(db: Session, typed: str) -> Certificate | None:
    code = codes.normalise(typed)
    if code is None:
        return None
    return db.scalars(select(Certificate).where(Certificate.code == code)).first()


def status_of(certificate: Certificate, now: datetime | None = None) -> str:
    if certificate.revoked_at is not None:
        return REVOKED
    if certificate.completion.expires_at <= (now or utcnow()):
        return EXPIRED
    return VALID


def revoke(db: Session, certificate: Certificate, *, reason: str, revoked_by: User) -> None:
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput(_l("Give the reason for revoking the certificate"), "reason")
    if len(reason) > 1000:
        raise InvalidInput(_l("The reason must be 1,000 characters or fewer"), "reason")
    if certificate.revoked_at is not None:
        raise InvalidInput(_l("This certificate has already been revoked"), "reason")
    certificate.revoked_at = utcnow()
    certificate.revoked_reason = reason
    certificate.revoked_by_id = revoked_by.id
    db.flush()
    if certificate.organisation_id is not None:  # only a certificate an organisation issued can be revoked
        completion = certificate.completion
        audit.record(db, certificate.organisation_id, revoked_by, audit.CERTIFICATE_REVOKED,
                     code=codes.display(certificate.code), course=completion.course_id, name=completion.holder_name,
                     reason=reason)


# --- drawing ------------------------------------------------------------------------------

def _labels(method: str) -> tuple[dict, str]:
    text = {
        "heading": _("Certificate of completion"),
        "certifies": _("This is to certify that"),
        "completed": _("has completed the course"),
        "completed_on": _("Completed on"),
        "valid_until": _("Valid until"),
        "method": _("How"),
        "code": _("Verification code"),
        "verify": _("Check that this certificate is genuine at"),
    }
    how = _("Session attended with a trainer") if method == "attendance" else _("Online course and quiz")
    return text, how


def _date_locale(language: str) -> str:
    """The locale a certificate's dates are written in: as on pages (lms.i18n.select_locale),
    English is the app's default locale, British, so "5 December 2026", not "December 5, 2026"."""
    if language.replace("-", "_") == "en":
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "en_GB") if has_app_context() else "en_GB"
    return language


def _local_date(moment: datetime, language: str) -> str:
    return format_date(to_user_timezone(moment).date(), "long", locale=_date_locale(language))


def fields_for(*, name: str, course_title: str, completed_at: datetime, expires_at: datetime, method: str,
               organisation: str, code: str, verify_url: str, language: str) -> render.CertificateFields:
    """The certificate's words, in the language and script asked for."""
    with force_locale(language):
        text, how = _labels(method)
    return render.CertificateFields(
        name=name, course_title=course_title, completed_on=_local_date(completed_at, language),
        expires_on=_local_date(expires_at, language), method=how, organisation=organisation,
        code=codes.display(code), verify_url=verify_url, lang=language.replace("_", "-"),
        dir="rtl" if is_rtl(language) else "ltr", text=text)


@dataclass
class Drawing:
    """Everything needed to draw one certificate, and the key its PDF is cached under."""

    template: render.CertificateTemplate
    html: str
    logo: tuple[bytes, str] | None
    qr: bytes
    # The cache folder it is kept in: the certificate's own, or the one for made-up samples.
    owner: str = "samples"

    @property
    def key(self) -> str:
        return render.cache_key(self.template, self.html, self.logo)

    def fetcher(self):
        return render.make_fetcher(self.template, logo=self.logo, qr=self.qr)


def drawing_for(db: Session, certificate: Certificate, catalogue: Catalogue, *, base_url: str,
                language: str | None = None) -> Drawing:
    completion = certificate.completion
    user = db.get(User, completion.user_id) if completion.user_id is not None else None
    # A guest's certificate is in the language they completed the course in.
    language = language or (user.preferred_language if user else None) or completion.language or "en"
    course = catalogue.get(completion.course_id)
    course_title = course.title(language) if course else completion.course_id
    organisation: Organisation | None = certificate.organisation
    verify_url = f"{base_url.rstrip('/')}/verify/{codes.display(certificate.code)}"
    fields = fields_for(name=completion.holder_name, course_title=course_title, completed_at=completion.completed_at,
                        expires_at=completion.expires_at, method=completion.method,
                        organisation=organisation.name if organisation else "", code=certificate.code,
                        verify_url=verify_url, language=language)
    template = render.get_template(organisation.certificate_template if organisation else None)
    logo = (organisation.logo, organisation.logo_type) if organisation and organisation.logo else None
    html = render.render_html(template, fields, has_logo=logo is not None)
    return Drawing(template=template, html=html, logo=logo, qr=render.qr_image(verify_url),
                   owner=PdfCache.owner(certificate.id))


class PdfCache:
    """PDFs kept on disk under a hash of everything drawn, so an unchanged certificate is
    served without drawing it again, and any change (a corrected name) draws afresh. Each
    certificate's PDFs are kept in a folder of its own, so that erasing its holder can remove
    every copy with their name on it."""

    def __init__(self, folder: Path):
        self.folder = folder

    @staticmethod
    def owner(certificate_id: int) -> str:
        return f"c{certificate_id}"

    def path(self, drawing: Drawing) -> Path:
        return self.folder / drawing.owner / f"{drawing.key}.pdf"

    def get(self, drawing: Drawing) -> Path | None:
        path = self.path(drawing)
        return path if path.exists() else None

    def put(self, drawing: Drawing, pdf: bytes) -> Path:
        path = self.path(drawing)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(pdf)
        os.replace(temporary, path)
        return path

    def forget(self, certificate_id: int) -> int:
        """Delete every PDF drawn of this certificate; how many there were."""
        folder = self.folder / self.owner(certificate_id)
        removed = len(list(folder.glob("*.pdf")))
        shutil.rmtree(folder, ignore_errors=True)
        return removed

    def cached_certificate_ids(self) -> set[int]:
        return {int(folder.name[1:]) for folder in self.folder.glob("c*") if folder.name[1:].isdigit()}

    def remove_old_layout(self) -> int:
        """Delete PDFs cached before each certificate had a folder of its own (named by two hex
        digits of their hash), which erasure could not find; how many there were."""
        removed = 0
        for folder in self.folder.glob("*"):
            if folder.is_dir() and len(folder.name) == 2 and all(ch in "0123456789abcdef" for ch in folder.name):
                removed += len(list(folder.glob("*.pdf")))
                shutil.rmtree(folder, ignore_errors=True)
        return removed


def pdf_path(drawing: Drawing, cache: PdfCache) -> Path:
    cached = cache.get(drawing)
    if cached is not None:
        return cached
    return cache.put(drawing, render.render_pdf(drawing.html, drawing.fetcher()))


def certificate_of_user(db: Session, user_id: int | None, typed_code: str, *, guest_id: int | None = None) -> Certificate:
    """The certificate the code names, when it is this person's (by account, or by the guest
    record of someone learning without one); OutOfScope otherwise."""
    certificate = find_by_code(db, typed_code)
    if certificate is None or (certificate.completion.user_id, certificate.completion.guest_id) != (user_id, guest_id) \
            or (user_id is None and guest_id is None):
        raise OutOfScope()
    return certificate


class CertificateRevoked(Exception):
    """A revoked certificate is no longer handed out as a PDF, not even to its holder."""

    def __init__(self, certificate: Certificate):
        super().__init__(certificate.id)
        self.certificate = certificate


def downloadable_certificate(db: Session, user_id: int | None, typed_code: str, *, guest_id: int | None = None) -> Certificate:
    """The person's own certificate, to draw as a PDF: OutOfScope if it is not theirs,
    CertificateRevoked if it has been withdrawn."""
    certificate = certificate_of_user(db, user_id, typed_code, guest_id=guest_id)
    if certificate.revoked_at is not None:
        raise CertificateRevoked(certificate)
    return certificate


def set_design(db: Session, organisation: Organisation, *, template_name: str, logo_upload: tuple[bytes, str] | None,
               remove_logo: bool, changed_by: User | None = None) -> None:
    """An organisation's certificate design and logo; InvalidInput leaves both unchanged.
    A change made by someone (changed_by) is written to the audit log; saving the same
    design again records nothing."""
    from lms.certify.logos import clean_logo

    if template_name not in render.available_templates():
        raise InvalidInput(_l("Choose a certificate design from the list"), "template")
    cleaned = clean_logo(*logo_upload) if logo_upload is not None else None
    changes: dict[str, str] = {}
    previous = organisation.certificate_template or render.DEFAULT_TEMPLATE
    if template_name != previous:
        changes.update(template=template_name, previous_template=previous)
    organisation.certificate_template = template_name
    if cleaned is not None:
        changes["logo"] = "replaced" if organisation.logo else "uploaded"
        organisation.logo, organisation.logo_type = cleaned
    elif remove_logo and organisation.logo:
        changes["logo"] = "removed"
        organisation.logo, organisation.logo_type = None, None
    db.flush()
    if changes and changed_by is not None:
        audit.record(db, organisation.id, changed_by, audit.CERTIFICATE_DESIGN, **changes)


def preview_drawing(*, name: str, course_title: str, organisation_name: str, template_name: str | None,
                    logo: tuple[bytes, str] | None, base_url: str, language: str, validity_months: int = 24) -> Drawing:
    """A made-up certificate with a fresh code, for previewing a design: nothing is stored."""

    now = utcnow()
    code = codes.new_code()
    verify_url = f"{base_url.rstrip('/')}/verify/{codes.display(code)}"
    fields = fields_for(name=name, course_title=course_title, completed_at=now, expires_at=add_months(now, validity_months),
                        method="online", organisation=organisation_name, code=code, verify_url=verify_url, language=language)
    template = render.get_template(template_name)
    html = render.render_html(template, fields, has_logo=logo is not None)
    return Drawing(template=template, html=html, logo=logo, qr=render.qr_image(verify_url))


def sample_drawing(organisation: Organisation, course_title: str, *, base_url: str, language: str) -> Drawing:
    """The organisation's design and logo on a sample certificate."""
    logo = (organisation.logo, organisation.logo_type) if organisation.logo else None
    return preview_drawing(name="Alex Example", course_title=course_title, organisation_name=organisation.name,
                           template_name=organisation.certificate_template, logo=logo, base_url=base_url,
                           language=language)
