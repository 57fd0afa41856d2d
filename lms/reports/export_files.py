"""Exports too large to send while a page request waits: a job writes the file to shared
storage (BATCH_DIR/exports, beside the certificate batches, so any app host can send it), and
the person who asked for it downloads it from the job's page.

Up to EXPORT_STREAM_ROWS people, an export streams straight from the request instead; above
it, writing the file would hold a web worker for many seconds (about 15 at 100,000 people).

The files hold people's names and email addresses, so each is kept for KEEP and then deleted:
every export job first deletes the files past it, as does `lms exports clean` from cron, and
none is sent after it.
"""
from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm import Session

from lms import jobs
from lms.db import reading_transaction, utcnow, write_now
from lms.models import Job
from lms.reports import exports
from lms.reports.services import job_request

KEEP_HOURS = 24
KEEP = timedelta(hours=KEEP_HOURS)
PROGRESS_EVERY = 1000


def folder(app: Flask) -> Path:
    return Path(app.config["BATCH_DIR"]) / "exports"


def file_in(batch_dir: Path, job: Job) -> Path:
    return Path(batch_dir) / "exports" / f"{job.id}.{job.params['format']}"


def file_path(app: Flask, job: Job) -> Path:
    return file_in(app.config["BATCH_DIR"], job)


def expired(job: Job, now: datetime) -> bool:
    return job.finished_at is not None and now - job.finished_at >= KEEP


def remove_expired(app: Flask, now: datetime) -> int:
    """Delete the export files older than KEEP; how many were deleted."""
    removed = 0
    if not folder(app).is_dir():
        return 0
    for path in folder(app).glob("*"):
        try:
            if now.timestamp() - path.stat().st_mtime >= KEEP.total_seconds():
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another host's job removed it first
            pass
    return removed


@jobs.tracked
def export_job(db: Session, job: Job) -> None:
    """The people list a champion asked for, with their filters, sort and language, written to
    a file. Who they may see is worked out again when the job runs."""
    asked = job_request(db, job, current_app.extensions["lms.catalogue"].all())
    scope, courses, filters, params = asked.scope, asked.courses, asked.filters, job.params
    app = current_app._get_current_object()
    now = utcnow()
    folder(app).mkdir(parents=True, exist_ok=True)
    remove_expired(app, now)
    job_id, target = job.id, file_path(app, job)
    written = 0

    def counted(rows):
        nonlocal written
        for written, row in enumerate(rows, start=1):
            if written % PROGRESS_EVERY == 0:
                write_now(update(Job).where(Job.id == job_id).values(done=written))
            yield row

    handle, temporary = tempfile.mkstemp(dir=folder(app), prefix=f".{job_id}-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, force_locale(params["language"]), reading_transaction(db):
            header, rows = exports.table(db, scope, filters, courses, sort=params["sort"], language=params["language"],
                                         now=now, refresher_days=current_app.config["REFRESHER_DAYS"])
            for chunk in exports.file_chunks(params["format"], _("Training"), header, counted(rows)):
                out.write(chunk)
        if not jobs.still_wanted(db, job_id):  # the person who asked was erased meanwhile
            Path(temporary).unlink()
            return
        os.replace(temporary, target)  # whole or not at all: a download never gets half a file
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    job.done = job.total = written
    job.result = {"rows": written}
