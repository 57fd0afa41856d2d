"""Several app hosts: two gunicorn instances on different ports share one PostgreSQL and one
Redis, with a separate `lms worker`. Whichever instance a request lands on, the person carries
on: their sign-in, the sign-in limit, a bulk certificate job and a drawn certificate are not
tied to the instance that began them. Each instance has its own certificate cache, as separate
hosts would; the batch folder is the one shared volume (docs/deploy.md)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from lms import db
from lms.certify import codes
from lms.certify.services import issue_certificate
from lms.dates import add_months
from lms.db import utcnow
from lms.models import Completion, Job
from tests.test_certificate_batches import give_certificates
from tests.test_workers import ROOT, Server

REDIS_URL = os.environ.get("LMS_TEST_REDIS_URL")
LMS = str(Path(sys.executable).with_name("lms"))
pytestmark = pytest.mark.skipif(not (REDIS_URL and os.environ.get("LMS_TEST_POSTGRES_URL")),
                                reason="needs LMS_TEST_POSTGRES_URL and LMS_TEST_REDIS_URL")


@pytest.fixture
def postgres_url(database_url, demo):
    if not database_url.startswith("postgresql"):
        pytest.skip("several hosts share a PostgreSQL database")
    return database_url


@pytest.fixture
def hosts(postgres_url, app, demo, tmp_path):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    shared = {"LMS_REDIS_URL": REDIS_URL, "LMS_RATELIMIT_STORAGE_URI": REDIS_URL,
              "LMS_SIGN_IN_RATE_LIMIT": "3 per minute", "LMS_BATCH_DIR": str(tmp_path / "shared-batches"),
              "LMS_EXPORT_STREAM_ROWS": "2"}
    first = Server(postgres_url, tmp_path / "a", 2, **shared, LMS_CERTIFICATE_CACHE_DIR=str(tmp_path / "a" / "cache"))
    second = Server(postgres_url, tmp_path / "b", 2, **shared, LMS_CERTIFICATE_CACHE_DIR=str(tmp_path / "b" / "cache"))
    worker_env = {**os.environ, "LMS_ENV": "production", "LMS_SECRET_KEY": "workers-test-" + "k" * 32,
                  "LMS_BASE_URL": "http://127.0.0.1",
                  "LMS_DATABASE_URL": postgres_url, "LMS_COURSE_PATHS": str(ROOT / "tests" / "fixtures" / "courses"),
                  "LMS_CERTIFICATE_CACHE_DIR": str(tmp_path / "worker-cache"), **shared}
    worker_log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([LMS, "worker"], env=worker_env, stdout=worker_log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    yield first, second
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=30)
    worker_log.close()
    for server in (first, second):
        server.stop()


def sign_in(server: Server, email: str, password: str = "demo-password", cookies: dict | None = None) -> tuple[int, dict]:
    cookies = {} if cookies is None else cookies
    _, page = server.request("GET", "/sign-in", cookies=cookies)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    status, _ = server.request("POST", "/sign-in", {"csrf_token": token, "email": email, "password": password},
                               cookies=cookies)
    return status, cookies


def job_through_the_worker(app, first: Server, second: Server, cookies: dict, form_page: str, action: str,
                           fields: dict, progress: str, ready: str) -> bytes:
    """Ask for a job from a form on the first instance, follow its progress on the second until
    the worker has done it, and download its file from there."""
    _, page = first.request("GET", form_page, cookies=cookies)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    status, _ = first.request("POST", action, {"csrf_token": token, **fields}, cookies=cookies)
    assert status == 302
    with app.app_context():
        job_id = db.get_session().scalar(select(Job.id).order_by(Job.id.desc()).limit(1))
    deadline = time.monotonic() + 120
    while ready not in (page := second.request("GET", progress.format(job_id), cookies=cookies)[1]):
        assert "could not be prepared" not in page and time.monotonic() < deadline, f"the worker did not finish {action}"
        time.sleep(0.5)
    status, body = second.request_bytes("GET", progress.format(job_id) + "/download", cookies=cookies)
    assert status == 200
    return body


def test_two_instances_and_a_worker_behave_as_one_service(hosts, app, demo, tmp_path):
    first, second = hosts

    # Signed in on one instance, carrying on on the other.
    status, cookies = sign_in(first, "orgadmin@example.org")
    assert status == 302
    status, page = second.request("GET", "/courses", cookies=cookies)
    assert status == 200 and "Sign out" in page

    # The sign-in limit is one count: failures alternate between the instances.
    statuses = [sign_in(server, "champion@example.org", "wrong-password")[0] for server in (first, second, first, second)]
    assert statuses == [400, 400, 400, 429]

    # A bulk certificate job asked for on one instance is run by the worker and downloaded from the other.
    organisation = demo["organisations"]["Northmoor Borough Council"]
    give_certificates(app, organisation, 3)
    archive = job_through_the_worker(app, first, second, cookies, f"/org/{organisation}/certificates",
                                     f"/org/{organisation}/certificates/batches", {"kind": "zip", "course": ""},
                                     f"/org/{organisation}/certificates/batches/{{}}", "certificates are ready")
    assert archive.startswith(b"PK")

    # So is a people list too long to stream (more than LMS_EXPORT_STREAM_ROWS people).
    listing = job_through_the_worker(app, first, second, cookies, f"/org/{organisation}/reports/people",
                                     f"/org/{organisation}/reports/exports", {"format": "csv"},
                                     f"/org/{organisation}/reports/exports/{{}}", "The file is ready")
    assert listing.startswith("\ufeffName,".encode()) and b"orgadmin@example.org" in listing

    # A certificate drawn on one host is served by the other, whose cache has never seen it.
    with app.app_context():
        session = db.get_session()
        now = utcnow()
        completion = Completion(user_id=demo["users"]["learner@example.org"], course_id="tiny", course_version="1",
                                language="en", method="online", completed_at=now, expires_at=add_months(now, 12))
        session.add(completion)
        session.flush()
        code = codes.display(issue_certificate(session, completion.id, organisation).code)
        session.commit()
    status, learner = sign_in(first, "learner@example.org")
    assert status == 302
    drawn_first = first.request_bytes("GET", f"/certificates/{code}.pdf", cookies=learner)
    drawn_second = second.request_bytes("GET", f"/certificates/{code}.pdf", cookies=learner)
    assert drawn_first[0] == drawn_second[0] == 200
    assert drawn_first[1].startswith(b"%PDF") and drawn_second[1].startswith(b"%PDF")
    assert list((tmp_path / "b" / "cache").rglob("*.pdf"))  # drawn again by content, not looked for on the other host
