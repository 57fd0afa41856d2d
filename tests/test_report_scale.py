"""Reports for a large organisation: the dashboard's counts, worked out in bulk, agree with each
person's status as the people matrix works it out; and the XLSX export is streamed."""
from __future__ import annotations

import io
import random
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import false, func, select, text

from lms.db import utcnow
from lms.models import Certificate, Completion, LessonProgress, QuizAttempt, Team, User
from lms.people.scope import scope_for
from lms.reports import routes, services
from lms.reports.status import cells
from tests.conftest import database, snapshot
from tests.test_reports import (SECOND, TINY, add_person, app, client, courses_dir, northmoor, require,  # noqa: F401
                                team)

REFRESHER_DAYS = 60


def reference_counts(session, scope, course_ids, now, team_id=None) -> dict:
    """The dashboard as it used to be counted: cells() for every person and course, grouped."""
    table = cells(scope, course_ids, now=now, refresher_days=REFRESHER_DAYS, with_method=True)
    required = table.c.due_days.is_not(None)
    at_session = func.coalesce(table.c.method == services.ATTENDANCE, false())
    query = (select(table.c.course_id, table.c.team_id, required, table.c.status, at_session, func.count())
             .group_by(table.c.course_id, table.c.team_id, required, table.c.status, at_session))
    if team_id == 0:
        query = query.where(table.c.team_id.is_(None))
    elif team_id is not None:
        query = query.where(table.c.team_id == team_id)
    counts: dict = {}
    for course_id, row_team_id, is_required, status, by_attending, number in session.execute(query):
        entry = counts.setdefault((course_id, row_team_id), services.Counts())
        if is_required:
            entry.by_status[status] += number
        elif status in services.DONE:
            entry.optional_done += number
        if status in services.DONE and by_attending:
            entry.done_at_session += number
    return {key: (entry.by_status, entry.optional_done, entry.done_at_session) for key, entry in counts.items()}


def dashboard_counts(session, scope, courses, now, team_id=None) -> dict:
    teams = session.scalars(scope.teams()).all()
    names = {team.name: team.id for team in teams}
    reports = services.dashboard(session, scope, courses, teams, now=now, refresher_days=REFRESHER_DAYS,
                                 team_id=team_id)
    return {(report.course.id, names.get(name)): (counts.by_status, counts.optional_done, counts.done_at_session)
            for report in reports for name, counts in report.teams}


@pytest.fixture
def crowd(app, demo):  # noqa: F811
    """150 people in random teams and roles, who joined at random times, with every mix of
    lessons read, quizzes started, completions (some twice, some at a session, some revoked),
    and requirements for everyone, a team, a role, and a role within a team."""
    rng = random.Random(13)
    now = utcnow()
    with database(app) as session:
        organisation = northmoor(demo)
        housing = team(demo, "Housing")
        extra = [Team(organisation_id=organisation, name=f"Crowd team {number}") for number in range(4)]
        session.add_all(extra)
        session.flush()
        team_ids = [None, housing, *(t.id for t in extra)]
        require(session, organisation, TINY, 30)
        require(session, organisation, TINY, 10, role="champion")
        require(session, organisation, SECOND, 14, team_id=extra[0].id)
        require(session, organisation, SECOND, 45, team_id=extra[1].id, role="learner")
        require(session, organisation, SECOND, 60, team_id=extra[1].id)
        certificate = 0
        for number in range(150):
            person = add_person(session, organisation, f"Crowd {number:03d}", team_id=rng.choice(team_ids),
                                role=rng.choice(["learner", "learner", "champion", "trainer", "org_admin"]),
                                joined_days_ago=rng.randrange(0, 90))
            for course_id in (TINY, SECOND):
                if rng.random() < 0.4:
                    for module in rng.sample(["01-first", "02-second", "03-third"], rng.randrange(1, 4)):
                        session.add(LessonProgress(user_id=person.id, course_id=course_id, module_slug=module))
                if rng.random() < 0.15:
                    session.add(QuizAttempt(user_id=person.id, course_id=course_id, course_version="1", language="en",
                                            question_ids=[]))
                for _ in range(rng.choice([0, 0, 1, 1, 2])):
                    # Distinct days, so that one completion is plainly the latest.
                    completed = now - timedelta(days=rng.randrange(1, 800), hours=rng.randrange(24))
                    completion = Completion(user_id=person.id, course_id=course_id, course_version="1", language="en",
                                            method=rng.choice(["online", "online", "attendance"]),
                                            completed_at=completed, expires_at=completed + timedelta(days=365))
                    session.add(completion)
                    session.flush()
                    if rng.random() < 0.5:
                        certificate += 1
                        session.add(Certificate(completion_id=completion.id, code=f"CROWD{certificate:012d}",
                                                revoked_at=now if rng.random() < 0.2 else None))
        # And for certain, the cases where only the latest completion counts: an earlier one
        # revoked, or made at a session, and the other way round; and lessons read after it.
        for number, (first, second) in enumerate([(("online", True), ("online", False)),
                                                  (("online", False), ("online", True)),
                                                  (("attendance", False), ("online", False)),
                                                  (("online", False), ("attendance", False))]):
            person = add_person(session, organisation, f"Twice {number}", team_id=housing)
            for days_ago, (method, revoked) in ((300, first), (20, second)):
                completion = Completion(user_id=person.id, course_id=TINY, course_version="1", language="en",
                                        method=method, completed_at=now - timedelta(days=days_ago),
                                        expires_at=now - timedelta(days=days_ago) + timedelta(days=365))
                session.add(completion)
                session.flush()
                session.add(Certificate(completion_id=completion.id, code=f"TWICE{number}{days_ago:08d}",
                                        revoked_at=now if revoked else None))
            session.add(LessonProgress(user_id=person.id, course_id=TINY, module_slug="01-first"))
        session.commit()
        return extra


def test_dashboard_counts_agree_with_every_persons_status(app, demo, crowd):
    now = utcnow()
    with app.test_request_context(), database(app) as session:
        courses = [course for course in app.extensions["lms.catalogue"].all() if course.id in (TINY, SECOND)]
        course_ids = [course.id for course in courses]
        organisation = northmoor(demo)
        org_admin = session.scalars(select(User).where(User.email == "orgadmin@example.org")).one()
        champion = session.scalars(select(User).where(User.email == "champion@example.org")).one()
        for user, team_id in ((org_admin, None), (org_admin, 0), (org_admin, crowd[1].id), (champion, None)):
            scope = scope_for(session, user, organisation)
            expected = reference_counts(session, scope, course_ids, now, team_id)
            assert sum(sum(by_status.values()) for by_status, _, _ in expected.values()) > 20  # a real mix
            assert dashboard_counts(session, scope, courses, now, team_id) == expected, (user.email, team_id)


# --- the XLSX export is streamed ---------------------------------------------------------------

def test_the_xlsx_response_is_streamed_and_starts_before_the_rows_are_read(client, demo, monkeypatch):  # noqa: F811
    read = []
    real_rows = services.stream_rows

    def counted_rows(*args, **kwargs):
        for row in real_rows(*args, **kwargs):
            read.append(row.person.name)
            yield row

    monkeypatch.setattr(routes.services, "stream_rows", counted_rows)
    client.sign_in("orgadmin@example.org")
    response = client.get(f"/org/{northmoor(demo)}/reports/people.xlsx", buffered=False)
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == routes.EXPORT_TYPES["xlsx"] and "attachment" in response.headers["Content-Disposition"]
    assert "Content-Length" not in response.headers  # not built whole first
    chunks = response.iter_encoded()
    first = next(chunks)
    assert first.startswith(b"PK\x03\x04") and read == []  # bytes on their way before a single row is read
    body = first + b"".join(chunks)
    response.close()
    assert len(read) >= 5
    sheet = load_workbook(io.BytesIO(body)).active
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == read
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{len(read) + 1}"


@pytest.mark.parametrize("query, status", [
    ("status=finished", 400), ("role=boss", 400), ("sort=salary", 400), ("sort=urgency", 400), ("team=abc", 404),
    ("team=0", 404), ("team=99999999999", 404), ("course=no-such-course", 404),
])
def test_bad_xlsx_filters_get_a_4xx_and_no_audit_entry(app, client, demo, query, status):  # noqa: F811
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.get(f"/org/{northmoor(demo)}/reports/people.xlsx?{query}")
    assert response.status_code == status
    assert response.mimetype == "text/html"  # a page saying what is wrong, not a broken download
    assert snapshot(app) == before


def test_an_xlsx_of_another_organisation_is_refused(app, client, demo):  # noqa: F811
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    eastgate = demo["organisations"]["Eastgate Community Association"]
    assert client.get(f"/org/{eastgate}/reports/people.xlsx").status_code == 404
    assert client.get("/org/99999999/reports/people.xlsx").status_code == 404
    assert snapshot(app) == before


def test_postgresql_plans_streamed_exports_for_all_their_rows(app, database_url):  # noqa: F811
    # Exports read a server-side cursor to the end. Planned for its first tenth (the default),
    # the export of 30,000 people walked the users' name index into a nested loop: 200 s, not 2.
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL setting")
    with database(app) as session:
        assert session.execute(text("SHOW cursor_tuple_fraction")).scalar() == "1"
