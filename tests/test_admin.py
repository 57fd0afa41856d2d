"""Running organisations: site admins create them; org admins add teams, invite people one at a
time or from a CSV file, change roles and teams, remove members, and renew the join code."""
from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from lms.db import utcnow
from lms.errors import InvalidInput
from lms.models import Invite, Membership, Organisation, Team, User
from lms.models.people import JOIN_CODE_ALPHABET
from lms.people import services as people
from lms.people.scope import scope_for
from tests.conftest import database, snapshot, text_of

NORTHMOOR = "Northmoor Borough Council"
EASTGATE = "Eastgate Community Association"


# --- helpers ------------------------------------------------------------------------------




def count(app, model, *where) -> int:
    with database(app) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def invites(app, organisation_id: int) -> dict[str, tuple[str, int | None, str]]:
    """email -> (role, team id, name) of every invitation of the organisation."""
    with database(app) as session:
        rows = session.scalars(select(Invite).where(Invite.organisation_id == organisation_id)).all()
        return {row.email: (row.role, row.team_id, row.name) for row in rows}


def membership(app, email: str, organisation_id: int) -> tuple[int, str, int | None] | None:
    with database(app) as session:
        row = session.execute(
            select(Membership.id, Membership.role, Membership.team_id).join(User)
            .where(User.email == email, Membership.organisation_id == organisation_id)
        ).first()
        return tuple(row) if row else None


def organisation_codes(app, organisation_id: int) -> tuple[str, str]:
    with database(app) as session:
        found = session.get(Organisation, organisation_id)
        return found.join_code, found.invite_token


def upload(client, organisation_id: int, content: bytes | None, filename: str = "people.csv"):
    path = f"/org/{organisation_id}/invite/upload"
    data = {} if content is None else {"file": (io.BytesIO(content), filename, "text/csv")}
    return client.submit(path, data, content_type="multipart/form-data")


REPORT_ROW = re.compile(r"<tr><td>([\d,]+)</td><td><bdi>(.*?)</bdi></td><td>(.*?)</td></tr>", re.S)


def report_rows(response) -> dict[int, tuple[str, str]]:
    """line -> (email, problem) from the upload report's table."""
    return {int(line.replace(",", "")): (html.unescape(email), html.unescape(problem))
            for line, email, problem in REPORT_ROW.findall(response.get_data(as_text=True))}


@pytest.fixture
def ids(demo):
    north, east = demo["organisations"][NORTHMOOR], demo["organisations"][EASTGATE]
    return {
        "north": north,
        "east": east,
        "housing": demo["teams"][(north, "Housing")],
        "childrens": demo["teams"][(north, "Children's Services")],
        "libraries": demo["teams"][(north, "Libraries")],
        "guardians": demo["teams"][(east, "Web guardians")],
    }


# --- site admin: organisations ----------------------------------------------------------------

def test_site_admin_creates_an_organisation(app, client, ids):
    client.sign_in("admin@example.org")
    listing = text_of(client.get("/admin/organisations"))
    assert NORTHMOOR in listing and EASTGATE in listing

    response = client.submit("/admin/organisations", {"name": "  Westfield   Academy "})
    assert response.status_code == 302
    with database(app) as session:
        created = session.scalars(select(Organisation).where(Organisation.name == "Westfield Academy")).one()
        code, token, new_id = created.join_code, created.invite_token, created.id
    assert response.headers["Location"] == f"/org/{new_id}"
    assert len(code) == 8 and set(code) <= set(JOIN_CODE_ALPHABET)
    assert token not in organisation_codes(app, ids["north"])
    page = client.get(f"/org/{new_id}")
    assert page.status_code == 200
    assert "Westfield Academy has been created" in text_of(page)
    assert "Invite someone" in text_of(page)
    assert f"{code[:4]}-{code[4:]}" in text_of(page)


@pytest.mark.parametrize("name", [
    NORTHMOOR,
    NORTHMOOR.lower(),
    NORTHMOOR.upper(),
    "  northmoor   BOROUGH council  ",
])
def test_duplicate_organisation_name_is_refused(app, client, ids, name):
    client.sign_in("admin@example.org")
    before = snapshot(app)
    response = client.submit("/admin/organisations", {"name": name})
    assert response.status_code == 400
    assert "An organisation with this name already exists" in text_of(response)
    assert snapshot(app) == before


@pytest.mark.parametrize("first,second", [
    ("Łódź Polish Community Centre", "ŁÓDŹ POLISH COMMUNITY CENTRE"),
    ("Ysgol Gymraeg Aberdâr", "YSGOL GYMRAEG ABERDÂR"),
    ("Émigré Support Network", "émigré support network"),
])
def test_duplicate_organisation_name_is_refused_outside_ascii(app, client, ids, first, second):
    client.sign_in("admin@example.org")
    assert client.submit("/admin/organisations", {"name": first}).status_code == 302
    before = snapshot(app)
    response = client.submit("/admin/organisations", {"name": second})
    assert response.status_code == 400
    assert "An organisation with this name already exists" in text_of(response)
    assert snapshot(app) == before


@pytest.mark.parametrize("name,message", [
    ("", "Enter a name"),
    ("    ", "Enter a name"),
    ("\x00\x00", "Enter the organisation"),
    ("O" * 201, "Name must be 200 characters or fewer"),
    ("O" * 10_000, "Name must be 200 characters or fewer"),
])
def test_bad_organisation_name_is_refused(app, client, ids, name, message):
    client.sign_in("admin@example.org")
    before = snapshot(app)
    response = client.submit("/admin/organisations", {"name": name})
    assert response.status_code == 400
    assert message in text_of(response)
    assert snapshot(app) == before


def test_organisation_name_with_control_characters_is_cleaned(app, client, ids):
    client.sign_in("admin@example.org")
    assert client.submit("/admin/organisations", {"name": "Riverside\x00 Trust\x1b"}).status_code == 302
    assert count(app, Organisation, Organisation.name == "Riverside Trust") == 1


@pytest.mark.parametrize("email", ["orgadmin@example.org", "champion@example.org", "trainer@example.org",
                                   "learner@example.org", "eastgate-admin@example.org"])
def test_only_site_admins_see_the_organisations_page(app, client, ids, email):
    client.sign_in(email)
    assert client.get("/admin/organisations").status_code == 404
    before = snapshot(app)
    response = client.submit("/admin/organisations", {"name": "Sneaky Org"}, form_page="/account")
    assert response.status_code == 404
    assert snapshot(app) == before


def test_organisations_page_needs_sign_in(app, client, ids):
    response = client.get("/admin/organisations")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


# --- org admin: teams ---------------------------------------------------------------------------

def test_org_admin_creates_a_team(app, client, ids):
    client.sign_in("orgadmin@example.org")
    response = client.submit(f"/org/{ids['north']}/teams", {"name": "  Youth   Offending "}, form_page=f"/org/{ids['north']}")
    assert response.status_code == 302
    assert count(app, Team, Team.organisation_id == ids["north"], Team.name == "Youth Offending") == 1
    assert "Youth Offending" in text_of(client.get(f"/org/{ids['north']}"))


@pytest.mark.parametrize("name", ["Housing", "housing", " HOUSING ", "Children's services"])
def test_duplicate_team_name_is_refused_with_a_message(app, client, ids, name):
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.submit(f"/org/{ids['north']}/teams", {"name": name}, form_page=f"/org/{ids['north']}")
    assert response.status_code == 400
    assert "This organisation already has a team with that name" in text_of(response)
    assert snapshot(app) == before


def test_duplicate_team_name_is_refused_outside_ascii(app, client, ids):
    client.sign_in("orgadmin@example.org")
    path = f"/org/{ids['north']}/teams"
    assert client.submit(path, {"name": "Świetlica"}, form_page=f"/org/{ids['north']}").status_code == 302
    before = snapshot(app)
    response = client.submit(path, {"name": "ŚWIETLICA"}, form_page=f"/org/{ids['north']}")
    assert response.status_code == 400
    assert "already has a team with that name" in text_of(response)
    assert snapshot(app) == before


def test_same_team_name_is_fine_in_another_organisation(app, client, ids):
    client.sign_in("eastgate-admin@example.org")
    response = client.submit(f"/org/{ids['east']}/teams", {"name": "Housing"}, form_page=f"/org/{ids['east']}")
    assert response.status_code == 302
    assert count(app, Team, Team.name == "Housing") == 2


@pytest.mark.parametrize("name,message", [("", "Enter a name"), ("T" * 201, "200 characters or fewer"),
                                          ("\x00", "Enter the team")])
def test_bad_team_name_is_refused(app, client, ids, name, message):
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.submit(f"/org/{ids['north']}/teams", {"name": name}, form_page=f"/org/{ids['north']}")
    assert response.status_code == 400
    assert message in text_of(response)
    assert snapshot(app) == before


@pytest.mark.parametrize("email", ["champion@example.org", "trainer@example.org", "learner@example.org"])
def test_only_managers_create_teams(app, client, ids, email):
    client.sign_in(email)
    before = snapshot(app)
    response = client.submit(f"/org/{ids['north']}/teams", {"name": "New team"}, form_page="/account")
    assert response.status_code == 404
    assert snapshot(app) == before


def test_site_admin_who_is_not_a_member_can_run_an_organisation(app, client, ids):
    client.sign_in("admin@example.org")
    assert client.submit(f"/org/{ids['east']}/teams", {"name": "Mothers' group"}, form_page=f"/org/{ids['east']}").status_code == 302
    response = client.submit(f"/org/{ids['east']}/invite", {"email": "first.admin@example.org", "role": "org_admin", "team": ""})
    assert response.status_code == 302
    assert invites(app, ids["east"])["first.admin@example.org"][0] == "org_admin"


# --- inviting one person ----------------------------------------------------------------------------

def test_inviting_someone_emails_them_a_link(app, client, ids):
    client.sign_in("orgadmin@example.org")
    assert client.get(f"/org/{ids['north']}/invite").status_code == 200
    response = client.submit(f"/org/{ids['north']}/invite", {
        "email": " A.Khan@Example.org ", "name": "Amina  Khan", "role": "champion", "team": str(ids["childrens"]),
    })
    assert response.status_code == 302
    assert invites(app, ids["north"]) == {"a.khan@example.org": ("champion", ids["childrens"], "Amina Khan")}
    with database(app) as session:
        invite = session.scalars(select(Invite)).one()
        assert invite.invited_by_id == session.scalars(select(User.id).where(User.email == "orgadmin@example.org")).one()
        assert timedelta(days=29) < invite.expires_at - utcnow() <= timedelta(days=30)
        token = invite.token
    assert len(client.outbox) == 1
    message = client.outbox[0]
    assert message["To"] == "a.khan@example.org"
    assert NORTHMOOR in message["Subject"]
    assert f"http://localhost/invitation/{token}" in message.get_content()
    page = text_of(client.get(f"/org/{ids['north']}"))
    assert "An invitation has been emailed to a.khan@example.org" in page
    assert "a.khan@example.org" in page and "Invitations waiting" in page


@pytest.mark.parametrize("email", ["learner@example.org", "LEARNER@example.org", " learner@EXAMPLE.ORG "])
def test_inviting_a_member_is_refused(app, client, ids, email):
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.submit(f"/org/{ids['north']}/invite", {"email": email, "role": "learner", "team": ""})
    assert response.status_code == 400
    assert "This person is already a member of the organisation" in text_of(response)
    assert snapshot(app) == before
    assert client.outbox == []


def test_member_of_another_organisation_can_be_invited(app, client, ids):
    client.sign_in("orgadmin@example.org")
    response = client.submit(f"/org/{ids['north']}/invite", {"email": "guardian@example.org", "role": "learner", "team": ""})
    assert response.status_code == 302
    assert "guardian@example.org" in invites(app, ids["north"])


def test_inviting_someone_twice_is_refused(app, client, ids):
    client.sign_in("orgadmin@example.org")
    path = f"/org/{ids['north']}/invite"
    assert client.submit(path, {"email": "twice@example.org", "role": "learner", "team": ""}).status_code == 302
    before = snapshot(app)
    response = client.submit(path, {"email": "Twice@Example.org", "role": "trainer", "team": ""})
    assert response.status_code == 400
    assert "This person already has an invitation waiting" in text_of(response)
    assert snapshot(app) == before
    assert len(client.outbox) == 1


def test_expired_invitation_does_not_block_a_new_one(app, client, ids):
    client.sign_in("orgadmin@example.org")
    path = f"/org/{ids['north']}/invite"
    assert client.submit(path, {"email": "again@example.org", "role": "learner", "team": ""}).status_code == 302
    with database(app) as session:
        session.scalars(select(Invite)).one().expires_at = utcnow() - timedelta(minutes=1)
        session.commit()
    assert client.submit(path, {"email": "again@example.org", "role": "learner", "team": ""}).status_code == 302
    assert count(app, Invite, Invite.email == "again@example.org") == 2


@pytest.mark.parametrize("email,message", [
    ("not-an-email", "Enter an email address in the right format"),
    ("a@b", "Enter an email address in the right format"),
    ("two@@example.org", "Enter an email address in the right format"),
    ("a b@example.org", "Enter an email address in the right format"),
    ("", "Enter an email address"),
    ("x" * 300 + "@example.org", "Field cannot be longer than 254 characters"),
])
def test_bad_email_is_refused(app, client, ids, email, message):
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.submit(f"/org/{ids['north']}/invite", {"email": email, "role": "learner", "team": ""})
    assert response.status_code == 400
    assert message in text_of(response)
    assert snapshot(app) == before
    assert client.outbox == []


@pytest.mark.parametrize("field,value", [
    ("team", "guardians"),   # a team of Eastgate
    ("team", "999999"),
    ("team", "not-a-number"),
    ("role", "site_admin"),
    ("role", "Org Admin"),
])
def test_invite_with_a_team_or_role_not_in_the_list_is_refused(app, client, ids, field, value):
    client.sign_in("orgadmin@example.org")
    form = {"email": "new@example.org", "role": "learner", "team": ""}
    form[field] = str(ids.get(value, value))
    before = snapshot(app)
    response = client.submit(f"/org/{ids['north']}/invite", form)
    assert response.status_code == 400
    assert "Not a valid choice" in text_of(response)
    assert snapshot(app) == before
    assert client.outbox == []


def test_invite_service_refuses_a_team_of_another_organisation(session, ids):
    """The form checks the team list; the service checks again, for the CLI and tests."""
    user = session.scalars(select(User).where(User.email == "orgadmin@example.org")).one()
    scope = scope_for(session, user, ids["north"])
    with pytest.raises(InvalidInput) as problem:
        people.invite_person(session, scope, email="new@example.org", team_id=ids["guardians"])
    assert problem.value.field == "team"
    with pytest.raises(InvalidInput):
        people.invite_person(session, scope, email="new@example.org", role="superuser")
    assert session.scalar(select(func.count()).select_from(Invite)) == 0


# --- inviting from a CSV file -----------------------------------------------------------------------

MIXED_CSV = (
    "email,name,role,team\n"
    "a.khan@example.org,Amina Khan,learner,Housing\n"         # 2 good
    "j.nowak@example.org,Jan Nowak,Champion,housing\n"        # 3 good: role and team in any case
    "not-an-email,Bad Email,learner,\n"                       # 4 bad email
    "p.jones@example.org,Pat Jones,manager,\n"                # 5 unknown role
    "q.lee@example.org,Quinn Lee,learner,Finance\n"           # 6 unknown team
    "A.Khan@Example.org,Amina Again,learner,\n"               # 7 duplicate of line 2
    "learner@example.org,Lena Kowalska,learner,\n"            # 8 already a member
    ",,,\n"                                                   # 9 blank: skipped
    "t.ojo@example.org,,,\n"                                  # 10 good: learner, no team
    "w.g@example.org,Web Guard,learner,Web guardians\n"       # 11 a team of another organisation
    "\"o'neil@example.org\",\"O'Neil, Siobhán\",org admin,Children's Services\n"  # 12 good, quoted
)


def test_csv_upload_invites_good_rows_and_reports_bad_ones(app, client, ids):
    client.sign_in("orgadmin@example.org")
    assert client.get(f"/org/{ids['north']}/invite/upload").status_code == 200
    response = upload(client, ids["north"], MIXED_CSV.encode())
    assert response.status_code == 200
    page = text_of(response)
    assert "4 invitations sent." in page and "6 rows were not used." in page

    assert invites(app, ids["north"]) == {
        "a.khan@example.org": ("learner", ids["housing"], "Amina Khan"),
        "j.nowak@example.org": ("champion", ids["housing"], "Jan Nowak"),
        "t.ojo@example.org": ("learner", None, ""),
        "o'neil@example.org": ("org_admin", ids["childrens"], "O'Neil, Siobhán"),
    }
    assert sorted(message["To"] for message in client.outbox) == [
        "a.khan@example.org", "j.nowak@example.org", "o'neil@example.org", "t.ojo@example.org"]

    problems = report_rows(response)
    assert sorted(problems) == [4, 5, 6, 7, 8, 11]
    assert problems[4] == ("not-an-email", "Enter an email address in the right format, like name@example.org")
    assert problems[5] == ("p.jones@example.org", "Choose a role from the list")
    assert problems[6] == ("q.lee@example.org", "No team called “Finance”")
    assert problems[7][0] == "A.Khan@Example.org" and "invitation waiting" in problems[7][1]
    assert problems[8] == ("learner@example.org", "This person is already a member of the organisation")
    assert problems[11] == ("w.g@example.org", "No team called “Web guardians”")


def test_reuploading_the_same_file_invites_nobody_twice(app, client, ids):
    client.sign_in("orgadmin@example.org")
    upload(client, ids["north"], MIXED_CSV.encode())
    first_invites, first_emails = invites(app, ids["north"]), len(client.outbox)
    before = snapshot(app)
    response = upload(client, ids["north"], MIXED_CSV.encode())
    assert response.status_code == 400  # nothing in the file could be used
    assert "0 invitations sent." in text_of(response)
    assert snapshot(app) == before
    assert invites(app, ids["north"]) == first_invites
    assert len(client.outbox) == first_emails
    problems = report_rows(response)
    for line in (2, 3, 10, 12):
        assert "already has an invitation waiting" in problems[line][1]


def test_csv_with_bom_crlf_and_spaced_capitalised_headers(app, client, ids):
    client.sign_in("orgadmin@example.org")
    content = ("\ufeff Email , Name,ROLE,Team\r\n"
               "a.khan@example.org,Amina Khan,trainer,Libraries\r\n"
               "bad-row,,,\r\n"
               "z.wisniewska@example.org,Zofia Wiśniewska,,\r\n").encode("utf-8")
    response = upload(client, ids["north"], content)
    assert response.status_code == 200
    assert invites(app, ids["north"]) == {
        "a.khan@example.org": ("trainer", ids["libraries"], "Amina Khan"),
        "z.wisniewska@example.org": ("learner", None, "Zofia Wiśniewska"),
    }
    assert sorted(report_rows(response)) == [3]


def test_csv_with_only_good_rows(app, client, ids):
    client.sign_in("orgadmin@example.org")
    response = upload(client, ids["north"], b"email\nx1@example.org\nx2@example.org\n")
    assert response.status_code == 200
    assert "2 invitations sent." in text_of(response)
    assert report_rows(response) == {}
    assert set(invites(app, ids["north"])) == {"x1@example.org", "x2@example.org"}


@pytest.mark.parametrize("content,message", [
    (b"name,role\nAmina Khan,learner\n", "one must be “email”"),
    (b"a.khan@example.org,Amina Khan\nj.nowak@example.org,Jan\n", "one must be “email”"),
    ("email,name\nz@example.org,Zoë Brontë\n".encode("latin-1"), "The file must be a CSV saved as UTF-8"),
    ("email,name\nz@example.org,Zoë\n".encode("utf-16"), "The file must be a CSV saved as UTF-8"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "The file must be a CSV saved as UTF-8"),
    (b"", "The file is empty"),
    (b"\n\r\n   \n", "The file is empty"),
    (b"\xef\xbb\xbf", "The file is empty"),
    (None, "Choose a CSV file to upload"),
])
def test_unusable_csv_file_gets_400_with_a_message(app, client, ids, content, message):
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = upload(client, ids["north"], content)
    assert response.status_code == 400
    assert message in text_of(response)
    assert "There is a problem" in text_of(response)
    assert snapshot(app) == before
    assert client.outbox == []


def test_csv_with_a_huge_field_gets_400_not_500(app, client, ids):
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    content = b"email,name\na@example.org,Amina\nb@example.org," + b"N" * 200_000 + b"\n"
    response = upload(client, ids["north"], content)
    assert response.status_code == 400
    assert "Line 3 of the file could not be read" in text_of(response)
    assert snapshot(app) == before
    assert client.outbox == []


def test_csv_with_too_many_rows_invites_nobody(app, client, ids, monkeypatch):
    monkeypatch.setattr(people, "CSV_MAX_ROWS", 3)
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    content = "email\n" + "".join(f"p{n}@example.org\n" for n in range(4))
    response = upload(client, ids["north"], content.encode())
    assert response.status_code == 400
    assert "more than 3 rows" in text_of(response)
    assert snapshot(app) == before
    assert client.outbox == []


def test_csv_upload_is_for_managers_only(app, client, ids):
    client.sign_in("champion@example.org")
    assert client.get(f"/org/{ids['north']}/invite/upload").status_code == 404
    before = snapshot(app)
    path = f"/org/{ids['north']}/invite/upload"
    token = client.csrf_token("/account")
    response = client.post(path, data={"csrf_token": token, "file": (io.BytesIO(b"email\nx@example.org\n"), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 404
    assert snapshot(app) == before


CSV_CELL = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.sampled_from("\x00\x01\r\n\",; \ufeffAb"), max_size=8),
    st.emails(),
    st.sampled_from(["", "learner", "Champion", "org admin", "trainer", "manager", "Housing", "housing", "Libraries",
                     "\x00", "\ufeff", '"', "a,b", "\r", "\n", "=cmd()", "Zoë", "ﷺ", "\u202e"]),
)
# Short strings of the characters most likely to upset a database, a CSV parser or a page.
AWKWARD = st.text(alphabet=st.sampled_from("\x00\x01\x1b\x7f\x85 \t\u00a0\u202e\ufeffAbćŁ,;\"'=\\"), max_size=8)
CSV_HEADER = st.one_of(
    st.sampled_from(["email,name,role,team", "Email,Name,Role,Team", "name,email", "email", "email,email,role",
                     "email,,team", " EMAIL ; name"]),
    st.text(max_size=30),
)


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.one_of(st.just("email,name,role,team"), CSV_HEADER))
    # Rows that reach the database: a valid address and role, with anything at all as the name.
    well_formed_row = st.tuples(
        st.emails(),
        st.one_of(st.text(max_size=20), AWKWARD),
        st.sampled_from(["", "learner", "Champion", "org admin", "TRAINER", "manager"]),
        st.sampled_from(["", "Housing", "libraries", "Finance"]),
    ).map(list)
    rows = draw(st.lists(st.one_of(well_formed_row, st.lists(CSV_CELL, max_size=6)), max_size=6))
    out = io.StringIO()
    if draw(st.booleans()):
        csv.writer(out).writerows(rows)
    else:  # unquoted, so quotes and commas in cells make it ragged
        out.write("\n".join(",".join(row) for row in rows))
    text = header + draw(st.sampled_from(["\n", "\r\n", "\r"])) + out.getvalue()
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text.encode("utf-8", "surrogatepass")


@st.composite
def uploads(draw) -> bytes:
    """Any bytes at all, any text, and (most often) files shaped like the CSV people upload."""
    kind = draw(st.sampled_from(["csv", "bytes", "text", "csv", "csv"]))
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    if kind == "text":
        return draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
    return draw(csv_files())


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=uploads())
@example(data=b"email,name,role,team\n2@A.Mn,\x00,,")  # PostgreSQL refuses NUL in text
@example(data=b"email,name\na@example.org," + b"N" * 140_000)  # beyond the csv module's field limit
@example(data=b"\xef\xbb\xbf\r\n")
@example(data=b'email\n"unterminated@example.org')
def test_invite_from_csv_raises_only_invalid_input(session, ids, data):
    user = session.scalars(select(User).where(User.email == "orgadmin@example.org")).one()
    scope = scope_for(session, user, ids["north"])
    try:
        report = people.invite_from_csv(session, scope, data, invited_by=user)
    except InvalidInput as problem:
        assert str(problem.message)
    else:
        for problem in report.problems:
            assert problem.line >= 2 and problem.message
        # Whatever was invited is a clean, valid row that the database accepted.
        for invite in report.invited:
            assert invite.id is not None and "\x00" not in invite.name and invite.email == invite.email.strip().lower()
    finally:
        session.rollback()


# --- changing and removing members ------------------------------------------------------------------

def test_org_admin_changes_a_members_role_and_team(app, client, ids):
    client.sign_in("orgadmin@example.org")
    member_id, _, _ = membership(app, "learner2@example.org", ids["north"])
    path = f"/org/{ids['north']}/members/{member_id}"
    page = text_of(client.get(path))
    assert "Dev Sharma" in page and "learner2@example.org" in page
    response = client.submit(path, {"role": "champion", "team": str(ids["housing"])})
    assert response.status_code == 302
    assert membership(app, "learner2@example.org", ids["north"]) == (member_id, "champion", ids["housing"])
    assert "Changes to Dev Sharma have been saved" in text_of(client.get(response.headers["Location"]))
    # No team at all is a choice too.
    assert client.submit(path, {"role": "trainer", "team": ""}).status_code == 302
    assert membership(app, "learner2@example.org", ids["north"]) == (member_id, "trainer", None)


@pytest.mark.parametrize("form", [
    {"role": "champion", "team": "guardians"},   # a team of Eastgate
    {"role": "champion", "team": "99999999999999999999"},
    {"role": "site_admin", "team": ""},
    {"role": "", "team": ""},
])
def test_bad_membership_change_is_refused(app, client, ids, form):
    client.sign_in("orgadmin@example.org")
    member_id, _, _ = membership(app, "learner2@example.org", ids["north"])
    form = {key: str(ids.get(value, value)) for key, value in form.items()}
    before = snapshot(app)
    response = client.submit(f"/org/{ids['north']}/members/{member_id}", form)
    assert response.status_code == 400
    assert "Not a valid choice" in text_of(response)
    assert snapshot(app) == before


def test_org_admin_removes_a_member(app, client, ids):
    client.sign_in("orgadmin@example.org")
    member_id, _, _ = membership(app, "learner2@example.org", ids["north"])
    response = client.submit(f"/org/{ids['north']}/members/{member_id}/remove", form_page=f"/org/{ids['north']}/members/{member_id}")
    assert response.status_code == 302
    assert membership(app, "learner2@example.org", ids["north"]) is None
    assert count(app, User, User.email == "learner2@example.org") == 1  # they keep their account
    page = text_of(client.get(f"/org/{ids['north']}"))
    assert "Dev Sharma has been removed" in page
    assert "learner2@example.org" not in page
    assert client.get(f"/org/{ids['north']}/members/{member_id}").status_code == 404
    # They can be invited again.
    again = client.submit(f"/org/{ids['north']}/invite", {"email": "learner2@example.org", "role": "learner", "team": ""})
    assert again.status_code == 302


def test_remove_needs_the_csrf_token(app, client, ids):
    client.sign_in("orgadmin@example.org")
    member_id, _, _ = membership(app, "learner2@example.org", ids["north"])
    before = snapshot(app)
    assert client.post(f"/org/{ids['north']}/members/{member_id}/remove").status_code == 400
    assert snapshot(app) == before


@pytest.mark.parametrize("role", ["learner", "champion", "trainer"])
def test_last_org_admin_cannot_be_demoted(app, client, ids, role):
    client.sign_in("orgadmin@example.org")
    admin_id, _, _ = membership(app, "orgadmin@example.org", ids["north"])
    before = snapshot(app)
    response = client.submit(f"/org/{ids['north']}/members/{admin_id}", {"role": role, "team": ""})
    assert response.status_code == 400
    assert "An organisation needs at least one org admin" in text_of(response)
    assert snapshot(app) == before


def test_last_org_admin_can_still_change_team(app, client, ids):
    client.sign_in("orgadmin@example.org")
    admin_id, _, _ = membership(app, "orgadmin@example.org", ids["north"])
    response = client.submit(f"/org/{ids['north']}/members/{admin_id}", {"role": "org_admin", "team": str(ids["housing"])})
    assert response.status_code == 302
    assert membership(app, "orgadmin@example.org", ids["north"]) == (admin_id, "org_admin", ids["housing"])


def test_last_org_admin_cannot_be_removed(app, client, ids):
    client.sign_in("orgadmin@example.org")
    admin_id, _, _ = membership(app, "orgadmin@example.org", ids["north"])
    before = snapshot(app)
    response = client.submit(f"/org/{ids['north']}/members/{admin_id}/remove", form_page=f"/org/{ids['north']}")
    assert response.status_code == 403
    assert "An organisation needs at least one org admin" in text_of(response)
    assert snapshot(app) == before


def test_site_admin_cannot_remove_the_last_org_admin_either(app, client, ids):
    client.sign_in("admin@example.org")
    admin_id, _, _ = membership(app, "eastgate-admin@example.org", ids["east"])
    before = snapshot(app)
    demote = client.submit(f"/org/{ids['east']}/members/{admin_id}", {"role": "learner", "team": ""})
    assert demote.status_code == 400
    remove = client.submit(f"/org/{ids['east']}/members/{admin_id}/remove", form_page=f"/org/{ids['east']}")
    assert remove.status_code == 403
    assert snapshot(app) == before


def test_with_a_second_org_admin_the_first_can_step_down(app, client, ids):
    client.sign_in("orgadmin@example.org")
    admin_id, _, _ = membership(app, "orgadmin@example.org", ids["north"])
    trainer_id, _, _ = membership(app, "trainer@example.org", ids["north"])
    assert client.submit(f"/org/{ids['north']}/members/{trainer_id}", {"role": "org_admin", "team": ""}).status_code == 302
    assert client.submit(f"/org/{ids['north']}/members/{admin_id}", {"role": "learner", "team": ""}).status_code == 302
    assert membership(app, "orgadmin@example.org", ids["north"])[1] == "learner"
    # Now a learner, they manage nothing.
    assert client.get(f"/org/{ids['north']}/invite").status_code == 404
    # And the trainer, now the only org admin, is protected in turn.
    other = client.__class__(app.test_client(), [])
    other.sign_in("trainer@example.org")
    response = other.submit(f"/org/{ids['north']}/members/{trainer_id}/remove", form_page=f"/org/{ids['north']}")
    assert response.status_code == 403
    assert membership(app, "trainer@example.org", ids["north"])[1] == "org_admin"


def test_the_guard_counts_only_this_organisations_admins(session, ids):
    """Eastgate's org admin does not make Northmoor's only org admin removable."""
    admin = session.scalars(select(User).where(User.email == "admin@example.org")).one()
    scope = scope_for(session, admin, ids["north"])
    target = session.scalars(select(Membership).join(User).where(User.email == "orgadmin@example.org")).one()
    with pytest.raises(InvalidInput):
        people.change_membership(session, scope, target.id, role="learner", team_id=None)
    from lms.errors import Forbidden
    with pytest.raises(Forbidden):
        people.remove_membership(session, scope, target.id)


# --- join code ------------------------------------------------------------------------------------------

def test_regenerating_the_join_code_retires_the_old_code_and_link(app, client, ids):
    old_code, old_token = organisation_codes(app, ids["north"])
    eastgate = organisation_codes(app, ids["east"])
    visitor = client.__class__(app.test_client(), [])
    assert visitor.submit("/join", {"code": old_code}).status_code == 302

    client.sign_in("orgadmin@example.org")
    response = client.submit(f"/org/{ids['north']}/join-code", form_page=f"/org/{ids['north']}")
    assert response.status_code == 302
    new_code, new_token = organisation_codes(app, ids["north"])
    assert new_code != old_code and new_token != old_token
    assert len(new_code) == 8 and set(new_code) <= set(JOIN_CODE_ALPHABET)
    page = text_of(client.get(f"/org/{ids['north']}"))
    assert "The old ones no longer work" in page
    assert f"{new_code[:4]}-{new_code[4:]}" in page and new_token in page
    assert f"{old_code[:4]}-{old_code[4:]}" not in page

    refused = visitor.submit("/join", {"code": f"{old_code[:4]}-{old_code[4:]}"})
    assert refused.status_code == 400
    assert "That join code was not found" in text_of(refused)
    assert visitor.get(f"/join/{old_token}").status_code == 404
    joined = visitor.submit("/join", {"code": new_code.lower()})
    assert joined.headers["Location"] == f"/join/{new_token}"
    assert visitor.get(f"/join/{new_token}").status_code == 200
    # Eastgate's code is untouched.
    assert organisation_codes(app, ids["east"]) == eastgate


@pytest.mark.parametrize("email", ["trainer@example.org", "champion@example.org", "learner@example.org",
                                   "eastgate-admin@example.org"])
def test_only_managers_regenerate_the_join_code(app, client, ids, email):
    client.sign_in(email)
    before = snapshot(app)
    response = client.submit(f"/org/{ids['north']}/join-code", form_page="/account")
    assert response.status_code == 404
    assert snapshot(app) == before


def test_regenerating_needs_the_csrf_token(app, client, ids):
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    assert client.post(f"/org/{ids['north']}/join-code").status_code == 400
    assert snapshot(app) == before


# --- cancelling an invitation ---------------------------------------------------------------------------

def test_org_admin_cancels_an_invitation(app, client, ids):
    client.sign_in("orgadmin@example.org")
    client.submit(f"/org/{ids['north']}/invite", {"email": "maybe@example.org", "role": "learner", "team": ""})
    with database(app) as session:
        invite_id = session.scalars(select(Invite.id)).one()
    response = client.submit(f"/org/{ids['north']}/invites/{invite_id}/cancel", form_page=f"/org/{ids['north']}")
    assert response.status_code == 302
    assert count(app, Invite) == 0
    assert "The invitation has been cancelled" in text_of(client.get(f"/org/{ids['north']}"))
    # Cancelling again finds nothing.
    assert client.submit(f"/org/{ids['north']}/invites/{invite_id}/cancel", form_page=f"/org/{ids['north']}").status_code == 404


# --- the people list's search box --------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["Lena%00", "%25", "_", "%5C", "%27%20OR%201%3D1", "x" * 10_000, "%C5%81"])
def test_people_search_with_odd_input_is_not_an_error(app, client, ids, query):
    client.sign_in("orgadmin@example.org")
    response = client.get(f"/org/{ids['north']}?q={query}")
    assert response.status_code == 200
    assert "Dev Sharma" not in text_of(response)  # nothing odd matches everyone


def test_people_search_of_only_control_characters_is_no_search(app, client, ids):
    client.sign_in("orgadmin@example.org")
    response = client.get(f"/org/{ids['north']}?q=%00%01")
    assert response.status_code == 200
    assert "Dev Sharma" in text_of(response) and "Lena Kowalska" in text_of(response)


def test_people_search_ignores_control_characters(app, client, ids):
    client.sign_in("orgadmin@example.org")
    page = text_of(client.get(f"/org/{ids['north']}?q=Le%00na"))
    assert "Lena Kowalska" in page and "Dev Sharma" not in page
