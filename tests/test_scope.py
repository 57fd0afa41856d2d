"""The one scoping function (lms.people.scope): whom each person may see and change.

An org admin of one organisation who edits ids in URLs or forms must find nothing of
another organisation (404, as if it did not exist) and change nothing. A champion sees
their own team only; learners and trainers see nobody's record; a site admin sees all.
"""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from lms.errors import InvalidInput, OutOfScope
from lms.models import Invite, Membership, User
from lms.people import services as people
from lms.people.scope import organisations_for, scope_for
from tests.conftest import database, snapshot, text_of

NORTHMOOR = "Northmoor Borough Council"
EASTGATE = "Eastgate Community Association"
NORTHMOOR_PEOPLE = {"Olu Adeyemi", "Chris Morgan", "Bushra Iqbal", "Lena Kowalska", "Dev Sharma"}
EASTGATE_PEOPLE = {"Bushra Iqbal", "Farida Begum", "Ioana Popescu"}
HUGE = 99_999_999_999_999_999_999


# --- helpers ------------------------------------------------------------------------------




def people_listed(page: str, candidates=NORTHMOOR_PEOPLE | EASTGATE_PEOPLE) -> set[str]:
    return {name for name in candidates if name in page}


@pytest.fixture
def world(app, demo):
    """Ids of both organisations' memberships, teams and one waiting invitation each."""
    north, east = demo["organisations"][NORTHMOOR], demo["organisations"][EASTGATE]
    with database(app) as session:
        def member(email, organisation_id):
            return session.scalars(select(Membership.id).join(User).where(
                User.email == email, Membership.organisation_id == organisation_id)).one()

        def invite(inviter_email, organisation_id, email, team_id=None):
            inviter = session.scalars(select(User).where(User.email == inviter_email)).one()
            scope = scope_for(session, inviter, organisation_id)
            return people.invite_person(session, scope, email=email, team_id=team_id, invited_by=inviter).id

        ids = {
            "north": north,
            "east": east,
            "housing": demo["teams"][(north, "Housing")],
            "childrens": demo["teams"][(north, "Children's Services")],
            "guardians": demo["teams"][(east, "Web guardians")],
            "north_admin": member("orgadmin@example.org", north),
            "north_champion": member("champion@example.org", north),
            "north_learner": member("learner@example.org", north),
            "north_learner2": member("learner2@example.org", north),
            "north_trainer": member("trainer@example.org", north),
            "east_admin": member("eastgate-admin@example.org", east),
            "east_guardian": member("guardian@example.org", east),
            "east_trainer": member("trainer@example.org", east),
        }
        ids["north_invite"] = invite("orgadmin@example.org", north, "pending.north@example.org", ids["housing"])
        ids["east_invite"] = invite("eastgate-admin@example.org", east, "pending.east@example.org")
        session.commit()
    return ids


# --- an org admin reaching into another organisation ------------------------------------------------

# (method, path, form) with {placeholders} filled from the world fixture. The attacker is
# Eastgate's org admin; every target belongs to Northmoor.
CROSS_ORGANISATION = {
    "organisation page": ("GET", "/org/{north}", None),
    "people search": ("GET", "/org/{north}?q=Lena", None),
    "invite page": ("GET", "/org/{north}/invite", None),
    "invite": ("POST", "/org/{north}/invite", {"email": "spy@example.org", "role": "org_admin", "team": ""}),
    "upload page": ("GET", "/org/{north}/invite/upload", None),
    "member page": ("GET", "/org/{north}/members/{north_learner}", None),
    "change member": ("POST", "/org/{north}/members/{north_learner}", {"role": "org_admin", "team": ""}),
    "remove member": ("POST", "/org/{north}/members/{north_learner}/remove", {}),
    "remove their admin": ("POST", "/org/{north}/members/{north_admin}/remove", {}),
    "add team": ("POST", "/org/{north}/teams", {"name": "Planted"}),
    "new join code": ("POST", "/org/{north}/join-code", {}),
    "cancel invite": ("POST", "/org/{north}/invites/{north_invite}/cancel", {}),
    # Their own organisation's URL with another organisation's ids.
    "member page via own org": ("GET", "/org/{east}/members/{north_learner}", None),
    "change member via own org": ("POST", "/org/{east}/members/{north_learner}", {"role": "org_admin", "team": ""}),
    "move member into own team": ("POST", "/org/{east}/members/{north_learner}", {"role": "learner", "team": "{guardians}"}),
    "remove member via own org": ("POST", "/org/{east}/members/{north_learner}/remove", {}),
    "remove shared trainer's other membership": ("POST", "/org/{east}/members/{north_trainer}/remove", {}),
    "cancel invite via own org": ("POST", "/org/{east}/invites/{north_invite}/cancel", {}),
    # Ids that do not exist at all look the same, however large.
    "no such organisation": ("GET", "/org/999999", None),
    "huge organisation id": ("GET", f"/org/{HUGE}", None),
    "organisation id past 32 bits": ("GET", "/org/2147483648", None),
    "huge member id": ("GET", f"/org/{{east}}/members/{HUGE}", None),
    "huge member id, change": ("POST", f"/org/{{east}}/members/{HUGE}", {"role": "learner", "team": ""}),
    "huge member id, remove": ("POST", f"/org/{{east}}/members/{HUGE}/remove", {}),
    "huge invite id": ("POST", f"/org/{{east}}/invites/{HUGE}/cancel", {}),
}


def fill(template: str, ids: dict) -> str:
    return template.format(**ids)


@pytest.mark.parametrize("method,path,form", CROSS_ORGANISATION.values(), ids=CROSS_ORGANISATION.keys())
def test_org_admin_cannot_reach_another_organisation(app, client, world, method, path, form):
    client.sign_in("eastgate-admin@example.org")
    path = fill(path, world)
    before = snapshot(app)
    if method == "GET":
        response = client.get(path)
    else:
        form = {key: fill(value, world) for key, value in form.items()}
        response = client.submit(path, form, form_page=f"/org/{world['east']}")
    assert response.status_code == 404
    page = text_of(response)
    assert "Page not found" in page
    assert not people_listed(page, NORTHMOOR_PEOPLE - EASTGATE_PEOPLE)
    assert "pending.north@example.org" not in page
    assert snapshot(app) == before


def test_refusals_look_the_same_as_things_that_do_not_exist(app, client, world):
    """A 404 for another organisation's member must not differ from one for a made-up id."""
    client.sign_in("eastgate-admin@example.org")
    other = client.get(f"/org/{world['east']}/members/{world['north_learner']}")
    missing = client.get(f"/org/{world['east']}/members/999999")
    assert other.status_code == missing.status_code == 404
    # The language selector returns to the page it was on: that address is the only difference.
    same = lambda response: re.sub(rb'name="next" value="[^"]*"', b"", response.get_data())
    assert same(other) == same(missing)
    assert same(client.get(f"/org/{world['north']}")) == same(client.get("/org/999999"))


def test_team_ids_from_another_organisation_are_refused_in_forms(app, client, world):
    client.sign_in("eastgate-admin@example.org")
    before = snapshot(app)
    invite = client.submit(f"/org/{world['east']}/invite",
                           {"email": "new@example.org", "role": "learner", "team": str(world["housing"])})
    assert invite.status_code == 400
    change = client.submit(f"/org/{world['east']}/members/{world['east_guardian']}",
                           {"role": "champion", "team": str(world["housing"])})
    assert change.status_code == 400
    for response in (invite, change):
        page = text_of(response)
        assert "Not a valid choice" in page
        assert "Housing" not in page  # the other organisation's teams are not offered either
    upload = client.submit(f"/org/{world['east']}/invite/upload",
                           {"file": (io.BytesIO(b"email,team\nnew@example.org,Housing\n"), "a.csv")},
                           content_type="multipart/form-data")
    assert upload.status_code == 400
    assert "No team called “Housing”" in text_of(upload)
    assert snapshot(app) == before


def test_services_refuse_other_organisations_ids(session, world):
    """The same rules hold below the web layer, for the CLI and anything else that calls them."""
    admin = session.scalars(select(User).where(User.email == "eastgate-admin@example.org")).one()
    scope = scope_for(session, admin, world["east"])
    with pytest.raises(OutOfScope):
        scope.membership(session, world["north_learner"])
    with pytest.raises(OutOfScope):
        scope.team(session, world["housing"])
    with pytest.raises(OutOfScope):
        scope.invite(session, world["north_invite"])
    with pytest.raises(OutOfScope):
        people.change_membership(session, scope, world["north_learner"], role="org_admin", team_id=None)
    with pytest.raises(OutOfScope):
        people.remove_membership(session, scope, world["north_learner"])
    with pytest.raises(OutOfScope):
        people.cancel_invite(session, scope, world["north_invite"])
    with pytest.raises(InvalidInput):
        people.change_membership(session, scope, world["east_guardian"], role="learner", team_id=world["housing"])
    with pytest.raises(InvalidInput):
        people.invite_person(session, scope, email="x@example.org", team_id=world["housing"])
    with pytest.raises(OutOfScope):
        scope_for(session, admin, world["north"])
    for huge in (HUGE, 2**31, 2**63, -1):
        with pytest.raises(OutOfScope):
            scope_for(session, admin, huge)
        with pytest.raises(OutOfScope):
            scope.membership(session, huge)
        with pytest.raises(OutOfScope):
            scope.invite(session, huge)
    assert session.get(Membership, world["north_learner"]).role == "learner"
    assert session.get(Invite, world["north_invite"]) is not None


def test_scope_lists_only_the_organisations_own_rows(session, world):
    admin = session.scalars(select(User).where(User.email == "eastgate-admin@example.org")).one()
    scope = scope_for(session, admin, world["east"])
    names = {m.user.name for m in session.scalars(scope.people()).unique()}
    assert names == EASTGATE_PEOPLE
    assert {t.organisation_id for t in session.scalars(scope.teams())} == {world["east"]}
    assert [i.email for i in session.scalars(scope.invites()).unique()] == ["pending.east@example.org"]
    # Search cannot reach past the organisation either.
    assert list(session.scalars(scope.people("Lena")).unique()) == []


def test_a_member_of_one_organisation_gets_404_for_another(app, client, world):
    client.sign_in("learner@example.org")
    assert client.get(f"/org/{world['north']}").status_code == 200
    assert client.get(f"/org/{world['east']}").status_code == 404


def test_switching_to_an_organisation_you_are_not_in_is_refused(app, client, world):
    client.sign_in("learner@example.org")
    response = client.submit("/organisation", {"organisation_id": str(world["east"])}, form_page="/account")
    assert response.status_code == 404
    assert EASTGATE not in text_of(client.get("/"))


# --- a champion -----------------------------------------------------------------------------------------

def test_champion_sees_only_their_own_teams_people(app, client, world):
    client.sign_in("champion@example.org")
    response = client.get(f"/org/{world['north']}")
    assert response.status_code == 200
    page = text_of(response)
    assert people_listed(page) == {"Chris Morgan", "Lena Kowalska"}
    assert "learner2@example.org" not in page and "orgadmin@example.org" not in page
    assert "Children's Services" not in page and "Libraries" not in page  # other teams are not listed
    assert "pending.north@example.org" not in page  # nor invitations
    assert "Invite someone" not in page and "Add team" not in page and "Make a new code" not in page


def test_champion_search_cannot_reach_other_teams(app, client, world):
    client.sign_in("champion@example.org")
    page = text_of(client.get(f"/org/{world['north']}?q=Dev"))
    assert "Dev Sharma" not in page
    page = text_of(client.get(f"/org/{world['north']}?q=example.org"))
    assert people_listed(page) == {"Chris Morgan", "Lena Kowalska"}


CHAMPION_REFUSED = {
    "invite page": ("GET", "/org/{north}/invite", None),
    "invite": ("POST", "/org/{north}/invite", {"email": "x@example.org", "role": "learner", "team": "{housing}"}),
    "upload page": ("GET", "/org/{north}/invite/upload", None),
    "own team member page": ("GET", "/org/{north}/members/{north_learner}", None),
    "change own team member": ("POST", "/org/{north}/members/{north_learner}", {"role": "champion", "team": "{housing}"}),
    "remove own team member": ("POST", "/org/{north}/members/{north_learner}/remove", {}),
    "promote self": ("POST", "/org/{north}/members/{north_champion}", {"role": "org_admin", "team": "{housing}"}),
    "other team member page": ("GET", "/org/{north}/members/{north_learner2}", None),
    "add team": ("POST", "/org/{north}/teams", {"name": "Champions only"}),
    "new join code": ("POST", "/org/{north}/join-code", {}),
    "cancel invite": ("POST", "/org/{north}/invites/{north_invite}/cancel", {}),
}


@pytest.mark.parametrize("email", ["champion@example.org", "trainer@example.org", "learner@example.org"])
@pytest.mark.parametrize("method,path,form", CHAMPION_REFUSED.values(), ids=CHAMPION_REFUSED.keys())
def test_champions_trainers_and_learners_get_404_on_management_pages(app, client, world, email, method, path, form):
    client.sign_in(email)
    path = fill(path, world)
    before = snapshot(app)
    if method == "GET":
        response = client.get(path)
    else:
        response = client.submit(path, {k: fill(v, world) for k, v in form.items()}, form_page="/account")
    assert response.status_code == 404
    assert snapshot(app) == before


def test_champion_scope_in_the_service_layer(session, world):
    champion = session.scalars(select(User).where(User.email == "champion@example.org")).one()
    scope = scope_for(session, champion, world["north"])
    assert scope.sees_people and not scope.can_manage
    assert {m.user.name for m in session.scalars(scope.people()).unique()} == {"Chris Morgan", "Lena Kowalska"}
    assert [t.id for t in session.scalars(scope.teams())] == [world["housing"]]
    assert list(session.scalars(scope.invites())) == []
    assert scope.membership(session, world["north_learner"]).user.name == "Lena Kowalska"
    with pytest.raises(OutOfScope):
        scope.membership(session, world["north_learner2"])
    with pytest.raises(OutOfScope):
        scope.team(session, world["childrens"])
    with pytest.raises(OutOfScope):
        people.change_membership(session, scope, world["north_learner"], role="champion", team_id=world["housing"])
    with pytest.raises(OutOfScope):
        people.create_team(session, scope, "Mine")
    with pytest.raises(OutOfScope):
        people.invite_person(session, scope, email="x@example.org")
    with pytest.raises(OutOfScope):
        people.invite_from_csv(session, scope, b"email\nx@example.org\n")


def test_champion_without_a_team_sees_nobody(app, client, world):
    with database(app) as session:
        session.get(Membership, world["north_champion"]).team_id = None
        session.commit()
    client.sign_in("champion@example.org")
    page = text_of(client.get(f"/org/{world['north']}"))
    assert people_listed(page) == set()
    assert "Lena Kowalska" not in page


def test_moving_the_champion_changes_what_they_see(app, client, world):
    with database(app) as session:
        session.get(Membership, world["north_champion"]).team_id = world["childrens"]
        session.commit()
    client.sign_in("champion@example.org")
    page = text_of(client.get(f"/org/{world['north']}"))
    assert people_listed(page) == {"Chris Morgan", "Dev Sharma"}


# --- learners and trainers ----------------------------------------------------------------------------

def test_learner_sees_no_people_list(app, client, world):
    client.sign_in("learner@example.org")
    response = client.get(f"/org/{world['north']}")
    assert response.status_code == 200
    page = text_of(response)
    assert people_listed(page) == set()
    assert "learner2@example.org" not in page and "Housing" not in page
    assert "You are a learner in this organisation" in page
    with database(app) as session:
        code = session.get(Membership, world["north_learner"]).organisation.join_code
    assert f"{code[:4]}-{code[4:]}" not in page  # learners are not given the join code to share
    assert people_listed(text_of(client.get(f"/org/{world['north']}?q=a"))) == set()


def test_trainer_sees_the_join_code_but_no_people(app, client, world):
    client.sign_in("trainer@example.org")
    for organisation_id in (world["north"], world["east"]):
        response = client.get(f"/org/{organisation_id}")
        assert response.status_code == 200
        page = text_of(response)
        assert people_listed(page) - {"Bushra Iqbal"} == set()
        assert "Join code" in page
        assert "pending." not in page


def test_learner_and_trainer_scopes_in_the_service_layer(session, world):
    for email, organisation_id, own in (("learner@example.org", world["north"], world["north_learner"]),
                                        ("trainer@example.org", world["east"], world["east_trainer"])):
        user = session.scalars(select(User).where(User.email == email)).one()
        scope = scope_for(session, user, organisation_id)
        assert not scope.sees_people and not scope.can_manage
        assert list(session.scalars(scope.people())) == []
        assert list(session.scalars(scope.teams())) == []
        assert list(session.scalars(scope.invites())) == []
        with pytest.raises(OutOfScope):
            scope.membership(session, own)  # not even their own record through the admin screens


# --- a site admin ------------------------------------------------------------------------------------

def test_site_admin_sees_every_organisation(app, client, world):
    client.sign_in("admin@example.org")
    listing = text_of(client.get("/admin/organisations"))
    assert NORTHMOOR in listing and EASTGATE in listing
    north = text_of(client.get(f"/org/{world['north']}"))
    east = text_of(client.get(f"/org/{world['east']}"))
    assert people_listed(north) == NORTHMOOR_PEOPLE
    assert people_listed(east) == EASTGATE_PEOPLE
    assert "pending.north@example.org" in north and "pending.east@example.org" in east
    assert "pending.east@example.org" not in north
    for organisation_id in (world["north"], world["east"]):
        assert client.get(f"/org/{organisation_id}/invite").status_code == 200
    assert client.get(f"/org/{world['east']}/members/{world['east_guardian']}").status_code == 200


def test_site_admin_still_uses_the_right_organisation_in_urls(app, client, world):
    """Even a site admin cannot change a Northmoor membership through Eastgate's URL."""
    client.sign_in("admin@example.org")
    before = snapshot(app)
    response = client.submit(f"/org/{world['east']}/members/{world['north_learner']}", {"role": "org_admin", "team": ""},
                             form_page=f"/org/{world['east']}")
    assert response.status_code == 404
    response = client.submit(f"/org/{world['east']}/invites/{world['north_invite']}/cancel", form_page=f"/org/{world['east']}")
    assert response.status_code == 404
    assert snapshot(app) == before


def test_site_admin_scope(session, world):
    admin = session.scalars(select(User).where(User.email == "admin@example.org")).one()
    assert organisations_for(session, admin) == []  # a site admin is not a member anywhere
    for organisation_id, names in ((world["north"], NORTHMOOR_PEOPLE), (world["east"], EASTGATE_PEOPLE)):
        scope = scope_for(session, admin, organisation_id)
        assert scope.role is None and scope.can_manage
        assert {m.user.name for m in session.scalars(scope.people()).unique()} == names


def test_organisations_for_lists_only_memberships(session, world):
    trainer = session.scalars(select(User).where(User.email == "trainer@example.org")).one()
    learner = session.scalars(select(User).where(User.email == "learner@example.org")).one()
    assert [o.name for o in organisations_for(session, trainer)] == [EASTGATE, NORTHMOOR]
    assert [o.name for o in organisations_for(session, learner)] == [NORTHMOOR]


def test_removed_member_loses_access_at_once(app, client, world):
    learner = client.__class__(app.test_client(), [])
    learner.sign_in("learner2@example.org")
    assert learner.get(f"/org/{world['north']}").status_code == 200
    client.sign_in("orgadmin@example.org")
    client.submit(f"/org/{world['north']}/members/{world['north_learner2']}/remove", form_page=f"/org/{world['north']}")
    assert learner.get(f"/org/{world['north']}").status_code == 404


def test_demoted_org_admin_loses_management_at_once(app, client, world):
    admin = client.__class__(app.test_client(), [])
    admin.sign_in("trainer@example.org")
    client.sign_in("orgadmin@example.org")
    assert client.submit(f"/org/{world['north']}/members/{world['north_trainer']}", {"role": "org_admin", "team": ""}).status_code == 302
    assert admin.get(f"/org/{world['north']}/invite").status_code == 200
    assert client.submit(f"/org/{world['north']}/members/{world['north_trainer']}", {"role": "trainer", "team": ""}).status_code == 302
    assert admin.get(f"/org/{world['north']}/invite").status_code == 404
