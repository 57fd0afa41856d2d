"""gunicorn's settings for Prevent LMS. gunicorn reads this file from the folder it is started
in; pass it with --config otherwise. Command-line options still override what is here."""
import os

# Workers that spend their time on PDF drawing should not be killed as stuck too soon.
timeout = 60
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
