"""Certificates in bulk: one PDF or a ZIP, drawn by a separate process behind a progress page."""
from __future__ import annotations

import io
import re
import subprocess
import time
import zipfile

import pytest
from sqlalchemy import select

from lms import db
from lms.certify.services import issue_certificate
from lms.db import utcnow
from lms.dates import add_months
from lms.models import Certificate, Completion, Job, User
from tests.conftest import FormClient


@pytest.fixture
def batch_app(app, tmp_path):
    app.config["BATCH_DIR"] = tmp_path / "batches"
    app.config["CERTIFICATE_CACHE_DIR"] = tmp_path / "cache"
    return app


def give_certificates(app, organisation_id: int, count: int) -> list[int]:
    with app.app_context():
        session = db.get_session()
        ids = []
        for number in range(count):
            user = User(email=f"bulk{number}@example.org", name=f"Bulk Learner {number}", password_hash="x")
            session.add(user)
            session.flush()
            now = utcnow()
            completion = Completion(user_id=user.id, course_id="tiny", course_version="1", language="en", method="online",
                                    completed_at=now, expires_at=add_months(now, 12))
            session.add(completion)
            session.flush()
            ids.append(issue_certificate(session, completion.id, organisation_id).id)
        session.commit()
        return ids


@pytest.fixture
def admin(batch_app, demo):
    client = FormClient(batch_app.test_client(), [])
    client.sign_in("orgadmin@example.org")
    client.organisation = demo["organisations"]["Northmoor Borough Council"]
    return client


def wait_for(app, batch_id: int, seconds: float = 90) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with app.app_context():
            batch = db.get_session().get(Job, batch_id)
            if batch.status in ("done", "failed"):
                return batch
        time.sleep(0.2)
    raise AssertionError("the batch did not finish")


def start(admin, kind: str, course: str = ""):
    return admin.submit(f"/org/{admin.organisation}/certificates/batches", {"kind": kind, "course": course},
                        form_page=f"/org/{admin.organisation}/certificates")


def test_one_pdf_with_a_certificate_per_page(batch_app, admin, tmp_path):
    give_certificates(batch_app, admin.organisation, 3)
    started = time.perf_counter()
    response = start(admin, "pdf")
    assert response.status_code == 302 and time.perf_counter() - started < 2
    progress_url = response.headers["Location"]
    batch_id = int(re.search(r"/batches/(\d+)$", progress_url).group(1))
    assert "Certificates download" in admin.get(progress_url).get_data(as_text=True)
    batch = wait_for(batch_app, batch_id)
    assert batch.status == "done" and batch.done == 3, batch.error
    page = admin.get(progress_url).get_data(as_text=True)
    assert "3 certificates are ready" in page
    pdf = admin.get(progress_url + "/download")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    path = tmp_path / "bulk.pdf"
    path.write_bytes(pdf.data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+3", info)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert all(f"Bulk Learner {n}" in text for n in range(3))


def test_a_zip_of_separate_pdfs_leaving_out_revoked_ones(batch_app, admin):
    ids = give_certificates(batch_app, admin.organisation, 3)
    with batch_app.app_context():
        session = db.get_session()
        session.get(Certificate, ids[1]).revoked_at = utcnow()
        session.commit()
    response = start(admin, "zip")
    batch_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert wait_for(batch_app, batch_id).status == "done"
    archive = zipfile.ZipFile(io.BytesIO(admin.get(response.headers["Location"] + "/download").data))
    names = archive.namelist()
    assert len(names) == 2 and all(name.endswith(".pdf") for name in names)
    assert all(archive.read(name).startswith(b"%PDF") for name in names)
    assert not any("Learner-1-" in name for name in names)


def test_the_request_returns_before_the_drawing_is_done(batch_app, admin):
    give_certificates(batch_app, admin.organisation, 40)
    response = start(admin, "pdf")
    batch_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with batch_app.app_context():
        assert db.get_session().get(Job, batch_id).status in ("queued", "running")
    # Other people's pages are served while it runs.
    for _ in range(5):
        started = time.perf_counter()
        assert batch_app.test_client().get("/healthz").status_code == 200
        assert time.perf_counter() - started < 0.5
    assert admin.get(response.headers["Location"] + "/download").status_code in (200, 404)
    assert wait_for(batch_app, batch_id).status == "done"


def test_bad_batch_requests_get_400(batch_app, admin):
    empty = start(admin, "pdf")
    assert empty.status_code == 400 and "no certificates to include" in empty.get_data(as_text=True)
    give_certificates(batch_app, admin.organisation, 1)
    for kind, course in [("exe", ""), ("pdf", "no-such-course")]:
        assert start(admin, kind, course).status_code == 400
    with batch_app.app_context():
        assert db.get_session().scalars(select(Job)).all() == []


def test_other_organisations_cannot_see_or_fetch_a_batch(batch_app, admin, demo):
    give_certificates(batch_app, admin.organisation, 1)
    response = start(admin, "pdf")
    url = response.headers["Location"]
    wait_for(batch_app, int(url.rsplit("/", 1)[1]))
    east = demo["organisations"]["Eastgate Community Association"]
    for email in ["eastgate-admin@example.org", "champion@example.org", "learner@example.org"]:
        other = FormClient(batch_app.test_client(), [])
        other.sign_in(email)
        assert other.get(url).status_code == 404, email
        assert other.get(url + "/download").status_code == 404, email
        moved = url.replace(f"/org/{admin.organisation}/", f"/org/{east}/")
        assert other.get(moved).status_code == 404, email
