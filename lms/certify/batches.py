"""Drawing many certificates at once, off the request path.

A request only records a batch and puts `draw_batch` on the job queue (lms.jobs), so drawing
hundreds of PDFs never holds up anyone's page: the person who asked watches a progress page
instead. The file is written to LMS_BATCH_DIR, which every app host must share.
"""
from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from pathlib import Path

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import jobs
from lms.certify import codes, render, services
from lms.db import utcnow
from lms.errors import InvalidInput, OutOfScope
from lms.models import Certificate, CertificateBatch, Completion, User
from lms.people.scope import Scope

KINDS = ("pdf", "zip")
MAX_CERTIFICATES = 2000
log = logging.getLogger(__name__)


def create_batch(db: Session, scope: Scope, *, kind: str, course_id: str | None, requested_by: User) -> CertificateBatch:
    if not scope.can_manage:
        raise OutOfScope()
    if kind not in KINDS:
        raise InvalidInput(_l("Choose one PDF or a ZIP file"), "kind")
    query = scope.certificates().where(Certificate.revoked_at.is_(None))
    if course_id:
        query = query.where(Completion.course_id == course_id)
    ids = [certificate.id for certificate in db.scalars(query).unique()]
    if len(ids) > MAX_CERTIFICATES:
        raise InvalidInput(_l("Choose a course, so that a batch has at most %(n)d certificates", n=MAX_CERTIFICATES), "course")
    ids.reverse()  # oldest first, as people expect a printed pile to run
    return batch_of(db, scope, kind, ids, requested_by)


def batch_of(db: Session, scope: Scope, kind: str, ids: list[int], requested_by: User) -> CertificateBatch:
    """A batch of these certificates, in this order; the caller has chosen them within its scope."""
    if not ids:
        raise InvalidInput(_l("There are no certificates to include"), "course")
    batch = CertificateBatch(organisation_id=scope.organisation_id, requested_by_id=requested_by.id, kind=kind,
                             certificate_ids=ids, total=len(ids))
    db.add(batch)
    db.flush()
    return batch


def get_batch(db: Session, scope: Scope, batch_id: int) -> CertificateBatch:
    """An admin sees the organisation's batches; anyone else only the ones they asked for."""
    batch = db.get(CertificateBatch, batch_id) if 0 < batch_id < 2**31 else None
    if batch is None or batch.organisation_id != scope.organisation_id:
        raise OutOfScope()
    if not (scope.can_manage or batch.requested_by_id == scope.user_id):
        raise OutOfScope()
    return batch


def output_path(folder: Path, batch: CertificateBatch) -> Path:
    return folder / f"batch-{batch.id}.{batch.kind}"


def start(app: Flask, batch_id: int) -> None:
    jobs.enqueue(app, draw_batch, batch_id)


def _set(db: Session, batch: CertificateBatch, **values) -> None:
    for key, value in values.items():
        setattr(batch, key, value)
    db.commit()


def draw_batch(batch_id: int) -> None:
    """The queued task. Run again after a failed attempt, it starts the drawing afresh."""
    from lms import db as database_module

    app = current_app._get_current_object()
    with app.test_request_context():
        db = database_module.get_session()
        batch = db.get(CertificateBatch, batch_id)
        if batch is None or batch.status in ("done", "failed"):
            return
        _set(db, batch, status="running", done=0)
        try:
            _draw(app, db, batch)
        except Exception as error:  # the person waiting must see that it failed, whatever failed
            log.exception("certificate batch %s failed", batch_id)
            db.rollback()
            if jobs.final_attempt():
                _set(db, batch, status="failed", error=str(error)[:500], finished_at=utcnow())
            else:
                _set(db, batch, status="queued", error=str(error)[:500])
            raise
        _set(db, batch, status="done", finished_at=utcnow())


def _draw(app: Flask, db: Session, batch: CertificateBatch) -> None:
    folder = Path(app.config["BATCH_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    certificates = {c.id: c for c in db.scalars(select(Certificate).where(Certificate.id.in_(batch.certificate_ids)))}
    ordered = [certificates[i] for i in batch.certificate_ids if i in certificates]
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    os.close(handle)
    try:
        _write(app, db, batch, ordered, Path(temporary))
    finally:
        Path(temporary).unlink(missing_ok=True)
    batch.done = len(ordered)


def _write(app: Flask, db: Session, batch: CertificateBatch, ordered: list[Certificate], temporary: Path) -> None:
    catalogue = app.extensions["lms.catalogue"]
    cache = services.PdfCache(app.config["CERTIFICATE_CACHE_DIR"])
    every = max(1, len(ordered) // 50)  # about fifty progress updates, whatever the size
    if batch.kind == "zip":
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive:
            for number, certificate in enumerate(ordered, start=1):
                drawing = services.drawing_for(db, certificate, catalogue, base_url=app.config["BASE_URL"])
                user_name = "".join(ch if ch.isalnum() else "-" for ch in certificate.completion.holder_name)[:60]
                archive.write(services.pdf_path(drawing, cache),
                              f"{user_name}-{certificate.completion.course_id}-{codes.display(certificate.code)}.pdf")
                if number % every == 0:
                    _set(db, batch, done=number)
    else:
        documents = []
        for number, certificate in enumerate(ordered, start=1):
            drawing = services.drawing_for(db, certificate, catalogue, base_url=app.config["BASE_URL"])
            documents.append(render.draw_document(drawing.html, drawing.fetcher()))
            if number % every == 0:
                _set(db, batch, done=number)
        temporary.write_bytes(render.join_documents(documents))
    os.replace(temporary, output_path(temporary.parent, batch))
