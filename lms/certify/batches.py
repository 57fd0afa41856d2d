"""Drawing many certificates at once, off the request path.

A request only records a batch (a Job whose params say the kind of file and the certificates
in it) and puts `draw_batch` on the job queue (lms.jobs), so drawing hundreds of PDFs never
holds up anyone's page: the person who asked watches a progress page instead. The file is
written to LMS_BATCH_DIR, which every app host must share.
"""
from __future__ import annotations

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
from lms.errors import InvalidInput, OutOfScope
from lms.models import Certificate, Completion, Job, User
from lms.people.scope import MAX_ID, Scope

KINDS = ("pdf", "zip")
MAX_CERTIFICATES = 2000


def create_batch(db: Session, scope: Scope, *, kind: str, course_id: str | None, requested_by: User) -> Job:
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


def batch_of(db: Session, scope: Scope, kind: str, ids: list[int], requested_by: User) -> Job:
    """A batch of these certificates, in this order; the caller has chosen them within its scope.
    It is queued once the caller has committed it (start)."""
    if not ids:
        raise InvalidInput(_l("There are no certificates to include"), "course")
    batch = Job(organisation_id=scope.organisation_id, requested_by_id=requested_by.id, task=jobs.task_name(draw_batch),
                params={"kind": kind, "certificate_ids": ids}, total=len(ids))
    db.add(batch)
    db.flush()
    return batch


def get_batch(db: Session, scope: Scope, batch_id: int) -> Job:
    """An admin sees the organisation's batches; anyone else only the ones they asked for."""
    batch = db.get(Job, batch_id) if 0 < batch_id <= MAX_ID else None
    if batch is None or batch.organisation_id != scope.organisation_id or batch.task != jobs.task_name(draw_batch):
        raise OutOfScope()
    if not (scope.can_manage or batch.requested_by_id == scope.user_id):
        raise OutOfScope()
    return batch


def kind_of(batch: Job) -> str:
    return batch.params["kind"]


def output_path(folder: Path, batch: Job) -> Path:
    return folder / f"certificates-{batch.id}.{kind_of(batch)}"


def start(app: Flask, batch_id: int) -> None:
    jobs.enqueue(app, draw_batch, batch_id)


@jobs.tracked
def draw_batch(db: Session, batch: Job) -> None:
    """The queued task. Run again after a failed attempt, it starts the drawing afresh."""
    batch.done = 0
    db.commit()
    _draw(current_app._get_current_object(), db, batch)


def _draw(app: Flask, db: Session, batch: Job) -> None:
    folder = Path(app.config["BATCH_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    wanted = batch.params["certificate_ids"]
    # A certificate whose holder has been erased since is left out: it has no name to print.
    certificates = {c.id: c for c in db.scalars(select(Certificate).join(Completion).where(
        Certificate.id.in_(wanted), Completion.holder_erased_at.is_(None)))}
    ordered = [certificates[i] for i in wanted if i in certificates]
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    os.close(handle)
    try:
        _write(app, db, batch, ordered, Path(temporary))
    finally:
        Path(temporary).unlink(missing_ok=True)
    batch.done = len(ordered)


def _progress(db: Session, batch: Job, done: int) -> None:
    batch.done = done
    db.commit()


def _write(app: Flask, db: Session, batch: Job, ordered: list[Certificate], temporary: Path) -> None:
    catalogue = app.extensions["lms.catalogue"]
    cache = services.PdfCache(app.config["CERTIFICATE_CACHE_DIR"])
    every = max(1, len(ordered) // 50)  # about fifty progress updates, whatever the size
    if kind_of(batch) == "zip":
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive:
            for number, certificate in enumerate(ordered, start=1):
                drawing = services.drawing_for(db, certificate, catalogue, base_url=app.config["BASE_URL"])
                user_name = "".join(ch if ch.isalnum() else "-" for ch in certificate.completion.holder_name)[:60]
                archive.write(services.pdf_path(drawing, cache),
                              f"{user_name}-{certificate.completion.course_id}-{codes.display(certificate.code)}.pdf")
                if number % every == 0:
                    _progress(db, batch, number)
    else:
        documents = []
        for number, certificate in enumerate(ordered, start=1):
            drawing = services.drawing_for(db, certificate, catalogue, base_url=app.config["BASE_URL"])
            documents.append(render.draw_document(drawing.html, drawing.fetcher()))
            if number % every == 0:
                _progress(db, batch, number)
        temporary.write_bytes(render.join_documents(documents))
    if jobs.still_wanted(db, batch.id):  # not if the person who asked was erased meanwhile
        os.replace(temporary, output_path(temporary.parent, batch))
