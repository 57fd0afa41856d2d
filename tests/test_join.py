"""Joining an organisation: the invite link (/join/<token>), the join code read aloud in a hall
(/join) and the personal invitation emailed to one address (/invitation/<token>)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import FormClient, database, snapshot, text_of
from lms.db import utcnow
from lms.models import Invite, Membership, Organisation, User
from lms.models.people import JOIN_CODE_ALPHABET

NORTHMOOR = "Northmoor Borough Council"
EASTGATE = "Eastgate Community Association"
PASSWORD = "correct horse battery"
GOOD = {
    "name": "Amina Khan",
    "email": "amina.khan@example.org",
    "preferred_language": "en",
    "password": PASSWORD,
    "confirm": PASSWORD,
}


# --- helpers ------------------------------------------------------------------------------



def organisation(app, organisation_id: int) -> dict:
    with database(app) as session:
        found = session.get(Organisation, organisation_id)
        return {"code": found.join_code, "token": found.invite_token, "name": found.name}


def memberships_of(app, email: str) -> list[tuple[int, str, int | None]]:
    with database(app) as session:
        rows = session.execute(
            select(Membership.organisation_id, Membership.role, Membership.team_id)
            .join(User).where(User.email == email).order_by(Membership.organisation_id)
        )
        return [tuple(row) for row in rows]


def user_named(app, email: str) -> User | None:
    with database(app) as session:
        return session.scalars(select(User).where(User.email == email)).first()


def invite_for(app, email: str) -> Invite | None:
    with database(app) as session:
        return session.scalars(select(Invite).where(Invite.email == email)).first()



def registration(**changes) -> dict:
    data = dict(GOOD)
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def send_invitation(client, organisation_id: int, email: str, *, role: str = "learner", team_id: int | None = None,
                    name: str = "") -> str:
    """Invite through the admin screen and return the path of the link in the email."""
    sent_before = len(client.outbox)
    response = client.submit(f"/org/{organisation_id}/invite",
                             {"email": email, "name": name, "role": role, "team": str(team_id or "")})
    assert response.status_code == 302, text_of(response)
    assert len(client.outbox) == sent_before + 1
    message = client.outbox[-1]
    assert message["To"] == email.strip().lower()
    return re.search(r"http://localhost(/invitation/[A-Za-z0-9_-]+)", message.get_content()).group(1)


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


@pytest.fixture
def ids(demo):
    organisations = demo["organisations"]
    north, east = organisations[NORTHMOOR], organisations[EASTGATE]
    return {
        "north": north,
        "east": east,
        "housing": demo["teams"][(north, "Housing")],
        "guardians": demo["teams"][(east, "Web guardians")],
    }


@pytest.fixture
def admin_client(app):
    """A second browser, signed in as Northmoor's org admin, with its own outbox view."""
    other = FormClient(app.test_client(), app.config["MAIL_OUTBOX"])
    other.sign_in("orgadmin@example.org")
    return other


# --- the organisation's invite link -----------------------------------------------------------

def test_register_through_the_invite_link(app, client, ids):
    token = organisation(app, ids["north"])["token"]
    page = client.get(f"/join/{token}")
    assert page.status_code == 200
    assert NORTHMOOR in text_of(page)
    assert 'name="email"' in text_of(page)

    response = client.submit(f"/join/{token}", registration(email="  Amina.Khan@Example.ORG ", name="  Amina   Khan "))
    assert response.status_code == 302, text_of(response)
    assert response.headers["Location"] == "/"

    user = user_named(app, "amina.khan@example.org")
    assert user is not None and user.name == "Amina Khan" and user.preferred_language == "en"
    assert not user.is_site_admin
    assert memberships_of(app, "amina.khan@example.org") == [(ids["north"], "learner", None)]
    assert signed_in(client)
    with client.client.session_transaction() as cookie:
        assert cookie["organisation_id"] == ids["north"]
    home = text_of(client.get("/"))
    assert "Welcome, Amina Khan" in home and NORTHMOOR in home
    # The password chosen is the one that works.
    client.sign_out()
    client.sign_in("amina.khan@example.org", PASSWORD)


def test_invite_link_registration_can_only_join_the_organisation_in_the_link(app, client, ids):
    token = organisation(app, ids["east"])["token"]
    assert client.submit(f"/join/{token}", registration()).status_code == 302
    assert memberships_of(app, "amina.khan@example.org") == [(ids["east"], "learner", None)]


# --- the join code ---------------------------------------------------------------------------

CODE_VARIANTS = {
    "as stored": lambda code: code,
    "shown with a dash": lambda code: f"{code[:4]}-{code[4:]}",
    "lower case": lambda code: code.lower(),
    "lower case with dash": lambda code: f"{code[:4]}-{code[4:]}".lower(),
    "spaces around and inside": lambda code: f"  {code[:4].lower()} {code[4:]}  ",
    "spaced dash": lambda code: f"{code[:4]} - {code[4:]}",
    "every letter spaced": lambda code: " ".join(code.lower()),
}


@pytest.mark.parametrize("variant", CODE_VARIANTS.values(), ids=CODE_VARIANTS.keys())
def test_join_code_accepts_lower_case_spaces_and_the_dash(app, client, ids, variant):
    north = organisation(app, ids["north"])
    assert len(north["code"]) == 8 and set(north["code"]) <= set(JOIN_CODE_ALPHABET)
    response = client.submit("/join", {"code": variant(north["code"])})
    assert response.status_code == 302, text_of(response)
    assert response.headers["Location"] == f"/join/{north['token']}"


def test_join_code_leads_to_registration_and_membership(app, client, ids):
    east = organisation(app, ids["east"])
    response = client.submit("/join", {"code": f"{east['code'][:4]}-{east['code'][4:]}".lower()})
    link = response.headers["Location"]
    assert EASTGATE in text_of(client.get(link))
    assert client.submit(link, registration()).status_code == 302
    assert memberships_of(app, "amina.khan@example.org") == [(ids["east"], "learner", None)]
    assert signed_in(client)


def test_join_code_is_shown_in_two_groups(app, client, ids):
    code = organisation(app, ids["north"])["code"]
    client.sign_in("trainer@example.org")
    assert f"{code[:4]}-{code[4:]}" in text_of(client.get(f"/org/{ids['north']}"))


@pytest.mark.parametrize("typed", [
    "2222-2222",      # right shape and alphabet, but nobody's code
    "0000-0000",      # letters that codes never use
    "ABCD",           # too short
    "<b>KFRT</b>",
    "ŁÓDŹ-ĄĘŚĆ",
    "١٢٣٤-٥٦٧٨",      # Arabic-Indic digits
])
def test_unknown_join_code_gets_400_with_a_message(app, client, ids, typed):
    codes = {organisation(app, ids[key])["code"] for key in ("north", "east")}
    assert "".join(ch for ch in typed.upper() if ch.isalnum()) not in codes
    before = snapshot(app)
    response = client.submit("/join", {"code": typed})
    assert response.status_code == 400
    page = text_of(response)
    assert "That join code was not found" in page
    assert "There is a problem" in page
    assert snapshot(app) == before


def test_join_code_with_an_extra_character_is_not_accepted(app, client, ids):
    code = organisation(app, ids["north"])["code"]
    response = client.submit("/join", {"code": code + "2"})
    assert response.status_code == 400
    assert "That join code was not found" in text_of(response)
    response = client.submit("/join", {"code": code[:7]})
    assert response.status_code == 400


@pytest.mark.parametrize("typed,message", [
    ("", "Enter the join code"),
    ("   ", "Enter the join code"),
    ("A" * 21, "Join codes are 8 letters and numbers"),
    ("A" * 10_000, "Join codes are 8 letters and numbers"),
])
def test_empty_or_overlong_join_code_gets_400(client, ids, typed, message):
    response = client.submit("/join", {"code": typed})
    assert response.status_code == 400
    assert message in text_of(response)


def test_join_code_post_without_csrf_token_is_refused(app, client, ids):
    code = organisation(app, ids["north"])["code"]
    response = client.post("/join", data={"code": code})
    assert response.status_code == 400
    assert "Location" not in response.headers


# --- tokens that do not work -------------------------------------------------------------------

BAD_TOKENS = ["nonsense", "a" * 500, "abc%00def", "%F0%9F%98%80", "%27%20OR%20%271%27%3D%271"]


@pytest.mark.parametrize("kind", ["join", "invitation"])
@pytest.mark.parametrize("token", BAD_TOKENS)
def test_unknown_token_gets_404(app, client, ids, kind, token):
    path = f"/{kind}/{token}"
    response = client.get(path)
    assert response.status_code == 404
    assert "This invitation is not valid" in text_of(response)
    before = snapshot(app)
    posted = client.submit(path, registration(), form_page="/join")
    assert posted.status_code == 404
    assert snapshot(app) == before
    assert not signed_in(client)


@pytest.mark.parametrize("token", ["nonsense", "abc%00def"])
def test_unknown_token_gets_404_when_signed_in(app, client, ids, token):
    client.sign_in("learner@example.org")
    before = snapshot(app)
    for kind in ("join", "invitation"):
        assert client.get(f"/{kind}/{token}").status_code == 404
        assert client.submit(f"/{kind}/{token}", {}, form_page="/account").status_code == 404
    assert snapshot(app) == before


def test_organisation_token_is_not_an_invitation_token(app, client, ids):
    """The two kinds of link are looked up in different places."""
    token = organisation(app, ids["north"])["token"]
    assert client.get(f"/invitation/{token}").status_code == 404


# --- personal emailed invitations ----------------------------------------------------------------

def test_emailed_invitation_creates_the_account_with_its_role_and_team(app, client, ids, admin_client):
    link = send_invitation(admin_client, ids["north"], "New.Champion@Example.org", role="champion",
                           team_id=ids["housing"], name="Nadia Hussain")
    message = client.outbox[-1]
    assert NORTHMOOR in message["Subject"]
    assert "Olu Adeyemi" in message.get_content()
    assert "Nadia Hussain" in message.get_content()

    page = client.get(link)
    assert page.status_code == 200
    body = text_of(page)
    assert "new.champion@example.org" in body
    assert 'value="Nadia Hussain"' in body
    assert 'name="email"' not in body  # the address is fixed by the invitation

    response = client.submit(link, registration(name="Nadia Hussain", email=None))
    assert response.status_code == 302, text_of(response)
    assert memberships_of(app, "new.champion@example.org") == [(ids["north"], "champion", ids["housing"])]
    assert signed_in(client)
    home = text_of(client.get("/"))
    assert "Prevent Champion" in home and "Housing" in home

    invite = invite_for(app, "new.champion@example.org")
    assert invite.accepted_at is not None
    # The link has been spent: for its new owner, for someone else, and for posting.
    assert client.get(link).status_code == 404
    stranger = FormClient(app.test_client(), [])
    assert stranger.get(link).status_code == 404
    before = snapshot(app)
    assert stranger.submit(link, registration(email="stranger@example.org"), form_page="/join").status_code == 404
    assert snapshot(app) == before
    # And it is no longer listed as waiting.
    waiting = text_of(admin_client.get(f"/org/{ids['north']}"))
    assert "No invitations are waiting" in waiting


def test_invited_email_cannot_be_changed_by_posting_another(app, client, ids, admin_client):
    link = send_invitation(admin_client, ids["north"], "invited@example.org", role="org_admin")
    response = client.submit(link, registration(email="attacker@example.org"))
    assert response.status_code == 302
    assert user_named(app, "attacker@example.org") is None
    assert memberships_of(app, "invited@example.org") == [(ids["north"], "org_admin", None)]


def test_invitation_to_an_existing_account_asks_them_to_sign_in(app, client, ids):
    eastgate_admin = FormClient(app.test_client(), app.config["MAIL_OUTBOX"])
    eastgate_admin.sign_in("eastgate-admin@example.org")
    link = send_invitation(eastgate_admin, ids["east"], "learner@example.org", role="trainer", team_id=ids["guardians"])

    before = snapshot(app)
    response = client.submit(link, registration(name="Lena Kowalska", email=None))
    assert response.status_code == 400
    page = text_of(response)
    assert "An account with this email address already exists. Sign in instead." in page
    assert f"next={link}" in page.replace("%2F", "/")  # the sign-in link comes back here
    assert snapshot(app) == before
    assert invite_for(app, "learner@example.org").accepted_at is None

    # Signing in first and accepting works, and the invitation's role and team apply.
    client.sign_in("learner@example.org")
    confirm = text_of(client.get(link))
    assert "You are signed in as Lena Kowalska" in confirm
    assert client.submit(link, {}).status_code == 302
    assert memberships_of(app, "learner@example.org") == [
        (ids["north"], "learner", ids["housing"]),
        (ids["east"], "trainer", ids["guardians"]),
    ]
    assert invite_for(app, "learner@example.org").accepted_at is not None
    assert client.get(link).status_code == 404


def test_an_invitation_only_works_for_the_address_it_was_sent_to(app, client, ids, admin_client):
    link = send_invitation(admin_client, ids["north"], "new.admin@example.org", role="org_admin")
    client.sign_in("guardian@example.org")  # someone else, who was forwarded the link
    before = snapshot(app)
    page = client.get(link)
    assert page.status_code == 403
    assert "It was sent to new.admin@example.org" in text_of(page)
    assert client.submit(link, {}, form_page="/account").status_code == 403
    assert snapshot(app) == before
    assert memberships_of(app, "guardian@example.org")[0][1] == "learner"


def test_expired_invitation_gets_404_and_creates_nothing(app, client, ids, admin_client):
    link = send_invitation(admin_client, ids["north"], "late@example.org")
    with database(app) as session:
        invite = session.scalars(select(Invite).where(Invite.email == "late@example.org")).one()
        invite.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert client.get(link).status_code == 404
    before = snapshot(app)
    assert client.submit(link, registration(email=None), form_page="/join").status_code == 404
    assert snapshot(app) == before
    assert user_named(app, "late@example.org") is None


def test_invitation_nearly_expired_still_works(app, client, ids, admin_client):
    link = send_invitation(admin_client, ids["north"], "justintime@example.org")
    with database(app) as session:
        invite = session.scalars(select(Invite).where(Invite.email == "justintime@example.org")).one()
        invite.expires_at = utcnow() + timedelta(minutes=1)
        session.commit()
    assert client.submit(link, registration(email=None)).status_code == 302
    assert memberships_of(app, "justintime@example.org") == [(ids["north"], "learner", None)]


def test_cancelled_invitation_gets_404(app, client, ids, admin_client):
    link = send_invitation(admin_client, ids["north"], "cancelled@example.org")
    invite_id = invite_for(app, "cancelled@example.org").id
    response = admin_client.submit(f"/org/{ids['north']}/invites/{invite_id}/cancel", form_page=f"/org/{ids['north']}")
    assert response.status_code == 302
    assert client.get(link).status_code == 404
    assert client.submit(link, registration(email=None), form_page="/join").status_code == 404
    assert user_named(app, "cancelled@example.org") is None


def test_regenerated_invite_link_stops_working(app, client, ids, admin_client):
    old = organisation(app, ids["north"])
    admin_client.submit(f"/org/{ids['north']}/join-code", form_page=f"/org/{ids['north']}")
    assert client.get(f"/join/{old['token']}").status_code == 404
    before = snapshot(app)
    assert client.submit(f"/join/{old['token']}", registration(), form_page="/join").status_code == 404
    assert snapshot(app) == before
    new = organisation(app, ids["north"])
    assert client.submit(f"/join/{new['token']}", registration()).status_code == 302


# --- people already signed in ---------------------------------------------------------------------

def test_signed_in_person_joins_a_second_organisation_by_link(app, client, ids):
    client.sign_in("learner@example.org")
    token = organisation(app, ids["east"])["token"]
    page = text_of(client.get(f"/join/{token}"))
    assert "You are signed in as Lena Kowalska (learner@example.org)" in page
    assert 'name="password"' not in page

    response = client.submit(f"/join/{token}", {})
    assert response.status_code == 302
    assert memberships_of(app, "learner@example.org") == [
        (ids["north"], "learner", ids["housing"]),
        (ids["east"], "learner", None),
    ]
    with client.client.session_transaction() as cookie:
        assert cookie["organisation_id"] == ids["east"]
    home = text_of(client.get("/"))
    assert EASTGATE in home and NORTHMOOR in home  # the switcher lists both


def test_signed_in_person_joins_by_code(app, client, ids):
    client.sign_in("guardian@example.org")
    north = organisation(app, ids["north"])
    response = client.submit("/join", {"code": north["code"].lower()})
    assert response.headers["Location"] == f"/join/{north['token']}"
    assert client.submit(response.headers["Location"], {}).status_code == 302
    assert (ids["north"], "learner", None) in memberships_of(app, "guardian@example.org")


def test_confirming_a_join_needs_the_csrf_token(app, client, ids):
    client.sign_in("learner@example.org")
    token = organisation(app, ids["east"])["token"]
    before = snapshot(app)
    assert client.post(f"/join/{token}", data={}).status_code == 400
    assert snapshot(app) == before


def test_joining_twice_changes_nothing(app, client, ids):
    client.sign_in("champion@example.org")
    north = organisation(app, ids["north"])
    page = text_of(client.get(f"/join/{north['token']}"))
    assert "You are already a member of Northmoor Borough Council" in page
    before = snapshot(app)
    # The champion keeps their role and team: joining again does not make them a learner.
    assert client.submit(f"/join/{north['token']}", {}, form_page="/account").status_code == 302
    assert client.submit(f"/join/{north['token']}", {}, form_page="/account").status_code == 302
    assert snapshot(app) == before
    assert memberships_of(app, "champion@example.org") == [(ids["north"], "champion", ids["housing"])]


def test_registration_sent_twice_makes_one_account(app, client, ids):
    token = organisation(app, ids["north"])["token"]
    form = registration()
    form["csrf_token"] = client.csrf_token(f"/join/{token}")
    assert client.post(f"/join/{token}", data=form).status_code == 302
    # The browser sends the same form again (a double click): now signed in, it only joins.
    again = client.post(f"/join/{token}", data=form)
    assert again.status_code in (200, 302, 400)
    with database(app) as session:
        assert len(session.scalars(select(User).where(User.email == "amina.khan@example.org")).all()) == 1
    assert memberships_of(app, "amina.khan@example.org") == [(ids["north"], "learner", None)]


def test_a_second_browser_cannot_register_the_same_email(app, client, ids):
    token = organisation(app, ids["north"])["token"]
    assert client.submit(f"/join/{token}", registration()).status_code == 302
    other = FormClient(app.test_client(), [])
    before = snapshot(app)
    response = other.submit(f"/join/{token}", registration(name="Someone Else", password="another-password-1",
                                                          confirm="another-password-1"))
    assert response.status_code == 400
    assert "already exists" in text_of(response)
    assert snapshot(app) == before


# --- bad input ---------------------------------------------------------------------------------------

BAD_REGISTRATIONS = {
    "existing email": (dict(email="learner@example.org"), "An account with this email address already exists"),
    "existing email in capitals": (dict(email="  LEARNER@Example.ORG "), "An account with this email address already exists"),
    "short password": (dict(password="short", confirm="short"), "Password must be at least 10 characters"),
    "nine characters": (dict(password="123456789", confirm="123456789"), "Password must be at least 10 characters"),
    "long password": (dict(password="p" * 257, confirm="p" * 257), "Password must be 256 characters or fewer"),
    "mismatched confirm": (dict(confirm="correct horse battery!"), "The two passwords do not match"),
    "missing confirm": (dict(confirm=None), "Enter the new password again"),
    "missing password": (dict(password=None, confirm=None), "Enter a new password"),
    "missing name": (dict(name=None), "Enter your full name"),
    "empty name": (dict(name=""), "Enter your full name"),
    "blank name": (dict(name="   \t "), "Enter your full name"),
    "10,000-character name": (dict(name="N" * 10_000), "Name must be 200 characters or fewer"),
    "invalid language": (dict(preferred_language="xx-not-a-language"), "Not a valid choice"),
    "language as script": (dict(preferred_language="<script>"), "Not a valid choice"),
    "missing email": (dict(email=None), "Enter your email address"),
    "bad email": (dict(email="not-an-email"), "Enter an email address in the right format"),
    "email without domain dot": (dict(email="amina@localhost"), "Enter an email address in the right format"),
    "300-character email": (dict(email="x" * 300 + "@example.org"), "254 characters or fewer"),
}


@pytest.mark.parametrize("changes,message", BAD_REGISTRATIONS.values(), ids=BAD_REGISTRATIONS.keys())
def test_bad_registration_gets_400_with_a_message_and_creates_nothing(app, client, ids, changes, message):
    token = organisation(app, ids["north"])["token"]
    before = snapshot(app)
    response = client.submit(f"/join/{token}", registration(**changes))
    assert response.status_code == 400
    page = text_of(response)
    assert "There is a problem" in page
    assert message in page
    assert snapshot(app) == before
    assert not signed_in(client)


def test_bad_registration_keeps_what_was_typed(app, client, ids):
    token = organisation(app, ids["north"])["token"]
    response = client.submit(f"/join/{token}", registration(confirm="something else entirely"))
    page = text_of(response)
    assert 'value="Amina Khan"' in page and 'value="amina.khan@example.org"' in page
    assert PASSWORD not in page  # passwords are never sent back


INVITE_BAD_REGISTRATIONS = {
    "short password": (dict(password="short", confirm="short"), "Password must be at least 10 characters"),
    "mismatched confirm": (dict(confirm="not the same at all"), "The two passwords do not match"),
    "missing name": (dict(name=""), "Enter your full name"),
    "10,000-character name": (dict(name="N" * 10_000), "Name must be 200 characters or fewer"),
    "invalid language": (dict(preferred_language="zz"), "Not a valid choice"),
}


@pytest.mark.parametrize("changes,message", INVITE_BAD_REGISTRATIONS.values(), ids=INVITE_BAD_REGISTRATIONS.keys())
def test_bad_registration_from_an_invitation_leaves_it_open(app, client, ids, admin_client, changes, message):
    link = send_invitation(admin_client, ids["north"], "invitee@example.org", role="trainer")
    before = snapshot(app)
    response = client.submit(link, registration(email=None, **changes))
    assert response.status_code == 400
    assert message in text_of(response)
    assert snapshot(app) == before
    # The link still works once the mistake is fixed.
    assert client.submit(link, registration(email=None)).status_code == 302
    assert memberships_of(app, "invitee@example.org") == [(ids["north"], "trainer", None)]


def test_control_characters_in_a_name_are_not_stored_and_do_not_break_the_page(app, client, ids):
    token = organisation(app, ids["north"])["token"]
    response = client.submit(f"/join/{token}", registration(name="Amina\x00 Khan\x07"))
    assert response.status_code == 302, text_of(response)
    assert user_named(app, "amina.khan@example.org").name == "Amina Khan"


def test_name_of_control_characters_only_is_missing(app, client, ids):
    token = organisation(app, ids["north"])["token"]
    before = snapshot(app)
    response = client.submit(f"/join/{token}", registration(name="\x00\x01\x02"))
    assert response.status_code == 400
    assert "Enter your full name" in text_of(response)
    assert snapshot(app) == before
