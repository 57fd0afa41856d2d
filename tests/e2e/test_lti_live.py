"""In a real browser (Debian's chromium): a learner on a learning platform follows its link to a
course here and lands on it signed in, through the OIDC login and the platform's auto-posted
launch form. The platform is served as "localhost" and the tool as "127.0.0.1", so the browser
treats them as two sites, as it would a trust's Moodle and this service, and applies its
cross-site cookie rules to the launch."""
from __future__ import annotations

import re
import shutil
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from lms import db
from lms.demo import load_demo
from lms.interop import lti
from lms.models import LtiAccount, Organisation, User
from lms.people.scope import organisation_scope
from tests.conftest import make_test_app
from tests.lti.platform import Person, Platform

pytestmark = pytest.mark.browser


@pytest.fixture
def tool(sqlite_template, tmp_path):
    path = tmp_path / "lms.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_test_app(f"sqlite:///{path}", TESTING=False, PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        session = db.get_session()
        load_demo(session)
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app
    server.shutdown()
    app.extensions["lms.engine"].dispose()


def test_a_learner_follows_the_platforms_link_and_lands_on_the_course_signed_in(browser, tool):
    platform = Platform(tool.config["BASE_URL"], host="localhost")
    try:
        with tool.app_context():
            session = db.get_session()
            north = session.scalars(select(Organisation).where(Organisation.name == "Northmoor Borough Council")).one()
            admin = session.scalars(select(User).where(User.email == "orgadmin@example.org")).one()
            details = platform.details()
            lti.register_platform(session, organisation_scope(north), lti.PlatformDetails(
                name=details["name"], issuer=details["issuer"], client_id=details["client_id"],
                deployment_ids=[details["deployment_ids"]], auth_login_url=details["auth_login_url"],
                auth_token_url=details["auth_token_url"], key_set_url=details["key_set_url"]), actor=admin)
            session.commit()

        context = browser.new_context()
        page = context.new_page()
        page.goto(platform.start_url(Person(sub="moodle-42", name="Asha Platform", custom={"course": "tiny"})))
        page.wait_for_url(re.compile(r"/courses/tiny$"), timeout=15_000)
        assert page.url.startswith(tool.config["BASE_URL"])
        assert "A tiny test course" in page.content()
        # Signed in: the account page opens instead of sending them to sign in.
        page.goto(f"{tool.config['BASE_URL']}/account")
        assert page.url.endswith("/account") and "Asha Platform" in page.content()
        context.close()
        with tool.app_context():
            assert db.get_session().scalars(select(LtiAccount.subject)).all() == ["moodle-42"]
    finally:
        platform.stop()
