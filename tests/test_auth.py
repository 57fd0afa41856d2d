from __future__ import annotations

import os
import re

import pytest

from tests.conftest import make_test_app, text_of
from lms.people import passwords


def reset_link(message) -> str:
    body = message.get_content()
    return re.search(r"http://localhost(/reset-password/\S+)", body).group(1)


def test_sign_in_and_out(client, demo):
    response = client.sign_in("learner@example.org")
    assert response.headers["Location"] == "/"
    assert "Welcome, Lena Kowalska" in client.get("/").get_data(as_text=True)
    response = client.sign_out()
    assert response.status_code == 302
    assert client.get("/account").status_code == 302  # signed out: sent to sign in


def test_sign_in_redirects_only_to_local_paths(client, demo):
    token = client.csrf_token()
    response = client.post("/sign-in?next=//evil.example/", data={"csrf_token": token, "email": "learner@example.org", "password": "demo-password"})
    assert response.headers["Location"] == "/"


def test_wrong_password_and_unknown_email_look_the_same(client, demo):
    wrong = client.submit("/sign-in", {"email": "learner@example.org", "password": "not-the-password"})
    unknown = client.submit("/sign-in", {"email": "nobody@example.org", "password": "not-the-password"})
    assert wrong.status_code == unknown.status_code == 400
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))
    assert strip(wrong) == strip(unknown)
    assert "The email address or password is not right" in strip(wrong)


@pytest.mark.parametrize("data", [
    {},
    {"email": "", "password": ""},
    {"email": "x" * 300 + "@example.org", "password": "p"},
    {"email": "learner@example.org", "password": "p" * 10_000},
    {"email": "not-an-email", "password": "demo-password"},
])
def test_bad_sign_in_input_gets_400_with_a_message(client, demo, data):
    response = client.submit("/sign-in", data)
    assert response.status_code == 400
    assert "There is a problem" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, demo):
    response = client.post("/sign-in", data={"email": "learner@example.org", "password": "demo-password"})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302


def test_session_is_renewed_at_sign_in(client, demo):
    with client.client.session_transaction() as planted:
        planted["planted"] = "by an attacker"
    client.sign_in("learner@example.org")
    with client.client.session_transaction() as current:
        assert "planted" not in current


def _limited_client(database_url, **limits):
    from tests.conftest import FormClient

    return FormClient(make_test_app(database_url, RATELIMIT_ENABLED=True, **limits).test_client(), [])


def test_failed_sign_ins_are_limited_per_account(database_url, demo):
    client = _limited_client(database_url, SIGN_IN_RATE_LIMIT="3 per minute")
    wrong = {"email": "learner@example.org", "password": "wrong-password"}
    assert [client.submit("/sign-in", wrong).status_code for _ in range(4)] == [400, 400, 400, 429]
    # Now even the right password waits, and the page says for how long, keeping the email.
    refused = client.submit("/sign-in", {"email": " Learner@Example.org ", "password": "demo-password"})
    page = text_of(refused)
    assert refused.status_code == 429
    assert "wait 1 minute, then try again" in page
    assert 'value="Learner@Example.org"' in page or 'value=" Learner@Example.org "' in page
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "demo-password" not in page
    # Reading the page is not limited, only attempts to sign in.
    assert client.get("/sign-in").status_code == 200
    # Another account at the same address is not held up by it.
    assert client.submit("/sign-in", {"email": "learner2@example.org", "password": "demo-password"}).status_code == 302


def test_failed_sign_ins_are_limited_per_address_across_accounts(database_url, demo):
    client = _limited_client(database_url, ADDRESS_RATE_LIMIT="3 per minute")
    statuses = [client.submit("/sign-in", {"email": f"someone{n}@example.org", "password": "wrong-password"}).status_code
                for n in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "too many attempts" in text_of(client.submit("/sign-in", {"email": "learner@example.org",
                                                                     "password": "demo-password"}))


def test_a_class_signing_in_from_one_address_is_not_turned_away(database_url, demo):
    """Only failures count: a room of people at one school address all sign in."""
    client = _limited_client(database_url, ADDRESS_RATE_LIMIT="3 per minute", SIGN_IN_RATE_LIMIT="3 per minute")
    for _ in range(3):
        for email in ("learner@example.org", "learner2@example.org", "guardian@example.org"):
            client.sign_in(email)
            client.sign_out()


def test_the_account_limit_follows_the_account_to_other_addresses(database_url, demo):
    client = _limited_client(database_url, SIGN_IN_RATE_LIMIT="3 per minute")
    wrong = {"email": "learner@example.org", "password": "wrong-password"}
    statuses = [client.submit("/sign-in", wrong, environ_base={"REMOTE_ADDR": f"192.0.2.{n}"}).status_code
                for n in range(1, 5)]
    assert statuses == [400, 400, 400, 429]


@pytest.mark.parametrize("hops, separate", [(0, False), (1, True)])
def test_behind_a_proxy_the_limit_sees_the_real_address(database_url, demo, hops, separate):
    client = _limited_client(database_url, ADDRESS_RATE_LIMIT="2 per minute", PROXY_FIX=hops)

    def attempt(n, address):
        return client.submit("/sign-in", {"email": f"someone{n}@example.org", "password": "wrong-password"},
                             headers={"X-Forwarded-For": address}).status_code

    assert [attempt(1, "198.51.100.1"), attempt(2, "198.51.100.1")] == [400, 400]
    # A second person behind the same proxy: with ProxyFix they have their own count.
    assert attempt(3, "198.51.100.2") == (400 if separate else 429)


def test_a_wrong_proxy_setting_stops_start_up_with_its_name(monkeypatch):
    from lms.config import from_environment

    monkeypatch.setenv("LMS_PROXY_FIX", "yes")
    with pytest.raises(RuntimeError, match="LMS_PROXY_FIX must be a whole number"):
        from_environment({"LMS_ENV": "development"})


@pytest.mark.skipif(not os.environ.get("LMS_TEST_REDIS_URL"), reason="LMS_TEST_REDIS_URL is not set")
def test_workers_share_the_sign_in_limit_through_redis(database_url, demo):
    """Two app processes (here two app instances) count attempts in the same Redis."""
    import uuid

    import redis

    from tests.conftest import FormClient

    url = os.environ["LMS_TEST_REDIS_URL"]
    redis.Redis.from_url(url).flushdb()
    settings = dict(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=url, SIGN_IN_RATE_LIMIT="3 per minute",
                    RATELIMIT_KEY_PREFIX=uuid.uuid4().hex)
    first = FormClient(make_test_app(database_url, **settings).test_client(), [])
    attempt = {"email": "learner@example.org", "password": "wrong-password"}
    assert [first.submit("/sign-in", attempt).status_code for _ in range(2)] == [400, 400]
    second = FormClient(make_test_app(database_url, **settings).test_client(), [])
    assert [second.submit("/sign-in", attempt).status_code for _ in range(2)] == [400, 429]


def test_session_cookie_flags(client, demo):
    response = client.sign_in("learner@example.org")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development serves plain http on 127.0.0.1


def test_cookies_are_secure_outside_development(monkeypatch, database_url):
    from lms.config import from_environment

    monkeypatch.delenv("LMS_ENV", raising=False)  # production is the default
    monkeypatch.setenv("LMS_SECRET_KEY", "a-production-secret")
    monkeypatch.setenv("LMS_BASE_URL", "https://training.example.org")
    config = from_environment()
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    from lms.config import from_environment

    monkeypatch.setenv("LMS_ENV", "production")
    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="LMS_SECRET_KEY"):
        from_environment()


def test_production_refuses_to_start_without_its_public_address(monkeypatch):
    from lms.config import from_environment

    monkeypatch.setenv("LMS_ENV", "production")
    monkeypatch.setenv("LMS_SECRET_KEY", "a-production-secret")
    monkeypatch.delenv("LMS_BASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="LMS_BASE_URL must be set in production"):
        from_environment()
    monkeypatch.setenv("LMS_BASE_URL", "training.example.org")
    with pytest.raises(RuntimeError, match="must start with https://"):
        from_environment()
    monkeypatch.setenv("LMS_BASE_URL", "https://training.example.org")
    assert from_environment()["BASE_URL"] == "https://training.example.org"
    # Tools that sign and send nothing run without it.
    monkeypatch.delenv("LMS_BASE_URL")
    assert from_environment(secret_required=False)["BASE_URL"] is None


def test_security_headers(client):
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_password_hash_is_slow_scrypt_by_default():
    import time

    from werkzeug.security import check_password_hash, generate_password_hash

    hashed = generate_password_hash("correct horse battery", method=passwords.DEFAULT_HASH_METHOD)
    assert hashed.startswith("scrypt:32768:8:1$")
    started = time.perf_counter()
    assert check_password_hash(hashed, "correct horse battery")
    assert time.perf_counter() - started > 0.01


def test_password_reset_flow(client, demo, app):
    response = client.submit("/forgot-password", {"email": "Learner@Example.org"})
    assert response.status_code == 200
    assert len(client.outbox) == 1
    message = client.outbox[0]
    assert message["To"] == "learner@example.org"
    link = reset_link(message)

    assert client.get(link).status_code == 200
    bad = client.submit(link, {"password": "short", "confirm": "short"})
    assert bad.status_code == 400
    assert "at least" in bad.get_data(as_text=True)
    mismatch = client.submit(link, {"password": "a-new-long-password", "confirm": "different-password"})
    assert mismatch.status_code == 400

    done = client.submit(link, {"password": "a-new-long-password", "confirm": "a-new-long-password"})
    assert done.status_code == 302
    client.sign_out()
    # The link is spent, the old password gone, the new one works.
    assert client.get(link).status_code == 404
    assert client.submit("/sign-in", {"email": "learner@example.org", "password": "demo-password"}).status_code == 400
    client.sign_in("learner@example.org", "a-new-long-password")


def test_password_reset_does_not_reveal_accounts(client, demo):
    known = client.submit("/forgot-password", {"email": "learner@example.org"})
    unknown = client.submit("/forgot-password", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    known_text = known.get_data(as_text=True).replace("learner@example.org", "X")
    unknown_text = unknown.get_data(as_text=True).replace("nobody@example.org", "X")
    assert re.sub(r'value="[^"]*"', "", known_text) == re.sub(r'value="[^"]*"', "", unknown_text)
    assert len(client.outbox) == 1


@pytest.mark.parametrize("token", ["nonsense", "a" * 500, "eyJ1c2VyIjoxfQ.bad.sig"])
def test_tampered_reset_links_get_404(client, demo, token):
    assert client.get(f"/reset-password/{token}").status_code == 404


def test_changing_password_signs_out_other_sessions(app, client, demo):
    from tests.conftest import FormClient

    other_device = FormClient(app.test_client(), [])
    other_device.sign_in("learner@example.org")
    client.sign_in("learner@example.org")
    wrong = client.submit("/account/password", {"current_password": "nope", "password": "another-long-password", "confirm": "another-long-password"})
    assert wrong.status_code == 400
    changed = client.submit("/account/password", {"current_password": "demo-password", "password": "another-long-password", "confirm": "another-long-password"})
    assert changed.status_code == 302
    assert client.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 302


def test_account_page_saves_name_and_language(client, demo):
    client.sign_in("learner@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert "learner@example.org" in page and "Lena Kowalska" in page
    saved = client.submit("/account", {"name": "  Lena   K. Kowalska ", "preferred_language": "en"})
    assert saved.status_code == 302
    assert "Lena K. Kowalska" in client.get("/account").get_data(as_text=True)
    assert client.submit("/account", {"name": "", "preferred_language": "en"}).status_code == 400
    assert client.submit("/account", {"name": "Lena", "preferred_language": "xx-not-a-language"}).status_code == 400
    assert client.submit("/account", {"name": "L" * 201, "preferred_language": "en"}).status_code == 400
