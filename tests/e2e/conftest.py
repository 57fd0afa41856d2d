"""A real browser against a real server: Debian's chromium driven by Playwright.

The server runs in a thread on a free loopback port, on a migrated SQLite database
with the demo data loaded. Never a downloaded browser build: `make test` installs
Debian's chromium, and these tests fail (not skip) without it.
"""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from lms.config import SHIPPED_ROOT
from tests.conftest import FIXTURE_COURSES, make_test_app
from lms import db
from lms.demo import load_demo

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Debian's chromium is not installed: run `make test`, which installs it")
    return path


LIVE: dict[str, str] = {}


def _a_session_open_now(session, courses) -> str:
    """A WRAP session in Urdu at Northmoor running now, so walk-ins can check in to it."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from lms.models import Organisation, User
    from lms.people.scope import organisation_scope
    from lms.workshops import register, services

    london = ZoneInfo("Europe/London")
    now = datetime.now(london)
    start = max(now - timedelta(minutes=30), now.replace(hour=0, minute=0))
    end = min(now + timedelta(hours=2), now.replace(hour=23, minute=59))
    organisation = session.scalars(select(Organisation).where(Organisation.name == "Northmoor Borough Council")).one()
    trainer = session.scalars(select(User).where(User.email == "trainer@example.org")).one()
    workshop = services.schedule(session, organisation_scope(organisation), trainer, list(courses), services.Plan(
        course_id="wrap", language="ur", day=now.date(), start=start.time().replace(second=0, microsecond=0),
        end=end.time().replace(second=0, microsecond=0), venue="Northmoor Library, open now", capacity=60,
        trainer_id=trainer.id), london)
    return register.display_code(workshop.check_in_code)


@pytest.fixture(scope="session")
def open_session_code(live_server) -> str:
    return LIVE["open_session_code"]


@pytest.fixture(scope="session")
def live_server(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("live") / "lms.sqlite3"
    shutil.copy(sqlite_template, path)
    # The real courses, so every lesson and slide is crawled, and the test course for its translation.
    app = make_test_app(f"sqlite:///{path}", TESTING=False, PROPAGATE_EXCEPTIONS=False,
                        COURSE_PATHS=[SHIPPED_ROOT / "courses", FIXTURE_COURSES])
    with app.app_context():
        session = db.get_session()
        # With the courses, the demo has sessions (past and upcoming), so the crawl reaches them.
        load_demo(session, app.extensions["lms.catalogue"].all())
        LIVE["open_session_code"] = _a_session_open_now(session, app.extensions["lms.catalogue"].all())
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def sign_in(page, base_url: str, email: str, password: str = "demo-password") -> None:
    page.goto(f"{base_url}/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert page.url.rstrip("/") == base_url, f"sign-in as {email} failed: still on {page.url}"


def schedule_session_now(page, base_url: str, venue: str, course: str | None = None, language: str | None = None) -> str:
    """As the signed-in trainer, schedule a session running now (so check-in is open) through
    the form, and return the session page's address."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Europe/London"))
    start = max(now - timedelta(minutes=5), now.replace(hour=0, minute=0, second=0, microsecond=0))
    end = min(now + timedelta(hours=1), now.replace(hour=23, minute=59, second=0, microsecond=0))
    page.goto(f"{base_url}/")
    page.click("text=Sessions")
    page.click("text=Schedule a session")
    page.fill("#day", now.strftime("%Y-%m-%d"))
    page.fill("#start", start.strftime("%H:%M"))
    page.fill("#end", end.strftime("%H:%M"))
    page.fill("#venue", venue)
    if course:
        page.select_option("#course", course)
    if language:
        page.select_option("#language", language)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "The session is scheduled." in page.content()
    return page.url
