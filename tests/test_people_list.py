"""The organisation's people list: searchable, paginated, with a flat query count."""
from __future__ import annotations

import pytest

from lms import db
from lms.models import Membership, User
from lms.querycount import count_queries


def add_people(app, organisation_id: int, names: list[str]) -> None:
    with app.app_context():
        session = db.get_session()
        for number, name in enumerate(names):
            user = User(email=f"person{number}-{len(names)}@example.org", name=name, password_hash="x")
            session.add(user)
            session.flush()
            session.add(Membership(user_id=user.id, organisation_id=organisation_id, role="learner"))
        session.commit()


def test_query_count_does_not_grow_with_the_organisation(app, client, demo):
    organisation = demo["organisations"]["Northmoor Borough Council"]
    client.sign_in("orgadmin@example.org")
    engine = app.extensions["lms.engine"]
    with count_queries(engine) as small:
        assert client.get(f"/org/{organisation}").status_code == 200
    add_people(app, organisation, [f"Person {n:03d}" for n in range(120)])
    with count_queries(engine) as large:
        page = client.get(f"/org/{organisation}")
    assert page.status_code == 200
    assert len(large) == len(small) <= 10


def test_people_are_paginated_and_searchable(app, client, demo):
    organisation = demo["organisations"]["Northmoor Borough Council"]
    add_people(app, organisation, [f"Person {n:03d}" for n in range(120)] + ["Zofia Wiśniewska", "50%_off Name"])
    client.sign_in("orgadmin@example.org")
    first = client.get(f"/org/{organisation}").get_data(as_text=True)
    assert "Page 1 of 3" in first and "127 people" in first
    assert first.count("/members/") == 50
    last = client.get(f"/org/{organisation}?page=3").get_data(as_text=True)
    assert "Page 3 of 3" in last and "Zofia Wiśniewska" in last
    found = client.get(f"/org/{organisation}?q=wiśniewska").get_data(as_text=True)
    assert "1 person" in found and "Zofia Wiśniewska" in found
    # % and _ are literal characters in a search, not wildcards.
    literal = client.get(f"/org/{organisation}?q=50%25_").get_data(as_text=True)
    assert "1 person" in literal and "50%_off Name" in literal
    assert "Nobody matches" in client.get(f"/org/{organisation}?q=no-such-person").get_data(as_text=True)


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999", "9999", "²", "١"])
def test_odd_page_numbers_do_not_break_the_list(client, demo, page):
    organisation = demo["organisations"]["Northmoor Borough Council"]
    client.sign_in("orgadmin@example.org")
    response = client.get(f"/org/{organisation}?page={page}")
    assert response.status_code == 200
    assert "Lena Kowalska" in response.get_data(as_text=True)


def test_search_of_a_very_long_string_is_harmless(client, demo):
    organisation = demo["organisations"]["Northmoor Borough Council"]
    client.sign_in("orgadmin@example.org")
    response = client.get(f"/org/{organisation}?q=" + "x" * 5000)
    assert response.status_code == 200
