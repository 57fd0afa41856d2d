"""Exports too long to stream: prepared by a job, followed on a page, downloaded by the person
who asked for them, and deleted after a day."""
from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lms.db import utcnow
from lms.models import AuditEvent, Job, User
from lms.reports import export_files
from tests.conftest import database, snapshot, text_of
from tests.test_report_exports import tricky  # noqa: F401
from tests.test_reports import TINY, add_person, app, client, courses_dir, northmoor, team  # noqa: F401

JOB_PAGE = re.compile(r"/org/\d+/reports/exports/(\d+)$")


def people_path(demo, query: str = "") -> str:
    return f"/org/{northmoor(demo)}/reports/people{query}"


def start(client, demo, kind: str, query: str = ""):
    organisation = northmoor(demo)
    return client.submit(f"/org/{organisation}/reports/exports{query}", {"format": kind},
                         form_page=people_path(demo, query))


def job_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(JOB_PAGE.search(response.headers["Location"]).group(1))


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8")[1:], newline="")))


def xlsx_rows(data: bytes) -> list[list]:
    return [[cell.value for cell in row] for row in load_workbook(io.BytesIO(data)).active.iter_rows()]


@pytest.fixture
def long_lists(app):
    """Lists of more than two people count as long, so the demo's lists are prepared by jobs."""
    app.config["EXPORT_STREAM_ROWS"] = 2


@pytest.mark.parametrize("kind, read", [("csv", csv_rows), ("xlsx", xlsx_rows)])
def test_a_long_list_is_prepared_by_a_job_and_matches_the_streamed_file(app, client, demo, tricky, queued_jobs,  # noqa: F811
                                                                        kind, read):
    client.sign_in("orgadmin@example.org")
    query = f"?team={team(demo, 'Housing')}&course={TINY}&sort=-name"
    streamed = client.get(people_path(demo, f".{kind}{query}"))
    assert streamed.status_code == 200 and "attachment" in streamed.headers["Content-Disposition"]
    expected = read(streamed.get_data())  # read now: a streamed response keeps its request's context until read

    app.config["EXPORT_STREAM_ROWS"] = 2
    page = text_of(client.get(people_path(demo, query)))
    assert "Prepare a CSV file" in page and "Download as CSV" not in page
    # A bookmarked download link offers to prepare the file instead of holding the request.
    offer = client.get(people_path(demo, f".{kind}{query}"))
    assert offer.status_code == 200 and offer.mimetype == "text/html"
    assert "prepared in the background" in text_of(offer)

    job_id = job_id_of(start(client, demo, kind, query))
    waiting = text_of(client.get(f"/org/{northmoor(demo)}/reports/exports/{job_id}"))
    assert "Writing 0 of" in waiting and "You can leave this page" in waiting
    assert queued_jobs() == 1
    ready = text_of(client.get(f"/org/{northmoor(demo)}/reports/exports/{job_id}"))
    people = len(expected) - 1
    assert f"The file is ready: {people} people." in ready
    download = client.get(f"/org/{northmoor(demo)}/reports/exports/{job_id}/download")
    assert download.status_code == 200 and download.mimetype == streamed.mimetype
    assert f'filename=training-report-{northmoor(demo)}-' in download.headers["Content-Disposition"]
    assert read(download.get_data()) == expected
    with database(app) as session:
        job = session.get(Job, job_id)
        assert (job.status, job.done, job.total, job.result) == ("done", people, people, {"rows": people})
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "export")
                              .order_by(AuditEvent.id.desc())).details["format"] == kind


def test_the_file_is_in_the_language_of_the_person_who_asked(app, client, demo, queued_jobs):
    with database(app) as session:
        session.get(User, demo["users"]["orgadmin@example.org"]).preferred_language = "pl"
        session.commit()
    client.sign_in("orgadmin@example.org")
    streamed = csv_rows(client.get(people_path(demo, ".csv")).get_data())
    app.config["EXPORT_STREAM_ROWS"] = 2
    job_id = job_id_of(start(client, demo, "csv"))
    queued_jobs()
    prepared = csv_rows(client.get(f"/org/{northmoor(demo)}/reports/exports/{job_id}/download").get_data())
    assert prepared == streamed and prepared[0][0] != "Name"


def test_progress_is_written_while_the_rows_are_read_and_sqlite_writers_are_not_held_up(
        app, client, demo, tricky, long_lists, queued_jobs, monkeypatch):  # noqa: F811
    monkeypatch.setattr(export_files, "PROGRESS_EVERY", 5)
    seen = []
    real_write_now = export_files.write_now

    def write_now_and_look(statement):
        real_write_now(statement)
        with app.app_context():
            from lms.db import get_engine
            with get_engine().connect() as other:
                seen.append(other.execute(select(Job.done)).scalar_one())
            if app.config["DATABASE_URL"].startswith("sqlite"):
                # Another writer gets the write lock at once: the job only reads while it writes the file.
                writer = sqlite3.connect(app.config["DATABASE_URL"].removeprefix("sqlite:///"), timeout=0)
                writer.execute("BEGIN IMMEDIATE")
                writer.execute("ROLLBACK")
                writer.close()

    monkeypatch.setattr(export_files, "write_now", write_now_and_look)
    client.sign_in("orgadmin@example.org")
    start(client, demo, "xlsx")
    queued_jobs()
    assert seen[:2] == [5, 10]


def test_pressing_twice_follows_the_file_already_being_prepared(app, client, demo, long_lists, queued_jobs):
    client.sign_in("orgadmin@example.org")
    first, second = job_id_of(start(client, demo, "csv")), job_id_of(start(client, demo, "csv"))
    other_kind = job_id_of(start(client, demo, "xlsx"))
    assert first == second != other_kind
    assert queued_jobs() == 2


def test_only_the_person_who_asked_can_follow_or_download_it(app, client, demo, long_lists, queued_jobs):
    client.sign_in("orgadmin@example.org")
    job_id = job_id_of(start(client, demo, "csv"))
    queued_jobs()
    client.sign_out()
    for email in ("champion@example.org", "learner@example.org"):
        client.sign_in(email)
        for suffix in ("", "/download"):
            assert client.get(f"/org/{northmoor(demo)}/reports/exports/{job_id}{suffix}").status_code in (403, 404)
        client.sign_out()
    client.sign_in("orgadmin@example.org")
    for path in (f"/org/{northmoor(demo)}/reports/exports/99999999999999999999",
                 f"/org/{northmoor(demo)}/reports/exports/{job_id + 1000}/download"):
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("query, data, message", [
    ("", {"format": "pdf"}, "Choose whether to download a CSV or an Excel (XLSX) file."),
    ("", {}, "Choose whether to download a CSV or an Excel (XLSX) file."),
    ("?course=no-such-course", {"format": "csv"}, None),
    ("?sort=sideways", {"format": "csv"}, "Choose a sort order from the list."),
])
def test_bad_requests_are_refused_and_nothing_is_queued(app, client, demo, long_lists, queued_jobs, query, data,
                                                        message):
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.submit(f"/org/{northmoor(demo)}/reports/exports{query}", data, form_page=people_path(demo))
    assert 400 <= response.status_code < 500
    if message:
        assert message in text_of(response)
    assert snapshot(app) == before and queued_jobs() == 0


def test_an_expired_form_is_refused(app, client, demo, long_lists, queued_jobs):
    client.sign_in("orgadmin@example.org")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(f"/org/{northmoor(demo)}/reports/exports", data={"format": "csv", "csrf_token": "stale"})
    assert response.status_code == 400 and "The form had expired" in text_of(response)
    assert queued_jobs() == 0


def test_a_file_is_deleted_after_a_day(app, client, demo, long_lists, queued_jobs):
    client.sign_in("orgadmin@example.org")
    job_id = job_id_of(start(client, demo, "csv"))
    queued_jobs()
    with database(app) as session:
        job = session.get(Job, job_id)
        path = export_files.file_path(app, job)
        job.finished_at = utcnow() - export_files.KEEP - timedelta(minutes=1)
        session.commit()
    assert path.is_file()
    gone = client.get(f"/org/{northmoor(demo)}/reports/exports/{job_id}/download")
    assert gone.status_code == 410 and "kept for 24 hours only" in text_of(gone)
    assert "kept for 24 hours only" in text_of(client.get(f"/org/{northmoor(demo)}/reports/exports/{job_id}"))
    # The next export deletes the files older than a day, and keeps the new ones.
    day_old = (utcnow() - export_files.KEEP - timedelta(minutes=1)).timestamp()
    os.utime(path, (day_old, day_old))
    newer = job_id_of(start(client, demo, "xlsx"))
    queued_jobs()
    with database(app) as session:
        assert not path.exists() and export_files.file_path(app, session.get(Job, newer)).is_file()


def test_a_failed_attempt_leaves_no_half_written_file(app, client, demo, long_lists, queued_jobs, monkeypatch):
    def broken(*args):
        yield b"PK"
        raise OSError("disk full")

    monkeypatch.setattr(export_files.exports, "file_chunks", broken)
    client.sign_in("orgadmin@example.org")
    job_id = job_id_of(start(client, demo, "xlsx"))
    with pytest.raises(OSError):
        queued_jobs()
    assert list(export_files.folder(app).iterdir()) == []
    page = text_of(client.get(f"/org/{northmoor(demo)}/reports/exports/{job_id}"))
    assert "the file could not be prepared" in page
    assert client.get(f"/org/{northmoor(demo)}/reports/exports/{job_id}/download").status_code == 302


def test_the_clean_command_deletes_only_the_files_past_a_day(app, client, demo, long_lists, queued_jobs):
    client.sign_in("orgadmin@example.org")
    old, new = job_id_of(start(client, demo, "csv")), job_id_of(start(client, demo, "xlsx"))
    queued_jobs()
    with database(app) as session:
        old_path, new_path = (export_files.file_path(app, session.get(Job, job_id)) for job_id in (old, new))
    day_old = (utcnow() - export_files.KEEP - timedelta(seconds=1)).timestamp()
    os.utime(old_path, (day_old, day_old))
    with app.app_context():  # as the `lms` command gives its commands
        result = app.test_cli_runner().invoke(args=["exports", "clean"])
    assert result.exit_code == 0 and "Deleted 1 people list older than 24 hours." in result.output
    assert not old_path.exists() and new_path.is_file()
