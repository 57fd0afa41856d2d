"""gunicorn's settings for Prevent LMS: `gunicorn -c python:lms.gunicorn_config 'lms:create_app()'`
(a checkout's gunicorn.conf.py reads this, and gunicorn reads that from the folder it starts in).
Command-line options and GUNICORN_CMD_ARGS still override what is here."""
import multiprocessing
import os

# Requests are short and PDF drawing runs in jobs, so a worker per core and one more keeps
# both cores busy while one worker waits on the database. WEB_CONCURRENCY overrides it.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
# A worker that has not answered in this long is stuck, not busy: it is restarted.
timeout = 60
# Time for requests in flight to finish when a deploy restarts the workers.
graceful_timeout = 30
# Behind nginx: keep its connections open a little longer than it reuses them.
keepalive = 5
# One line a request on stdout, with the time it took in microseconds (%(D)s), for the log
# collector; errors go to stderr.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'
# Each worker holds one database connection while it serves a request; a small pool per
# worker keeps hosts x workers within PostgreSQL's max_connections (see docs/deploy.md).
os.environ.setdefault("LMS_DB_POOL_SIZE", "2")
# Build the app once in the master: the course catalogue (every lesson, bank and deck, in every
# language) is read and checked once, and each forked worker starts with it instead of spending
# its first request on it.
preload_app = True


def on_starting(server):
    storage = os.environ.get("LMS_RATELIMIT_STORAGE_URI", "memory://")
    if server.cfg.workers > 1 and storage.startswith("memory://"):
        server.log.warning(
            "LMS_RATELIMIT_STORAGE_URI is memory:// with %d workers: each worker counts sign-in attempts on "
            "its own, so the limit is up to %d times looser than configured. Set "
            "LMS_RATELIMIT_STORAGE_URI=redis://... so that the workers share one count.",
            server.cfg.workers, server.cfg.workers)


def post_fork(server, worker):
    # Database connections must not be shared across processes: each worker drops the pool
    # it inherited from the master (without closing the master's connections) and opens its own.
    app = worker.app.wsgi()
    engine = getattr(app, "extensions", {}).get("lms.engine")
    if engine is not None:
        engine.dispose(close=False)
