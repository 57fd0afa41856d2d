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

from lms.config import PROJECT_ROOT
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


@pytest.fixture(scope="session")
def live_server(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("live") / "lms.sqlite3"
    shutil.copy(sqlite_template, path)
    # The real courses, so every lesson and slide is crawled, and the test course for its translation.
    app = make_test_app(f"sqlite:///{path}", TESTING=False, PROPAGATE_EXCEPTIONS=False,
                        COURSE_PATHS=[PROJECT_ROOT / "courses", FIXTURE_COURSES])
    with app.app_context():
        session = db.get_session()
        load_demo(session)
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
