"""Settings, read once from the environment.

Every setting has a safe development default, so `make run` works on a fresh machine;
production must set LMS_SECRET_KEY, LMS_BASE_URL and LMS_DATABASE_URL.
"""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# The folders beside lms/ in a checkout (migrations, courses, certificates, translations):
# an installed wheel carries them as lms/shipped/ (setup.py), a checkout reads its own.
SHIPPED_ROOT = PACKAGE_DIR / "shipped" if (PACKAGE_DIR / "shipped").is_dir() else PACKAGE_DIR.parent
RUNNING_FROM_CHECKOUT = SHIPPED_ROOT == PACKAGE_DIR.parent


def instance_dir() -> Path:
    """Where this site's own files live (development secret, SQLite file, drawn certificates,
    batches): LMS_INSTANCE_DIR, else instance/ in a checkout, else <prefix>/var/prevent-lms as
    Flask does for an installed application; never inside the installed package."""
    configured = os.environ.get("LMS_INSTANCE_DIR", "").strip()
    if configured:
        return Path(configured).resolve()
    if RUNNING_FROM_CHECKOUT:
        return SHIPPED_ROOT / "instance"
    return Path(sys.prefix) / "var" / "prevent-lms"


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise RuntimeError(f"{name} must be a whole number (0 or more), not {value!r}.")
    return int(value)


SECRET_KEY_MISSING = "LMS_SECRET_KEY must be set in production."
BASE_URL_MISSING = ("LMS_BASE_URL must be set in production: the public address (such as "
                    "https://training.example.org) that links in emails and certificates point to.")
DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"


def _base_url(env: str, required: bool) -> str | None:
    url = os.environ.get("LMS_BASE_URL", "").strip()
    if url:
        if not url.startswith(("https://", "http://")):
            raise RuntimeError(f"LMS_BASE_URL must start with https:// (or http://), not {url!r}.")
        return url
    if env != "production":
        return DEVELOPMENT_BASE_URL
    if required:
        raise RuntimeError(BASE_URL_MISSING)
    return None  # a tool that sends nothing and signs nothing (see from_environment)


def missing_for_serving(config: dict) -> str | None:
    """The line to stop with when a command that serves people (the web app, the worker, the
    reminders run) lacks a production setting; tools that need neither were let through."""
    if not config.get("SECRET_KEY"):
        return SECRET_KEY_MISSING
    if not config.get("BASE_URL"):
        return BASE_URL_MISSING
    return None


def _secret_key(env: str, required: bool) -> str | None:
    key = os.environ.get("LMS_SECRET_KEY")
    if key:
        return key
    if env == "production":
        if required:
            raise RuntimeError(SECRET_KEY_MISSING)
        return None
    # A development key that survives restarts, so sign-ins are not lost on reload.
    folder = instance_dir()
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def from_environment(overrides: dict | None = None, *, secret_required: bool = True) -> dict:
    """secret_required=False is for command-line tools that sign and send nothing (course
    checks, certificate previews, translation reports): template designers and translators run
    them on their own machines, in production mode, without the server's secret or address."""
    overrides = overrides or {}
    # Production unless told otherwise: a forgotten setting must not mean insecure cookies.
    env = overrides.get("LMS_ENV") or os.environ.get("LMS_ENV", "production")
    development = env != "production"
    instance = instance_dir()
    return {
        "INSTANCE_DIR": instance,
        "LMS_ENV": env,
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(env, secret_required),
        "DATABASE_URL": os.environ.get("LMS_DATABASE_URL", f"sqlite:///{instance / 'lms.sqlite3'}"),
        # Database connections each process keeps open, and how many more it may open at a busy
        # moment (PostgreSQL; gunicorn_config sets 2 a worker, which serves one request at a time).
        "DB_POOL_SIZE": _count("LMS_DB_POOL_SIZE", 5),
        "DB_POOL_OVERFLOW": _count("LMS_DB_POOL_OVERFLOW", 2),
        # Folders of course plugins, separated by ":" (os.pathsep); installed packages are found too.
        "COURSE_PATHS": [Path(p) for p in os.environ.get("LMS_COURSE_PATHS", str(SHIPPED_ROOT / "courses")).split(os.pathsep) if p],
        # A completion this many days from expiry reopens its course as a refresher.
        "REFRESHER_DAYS": int(os.environ.get("LMS_REFRESHER_DAYS", "60")),
        "VERIFY_RATE_LIMIT": os.environ.get("LMS_VERIFY_RATE_LIMIT", "30 per minute;300 per hour"),
        # Drawn certificate PDFs, kept by a hash of their content.
        "CERTIFICATE_CACHE_DIR": Path(os.environ.get("LMS_CERTIFICATE_CACHE_DIR", str(instance / "certificates"))),
        # Batches of certificates drawn for download, as one PDF or a ZIP.
        "BATCH_DIR": Path(os.environ.get("LMS_BATCH_DIR", str(instance / "batches"))),
        # An export of up to this many people streams from the request; a larger one is prepared
        # by a job, so that it does not hold a web worker (about 15 s at 100,000 people).
        "EXPORT_STREAM_ROWS": _count("LMS_EXPORT_STREAM_ROWS", 5000),
        # How long personal data is kept, in days (`lms retention apply` erases what is older;
        # 0 keeps it for ever): accounts nobody has used, walk-ins' names after their session
        # (longer than the 24 months a certificate is usually valid), and audit entries.
        "RETAIN_INACTIVE_DAYS": _count("LMS_RETAIN_INACTIVE_DAYS", 1095),
        "RETAIN_WALK_IN_DAYS": _count("LMS_RETAIN_WALK_IN_DAYS", 1095),
        "RETAIN_AUDIT_DAYS": _count("LMS_RETAIN_AUDIT_DAYS", 1095),
        # Learning kept against a reference code only (no account), counted from the last lesson
        # read or quiz answered: a parent may come back to a course months later.
        "RETAIN_GUEST_DAYS": _count("LMS_RETAIN_GUEST_DAYS", 365),
        # An xAPI learning record store to send statements to (its base, ending /xAPI or
        # similar: statements go to <url>/statements); none when empty.
        "XAPI_URL": os.environ.get("LMS_XAPI_URL", "").strip(),
        "XAPI_USERNAME": os.environ.get("LMS_XAPI_USERNAME", ""),
        "XAPI_PASSWORD": os.environ.get("LMS_XAPI_PASSWORD", ""),
        "XAPI_TIMEOUT": _count("LMS_XAPI_TIMEOUT", 10),
        # Public address used in emailed links (password reset, invites).
        "BASE_URL": overrides.get("BASE_URL") or _base_url(env, secret_required),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("LMS_SECURE_COOKIES", not development),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _flag("LMS_SECURE_COOKIES", not development),
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 12,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,  # a learner may leave a form open for a long lesson
        # The job queue (RQ); unset, each job runs in a process the web app starts (lms.jobs).
        "REDIS_URL": os.environ.get("LMS_REDIS_URL", "").strip(),
        "RATELIMIT_STORAGE_URI": os.environ.get("LMS_RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _flag("LMS_RATELIMIT_ENABLED", True),
        # If Redis goes away, each worker counts on its own for a while rather than refusing everyone.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # Failed sign-ins allowed per account, whichever address they come from ...
        "SIGN_IN_RATE_LIMIT": os.environ.get("LMS_SIGN_IN_RATE_LIMIT", "10 per minute;50 per hour"),
        # ... and per address (failed sign-ins and join codes, password-reset requests), higher
        # because a school or office shares one address.
        "ADDRESS_RATE_LIMIT": os.environ.get("LMS_ADDRESS_RATE_LIMIT", "30 per minute;300 per hour"),
        # New learners without an account per address (each makes a record): a room of 60 parents
        # on a community centre's one connection is well within it; a script making records is not.
        "GUEST_START_RATE_LIMIT": os.environ.get("LMS_GUEST_START_RATE_LIMIT", "120 per hour;600 per day"),
        # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: none, trust no header).
        "PROXY_FIX": _count("LMS_PROXY_FIX", 0),
        "MAIL_SERVER": os.environ.get("LMS_SMTP_HOST", ""),
        "MAIL_PORT": int(os.environ.get("LMS_SMTP_PORT", "587")),
        "MAIL_USERNAME": os.environ.get("LMS_SMTP_USER", ""),
        "MAIL_PASSWORD": os.environ.get("LMS_SMTP_PASSWORD", ""),
        "MAIL_USE_TLS": _flag("LMS_SMTP_STARTTLS", True),
        "MAIL_SENDER": os.environ.get("LMS_MAIL_SENDER", "Prevent LMS <no-reply@localhost>"),
        "PASSWORD_RESET_MAX_AGE": 60 * 60,
        "BABEL_DEFAULT_LOCALE": "en_GB",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("LMS_TIMEZONE", "Europe/London"),
        "BABEL_TRANSLATION_DIRECTORIES": str(SHIPPED_ROOT / "translations"),
    }
