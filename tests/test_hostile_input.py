"""Hostile input to every form and every page that reads a query string: wrong types, missing
and extra fields, 100 KB strings, control and bidirectional characters, invalid UTF-8,
NUL bytes and tampered ids. Whatever arrives, the answer is a page and a status below 500;
and a form sent without its CSRF token is refused with 400.

The quick form runs in `make test`; HYPOTHESIS_PROFILE=thorough runs many more examples."""
from __future__ import annotations

import io
import os
from datetime import date, time
from zoneinfo import ZoneInfo
import re
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lms.learn import services as learn
from lms.models import Attendance, User
from lms.people.scope import scope_for
from lms.workshops import services as workshops
from tests.conftest import database
from tests.test_scope import world  # noqa: F401 - the fixture is used by name

settings.register_profile("quick", max_examples=12, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "quick")

BIDI_AND_CONTROL = "\u202e\u202d\u2066\u2067\u2068\u2069\u200f\u200e\u061c\x00\x01\x07\x08\x0b\x0c\x1b\x7f\r\n\t\ufeff"
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(BIDI_AND_CONTROL + "aZ9-_ <>\"'&%;"), max_size=40),
    st.sampled_from(["", " ", "0", "-1", "1e309", "NaN", "99999999999999999999999", "2147483648", "null",
                     "[]", "{}", "true", "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --",
                     "\x00", "%00", "a@b", "x" * 100_000, "ü" * 50_000]),
)
# Bytes that are not UTF-8, sent percent-encoded as a browser never would.
invalid_utf8 = st.sampled_from([b"\xff", b"\xc3\x28", b"\xa0\xa1", b"\xf0\x28\x8c\xbc", b"\xed\xa0\x80", b"\x80abc"])
hostile_value = st.one_of(hostile_text.map(lambda text: text.encode("utf-8", "surrogatepass")), invalid_utf8)

# Values for the path of each route, for a Northmoor org admin (so that forms are reached).
PATH_VALUES = {
    "organisation_id": "{north}", "membership_id": "{north_learner}", "invite_id": "{north_invite}",
    "course_id": "tiny", "slug": "01-first", "language": "ur", "number": "1", "filename": "missing.png",
    "code": "NOTACODE", "token": "not-a-token", "attempt_id": "{attempt}",
    "certificate_id": "{certificate}", "batch_id": "999", "requirement_id": "999", "workshop_id": "{workshop}",
    "attendance_id": "{attendance}", "stage": "before", "job_id": "999", "key": "not-a-signed-key", "platform_id": "999",
}
SKIP = {"static", "auth.sign_out"}  # files; signing out ends the session the other cases need


def _rules(app, method: str):
    return sorted((rule for rule in app.url_map.iter_rules() if method in rule.methods and rule.endpoint not in SKIP),
                  key=lambda rule: rule.rule)


def _path(rule, ids: dict) -> str:
    values = {name: PATH_VALUES[name].format(**ids) for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def _field_names(page: str) -> list[str]:
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', page)) - {"csrf_token"}
    return sorted(names) or ["name", "email", "id"]


def _encode(fields: list[tuple[str, bytes]]) -> bytes:
    return b"&".join(urllib.parse.quote_from_bytes(key.encode()).encode() + b"=" + urllib.parse.quote_from_bytes(value).encode()
                     for key, value in fields)


@pytest.fixture
def hostile(app, client, world):  # noqa: F811
    """Northmoor's org admin, signed in, with an attempt of the tiny course of their own."""
    with database(app) as session:
        admin = session.scalars(select(User).where(User.email == "orgadmin@example.org")).one()
        attempt = learn.start_attempt(session, admin.id, app.extensions["lms.catalogue"].get("tiny"), "en")
        session.commit()
        scope = scope_for(session, admin, world["north"])
        workshop = workshops.schedule(session, scope, admin, [app.extensions["lms.catalogue"].get("tiny")], workshops.Plan(
            course_id="tiny", language="en", day=date(2027, 1, 1), start=time(10), end=time(11), venue="Hall"),
            ZoneInfo("Europe/London"))
        attendance = Attendance(workshop_id=workshop.id, name="Someone")
        session.add(attendance)
        session.commit()
        ids = {**world, "attempt": attempt.id, "certificate": 999, "workshop": workshop.id, "attendance": attendance.id}
    client.sign_in("orgadmin@example.org")
    return client, ids


def _post_rules(app):
    return [rule.endpoint for rule in _rules(app, "POST")]


def _get_rules(app):
    return [rule.endpoint for rule in _rules(app, "GET")]


@pytest.fixture(params=["POST", "GET"])
def method(request):
    return request.param


def test_every_form_and_page_survives_hostile_input(app, hostile, method):
    client, ids = hostile
    failures = []
    for rule in _rules(app, method):
        path = _path(rule, ids)
        if method == "POST":
            form_page = client.get(path) if "GET" in rule.methods else None
            page = form_page.get_data(as_text=True) if form_page is not None and form_page.status_code == 200 else ""
            names = _field_names(page)
            multipart = 'enctype="multipart/form-data"' in page
        else:
            names = ["q", "team", "course", "status", "sort", "page", "role", "lang", "code", "next", "due"]
            multipart = False
        token = client.csrf_token("/account")

        @settings(settings.get_profile(PROFILE))
        @given(fields=st.lists(st.tuples(st.sampled_from(names) | st.text(max_size=12), hostile_value), max_size=8))
        def send(fields):
            if method == "GET":
                response = client.get(path + "?" + _encode(fields).decode("ascii"))
            elif multipart:
                data = {"csrf_token": token}
                for key, value in fields:
                    data[key] = (io.BytesIO(value), "upload.bin") if len(value) % 2 else value.decode("utf-8", "replace")
                response = client.post(path, data=data, content_type="multipart/form-data")
            else:
                body = _encode([("csrf_token", token.encode())] + fields)
                response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
            assert response.status_code < 500, (rule.endpoint, path, response.status_code)

        try:
            send()
        except AssertionError as failure:
            failures.append(str(failure)[:500])
    assert not failures, failures


@pytest.mark.parametrize("tampered", ["tiny/../wrap", "\u202etiny", "tiny\x00", "%ff%fe", "x" * 3000, "..%2f..%2fetc"])
def test_tampered_path_values_are_refused_plainly(app, hostile, tampered):
    client, ids = hostile
    for rule in _rules(app, "GET"):
        string_arguments = [name for name in rule.arguments
                            if type(rule._converters[name]).__name__ not in ("IntegerConverter", "PathConverter", "AnyConverter")]
        if not string_arguments:
            continue
        values = {name: PATH_VALUES[name].format(**ids) for name in rule.arguments}
        values[string_arguments[0]] = tampered
        path = rule.build(values, append_unknown=False)[1]
        response = client.get(path)
        assert response.status_code < 500, (rule.endpoint, path, response.status_code)


# Posted to from another site by design; OIDC's state and nonce guard them instead, and a post
# without them is refused all the same (tests/test_lti.py).
CSRF_EXEMPT = {"interop.lti_login", "interop.lti_launch"}


def test_every_form_refuses_a_request_without_its_csrf_token(app, database_url, hostile):
    client, ids = hostile
    for rule in _rules(app, "POST"):
        path = _path(rule, ids)
        response = client.post(path, data={"name": "x", "email": "a@example.org"})
        if rule.endpoint in CSRF_EXEMPT:
            assert response.status_code in (400, 403), (rule.endpoint, response.status_code)
            continue
        assert response.status_code == 400, (rule.endpoint, response.status_code)
        assert "form" in response.get_data(as_text=True).lower()
