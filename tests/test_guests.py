"""A walk-in's certificates, kept in a guest learner record, claimed into an account with the
record's reference: once, into one account, counted by the organisation only from then."""
from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lms.certify.codes import display
from lms.guests import reference
from lms.models import AuditEvent, Certificate, Completion, GuestLearner
from tests.conftest import FormClient, database, make_test_app, snapshot, text_of
from tests.test_check_in import _walk_in, workshop  # noqa: F401 (a fixture)


@pytest.fixture
def walk_in_certificate(app, client, workshop):  # noqa: F811
    """Amina checked in as a walk-in; the trainer closed the register. Her phone, her certificate's
    code and the reference shown with it."""
    phone = FormClient(app.test_client(), [])
    _walk_in(phone, workshop, name="Amina Khatun")
    client.sign_in("trainer@example.org")
    base = f"/org/{workshop['org']}/sessions/{workshop['id']}/register"
    client.submit(f"{base}/close", {}, form_page=base)
    client.sign_out()
    page = text_of(phone.get(f"/check-in/{workshop['code']}/after"))
    reference = re.search(r'<strong class="code-inline" dir="ltr">([0-9 ]+)</strong>', page).group(1)
    with database(app) as session:
        code = session.scalars(select(Certificate.code)).one()
    return {"phone": phone, "code": code, "reference": reference}


def _claim(client, reference: str):
    return client.submit("/certificates/claim", {"reference": reference})


def test_a_walk_in_claims_their_certificate_into_an_account(app, client, workshop, walk_in_certificate):  # noqa: F811
    client.sign_in("learner@example.org")
    # Before: the organisation does not count it.
    people = text_of(client.get(f"/org/{workshop['org']}/reports/people?course=tiny"))
    assert "at a session" not in people
    assert client.get("/courses").status_code == 200
    assert "Add learning you did without an account" in text_of(client.get("/courses"))
    response = _claim(client, walk_in_certificate["reference"].replace(" ", "-"))  # typed loosely
    assert response.status_code == 302
    assert "1 completed course has been added to your account." in text_of(client.get(response.headers["Location"]))
    with database(app) as session:
        completion = session.scalars(select(Completion)).one()
        guest = session.scalars(select(GuestLearner)).one()
        assert completion.user_id is not None and completion.guest_id is None
        assert guest.claimed_by_id == completion.user_id and guest.claimed_at is not None
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "certificate_claimed")).one()
        assert event.details["name"] == "Amina Khatun" and event.details["code"] == display(walk_in_certificate["code"])
    # Now it is the account's: downloadable, and counted as completed at a session.
    pdf = client.get(f"/certificates/{display(walk_in_certificate['code'])}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    client.sign_out()
    client.sign_in("orgadmin@example.org")
    people = text_of(client.get(f"/org/{workshop['org']}/reports/people?course=tiny&q=Kowalska"))
    assert "at a session" in people
    # The phone no longer offers the reference, which has done its work.
    page = text_of(walk_in_certificate["phone"].get(f"/check-in/{workshop['code']}/after"))
    assert walk_in_certificate["reference"] not in page


def test_a_reference_works_once_and_for_one_account(app, client, walk_in_certificate):
    reference = walk_in_certificate["reference"]
    client.sign_in("learner@example.org")
    assert _claim(client, reference).status_code == 302
    # The same account again: nothing changes, and it says so.
    before = snapshot(app)
    again = _claim(client, reference)
    assert again.status_code == 302
    assert "already in your account" in text_of(client.get(again.headers["Location"]))
    assert snapshot(app) == before
    # Another account: refused.
    other = FormClient(app.test_client(), [])
    other.sign_in("learner2@example.org")
    refused = _claim(other, reference)
    assert refused.status_code == 400
    assert "already been added to another account" in text_of(refused)
    assert snapshot(app) == before


@pytest.mark.parametrize("typed", ["", "ABCD", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JK0O", "<script>", "x" * 41, "verification"])
def test_wrong_references_are_refused_with_a_message(app, client, walk_in_certificate, typed):
    if typed == "verification":
        # A certificate's verification code is public; it does not move the certificate.
        typed = display(walk_in_certificate["code"])
    client.sign_in("learner@example.org")
    before = snapshot(app)
    response = _claim(client, typed)
    assert response.status_code == 400
    assert "There is a problem" in text_of(response)
    assert snapshot(app) == before


def test_claiming_needs_an_account(app, walk_in_certificate):
    visitor = FormClient(app.test_client(), [])
    assert visitor.get("/certificates/claim").status_code == 302  # to sign in
    before = snapshot(app)
    assert visitor.client.post("/certificates/claim", data={"reference": walk_in_certificate["reference"]}).status_code in (
        302, 400)
    assert snapshot(app) == before


def test_guessing_references_runs_into_the_limit(database_url, demo):
    limited = FormClient(make_test_app(database_url, RATELIMIT_ENABLED=True, ADDRESS_RATE_LIMIT="3 per minute")
                         .test_client(), [])
    limited.sign_in("learner@example.org")
    statuses = [limited.submit("/certificates/claim", {"reference": f"ABCD-EFGH-JK{c}{c}"}).status_code
                for c in "ABCDE"]
    assert statuses[:3] == [400, 400, 400] and statuses[-1] == 429


def test_references_are_long_and_read_back_loosely():
    codes = {reference.new_reference() for _ in range(200)}
    assert len(codes) == 200
    code = codes.pop()
    assert reference.RANDOM_DIGITS * math.log2(10) >= 50  # at least 50 bits, besides the check digit
    assert len(code) == 18 and reference.display(code).count(" ") == 5  # six groups of three
    assert reference.normalise(reference.display(code)) == code
    assert reference.normalise(f" {code[:6]}-{code[6:12]}\t{code[12:]} ") == code
    # Typed in the digits of the page's script: Arabic, Urdu, Bengali, Gurmukhi.
    for zero in ("\u0660", "\u06f0", "\u09e6", "\u0a66"):
        assert reference.normalise(reference.in_script(reference.display(code), zero)) == code
    # References given before digits still read back.
    assert reference.normalise("abcd efgh-jkm2") == "ABCDEFGHJKM2"


@settings(max_examples=300)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.integers(0, 17), st.integers(1, 9))
def test_the_check_digit_catches_one_wrong_digit(body, position, change):
    code = body + reference.check_digit(body)
    wrong = code[:position] + str((int(code[position]) + change) % 10) + code[position + 1:]
    with pytest.raises(reference.Mistyped):
        reference.normalise(wrong)
    assert reference.normalise(code) == code


@settings(max_examples=300)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.integers(0, 16))
def test_the_check_digit_catches_two_neighbours_swapped(body, position):
    code = body + reference.check_digit(body)
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
    if swapped == code:
        return  # the same digit twice: nothing was swapped
    with pytest.raises(reference.Mistyped):
        reference.normalise(swapped)
