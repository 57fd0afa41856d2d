"""The one job queue (lms.jobs): a task is retried after a failure, told when a failure is the
last word, and runs the same whether Redis is configured (RQ and `lms worker`) or not (a
process of its own)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lms import jobs
from lms.models import Job
from tests.conftest import database
from tests.test_certificate_batches import admin, batch_app, give_certificates, start, wait_for  # noqa: F401

REDIS_URL = os.environ.get("LMS_TEST_REDIS_URL")
LMS = str(Path(sys.executable).with_name("lms"))
ATTEMPTS_SEEN: list[tuple[int, bool]] = []


def flaky_task(failures: int) -> None:
    """Fails its first `failures` attempts."""
    ATTEMPTS_SEEN.append((len(ATTEMPTS_SEEN) + 1, jobs.final_attempt()))
    if len(ATTEMPTS_SEEN) <= failures:
        raise RuntimeError("the printer caught fire")


@pytest.fixture
def local_runner(app, monkeypatch):
    ATTEMPTS_SEEN.clear()
    monkeypatch.setattr(jobs, "RETRY_DELAYS_SECONDS", (0, 0))
    monkeypatch.setattr(jobs, "_worker_app", app)
    return jobs.task_name(flaky_task)


def test_a_task_that_fails_once_is_run_again_and_succeeds(local_runner):
    assert jobs.run_locally(local_runner, [1]) == 0
    assert ATTEMPTS_SEEN == [(1, False), (2, False)]


def test_a_task_that_always_fails_is_tried_three_times_and_knows_its_last_attempt(local_runner):
    assert jobs.run_locally(local_runner, [99]) == 1
    assert ATTEMPTS_SEEN == [(1, False), (2, False), (3, True)]


def test_a_batch_that_fails_says_it_is_retrying_and_fails_only_on_the_last_attempt(batch_app, admin, monkeypatch):
    from lms.certify import batches

    give_certificates(batch_app, admin.organisation, 2)
    monkeypatch.setattr(batches, "start", lambda app, batch_id: None)  # run the task here, attempt by attempt
    batch_id = int(start(admin, "pdf").headers["Location"].rsplit("/", 1)[1])

    def broken(*args):
        raise OSError("No space left on device")

    monkeypatch.setattr(batches, "_write", broken)
    monkeypatch.setattr(jobs, "_worker_app", batch_app)
    with pytest.raises(OSError):
        jobs._run(jobs.task_name(batches.draw_batch), [batch_id], final=False)
    with database(batch_app) as session:
        batch = session.get(Job, batch_id)
        assert (batch.status, batch.error) == ("queued", "No space left on device")
    page = admin.get(f"/org/{admin.organisation}/certificates/batches/{batch_id}").get_data(as_text=True)
    assert "being prepared again" in page and "could not be prepared" not in page
    assert not list((batch_app.config["BATCH_DIR"]).glob("*.part"))  # no half-written file left behind

    with pytest.raises(OSError):
        jobs._run(jobs.task_name(batches.draw_batch), [batch_id], final=True)
    with database(batch_app) as session:
        assert session.get(Job, batch_id).status == "failed"
    page = admin.get(f"/org/{admin.organisation}/certificates/batches/{batch_id}").get_data(as_text=True)
    assert "could not be prepared" in page
    # A failed batch is not drawn again by a late retry.
    monkeypatch.undo()
    jobs._worker_app = batch_app
    jobs._run(jobs.task_name(batches.draw_batch), [batch_id], final=True)
    with database(batch_app) as session:
        assert session.get(Job, batch_id).status == "failed"
    jobs._worker_app = None


def test_a_queue_entry_naming_another_kind_of_job_does_nothing(batch_app, admin, monkeypatch):
    """After the upgrade that made batches jobs, an old queue entry draw_batch(5) may name a job
    of another kind: it must leave that job alone."""
    from lms.certify import batches
    from lms.reports import reminders

    with database(batch_app) as session:
        other = Job(organisation_id=admin.organisation, requested_by_id=None, params={},
                    task=jobs.task_name(reminders.send_reminders_job))
        session.add(other)
        session.commit()
        other_id = other.id
    monkeypatch.setattr(jobs, "_worker_app", batch_app)
    jobs._run(jobs.task_name(batches.draw_batch), [other_id], final=True)
    with database(batch_app) as session:
        assert (session.get(Job, other_id).status, session.get(Job, other_id).error) == ("queued", None)


def worker_env(database_url: str, **settings) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LMS_")}
    env.update(LMS_ENV="production", LMS_SECRET_KEY="jobs-test-" + "k" * 32, LMS_BASE_URL="http://127.0.0.1",
               LMS_DATABASE_URL=database_url, **settings)
    return env


def test_the_worker_says_in_one_line_what_it_is_missing(tmp_path):
    url = f"sqlite:///{tmp_path / 'lms.sqlite3'}"
    no_redis = subprocess.run([LMS, "worker", "--burst"], env=worker_env(url), capture_output=True, text=True, timeout=60)
    assert no_redis.returncode == 1 and "LMS_REDIS_URL is not set" in no_redis.stderr
    unreachable = subprocess.run([LMS, "worker", "--burst"], env=worker_env(url, LMS_REDIS_URL="redis://127.0.0.1:1/0"),
                                 capture_output=True, text=True, timeout=60)
    assert unreachable.returncode == 1 and "Cannot reach the Redis at LMS_REDIS_URL" in unreachable.stderr
    no_secret = worker_env(url, LMS_REDIS_URL="redis://127.0.0.1:1/0")
    del no_secret["LMS_SECRET_KEY"]
    refused = subprocess.run([LMS, "worker", "--burst"], env=no_secret, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "LMS_SECRET_KEY must be set in production." in refused.stderr
    for run in (no_redis, unreachable, refused):
        assert "Traceback" not in run.stderr


@pytest.mark.skipif(not REDIS_URL, reason="LMS_TEST_REDIS_URL is not set")
def test_with_redis_a_batch_waits_on_the_queue_until_a_worker_runs_it(batch_app, admin, database_url):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    batch_app.config["REDIS_URL"] = REDIS_URL
    give_certificates(batch_app, admin.organisation, 3)
    batch_id = int(start(admin, "zip").headers["Location"].rsplit("/", 1)[1])
    time.sleep(1)
    with database(batch_app) as session:
        assert session.get(Job, batch_id).status == "queued"  # nobody has started it
    env = worker_env(database_url, LMS_REDIS_URL=REDIS_URL, LMS_COURSE_PATHS=os.pathsep.join(
        str(p) for p in batch_app.config["COURSE_PATHS"]), LMS_BATCH_DIR=str(batch_app.config["BATCH_DIR"]),
        LMS_CERTIFICATE_CACHE_DIR=str(batch_app.config["CERTIFICATE_CACHE_DIR"]))
    worked = subprocess.run([LMS, "worker", "--burst"], env=env, capture_output=True, text=True, timeout=300)
    assert worked.returncode == 0, worked.stderr[-3000:]
    batch = wait_for(batch_app, batch_id, seconds=10)
    assert (batch.status, batch.done, batch.total) == ("done", 3, 3)
    download = admin.get(f"/org/{admin.organisation}/certificates/batches/{batch_id}/download")
    assert download.status_code == 200 and download.data.startswith(b"PK")
