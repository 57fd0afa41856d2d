"""The one job queue: work too slow for a page request (drawing many PDFs, and later sends,
exports and the retention run) is a task, a plain function run here with the app's context.

With LMS_REDIS_URL set, tasks go to RQ on Redis and `lms worker` runs them, on any host, with
retries. Without it (the embedded default), each task runs in a process of its own started by
the web app, with the same retries. `enqueue` is the only place that decides which; a task
neither knows nor cares.

A task takes plain values (ids), may be run more than once, and raises when it fails; while
`final_attempt()` is false it will be run again, so it tells its waiting user "retrying"
rather than "failed".
"""
from __future__ import annotations

import contextvars
import functools
import importlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

QUEUE_NAME = "lms"
ATTEMPTS = 3
RETRY_DELAYS_SECONDS = (10, 60)  # after the first failure, and after the second
# A task still running after this long is stuck: RQ stops it and counts a failed attempt.
TASK_TIMEOUT_SECONDS = 30 * 60

_final_attempt: contextvars.ContextVar[bool] = contextvars.ContextVar("final_attempt", default=True)
_worker_app: Flask | None = None


def final_attempt() -> bool:
    """Whether a failure now is the last word (no retry follows)."""
    return _final_attempt.get()


def task_name(task: Callable) -> str:
    return f"{task.__module__}:{task.__qualname__}"


def _task(name: str) -> Callable:
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def enqueue(app: Flask, task: Callable, *args: int | str) -> None:
    name = task_name(task)
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        from rq import Queue, Retry

        queue = Queue(QUEUE_NAME, connection=redis_connection(redis_url))
        queue.enqueue(perform, name, list(args), retry=Retry(max=ATTEMPTS - 1, interval=list(RETRY_DELAYS_SECONDS)),
                      job_timeout=TASK_TIMEOUT_SECONDS, result_ttl=24 * 3600, failure_ttl=7 * 24 * 3600,
                      description=f"{name}{tuple(args)}")
        return
    subprocess.Popen([sys.executable, "-m", "lms.jobs", name, json.dumps(list(args))], env=_environment_for(app),
                     stdin=subprocess.DEVNULL, start_new_session=True)


_AFTER_COMMIT = "lms.enqueue_after_commit"


def enqueue_after_commit(db: Session, task: Callable) -> None:
    """Queue a task (with no arguments) once this session's transaction commits, and not at all
    if it rolls back: for work that sends what the transaction wrote (statements, scores)."""
    db.info.setdefault(_AFTER_COMMIT, []).append(task)


@event.listens_for(Session, "after_commit")
def _enqueue_committed(db: Session) -> None:
    tasks = db.info.pop(_AFTER_COMMIT, None)
    if tasks and has_app_context():
        app = current_app._get_current_object()
        for name in dict.fromkeys(task_name(task) for task in tasks):
            enqueue(app, _task(name))


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(db: Session) -> None:
    db.info.pop(_AFTER_COMMIT, None)


def submit(db: Session, app: Flask, task: Callable, *, organisation_id: int | None, requested_by_id: int | None,
           params: dict, total: int = 0):
    """Record a job that someone will follow on a page, then queue it. The record is committed
    first, so that a worker on another host finds it."""
    from lms.models import Job

    job = Job(organisation_id=organisation_id, requested_by_id=requested_by_id, task=task_name(task), params=params,
              total=total)
    db.add(job)
    db.commit()
    enqueue(app, task, job.id)
    return job


def tracked(work: Callable) -> Callable:
    """A task for a Job record: work(db, job) does the work and may update job.done and
    job.result; this keeps the status and the error for the person waiting. The task is
    queued with the job's id (see submit)."""
    @functools.wraps(work)
    def task(job_id: int) -> None:
        from lms import db as database
        from lms.db import utcnow
        from lms.models import Job

        # A request context, as some work builds links and speaks the person's language.
        with current_app.test_request_context():
            db = database.get_session()
            job = db.get(Job, job_id)
            # A queue entry that outlived its record (or, after an upgrade, names another
            # kind of job) has nothing to do.
            if job is None or job.task != task_name(task) or job.status in ("done", "failed"):
                return
            job.status = "running"
            db.commit()
            try:
                work(db, job)
            except Exception as error:
                db.rollback()
                if not still_wanted(db, job_id):
                    log.info("job %s was withdrawn while it ran", job_id)
                    return
                log.exception("job %s (%s) failed", job_id, job.task)
                job.error = str(error)[:500]
                job.status = "failed" if final_attempt() else "queued"
                job.finished_at = utcnow() if job.status == "failed" else None
                db.commit()
                raise
            if not still_wanted(db, job_id):
                db.rollback()
                return
            job.status = "done"
            job.finished_at = utcnow()
            db.commit()

    return task


def still_wanted(db, job_id: int) -> bool:
    """Whether the job's record is still there: erasing the person who asked for it deletes it,
    and then whatever it made must not be kept."""
    from lms.models import Job

    return db.execute(select(Job.id).where(Job.id == job_id)).first() is not None


def redis_connection(url: str):
    from redis import Redis

    return Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)


def _environment_for(app: Flask) -> dict:
    """This app's settings, for a process of its own: what a test or command overrode as well."""
    config = app.config
    settings = {
        "LMS_DATABASE_URL": config["DATABASE_URL"], "LMS_SECRET_KEY": config["SECRET_KEY"], "LMS_ENV": config["LMS_ENV"],
        "LMS_INSTANCE_DIR": str(config["INSTANCE_DIR"]),
        "LMS_COURSE_PATHS": os.pathsep.join(str(p) for p in config["COURSE_PATHS"]), "LMS_BASE_URL": config["BASE_URL"],
        "LMS_CERTIFICATE_CACHE_DIR": str(config["CERTIFICATE_CACHE_DIR"]), "LMS_BATCH_DIR": str(config["BATCH_DIR"]),
        "LMS_XAPI_URL": config.get("XAPI_URL"), "LMS_XAPI_USERNAME": config.get("XAPI_USERNAME"),
        "LMS_XAPI_PASSWORD": config.get("XAPI_PASSWORD"),
    }
    # A tool run without the server's secret or address has none to pass on.
    return {**os.environ, **{name: value for name, value in settings.items() if value is not None}}


def _app() -> Flask:
    global _worker_app
    if _worker_app is None:
        from lms import create_app

        _worker_app = create_app()
    return _worker_app


def perform(name: str, args: list) -> None:
    """Run one attempt of a task (what RQ calls; the local runner calls it too)."""
    from rq import get_current_job

    job = get_current_job()
    final = job is None or not job.retries_left
    _run(name, args, final)


def _run(name: str, args: list, final: bool) -> None:
    app = _app()
    engine = app.extensions.get("lms.engine")
    if engine is not None and app.extensions.get("lms.engine_pid") != os.getpid():
        # RQ forks a process for each task: it must not use the connections of the worker it forked from.
        engine.dispose(close=False)
        app.extensions["lms.engine_pid"] = os.getpid()
    token = _final_attempt.set(final)
    try:
        with app.app_context():
            _task(name)(*args)
    finally:
        _final_attempt.reset(token)


def run_locally(name: str, args: list) -> int:
    """The embedded default: every attempt in this process, waiting between them as RQ would."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _run(name, args, final=attempt == ATTEMPTS)
            return 0
        except Exception:
            log.exception("task %s%s failed (attempt %d of %d)", name, tuple(args), attempt, ATTEMPTS)
            if attempt < ATTEMPTS:
                time.sleep(RETRY_DELAYS_SECONDS[attempt - 1])
    return 1


def work(app: Flask, *, burst: bool = False) -> bool:
    """`lms worker`: run tasks from the queue until stopped (or, with burst, until it is empty)."""
    from rq import Queue, Worker

    global _worker_app
    _worker_app = app
    app.extensions["lms.engine_pid"] = os.getpid()
    connection = redis_connection(app.config["REDIS_URL"])
    worker = Worker([Queue(QUEUE_NAME, connection=connection)], connection=connection)
    # The scheduler puts retries back on the queue when their wait is over.
    return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")


def main(argv: list[str]) -> int:
    os.nice(10)  # second place to page requests on a shared machine
    logging.basicConfig(level=logging.INFO)
    return run_locally(argv[0], json.loads(argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
