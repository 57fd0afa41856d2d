"""LTI 1.3 (issue 15): this service as a tool, launched by a platform this project did not write
(lti1p3platform's parts, served by tests/lti/platform.py), both on real servers on the loopback:
the platform fetches the tool's keys over HTTP, and the tool the platform's.

Covered: an org admin registers the platform; a launch signs its person in on the course; a
completion sends the score back through Assignment and Grade Services; and a tampered, replayed,
expired, wrongly addressed or unknown-deployment id token is refused with a 4xx, changing no row
of any table.
"""
from __future__ import annotations

import base64
import json
import re
import threading
from urllib.parse import urljoin

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from lms.interop import lti
from lms.models import AuditEvent, LtiAccount, LtiPlatform, LtiScore, Membership, User
from lms.privacy import erasure
from tests.conftest import CSRF_FIELD, database, snapshot, text_of
from tests.lti.platform import Person, Platform

NORTHMOOR = "Northmoor Borough Council"


@pytest.fixture
def tool(app):
    """The app on a real server, so that the platform can fetch its keys."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()


@pytest.fixture
def platform(tool):
    running = Platform(tool)
    yield running
    running.stop()


@pytest.fixture
def registered(app, client, demo, platform):
    """Northmoor's org admin has registered the platform on the tool's page."""
    north = demo["organisations"][NORTHMOOR]
    client.sign_in("orgadmin@example.org")
    response = client.submit(f"/org/{north}/lti", platform.details())
    assert response.status_code == 302, text_of(response)
    client.sign_out()
    return platform


def csrf(page: str) -> str:
    match = CSRF_FIELD.search(page)
    assert match, page[:300]
    return match.group(1) or match.group(2)


def launch(platform: Platform, person: Person, browser: requests.Session | None = None):
    browser = browser or requests.Session()
    action, fields = platform.launch_form(browser, person)
    return browser, browser.post(action, data=fields, allow_redirects=False)


def pass_the_quiz(app, browser: requests.Session, base: str) -> None:
    course = app.extensions["lms.catalogue"].get("tiny")
    start = browser.get(f"{base}/courses/tiny/quiz")
    started = browser.post(f"{base}/courses/tiny/quiz", data={"csrf_token": csrf(start.text)}, allow_redirects=False)
    assert started.status_code == 302, started.text[:300]
    attempt = urljoin(base, started.headers["Location"])
    page = browser.get(attempt).text
    answers = {f"q-{qid}": sorted(question.answers) for qid, question in course.question_bank.items()
               if f'name="q-{qid}"' in page}
    done = browser.post(attempt, data={**answers, "csrf_token": csrf(page)}, allow_redirects=False)
    assert done.status_code == 302, done.text[:300]


# --- registration -----------------------------------------------------------------------------

def test_an_org_admin_registers_a_platform_and_sees_what_to_give_it(app, client, demo, platform, tool):
    north = demo["organisations"][NORTHMOOR]
    client.sign_in("orgadmin@example.org")
    page = text_of(client.get(f"/org/{north}/lti"))
    # What the platform's admin types into the platform: the tool's own addresses.
    assert f"{tool}/lti/launch" in page and f"{tool}/lti/login" in page and f"{tool}/lti/jwks.json" in page
    assert "course=tiny" in page
    response = client.submit(f"/org/{north}/lti", {**platform.details(), "deployment_ids": "deployment-1\r\ndeployment-2\r\n"})
    assert response.status_code == 302
    page = text_of(client.get(f"/org/{north}/lti"))
    assert "Trust Moodle" in page and platform.issuer in page and "deployment-1, deployment-2" in page
    with database(app) as session:
        saved = session.scalars(select(LtiPlatform)).one()
        assert (saved.organisation_id, saved.client_id, saved.deployment_ids) == (north, "prevent-lms",
                                                                                  ["deployment-1", "deployment-2"])
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "lti_platform_added")).one()
    # The same issuer and client ID a second time is refused, with the reason by the field.
    again = client.submit(f"/org/{north}/lti", platform.details())
    assert again.status_code == 400
    assert "registered already" in text_of(again)


@pytest.mark.parametrize("field, value, message", [
    ("issuer", "moodle.trust.example", "Enter a web address starting with https://"),
    ("auth_token_url", "javascript:alert(1)", "Enter a web address starting with https://"),
    ("key_set_url", "https://", "Enter a web address starting with https://"),
    ("deployment_ids", " \r\n ", "Enter at least one deployment ID"),
    ("client_id", "x" * 300, "255 characters or fewer"),
    ("name", "", "Enter a name for the platform"),
])
def test_a_registration_with_a_bad_value_says_which_and_saves_nothing(app, client, demo, platform, field, value,
                                                                     message):
    north = demo["organisations"][NORTHMOOR]
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.submit(f"/org/{north}/lti", {**platform.details(), field: value})
    assert response.status_code == 400
    page = text_of(response)
    assert "There is a problem" in page and message in page
    assert platform.details()["name"] in page or field == "name"  # what was typed is kept
    assert snapshot(app) == before


@pytest.mark.parametrize("email", ["champion@example.org", "learner@example.org", "eastgate-admin@example.org"])
def test_only_the_organisations_admins_see_or_change_its_platforms(app, client, demo, registered, email):
    north = demo["organisations"][NORTHMOOR]
    client.sign_in(email)
    assert client.get(f"/org/{north}/lti").status_code == 404
    with database(app) as session:
        platform_id = session.scalars(select(LtiPlatform.id)).one()
    assert client.submit(f"/org/{north}/lti/{platform_id}/remove", form_page="/account").status_code == 404
    with database(app) as session:
        assert session.scalar(select(func.count()).select_from(LtiPlatform)) == 1


def test_a_removed_platform_can_launch_no_more(app, client, demo, registered):
    north = demo["organisations"][NORTHMOOR]
    launch(registered, Person(sub="p-1"))
    client.sign_in("orgadmin@example.org")
    with database(app) as session:
        platform_id = session.scalars(select(LtiPlatform.id)).one()
    assert client.submit(f"/org/{north}/lti/{platform_id}/remove", form_page=f"/org/{north}/lti").status_code == 302
    browser = requests.Session()
    login = browser.get(registered.tool_login_url, params={"iss": registered.issuer, "login_hint": "p-1",
                                                           "target_link_uri": registered.tool_launch_url,
                                                           "client_id": registered.client_id})
    assert login.status_code == 400
    with database(app) as session:
        # The person keeps their account and records here; only the link to the platform goes.
        assert session.scalar(select(func.count()).select_from(LtiAccount)) == 0
        assert session.scalars(select(User).where(User.email == "pat@platform.example")).one()


# --- launch -----------------------------------------------------------------------------------

def test_a_launch_signs_the_person_in_on_the_course_as_a_member_of_the_organisation(app, demo, registered, tool):
    browser, response = launch(registered, Person(sub="moodle-user-17", name="Pat Platform"))
    assert response.status_code == 302, response.text[:500]
    assert response.headers["Location"].endswith("/courses/tiny")
    course_page = browser.get(urljoin(tool, response.headers["Location"]))
    assert course_page.status_code == 200 and "Sign in" not in course_page.text
    assert browser.get(f"{tool}/account").status_code == 200
    with database(app) as session:
        account = session.scalars(select(LtiAccount)).one()
        user = session.get(User, account.user_id)
        assert (account.subject, user.name, user.email) == ("moodle-user-17", "Pat Platform", "pat@platform.example")
        membership = session.scalars(select(Membership).where(Membership.user_id == user.id)).one()
        assert (membership.organisation_id, membership.role) == (demo["organisations"][NORTHMOOR], "learner")
    # The next launch of the same person, from another browser, is the same account.
    again, second = launch(registered, Person(sub="moodle-user-17", name="Pat Platform-Jones"))
    assert second.status_code == 302
    with database(app) as session:
        assert session.scalar(select(func.count()).select_from(LtiAccount)) == 1
        assert session.get(User, account.user_id).name == "Pat Platform-Jones"


@pytest.mark.parametrize("name, email, kept_name", [
    ("Pat\x00 Platform\u202e", "not an address", "Pat Platform"),  # NUL, which PostgreSQL refuses; a bidi override
    ("", None, "Learner"),
    ("x" * 500, "PAT@Platform.Example", "x" * 200),
])
def test_a_launch_with_odd_claims_still_makes_a_usable_account(app, demo, registered, name, email, kept_name):
    browser, response = launch(registered, Person(sub="odd", name=name, email=email))
    assert response.status_code == 302, response.text[:300]
    with database(app) as session:
        user = session.get(User, session.scalars(select(LtiAccount.user_id)).one())
        assert user.name == kept_name
        assert user.email == ("pat@platform.example" if email and "@" in email else user.email)
        assert "@" in user.email and " " not in user.email


def test_a_launch_in_another_language_opens_the_course_in_it(app, demo, registered, tool):
    browser, response = launch(registered, Person(sub="u-ur", custom={"course": "tiny", "lang": "ur"}))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/courses/tiny?lang=ur")
    page = browser.get(urljoin(tool, response.headers["Location"])).text
    assert 'lang="ur"' in page and 'dir="rtl"' in page


def test_a_launch_naming_no_course_here_lands_on_the_learners_courses(app, demo, registered, tool):
    browser, response = launch(registered, Person(sub="u-2", custom={"course": "no-such-course"}))
    assert response.status_code == 302 and response.headers["Location"].endswith("/courses")


def test_two_first_launches_at_once_make_one_account(app, demo, registered, monkeypatch):
    prepared = []
    for _ in range(2):  # two tabs: each has its own login, state cookie and id token
        browser = requests.Session()
        action, fields = registered.launch_form(browser, Person(sub="two-tabs"))
        prepared.append((browser, action, fields))
    barrier = threading.Barrier(2)
    statuses = []
    if app.config["DATABASE_URL"].startswith("postgresql"):
        # Both look for the account before either makes it (SQLite's write lock queues them instead).
        found_no_account = threading.Barrier(2)
        address_for = lti._address_for

        def meeting(*args):
            try:
                found_no_account.wait(timeout=5)
            except threading.BrokenBarrierError:
                pass
            return address_for(*args)
        monkeypatch.setattr(lti, "_address_for", meeting)

    def post(browser, action, fields):
        barrier.wait()
        statuses.append(browser.post(action, data=fields, allow_redirects=False).status_code)

    threads = [threading.Thread(target=post, args=item) for item in prepared]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302, 302]
    with database(app) as session:
        [user_id] = session.scalars(select(LtiAccount.user_id)).all()
        assert session.scalar(select(func.count()).select_from(User).where(User.email == "pat@platform.example")) == 1
        assert session.scalar(select(func.count()).select_from(Membership).where(Membership.user_id == user_id)) == 1


def test_an_address_that_belongs_to_an_account_here_is_not_taken_over(app, demo, registered):
    browser, response = launch(registered, Person(sub="intruder", email="orgadmin@example.org", name="Not The Admin"))
    assert response.status_code == 302
    with database(app) as session:
        account = session.scalars(select(LtiAccount)).one()
        launched = session.get(User, account.user_id)
        admin = session.scalars(select(User).where(User.email == "orgadmin@example.org")).one()
        assert launched.id != admin.id and admin.name != "Not The Admin"
        assert launched.email.endswith("@lti.invalid")
    outbox = app.config["MAIL_OUTBOX"]
    sent_before = len(outbox)
    from lms.mail import send_email
    with app.app_context():
        send_email(launched.email, "A reminder", "body")
    assert len(outbox) == sent_before  # an address that cannot receive mail is not written to


# --- refused launches -------------------------------------------------------------------------

def _tampered(fields: dict) -> dict:
    header, body, signature = fields["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return {**fields, "id_token": f"{header}.{forged}.{signature}"}


REFUSALS = {
    "tampered": (Person(sub="t-1"), _tampered),
    "wrong audience": (Person(sub="t-2", overrides={"aud": "another-tool"}), None),
    "expired": (Person(sub="t-3", lifetime=-120), None),
    "unknown deployment": (Person(sub="t-4", overrides={
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "deployment-nobody-registered"}), None),
    "not signed": (Person(sub="t-5"), lambda fields: {**fields, "id_token": "e30.e30."}),
    "no state": (Person(sub="t-6"), lambda fields: {"id_token": fields["id_token"]}),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_launch_that_fails_a_check_is_refused_and_records_nothing(app, demo, registered, case):
    person, change = REFUSALS[case]
    browser = requests.Session()
    action, fields = registered.launch_form(browser, person)
    before = snapshot(app)
    response = browser.post(action, data=change(fields) if change else fields, allow_redirects=False)
    assert response.status_code == 403, response.text[:300]
    assert "Nothing was recorded" in response.text
    assert snapshot(app) == before
    assert browser.get(action.replace("/lti/launch", "/account"), allow_redirects=False).status_code == 302


def test_a_replayed_launch_is_refused_and_records_nothing(app, demo, registered):
    browser = requests.Session()
    action, fields = registered.launch_form(browser, Person(sub="r-1"))
    assert browser.post(action, data=fields, allow_redirects=False).status_code == 302
    before = snapshot(app)
    # The same id token posted again, from the same browser and from another.
    assert browser.post(action, data=fields, allow_redirects=False).status_code == 403
    other = requests.Session()
    other.cookies.update(browser.cookies)
    assert other.post(action, data=fields, allow_redirects=False).status_code == 403
    assert snapshot(app) == before


def test_a_login_from_an_unregistered_platform_is_refused(app, demo, registered, tool):
    browser = requests.Session()
    for params in ({"iss": "https://unknown.example", "login_hint": "x", "target_link_uri": f"{tool}/lti/launch"},
                   {"login_hint": "x"}, {"iss": registered.issuer}, {}):
        before = snapshot(app)
        response = browser.get(f"{tool}/lti/login", params=params, allow_redirects=False)
        assert response.status_code == 400
        assert snapshot(app) == before
    assert browser.post(f"{tool}/lti/launch", data={"id_token": "junk", "state": "junk"}).status_code == 403
    assert browser.post(f"{tool}/lti/launch").status_code == 403


# --- results ----------------------------------------------------------------------------------

def test_a_completion_sends_the_score_to_the_platform(app, demo, registered, tool, queued_jobs):
    browser, response = launch(registered, Person(sub="moodle-user-9"))
    assert response.status_code == 302
    pass_the_quiz(app, browser, tool)
    assert registered.scores == []  # nothing sent while the learner's page was answered
    assert queued_jobs() >= 1
    [(line_item, score)] = registered.scores
    assert registered.line_items[line_item]["resourceId"] == "tiny"
    assert (score["userId"], score["scoreGiven"], score["scoreMaximum"]) == ("moodle-user-9", 100, 100)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
    with database(app) as session:
        assert session.scalars(select(LtiScore)).one().sent_at is not None


def test_a_score_goes_to_the_activitys_own_line_item_when_the_platform_gives_one(app, demo, registered, tool,
                                                                             queued_jobs):
    browser, _ = launch(registered, Person(sub="moodle-user-11", own_line_item=True))
    [own] = registered.line_items
    pass_the_quiz(app, browser, tool)
    queued_jobs()
    assert [item for item, _score in registered.scores] == [own]
    assert list(registered.line_items) == [own]  # none made


def test_a_score_waits_while_the_platform_is_down_and_goes_when_it_returns(app, demo, registered, tool, queued_jobs):
    browser, _ = launch(registered, Person(sub="moodle-user-10"))
    real_token_url = f"{registered.issuer}/token"
    with database(app) as session:
        platform = session.scalars(select(LtiPlatform)).one()
        platform.auth_token_url = "http://127.0.0.1:9/token"  # nothing listens there
        session.commit()
    pass_the_quiz(app, browser, tool)
    with pytest.raises(lti.ScoresUnsent):
        queued_jobs()
    with database(app) as session:
        waiting = session.scalars(select(LtiScore)).one()
        assert waiting.sent_at is None and waiting.attempts == 1 and waiting.last_error
        session.get(LtiPlatform, platform.id).auth_token_url = real_token_url
        session.commit()
        assert lti.send_waiting_now(session) == 1
    assert len(registered.scores) == 1


def test_a_launch_without_grade_services_sends_nothing_back(app, demo, registered, tool, queued_jobs):
    browser, _ = launch(registered, Person(sub="no-grades", with_grades=False))
    pass_the_quiz(app, browser, tool)
    queued_jobs()
    assert registered.scores == [] and registered.token_requests == 0


def test_the_tool_publishes_one_lasting_key(app, tool):
    first = requests.get(f"{tool}/lti/jwks.json").json()
    second = requests.get(f"{tool}/lti/jwks.json").json()
    assert first == second and len(first["keys"]) == 1
    assert first["keys"][0]["kty"] == "RSA" and first["keys"][0]["alg"] == "RS256" and "d" not in first["keys"][0]


def test_an_erased_account_loses_its_link_to_the_platform(app, demo, registered):
    launch(registered, Person(sub="erase-me"))
    with database(app) as session:
        user_id = session.scalars(select(LtiAccount.user_id)).one()
        user = session.get(User, user_id)
        erasure.erase_account(session, user.id, erasure.Storage.of(app), erased_by=None, reason=erasure.OWN_REQUEST)
        session.commit()
        assert session.scalar(select(func.count()).select_from(LtiAccount)) == 0
