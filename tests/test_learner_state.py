"""Where a learner stands, what their organisation asks of them and which translation status a
page shows: the answers the signed-in pages build on, worked out in as few queries as they can
(issue 13), checked against what each must say."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from lms.db import utcnow
from lms.learn import services
from lms.models import (Certificate, Completion, CourseOffering, LessonProgress, Membership, QuizAttempt,
                        TrainingRequirement, TranslationReview)
from lms.querycount import count_queries
from lms.training.services import plan_for
from lms.translate.services import language_status, statuses


def _courses(app):
    tiny = app.extensions["lms.catalogue"].get("tiny")
    # Other course ids with the same lessons: the states only ask a course for its id and lessons.
    return [tiny, *(replace(tiny, id=name) for name in ("second", "third", "fourth", "fifth"))]


def _completion(user_id, course_id, completed_at, expires_at):
    return Completion(user_id=user_id, course_id=course_id, course_version="1.0.0", language="en", method="online",
                      completed_at=completed_at, expires_at=expires_at)


def _attempt(user_id, course_id, submitted_at=None):
    return QuizAttempt(user_id=user_id, course_id=course_id, course_version="1.0.0", language="en",
                       question_ids=["q1"], submitted_at=submitted_at)


def test_each_course_state_comes_from_the_learners_own_latest_completion_reads_and_attempts(app, session, demo):
    user = demo["users"]["learner@example.org"]
    someone_else = demo["users"]["learner2@example.org"]
    now = utcnow()
    tiny, second, third, fourth, fifth = _courses(app)

    # tiny: the completion finished last counts (added first, so its id is the lower one), and its
    # certificate was revoked; lessons read before it do not count towards the next round.
    latest = _completion(user, "tiny", now - timedelta(days=10), now + timedelta(days=355))
    session.add(latest)
    session.flush()
    session.add(_completion(user, "tiny", now - timedelta(days=400), now - timedelta(days=35)))
    session.add(Certificate(completion_id=latest.id, code="STATE0000001", revoked_at=now - timedelta(days=1)))
    session.add(LessonProgress(user_id=user, course_id="tiny", module_slug="01-first", read_at=now - timedelta(days=20)))
    session.add(LessonProgress(user_id=user, course_id="tiny", module_slug="02-second", read_at=now - timedelta(days=2)))
    # second: two open attempts and a submitted one: the newest open one is carried on.
    first_open = _attempt(user, "second")
    session.add(first_open)
    session.flush()
    newest_open = _attempt(user, "second")
    session.add(newest_open)
    session.add(_attempt(user, "second", submitted_at=now))
    # third: only a submitted attempt, failed: in progress, nothing to carry on.
    session.add(_attempt(user, "third", submitted_at=now))
    # fifth: completed, expiring within the refresher window.
    session.add(_completion(user, "fifth", now - timedelta(days=355), now + timedelta(days=10)))
    # Someone else's work says nothing about this learner.
    session.add(_completion(someone_else, "fourth", now, now + timedelta(days=365)))
    session.add(LessonProgress(user_id=someone_else, course_id="fourth", module_slug="01-first"))
    session.add(_attempt(someone_else, "fourth"))
    session.commit()

    states = {state.course.id: state for state in
              services.course_states(session, user, [tiny, second, third, fourth, fifth], refresher_days=60)}

    assert states["tiny"].status == services.REVOKED
    assert states["tiny"].completion.id == latest.id
    assert states["tiny"].certificate.code == "STATE0000001"
    assert states["tiny"].lessons_read == {"02-second"}
    assert states["tiny"].open_attempt_id is None

    assert states["second"].status == services.IN_PROGRESS
    assert states["second"].open_attempt_id == newest_open.id != first_open.id
    assert states["second"].lessons_read == set() and states["second"].completion is None

    assert states["third"].status == services.IN_PROGRESS and states["third"].open_attempt_id is None
    assert states["fourth"].status == services.NOT_STARTED
    assert (states["fourth"].completion, states["fourth"].certificate, states["fourth"].lessons_read) == (None, None, set())
    assert states["fifth"].status == services.REFRESHER_DUE and states["fifth"].certificate is None

    # A completion outside the refresher window is simply completed.
    assert services.course_state(session, user, fifth, refresher_days=5).status == services.COMPLETED


def test_course_states_take_two_queries_however_many_courses(app, session, demo):
    user = demo["users"]["learner@example.org"]
    courses = _courses(app)
    engine = app.extensions["lms.engine"]
    for many in (courses[:1], courses):
        session.rollback()
        with count_queries(engine) as statements:
            services.course_states(session, user, many, refresher_days=60)
        assert len(statements) == 2


def test_a_plan_holds_the_tightest_deadline_of_the_requirements_that_apply_to_the_learner(app, session, demo):
    user = demo["users"]["learner@example.org"]  # Northmoor, Housing, learner
    northmoor = demo["organisations"]["Northmoor Borough Council"]
    housing = demo["teams"][(northmoor, "Housing")]
    childrens = demo["teams"][(northmoor, "Children's Services")]
    tiny, second, third, fourth, _fifth = _courses(app)
    session.add_all([
        TrainingRequirement(organisation_id=northmoor, course_id="tiny", team_id=None, role=None, due_days=30),
        TrainingRequirement(organisation_id=northmoor, course_id="tiny", team_id=housing, role=None, due_days=14),
        TrainingRequirement(organisation_id=northmoor, course_id="second", team_id=childrens, role=None, due_days=5),
        TrainingRequirement(organisation_id=northmoor, course_id="second", team_id=None, role="champion", due_days=3),
        TrainingRequirement(organisation_id=northmoor, course_id="second", team_id=housing, role="learner", due_days=40),
        TrainingRequirement(organisation_id=northmoor, course_id="third", team_id=None, role="learner", due_days=7),
        CourseOffering(organisation_id=northmoor, course_id="third", offered=False),
    ])
    session.commit()
    joined_at = session.scalars(select(Membership.joined_at).where(
        Membership.user_id == user, Membership.organisation_id == northmoor)).one()

    plan = plan_for(session, user, northmoor, [tiny, second, third, fourth])

    assert [course.id for course in plan.offered] == ["tiny", "second", "fourth"]
    assert plan.due_days == {"tiny": 14, "second": 40}  # "third" is required but no longer offered
    assert plan.joined_at == joined_at
    assert plan.due("tiny") == joined_at + timedelta(days=14) and plan.due("fourth") is None


def test_a_plan_without_requirements_or_membership(app, session, demo):
    user = demo["users"]["learner@example.org"]
    eastgate = demo["organisations"]["Eastgate Community Association"]
    northmoor = demo["organisations"]["Northmoor Borough Council"]
    courses = _courses(app)[:2]

    member = plan_for(session, user, northmoor, courses)
    assert (member.offered, member.due_days) == (courses, {}) and member.joined_at is not None
    for organisation_id in (eastgate, None):  # not a member there; in no organisation at all
        plan = plan_for(session, user, organisation_id, courses)
        assert (plan.offered, plan.due_days, plan.joined_at) == (courses, {}, None)


def test_a_pages_translation_status_is_the_one_the_translation_report_gives(app, session, demo):
    tiny = app.extensions["lms.catalogue"].get("tiny")
    assert tiny.languages == {"en": "source", "ur": "draft"}
    assert {language: language_status(session, tiny, language) for language in tiny.languages} == statuses(session, tiny)

    session.add(TranslationReview(course_id="tiny", language="ur"))
    session.commit()
    assert language_status(session, tiny, "ur") == "reviewed" == statuses(session, tiny)["ur"]
    assert language_status(session, tiny, "en") == "source"

    # A translation the course itself calls reviewed needs no query.
    reviewed = replace(tiny, id="elsewhere", translation_status={"ur": "reviewed"})
    with count_queries(app.extensions["lms.engine"]) as statements:
        assert language_status(session, reviewed, "ur") == "reviewed"
    assert statements == []


def test_the_header_lists_the_signed_in_persons_organisations_by_name(app, client, demo):
    client.sign_in("trainer@example.org")  # a member of two organisations
    for path in ("/courses", "/account", "/"):
        page = client.get(path).get_data(as_text=True)
        switcher = page[page.index('id="organisation-switcher"'):]
        assert switcher.index("Eastgate Community Association") < switcher.index("Northmoor Borough Council")
    # Chosen in the switcher (a POST), the organisation is the one the next page works in.
    eastgate = demo["organisations"]["Eastgate Community Association"]
    client.submit("/organisation", {"organisation_id": str(eastgate)}, form_page="/courses")
    page = client.get("/courses").get_data(as_text=True)
    assert f'<option value="{eastgate}" selected>' in page
