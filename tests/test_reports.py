"""Training reports: statuses, the dashboard, the people matrix, scoping and required training."""
from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.db import utcnow
from lms.models import (AuditEvent, ChampionedTeam, Completion, CourseOffering, LessonProgress, Membership, Team, TrainingRequirement,
                        User)
from lms.querycount import count_queries
from tests.conftest import FIXTURE_COURSES, FormClient, database, make_test_app, snapshot, text_of

TINY = "tiny"
SECOND = "second"


@pytest.fixture
def courses_dir(tmp_path):
    """The tiny test course, and a copy of it under another id: reports need two courses."""
    folder = tmp_path / "more-courses" / SECOND
    shutil.copytree(FIXTURE_COURSES / TINY, folder)
    manifest = folder / "course.toml"
    manifest.write_text(manifest.read_text().replace('id = "tiny"', f'id = "{SECOND}"')
                        .replace('en = "A tiny test course"', 'en = "A second test course"'))
    return tmp_path / "more-courses"


@pytest.fixture
def app(database_url, courses_dir):
    application = make_test_app(database_url, COURSE_PATHS=[FIXTURE_COURSES, courses_dir])
    yield application
    application.extensions["lms.engine"].dispose()


@pytest.fixture
def client(app):
    return FormClient(app.test_client(), app.config["MAIL_OUTBOX"])


def northmoor(demo) -> int:
    return demo["organisations"]["Northmoor Borough Council"]


def team(demo, name: str) -> int:
    return demo["teams"][(northmoor(demo), name)]


def add_person(session, organisation_id: int, name: str, *, team_id=None, role="learner", joined_days_ago=10,
               language=None) -> User:
    user = User(email=f"{re.sub(r'[^a-z0-9]', '', name.lower()) or 'person'}{session.scalar(select(func.count(User.id)))}@example.org",
                name=name, password_hash="x", preferred_language=language)
    session.add(user)
    session.flush()
    session.add(Membership(user_id=user.id, organisation_id=organisation_id, team_id=team_id, role=role,
                           joined_at=utcnow() - timedelta(days=joined_days_ago)))
    session.flush()
    return user


def complete(session, user: User, course_id: str, *, days_ago: int, valid_days: int = 365) -> None:
    completed = utcnow() - timedelta(days=days_ago)
    session.add(Completion(user_id=user.id, course_id=course_id, course_version="1", language="en", method="online",
                           completed_at=completed, expires_at=completed + timedelta(days=valid_days)))
    session.flush()


def require(session, organisation_id: int, course_id: str, due_days: int, *, team_id=None, role=None) -> None:
    session.add(TrainingRequirement(organisation_id=organisation_id, course_id=course_id, team_id=team_id, role=role,
                                    due_days=due_days))
    session.flush()


@pytest.fixture
def statuses(app, demo):
    """Six people in Housing, one in each status of the tiny course, which Housing must do within 30 days."""
    with database(app) as session:
        organisation, housing = northmoor(demo), team(demo, "Housing")
        require(session, organisation, TINY, 30, team_id=housing)
        people = {}
        people["completed"] = add_person(session, organisation, "Cara Complete", team_id=housing)
        complete(session, people["completed"], TINY, days_ago=10)
        people["refresher_due"] = add_person(session, organisation, "Rhys Refresher", team_id=housing)
        complete(session, people["refresher_due"], TINY, days_ago=340)
        people["expired"] = add_person(session, organisation, "Ella Expired", team_id=housing)
        complete(session, people["expired"], TINY, days_ago=400)
        people["overdue"] = add_person(session, organisation, "Owen Overdue", team_id=housing, joined_days_ago=45)
        people["in_progress"] = add_person(session, organisation, "Ines Progress", team_id=housing, joined_days_ago=5)
        session.add(LessonProgress(user_id=people["in_progress"].id, course_id=TINY, module_slug="01-first"))
        people["not_started"] = add_person(session, organisation, "Nia New", team_id=housing, joined_days_ago=2)
        # Not required of Children's Services, but done anyway.
        optional = add_person(session, organisation, "Omar Optional", team_id=team(demo, "Children's Services"))
        complete(session, optional, TINY, days_ago=5)
        session.commit()
        return {status: user.id for status, user in people.items()}


def test_each_status_is_worked_out(app, client, demo, statuses):
    client.sign_in("orgadmin@example.org")
    with database(app) as session:
        names = {status: session.get(User, user_id).name for status, user_id in statuses.items()}
    for status, name in names.items():
        page = text_of(client.get(f"/org/{northmoor(demo)}/reports/people?course={TINY}&status={status}"))
        assert name in page, status
        assert not any(other in page for other in names.values() if other != name), status


def test_dashboard_counts_against_requirements_and_shows_optional_completions(client, demo, statuses):
    client.sign_in("orgadmin@example.org")
    whole = text_of(client.get(f"/org/{northmoor(demo)}/reports"))
    page = re.search(r">A tiny test course</h2>(.*?)</section>", whole, re.S).group(1)
    # The Housing row of the tiny course: the 6 above, plus the demo's Housing learner and champion.
    housing = re.search(r"<th scope=\"row\">Housing</th>(.*?)</tr>", page, re.S).group(1)
    numbers = [int(n) for n in re.findall(r"<td>(\d+)", housing)]
    # required, completed, refresher due, expired, overdue, in progress, not started, optional
    assert numbers == [8, 1, 1, 1, 1, 1, 3, 0]
    assert "13%" in housing  # 1 of 8
    services = re.search(r"<th scope=\"row\">Children's Services</th>(.*?)</tr>", page, re.S)
    assert services is None or re.findall(r"<td>(\d+)", services.group(1))[0] == "0"
    total = re.search(r"<tfoot>(.*?)</tfoot>", page, re.S)
    assert total is None or re.findall(r"<td>(\d+)", total.group(1))[-1] == "1"  # Omar, done though not required
    assert "<svg" in page and 'role="img"' in page and "<script" not in whole


def test_matrix_cells_show_status_and_date(client, demo, statuses):
    client.sign_in("orgadmin@example.org")
    page = text_of(client.get(f"/org/{northmoor(demo)}/reports/people?team={team(demo, 'Housing')}&course={TINY}"))
    for status, date_text in (("Overdue", "Was due"), ("Refresher due", "Expires"), ("Expired", "Expired"),
                              ("In progress", "Due"), ("Not started", "Due")):
        assert re.search(rf">{status}</strong><br><span class=\"hint\">{date_text} \d+ \w+ \d{{4}}<", page), status
    assert re.search(r">Completed</strong><br><span class=\"hint\">\d+ \w+ \d{4}<", page)


def query_counts(app, client, paths):
    engine = app.extensions["lms.engine"]
    counts = []
    for path in paths:
        with count_queries(engine) as statements:
            assert client.get(path).status_code == 200
        counts.append(len(statements))
    return counts


def test_report_queries_stay_flat_as_the_organisation_grows(app, client, demo, statuses):
    organisation = northmoor(demo)
    client.sign_in("orgadmin@example.org")
    paths = [f"/org/{organisation}/reports", f"/org/{organisation}/reports/people",
             f"/org/{organisation}/reports/people?status=not_started&sort=team"]
    small = query_counts(app, client, paths)
    with database(app) as session:
        teams = [Team(organisation_id=organisation, name=f"Team {n}") for n in range(12)]
        session.add_all(teams)
        session.flush()
        for number in range(240):
            person = add_person(session, organisation, f"Person {number:03d}", team_id=teams[number % 12].id)
            if number % 3 == 0:
                complete(session, person, TINY if number % 2 else SECOND, days_ago=number)
        session.commit()
    large = query_counts(app, client, paths)
    assert large == small
    assert max(large) <= 10


# --- who may see what ------------------------------------------------------------------------

def test_champion_sees_only_their_team(client, demo, statuses):
    client.sign_in("champion@example.org")  # champions Housing
    organisation = northmoor(demo)
    page = text_of(client.get(f"/org/{organisation}/reports/people"))
    assert "Owen Overdue" in page and "Omar Optional" not in page and "Dev Sharma" not in page
    csv_text = client.get(f"/org/{organisation}/reports/people.csv").get_data(as_text=True)
    assert "Owen Overdue" in csv_text and "Omar Optional" not in csv_text and "Dev Sharma" not in csv_text
    dashboard = text_of(client.get(f"/org/{organisation}/reports"))
    assert "Children's Services" not in dashboard


@pytest.mark.parametrize("path", [
    "/org/{org}/reports?team={other}",
    "/org/{org}/reports/people?team={other}",
    "/org/{org}/reports/people.csv?team={other}",
    "/org/{org}/reports/people.xlsx?team={other}",
    "/org/{org}/reports/reminders?course=tiny&team={other}",
    "/org/{org}/reports/people?team=none",
    "/org/{org}/training",
    "/org/{org}/audit",
    "/org/{eastgate}/reports",
    "/org/{eastgate}/reports/people.csv",
])
def test_champion_cannot_reach_another_team(app, client, demo, statuses, path):
    client.sign_in("champion@example.org")
    other = team(demo, "Children's Services")
    before = snapshot(app)
    response = client.get(path.format(org=northmoor(demo), other=other,
                                      eastgate=demo["organisations"]["Eastgate Community Association"]))
    assert response.status_code in (403, 404)
    assert "Omar Optional" not in response.get_data(as_text=True)
    assert snapshot(app) == before  # not even an audit entry


def test_learners_and_trainers_see_no_reports(client, demo):
    for email in ("learner@example.org", "trainer@example.org"):
        client.sign_in(email)
        assert client.get(f"/org/{northmoor(demo)}/reports").status_code == 404
        assert client.get(f"/org/{northmoor(demo)}/reports/people.csv").status_code == 404
        client.sign_out()


def test_site_admin_can_report_on_any_organisation(client, demo):
    client.sign_in("admin@example.org")
    for organisation in demo["organisations"].values():
        assert client.get(f"/org/{organisation}/reports").status_code == 200
        assert client.get(f"/org/{organisation}/reports/people").status_code == 200


@pytest.mark.parametrize("query, status", [
    ("status=finished", 400), ("role=boss", 400), ("sort=salary", 400), ("team=abc", 404), ("team=0", 404),
    ("team=99999999999", 404), ("course=no-such-course", 404), ("page=abc", 200), ("page=-3", 200),
    ("q=%00%27%22<script>", 200), ("q=" + "x" * 5000, 200),
])
def test_bad_filters_get_a_clear_4xx(client, demo, query, status):
    client.sign_in("orgadmin@example.org")
    for path in ("people", "people.csv"):
        response = client.get(f"/org/{northmoor(demo)}/reports/{path}?{query}")
        assert response.status_code == status, (path, query)
    if status == 400:
        assert "Choose" in text_of(client.get(f"/org/{northmoor(demo)}/reports/people?{query}"))


def test_matrix_search_sort_and_pagination(app, client, demo):
    organisation = northmoor(demo)
    with database(app) as session:
        for number in range(60):
            add_person(session, organisation, f"Zed {number:02d}")
        add_person(session, organisation, "Ŵyn Ápostrophe")
        session.commit()
    client.sign_in("orgadmin@example.org")
    first = text_of(client.get(f"/org/{organisation}/reports/people"))
    assert "Page 1 of 2" in first and "Zed 00" in first and "Zed 59" not in first
    reverse = text_of(client.get(f"/org/{organisation}/reports/people?sort=-name"))
    assert reverse.index("Zed 59") < reverse.index("Zed 58")
    second = text_of(client.get(f"/org/{organisation}/reports/people?page=2&sort=name&q=zed"))
    assert "Zed 59" in second and "Lena Kowalska" not in second
    assert "q=zed" in second  # the filters survive paging
    found = text_of(client.get(f"/org/{organisation}/reports/people?q=ápostrophe"))
    assert "1 person" in found
    by_role = text_of(client.get(f"/org/{organisation}/reports/people?role=champion"))
    assert "Chris Morgan" in by_role and "Lena Kowalska" not in by_role


# --- required training ----------------------------------------------------------------------

def test_org_admin_sets_offered_and_required_courses(app, client, demo):
    organisation = northmoor(demo)
    client.sign_in("orgadmin@example.org")
    response = client.submit(f"/org/{organisation}/training/requirements",
                             {"course_id": TINY, "team_id": str(team(demo, "Housing")), "role": "", "due_days": "14"},
                             form_page=f"/org/{organisation}/training")
    assert response.status_code == 302
    # Asking again for the same people changes the deadline instead of adding a rule.
    client.submit(f"/org/{organisation}/training/requirements",
                  {"course_id": TINY, "team_id": str(team(demo, "Housing")), "role": "", "due_days": "21"},
                  form_page=f"/org/{organisation}/training")
    with database(app) as session:
        assert [r.due_days for r in session.scalars(select(TrainingRequirement))] == [21]
    page = text_of(client.get(f"/org/{organisation}/training"))
    assert "Everyone in Housing" in page and "Within 21 days of joining" in page

    client.submit(f"/org/{organisation}/training/courses", {"courses": [TINY]}, form_page=f"/org/{organisation}/training")
    with database(app) as session:
        assert session.scalars(select(CourseOffering.course_id).where(CourseOffering.offered.is_(False))).all() == [SECOND]
    client.sign_out()

    client.sign_in("learner@example.org")  # in Housing
    courses = text_of(client.get("/courses"))
    assert "A tiny test course" in courses and "A second test course" not in courses
    assert "complete it by" in courses


@pytest.mark.parametrize("data, message", [
    ({"course_id": TINY, "team_id": "", "role": "", "due_days": "-1"}, "from 0 to 730"),
    ({"course_id": TINY, "team_id": "", "role": "", "due_days": "9999"}, "from 0 to 730"),
    ({"course_id": TINY, "team_id": "", "role": "", "due_days": ""}, "Enter a number of days"),
    ({"course_id": TINY, "team_id": "", "role": "", "due_days": "ten"}, ""),
    ({"course_id": "nope", "team_id": "", "role": "", "due_days": "5"}, ""),
    ({"course_id": TINY, "team_id": "999999", "role": "", "due_days": "5"}, ""),
    ({"course_id": TINY, "team_id": "", "role": "king", "due_days": "5"}, ""),
])
def test_bad_requirements_are_refused_and_nothing_saved(app, client, demo, data, message):
    organisation = northmoor(demo)
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.submit(f"/org/{organisation}/training/requirements", data, form_page=f"/org/{organisation}/training")
    assert response.status_code == 400
    assert "There is a problem" in text_of(response) and message in text_of(response)
    assert snapshot(app) == before


def test_requirement_of_another_organisation_cannot_be_removed(app, client, demo):
    eastgate = demo["organisations"]["Eastgate Community Association"]
    with database(app) as session:
        require(session, eastgate, TINY, 30)
        session.commit()
        requirement_id = session.scalar(select(TrainingRequirement.id))
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.submit(f"/org/{northmoor(demo)}/training/requirements/{requirement_id}/remove",
                             form_page=f"/org/{northmoor(demo)}/training")
    assert response.status_code == 404
    assert snapshot(app) == before


def test_required_courses_come_first_for_learners_with_due_dates(app, client, demo):
    organisation = northmoor(demo)
    with database(app) as session:
        require(session, organisation, SECOND, 30, role="learner")
        session.commit()
    client.sign_in("learner@example.org")
    page = text_of(client.get("/courses"))
    assert page.index("A second test course") < page.index("A tiny test course")
    assert "Required by your organisation: complete it by" in page
    with database(app) as session:
        membership = session.scalars(select(Membership).where(Membership.user_id == demo["users"]["learner@example.org"])).one()
        membership.joined_at = utcnow() - timedelta(days=40)
        session.commit()
    assert "please complete it now" in text_of(client.get("/courses"))


def test_audit_log_lists_exports_for_org_admins(app, client, demo):
    client.sign_in("orgadmin@example.org")
    organisation = northmoor(demo)
    client.get(f"/org/{organisation}/reports/people.csv?status=not_started")
    client.get(f"/org/{organisation}/reports/people.xlsx")
    with database(app) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.action, e.details["format"]) for e in events] == [("export", "csv"), ("export", "xlsx")]
        assert events[0].details["filters"] == {"status": "not_started"}
    log = text_of(client.get(f"/org/{organisation}/audit"))
    assert "Downloaded the training report as CSV" in log and "Olu Adeyemi" in log and "status=not_started" in log


def test_a_champion_can_look_after_further_teams(app, client, demo):
    organisation = northmoor(demo)
    champion = demo["users"]["champion@example.org"]
    libraries, services = team(demo, "Libraries"), team(demo, "Children's Services")
    with database(app) as session:
        add_person(session, organisation, "Lou Libraries", team_id=libraries)
        session.commit()
        membership_id = session.scalars(select(Membership.id).where(Membership.user_id == champion)).one()
    member_page = f"/org/{organisation}/members/{membership_id}"
    form = {"role": "champion", "team": str(team(demo, "Housing")), "championed": [str(libraries)]}

    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    refused = client.submit(member_page, {**form, "championed": ["999999"]})
    assert refused.status_code == 400 and snapshot(app) == before
    assert client.submit(member_page, form).status_code == 302
    client.sign_out()

    client.sign_in("champion@example.org")
    page = text_of(client.get(f"/org/{organisation}/reports/people"))
    assert "Lou Libraries" in page and "Lena Kowalska" in page and "Dev Sharma" not in page
    assert client.get(f"/org/{organisation}/reports/people?team={libraries}").status_code == 200
    assert client.get(f"/org/{organisation}/reports/people?team={services}").status_code == 404
    client.sign_out()

    # Made a learner, they champion nothing any more.
    client.sign_in("orgadmin@example.org")
    client.submit(member_page, {**form, "role": "learner"})
    client.sign_out()
    client.sign_in("champion@example.org")
    assert client.get(f"/org/{organisation}/reports/people").status_code == 404
    with database(app) as session:
        assert session.scalar(select(func.count()).select_from(ChampionedTeam)) == 0


def test_home_page_leads_champions_and_org_admins_to_the_reports(client, demo):
    organisation = northmoor(demo)
    for email, shown in (("champion@example.org", True), ("orgadmin@example.org", True), ("learner@example.org", False),
                         ("trainer@example.org", False)):
        client.sign_in(email)
        assert (f'href="/org/{organisation}/reports"' in client.get("/").get_data(as_text=True)) is shown, email
        client.sign_out()


def test_sorting_by_a_course_puts_who_most_needs_to_act_first(client, demo, statuses):
    client.sign_in("orgadmin@example.org")
    organisation, housing = northmoor(demo), team(demo, "Housing")
    for path in ("people", "people.csv"):
        page = text_of(client.get(f"/org/{organisation}/reports/{path}?course={TINY}&team={housing}&sort=urgency"))
        order = [page.index(name) for name in ("Owen Overdue", "Ella Expired", "Rhys Refresher", "Nia New",
                                               "Ines Progress", "Cara Complete")]
        assert order == sorted(order), path
    refused = client.get(f"/org/{organisation}/reports/people?sort=urgency&team={housing}&q=a")
    html = refused.get_data(as_text=True)
    # Back to the form, not a bare error: the message is linked to the course filter and the
    # person's choices are kept, with the people listed in the usual order meanwhile.
    assert refused.status_code == 400 and "There is a problem" in html
    assert '<a href="#course">Choose a course to sort by who most needs to act on it.</a>' in html
    assert '<option value="urgency" selected>' in html and f'<option value="{housing}" selected>' in html
    assert 'value="a"' in html and "Owen Overdue" in html


@pytest.mark.parametrize("data", [{"courses": ["no-such-course"]}, {"courses": [TINY, "../etc"]},
                                  {"courses": [TINY], "csrf_token": "forged"}])
def test_bad_offered_courses_are_refused_and_nothing_saved(app, client, demo, data):
    organisation = northmoor(demo)
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = client.submit(f"/org/{organisation}/training/courses", data, form_page=f"/org/{organisation}/training")
    assert response.status_code == 400
    assert snapshot(app) == before


def test_audit_log_pages_and_refuses_others(client, demo):
    client.sign_in("orgadmin@example.org")
    for page in ("abc", "-1", "99999"):
        assert client.get(f"/org/{northmoor(demo)}/audit?page={page}").status_code == 200
    assert client.get(f"/org/{demo['organisations']['Eastgate Community Association']}/audit").status_code == 404
