"""Fixtures: an app on a freshly migrated database, on SQLite always and on PostgreSQL
when LMS_TEST_POSTGRES_URL is set. Each database is migrated once per run; every test
starts from an empty schema (SQLite: a copy of the migrated file; PostgreSQL: TRUNCATE)."""
from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lms import create_app, db
from lms.db import Base
from lms.migrate import upgrade
from lms.people import passwords

POSTGRES_URL = os.environ.get("LMS_TEST_POSTGRES_URL")
FIXTURE_COURSES = Path(__file__).parent / "fixtures" / "courses"
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(autouse=True, scope="session")
def quick_password_hashing():
    # scrypt costs ~100 ms a hash by design; tests hash hundreds of passwords.
    original = passwords.HASH_METHOD
    passwords.HASH_METHOD = "pbkdf2:sha256:1000"
    yield
    passwords.HASH_METHOD = original


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@contextmanager
def empty_postgres_database(prefix: str = "lms_test"):
    """A new, empty database on the test server, dropped afterwards; skips without one."""
    if not POSTGRES_URL:
        pytest.skip("LMS_TEST_POSTGRES_URL is not set")
    server = make_url(POSTGRES_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database():
    with empty_postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "lms.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    engine = create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def make_test_app(database_url: str, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "MAIL_OUTBOX": [],
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "http://localhost",
        "LMS_ENV": "development",
        # A small course made for the tests; the real courses have tests of their own.
        "COURSE_PATHS": [FIXTURE_COURSES],
        # Drawn PDFs go to a folder of the test's own, never the checkout's instance/.
        "CERTIFICATE_CACHE_DIR": Path(tempfile.mkdtemp(prefix="lms-test-cache-")),
        "BATCH_DIR": Path(tempfile.mkdtemp(prefix="lms-test-batches-")),
        "STATIC_CACHE_DIR": Path(tempfile.mkdtemp(prefix="lms-test-static-")),
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(database_url):
    application = make_test_app(database_url)
    yield application
    application.extensions["lms.engine"].dispose()


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.get_session()


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


class FormClient:
    """A test client that submits forms as a browser does, CSRF token included."""

    def __init__(self, client, outbox):
        self.client = client
        self.outbox = outbox

    def get(self, *args, **kwargs):
        return self.client.get(*args, **kwargs)

    def post(self, *args, **kwargs):
        return self.client.post(*args, **kwargs)

    def csrf_token(self, page: str = "/sign-in") -> str:
        html = self.client.get(page).get_data(as_text=True)
        match = CSRF_FIELD.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1) or match.group(2)

    def submit(self, path: str, data: dict | None = None, *, form_page: str | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token(form_page or path))
        return self.client.post(path, data=data, **kwargs)

    def sign_in(self, email: str, password: str = "demo-password"):
        response = self.submit("/sign-in", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def sign_out(self):
        return self.submit("/sign-out", form_page="/account")


@pytest.fixture
def client(app):
    return FormClient(app.test_client(), app.config["MAIL_OUTBOX"])


@pytest.fixture
def demo(app):
    """The demo organisations and people; returns {email: user id} and org ids by name."""
    from sqlalchemy import select

    from lms.demo import load_demo
    from lms.models import Organisation, Team, User

    with app.app_context():
        database = db.get_session()
        load_demo(database)
        database.commit()
        users = {u.email: u.id for u in database.scalars(select(User))}
        organisations = {o.name: o.id for o in database.scalars(select(Organisation))}
        teams = {(t.organisation_id, t.name): t.id for t in database.scalars(select(Team))}
    return {"users": users, "organisations": organisations, "teams": teams}


@contextmanager
def database(app):
    """The app's database session, for reading what a request left behind."""
    with app.app_context():
        yield db.get_session()


def snapshot(app) -> dict:
    """Every row of every table, to prove that a refused request changed nothing."""
    with database(app) as session:
        return {
            table.name: [tuple(row) for row in session.execute(table.select().order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def queued_jobs(monkeypatch):
    """Jobs that requests put on the queue are held, and run when the test calls the returned
    function: after the request, in an app context of their own (of the app that queued them),
    as a worker would."""
    from lms import jobs

    queue = []
    monkeypatch.setattr(jobs, "enqueue", lambda app, task, *args: queue.append((app, task, args)))

    def run_queued() -> int:
        count = 0
        while queue:
            app, task, args = queue.pop(0)
            with app.app_context():
                task(*args)
            count += 1
        return count

    return run_queued
