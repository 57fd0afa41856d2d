"""A revoked certificate is withdrawn everywhere: its PDF is refused, the learner's pages say
so, and the reports count the person as needing to complete the course again."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from lms.certify import codes
from lms.db import utcnow
from lms.models import Certificate, Completion, Team, User
from tests.conftest import FormClient, database, text_of
from tests.test_learn import answers_for, drawn_questions, start_quiz
from tests.test_reports import (TINY, add_person, app, client, courses_dir, northmoor,  # noqa: F401
                                query_counts, require, team)

REASON = "Issued to the wrong person by mistake"


def certify(session, user: User, organisation_id: int, *, days_ago: int, valid_days: int = 365,
            revoked_days_ago: int | None = None, course_id: str = TINY) -> Certificate:
    """A completion with its certificate, revoked that many days ago if asked."""
    completed = utcnow() - timedelta(days=days_ago)
    completion = Completion(user_id=user.id, course_id=course_id, course_version="1", language="en", method="online",
                            completed_at=completed, expires_at=completed + timedelta(days=valid_days))
    session.add(completion)
    session.flush()
    certificate = Certificate(completion_id=completion.id, code=codes.new_code(), organisation_id=organisation_id)
    if revoked_days_ago is not None:
        certificate.revoked_at = utcnow() - timedelta(days=revoked_days_ago)
        certificate.revoked_reason = REASON
    session.add(certificate)
    session.flush()
    return certificate


def local_day(moment) -> str:
    return moment.astimezone(ZoneInfo("Europe/London")).date().isoformat()


# --- the holder -----------------------------------------------------------------------------------

@pytest.fixture
def revoked(app, client, demo):  # noqa: F811
    """The demo learner passed the tiny course, downloaded the certificate, then an org admin
    revoked it. Returns the certificate's code; `client` is still signed in as the learner."""
    client.sign_in("learner@example.org")
    quiz = start_quiz(client)
    client.submit(quiz, answers_for(drawn_questions(client, quiz)), form_page=quiz)
    with database(app) as session:
        certificate = session.scalars(select(Certificate)).one()
        code, certificate_id = codes.display(certificate.code), certificate.id
    assert client.get(f"/certificates/{code}.pdf").status_code == 200
    admin = FormClient(app.test_client(), [])
    admin.sign_in("orgadmin@example.org")
    url = f"/org/{northmoor(demo)}/certificates/{certificate_id}/revoke"
    assert admin.submit(url, {"reason": REASON}).status_code == 302
    return code


def test_a_revoked_certificate_is_not_handed_out(app, client, revoked):
    response = client.get(f"/certificates/{revoked}.pdf")
    assert response.status_code == 410
    assert response.mimetype == "text/html" and not response.data.startswith(b"%PDF")
    assert "no-store" in response.headers["Cache-Control"]
    page = text_of(response)
    assert "This certificate has been revoked" in page and revoked in page
    with database(app) as session:
        revoked_at = session.scalars(select(Certificate.revoked_at)).one()
    assert re.search(r"It was revoked on \d+ \w+ \d{4}", page)
    assert "Revoked on" in page and "A tiny test course" in page and "Northmoor Borough Council" in page
    assert REASON not in page  # the reason is the organisation's record, not shown
    assert 'href="/courses/tiny"' in page  # the way to earn it again
    assert revoked_at is not None


def test_a_revoked_certificate_is_still_nobody_elses(app, revoked):
    other = FormClient(app.test_client(), [])
    other.sign_in("learner2@example.org")
    assert other.get(f"/certificates/{revoked}.pdf").status_code == 404  # not 410: nothing is given away
    assert app.test_client().get(f"/certificates/{revoked}.pdf").status_code == 302


def test_the_learners_pages_say_revoked(client, revoked):
    for path in ("/courses", "/courses/tiny"):
        page = text_of(client.get(path))
        assert ">Revoked</strong>" in page, path
        assert re.search(r"Your certificate for this course was revoked on \d+ \w+ \d{4}", page), path
        assert ">Completed</strong>" not in page and "Valid until" not in page, path
        assert f"/certificates/{revoked}.pdf" not in page, path


def test_the_public_check_still_says_revoked(app, revoked):
    page = text_of(app.test_client().get(f"/verify/{revoked}"))
    assert "This certificate has been revoked" in page and REASON not in page


def test_passing_again_earns_a_new_certificate_that_downloads(app, client, revoked):
    quiz = start_quiz(client)
    client.submit(quiz, answers_for(drawn_questions(client, quiz)), form_page=quiz)
    page = text_of(client.get("/courses"))
    assert ">Completed</strong>" in page and ">Revoked</strong>" not in page
    fresh = re.search(r"/certificates/([\w-]+)\.pdf", page).group(1)
    assert fresh != revoked
    assert client.get(f"/certificates/{fresh}.pdf").status_code == 200
    assert client.get(f"/certificates/{revoked}.pdf").status_code == 410


# --- the reports ----------------------------------------------------------------------------------

@pytest.fixture
def histories(app, demo):  # noqa: F811
    """People in Housing, which must do the tiny course within 30 days, each with a history of
    completions and revocations; and one in Children's Services, where it is not required."""
    with database(app) as session:
        organisation, housing = northmoor(demo), team(demo, "Housing")
        require(session, organisation, TINY, 30, team_id=housing)
        people = {name: add_person(session, organisation, name, team_id=housing, joined_days_ago=600)
                  for name in ("Rita Revoked", "Reba Retook", "Vera Again", "Ezra Expired", "Cleo Clean")}
        # Her one completion was revoked: she is to do it again.
        rita = certify(session, people["Rita Revoked"], organisation, days_ago=20, revoked_days_ago=2)
        # Revoked, then passed again: completed.
        certify(session, people["Reba Retook"], organisation, days_ago=100, revoked_days_ago=50)
        certify(session, people["Reba Retook"], organisation, days_ago=10)
        # A later completion revoked is not made up for by an earlier one: she is to do it again,
        # as her own page tells her.
        certify(session, people["Vera Again"], organisation, days_ago=100)
        certify(session, people["Vera Again"], organisation, days_ago=10, revoked_days_ago=5)
        # An old revocation does not hide that her later completion has since expired.
        certify(session, people["Ezra Expired"], organisation, days_ago=500, revoked_days_ago=450)
        certify(session, people["Ezra Expired"], organisation, days_ago=400)
        certify(session, people["Cleo Clean"], organisation, days_ago=10)
        # Not required of Children's Services: a revoked completion is not "done anyway".
        optional = add_person(session, organisation, "Otto Optional", team_id=team(demo, "Children's Services"))
        certify(session, optional, organisation, days_ago=10, revoked_days_ago=1)
        session.commit()
        return {"rita_revoked_at": rita.revoked_at}


@pytest.mark.parametrize("status, expected", [
    ("revoked", {"Rita Revoked", "Vera Again", "Otto Optional"}),  # required or not
    ("completed", {"Reba Retook", "Cleo Clean"}),
    ("expired", {"Ezra Expired"}),
])
def test_the_status_counts_only_completions_that_stand(client, demo, histories, status, expected):
    client.sign_in("orgadmin@example.org")
    page = text_of(client.get(f"/org/{northmoor(demo)}/reports/people?course={TINY}&status={status}"))
    everyone = {"Rita Revoked", "Reba Retook", "Vera Again", "Ezra Expired", "Cleo Clean", "Otto Optional"}
    assert {name for name in everyone if name in page} == expected


def test_the_matrix_says_revoked_and_when(client, demo, histories):
    client.sign_in("orgadmin@example.org")
    page = text_of(client.get(f"/org/{northmoor(demo)}/reports/people?course={TINY}&q=rita"))
    assert re.search(r">Revoked</strong><br><span class=\"hint\">Certificate revoked \d+ \w+ \d{4}<", page)
    assert ">Completed</strong>" not in page


def dashboard_row(page: str, course_title: str, row: str) -> dict[str, int]:
    section = re.search(rf">{course_title}</h2>(.*?)</section>", page, re.S).group(1)
    head = re.findall(r"<th scope=\"col\">([^<]+)</th>", section)
    cells = re.search(rf"<th scope=\"row\">{row}</th>(.*?)</tr>", section, re.S).group(1)
    return dict(zip(head[1:], (int(n) for n in re.findall(r"<td>(\d+)", cells))))


def test_the_dashboard_counts_revoked_apart_from_completed(client, demo, histories):
    client.sign_in("orgadmin@example.org")
    page = text_of(client.get(f"/org/{northmoor(demo)}/reports"))
    housing = dashboard_row(page, "A tiny test course", "Housing")
    # The five above, plus the demo's Housing learner and champion, who have not started.
    assert housing["Required of"] == 7
    assert housing["Revoked"] == 2 and housing["Completed"] == 2 and housing["Expired"] == 1
    assert housing["Not started"] == 2
    services = dashboard_row(page, "A tiny test course", "Children's Services")
    assert services["Completed though not required"] == 0  # Otto's was revoked
    assert 'class="bar--revoked"' in page  # drawn in the chart too


def test_the_dashboard_has_no_revoked_column_until_something_is_revoked(client, demo):
    client.sign_in("orgadmin@example.org")
    page = text_of(client.get(f"/org/{northmoor(demo)}/reports"))
    assert ">Revoked<" not in page


def test_revoked_people_are_reminded_to_take_the_course_again(app, client, demo, histories, queued_jobs):
    client.sign_in("champion@example.org")  # champions Housing
    path = f"/org/{northmoor(demo)}/reports/reminders?course={TINY}&status=revoked"
    preview = text_of(client.get(path))
    assert "Rita Revoked" in preview and "Vera Again" in preview and "Cleo Clean" not in preview
    client.submit(path)
    queued_jobs()
    recipients = sorted(message["To"] for message in client.outbox)
    assert len(recipients) == 2 and "rita" in recipients[0] and "vera" in recipients[1]
    body = client.outbox[0].get_content()
    assert "was withdrawn on" in body and "take the course again" in body


def test_the_export_says_revoked_with_the_date(client, demo, histories):
    client.sign_in("orgadmin@example.org")
    text = client.get(f"/org/{northmoor(demo)}/reports/people.csv?course={TINY}&q=rita").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[1][0] == "Rita Revoked"
    assert rows[1][5:] == ["Revoked", local_day(histories["rita_revoked_at"]), "Online", "Yes"]


def test_report_queries_stay_flat_with_revocations(app, client, demo, histories):
    organisation = northmoor(demo)
    client.sign_in("orgadmin@example.org")
    paths = [f"/org/{organisation}/reports", f"/org/{organisation}/reports/people",
             f"/org/{organisation}/reports/people?status=revoked", f"/org/{organisation}/reports/people?course={TINY}&sort=urgency",
             f"/org/{organisation}/reports/reminders?course={TINY}"]
    small = query_counts(app, client, paths)
    with database(app) as session:
        teams = [Team(organisation_id=organisation, name=f"Team {n}") for n in range(6)]
        session.add_all(teams)
        session.flush()
        for number in range(120):
            person = add_person(session, organisation, f"Person {number:03d}", team_id=teams[number % 6].id)
            if number % 2 == 0:
                certify(session, person, organisation, days_ago=number + 5,
                        revoked_days_ago=number % 3 if number % 4 == 0 else None)
        session.commit()
    large = query_counts(app, client, paths)
    assert large == small
