"""Every route, swept: one that takes the id of a person, team, organisation, attempt,
completion, certificate, batch, requirement or invitation refuses everyone it does not
belong to (403 or 404, never the data, nothing changed). Every route is listed here, as
checked or as taking no such id; a new route that is in neither list fails the test."""
from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from lms.certify import batches
from lms.learn import services as learn
from lms.models import Attendance, Certificate, Job, LtiPlatform, Membership, User
from lms.people.scope import scope_for
from lms.training import services as training
from lms.workshops import services as workshops
from tests.conftest import database, snapshot, text_of
from tests.test_scope import NORTHMOOR, world  # noqa: F401 - the fixture is used by name

# Routes that take no id of anyone's records, with the reason each is safe.
NO_TENANT_IDS = {
    "static": "the app's own files",
    "site.home": "the signed-in person's own page",
    "site.healthz": "a liveness probe",
    "site.readyz": "a readiness probe: component states and course counts, no records",
    "guests.claim": "a guest record's secret reference into the signed-in person's own account; once, into one "
                    "account, rate limited; checked in tests/test_guests.py",
    "guests.start": "starts a guest learner of the browser's own; an open course's id only",
    "guests.card": "the guest learner this browser holds, from its own signed session",
    "guests.forget": "drops the guest learner from the browser's own session",
    "guests.resume": "a guest's secret reference typed by the person; rate limited; checked in "
                     "tests/test_open_courses.py",
    "learn.certificate_name": "an attempt id, honoured only for the guest learner whose browser holds the attempt; "
                               "another guest gets 404 (tests/test_open_courses.py)",
    "learn.offline_bundle": "course content",
    "site.choose_language": "a language code, kept in the person's own session",
    "auth.sign_in": "no ids", "auth.sign_out": "no ids", "auth.account": "the person's own account",
    "auth.change_password": "the person's own account", "auth.forgot_password": "an email, same answer for any",
    "auth.join": "a join code typed by the person",
    "auth.reset_password": "a signed, expiring token is the only key",
    "auth.join_organisation": "the organisation's invite token is the key (it is what is shared)",
    "auth.accept_invitation": "the personal invitation token is the key",
    "admin.organisations": "site admins only; lists organisations, takes no id",
    "learn.my_courses": "the person's own courses",
    "learn.course": "a course id (course content is not an organisation's); progress shown is the viewer's own",
    "learn.asset": "a course's own files", "learn.lesson": "course content", "learn.lesson_read": "the viewer's own progress",
    "learn.quiz_start": "starts the viewer's own attempt", "learn.slides": "course content", "learn.slide": "course content",
    "translate.course_translations": "course-wide review status; role-checked in tests/test_translations.py",
    "translate.mark_reviewed": "course-wide review status; role-checked in tests/test_translations.py",
    "privacy.your_data": "the signed-in person's own data; checked in tests/test_privacy_access.py",
    "privacy.your_data_page": "the signed-in person's own data; checked in tests/test_privacy_access.py",
    "privacy.delete_account": "the signed-in person's own account, after their password; "
                              "checked in tests/test_privacy_erasure.py",
    "privacy.notice": "public by design: a signed token names an organisation, showing only its name and the "
                      "controller details it publishes for the notice; checked in tests/test_privacy_notice.py",
    "certify.verify_form": "public by design: anyone may check a certificate",
    "interop.badge_assertion": "public by design, as a certificate's check is: the code is the key, and the "
                               "assertion names its holder only by a salted hash; checked in tests/test_badges.py",
    "interop.badge_class": "public by design: a course's badge class, under a signed issuer key",
    "interop.badge_issuer": "public by design: an issuer's name, under a signed key that cannot be walked",
    "interop.badge_image": "a course's badge picture",
    "interop.lti_jwks": "public by design: the tool's public keys, which platforms fetch",
    "interop.lti_login": "a registered platform's issuer and client ID start a login; checked in tests/test_lti.py",
    "interop.lti_launch": "a platform's signed id token is the only key; checked in tests/test_lti.py",
    "certify.verify": "public by design: a certificate's code is what is printed for anyone to check",
    "workshops.trainer_feed": "a signed token naming one trainer is the only key; checked in tests/test_workshops.py",
    "workshops.static": "the app's own files",
    "workshops.check_in_code": "a code typed by the person; rate limited",
    "workshops.walk_in_certificate": "the check-in code and the walk-in's own browser are the key; another phone gets "
                                     "404; checked in tests/test_check_in.py",
    "workshops.evaluate": "the session's check-in code is the key; answers are anonymous and nobody's are shown; "
                          "checked in tests/test_evaluation.py",
    "workshops.check_in": "the session's check-in code is the key; a walk-in sees only their own row "
                          "(tests/test_check_in.py)",
}

# (method, path) for each endpoint that takes an id. The attacker signs in as `as_`; the
# targets all belong to Northmoor (or to another Northmoor person, for a learner's own records).
EAST_ADMIN = "eastgate-admin@example.org"
OTHER_LEARNER = "learner2@example.org"
HOUSING_CHAMPION = "champion@example.org"
CHECKED = {
    "site.switch_organisation": [(EAST_ADMIN, "POST", "/organisation", {"organisation_id": "{north}"})],
    "learn.quiz": [(OTHER_LEARNER, "GET", "/courses/tiny/quiz/{attempt}", None),
                   (OTHER_LEARNER, "POST", "/courses/tiny/quiz/{attempt}", {"q-q1": "a"})],
    "learn.result": [(OTHER_LEARNER, "GET", "/courses/tiny/quiz/{attempt}/result", None),
                     (EAST_ADMIN, "GET", "/courses/tiny/quiz/{attempt}/result", None)],
    "interop.badge_download": [(OTHER_LEARNER, "GET", "/certificates/{code}/badge.svg", None),
                               (EAST_ADMIN, "GET", "/certificates/{code}/badge.svg", None),
                               (HOUSING_CHAMPION, "GET", "/certificates/{code}/badge.svg", None)],
    "certify.download": [(OTHER_LEARNER, "GET", "/certificates/{code}.pdf", None),
                         (EAST_ADMIN, "GET", "/certificates/{code}.pdf", None),
                         (HOUSING_CHAMPION, "GET", "/certificates/{code}.pdf", None)],
    "admin.organisation": [(EAST_ADMIN, "GET", "/org/{north}", None)],
    "audit.log": [(EAST_ADMIN, "GET", "/org/{north}/audit", None), (HOUSING_CHAMPION, "GET", "/org/{north}/audit", None)],
    "certify.design": [(EAST_ADMIN, "GET", "/org/{north}/certificate-design", None),
                       (EAST_ADMIN, "POST", "/org/{north}/certificate-design", {"template": "classic"})],
    "certify.design_preview": [(EAST_ADMIN, "GET", "/org/{north}/certificate-design/preview.pdf", None)],
    "certify.organisation_certificates": [(EAST_ADMIN, "GET", "/org/{north}/certificates", None)],
    "certify.revoke": [(EAST_ADMIN, "GET", "/org/{north}/certificates/{certificate}/revoke", None),
                       (EAST_ADMIN, "POST", "/org/{north}/certificates/{certificate}/revoke", {"reason": "spite"}),
                       (EAST_ADMIN, "GET", "/org/{east}/certificates/{certificate}/revoke", None),
                       (EAST_ADMIN, "POST", "/org/{east}/certificates/{certificate}/revoke", {"reason": "spite"}),
                       (HOUSING_CHAMPION, "POST", "/org/{north}/certificates/{certificate}/revoke", {"reason": "x"})],
    "certify.start_batch": [(EAST_ADMIN, "POST", "/org/{north}/certificates/batches", {"kind": "pdf", "course": ""})],
    "certify.batch": [(EAST_ADMIN, "GET", "/org/{north}/certificates/batches/{batch}", None),
                      (EAST_ADMIN, "GET", "/org/{east}/certificates/batches/{batch}", None)],
    "certify.batch_download": [(EAST_ADMIN, "GET", "/org/{north}/certificates/batches/{batch}/download", None),
                               (EAST_ADMIN, "GET", "/org/{east}/certificates/batches/{batch}/download", None)],
    "admin.invite": [(EAST_ADMIN, "GET", "/org/{north}/invite", None),
                     (EAST_ADMIN, "POST", "/org/{north}/invite", {"email": "spy@example.org", "role": "org_admin"})],
    "admin.invite_upload": [(EAST_ADMIN, "GET", "/org/{north}/invite/upload", None)],
    "admin.cancel_invite": [(EAST_ADMIN, "POST", "/org/{north}/invites/{north_invite}/cancel", {}),
                            (EAST_ADMIN, "POST", "/org/{east}/invites/{north_invite}/cancel", {})],
    "admin.regenerate_join_code": [(EAST_ADMIN, "POST", "/org/{north}/join-code", {})],
    "admin.privacy_details": [(EAST_ADMIN, "GET", "/org/{north}/privacy", None),
                              (EAST_ADMIN, "POST", "/org/{north}/privacy", {"controller": "Hijacked", "contact": ""}),
                              (HOUSING_CHAMPION, "POST", "/org/{north}/privacy", {"controller": "Hijacked", "contact": ""})],
    "admin.member": [(EAST_ADMIN, "GET", "/org/{north}/members/{north_learner}", None),
                     (EAST_ADMIN, "GET", "/org/{east}/members/{north_learner}", None),
                     (HOUSING_CHAMPION, "GET", "/org/{north}/members/{north_learner2}", None)],
    "interop.lti_platforms": [(EAST_ADMIN, "GET", "/org/{north}/lti", None),
                              (HOUSING_CHAMPION, "GET", "/org/{north}/lti", None),
                              (EAST_ADMIN, "POST", "/org/{north}/lti", {"name": "Theirs", "issuer": "https://x.example",
                                                                        "client_id": "c", "deployment_ids": "1",
                                                                        "auth_login_url": "https://x.example/a",
                                                                        "auth_token_url": "https://x.example/t",
                                                                        "key_set_url": "https://x.example/k"})],
    "interop.lti_platform_remove": [(EAST_ADMIN, "POST", "/org/{east}/lti/{north_platform}/remove", {}),
                                    (EAST_ADMIN, "POST", "/org/{north}/lti/{north_platform}/remove", {}),
                                    (HOUSING_CHAMPION, "POST", "/org/{north}/lti/{north_platform}/remove", {})],
    "interop.scorm_package": [(EAST_ADMIN, "GET", "/org/{north}/courses/tiny/scorm12.zip", None),
                              (HOUSING_CHAMPION, "GET", "/org/{north}/courses/tiny/scorm12.zip", None)],
    "privacy.erase_member": [(EAST_ADMIN, "POST", "/org/{east}/members/{north_learner}/erase", {}),
                             (EAST_ADMIN, "GET", "/org/{north}/members/{north_learner}/erase", None),
                             (HOUSING_CHAMPION, "POST", "/org/{north}/members/{north_learner}/erase", {})],
    "admin.remove_member": [(EAST_ADMIN, "POST", "/org/{east}/members/{north_learner}/remove", {}),
                            (HOUSING_CHAMPION, "POST", "/org/{north}/members/{north_learner2}/remove", {})],
    "admin.create_team": [(EAST_ADMIN, "POST", "/org/{north}/teams", {"name": "Planted"})],
    "reports.dashboard": [(EAST_ADMIN, "GET", "/org/{north}/reports", None)],
    "reports.people": [(EAST_ADMIN, "GET", "/org/{north}/reports/people", None)],
    "reports.export_csv": [(EAST_ADMIN, "GET", "/org/{north}/reports/people.csv", None)],
    "reports.export_xlsx": [(EAST_ADMIN, "GET", "/org/{north}/reports/people.xlsx", None)],
    "reports.reminder_preview": [(EAST_ADMIN, "GET", "/org/{north}/reports/reminders", None)],
    "reports.send_reminders": [(EAST_ADMIN, "POST", "/org/{north}/reports/reminders", {})],
    "reports.reminder_job": [(EAST_ADMIN, "GET", "/org/{north}/reports/reminders/{reminder_job}", None),
                             (EAST_ADMIN, "GET", "/org/{east}/reports/reminders/{reminder_job}", None),
                             (HOUSING_CHAMPION, "GET", "/org/{north}/reports/reminders/{reminder_job}", None)],
    "reports.start_export": [(EAST_ADMIN, "POST", "/org/{north}/reports/exports", {"format": "csv"})],
    # A people list is for whoever asked for it alone: not even a site admin.
    "reports.export_job": [(EAST_ADMIN, "GET", "/org/{north}/reports/exports/{export_job}", None),
                           (EAST_ADMIN, "GET", "/org/{east}/reports/exports/{export_job}", None),
                           (HOUSING_CHAMPION, "GET", "/org/{north}/reports/exports/{export_job}", None),
                           ("admin@example.org", "GET", "/org/{north}/reports/exports/{export_job}", None)],
    "reports.export_download": [(EAST_ADMIN, "GET", "/org/{north}/reports/exports/{export_job}/download", None),
                                (EAST_ADMIN, "GET", "/org/{east}/reports/exports/{export_job}/download", None),
                                (HOUSING_CHAMPION, "GET", "/org/{north}/reports/exports/{export_job}/download", None),
                                ("admin@example.org", "GET", "/org/{north}/reports/exports/{export_job}/download", None)],
    "training.settings": [(EAST_ADMIN, "GET", "/org/{north}/training", None)],
    "training.save_offered": [(EAST_ADMIN, "POST", "/org/{north}/training/courses", {"courses": "tiny"})],
    "training.add_requirement": [(EAST_ADMIN, "POST", "/org/{north}/training/requirements",
                                  {"course": "tiny", "team": "", "role": "", "due_days": "5"})],
    "workshops.sessions": [(EAST_ADMIN, "GET", "/org/{north}/sessions", None),
                           (HOUSING_CHAMPION, "GET", "/org/{north}/sessions", None)],
    "workshops.schedule": [(EAST_ADMIN, "GET", "/org/{north}/sessions/new", None),
                           (EAST_ADMIN, "POST", "/org/{north}/sessions/new",
                            {"course": "tiny", "language": "en", "day": "2027-01-01", "start": "10:00", "end": "11:00",
                             "venue": "Hall", "trainer": ""})],
    "workshops.session": [(EAST_ADMIN, "GET", "/org/{north}/sessions/{workshop}", None),
                          (EAST_ADMIN, "GET", "/org/{east}/sessions/{workshop}", None),
                          (OTHER_LEARNER, "GET", "/org/{north}/sessions/{workshop}", None)],
    "workshops.edit": [(EAST_ADMIN, "GET", "/org/{east}/sessions/{workshop}/edit", None),
                       (EAST_ADMIN, "POST", "/org/{east}/sessions/{workshop}/edit",
                        {"course": "tiny", "language": "en", "day": "2027-01-01", "start": "10:00", "end": "11:00",
                         "venue": "Hijacked", "trainer": ""}),
                       (HOUSING_CHAMPION, "GET", "/org/{north}/sessions/{workshop}/edit", None)],
    "workshops.cancel": [(EAST_ADMIN, "POST", "/org/{east}/sessions/{workshop}/cancel", {"reason": "spite"}),
                         (EAST_ADMIN, "POST", "/org/{north}/sessions/{workshop}/cancel", {"reason": "spite"})],
    "workshops.session_calendar": [(EAST_ADMIN, "GET", "/org/{east}/sessions/{workshop}/calendar.ics", None),
                                   (OTHER_LEARNER, "GET", "/org/{north}/sessions/{workshop}/calendar.ics", None)],
    "workshops.slides_download": [(EAST_ADMIN, "GET", "/org/{east}/sessions/{workshop}/slides.pdf", None),
                                  (OTHER_LEARNER, "GET", "/org/{north}/sessions/{workshop}/slides.pdf", None)],
    "workshops.present": [(EAST_ADMIN, "GET", "/org/{east}/sessions/{workshop}/present", None),
                          (OTHER_LEARNER, "GET", "/org/{north}/sessions/{workshop}/present", None)],
    "workshops.present_speaker": [(EAST_ADMIN, "GET", "/org/{east}/sessions/{workshop}/present/speaker", None),
                                  (HOUSING_CHAMPION, "GET", "/org/{north}/sessions/{workshop}/present/speaker", None)],
    "workshops.slides_file": [(EAST_ADMIN, "GET", "/org/{east}/sessions/{workshop}/slides.html", None),
                              (OTHER_LEARNER, "GET", "/org/{north}/sessions/{workshop}/slides.html", None)],
    "workshops.session_evaluation": [(EAST_ADMIN, "GET", "/org/{east}/sessions/{workshop}/evaluation", None),
                                     (HOUSING_CHAMPION, "GET", "/org/{north}/sessions/{workshop}/evaluation", None)],
    "workshops.evaluation_summary": [(EAST_ADMIN, "GET", "/org/{north}/sessions/evaluation", None),
                                     (OTHER_LEARNER, "GET", "/org/{north}/sessions/evaluation", None)],
    "workshops.evaluation_csv": [(EAST_ADMIN, "GET", "/org/{north}/sessions/evaluation.csv", None),
                                 (HOUSING_CHAMPION, "GET", "/org/{north}/sessions/evaluation.csv", None)],
    "workshops.register_page": [(EAST_ADMIN, "GET", "/org/{east}/sessions/{workshop}/register", None),
                                (HOUSING_CHAMPION, "GET", "/org/{north}/sessions/{workshop}/register", None)],
    "workshops.register_rows": [(EAST_ADMIN, "GET", "/org/{north}/sessions/{workshop}/register/rows", None),
                                (OTHER_LEARNER, "GET", "/org/{north}/sessions/{workshop}/register/rows", None)],
    "workshops.add_attendee": [(EAST_ADMIN, "POST", "/org/{east}/sessions/{workshop}/register/add", {"name": "Spy"})],
    "workshops.mark_attended": [
        (EAST_ADMIN, "POST", "/org/{east}/sessions/{workshop}/register/{attendance}/attended", {"attended": "no"}),
        (EAST_ADMIN, "POST", "/org/{east}/sessions/{east_workshop}/register/{attendance}/attended", {"attended": "no"})],
    "workshops.edit_attendee": [
        (EAST_ADMIN, "POST", "/org/{east}/sessions/{workshop}/register/{attendance}/edit", {"name": "Spy"}),
        (EAST_ADMIN, "GET", "/org/{east}/sessions/{east_workshop}/register/{attendance}/edit", None),
        (HOUSING_CHAMPION, "GET", "/org/{north}/sessions/{workshop}/register/{attendance}/edit", None)],
    "privacy.erase_walk_in": [
        (EAST_ADMIN, "GET", "/org/{east}/sessions/{east_workshop}/register/{attendance}/erase", None),
        (EAST_ADMIN, "POST", "/org/{east}/sessions/{workshop}/register/{attendance}/erase", {}),
        (HOUSING_CHAMPION, "POST", "/org/{north}/sessions/{workshop}/register/{attendance}/erase", {})],
    "workshops.remove_attendee": [
        (EAST_ADMIN, "POST", "/org/{east}/sessions/{east_workshop}/register/{attendance}/remove", {}),
        (HOUSING_CHAMPION, "POST", "/org/{north}/sessions/{workshop}/register/{attendance}/remove", {})],
    "workshops.close_register": [(EAST_ADMIN, "POST", "/org/{north}/sessions/{workshop}/register/close", {})],
    "workshops.session_certificates": [(EAST_ADMIN, "POST", "/org/{east}/sessions/{workshop}/certificates", {}),
                                       (HOUSING_CHAMPION, "POST", "/org/{north}/sessions/{workshop}/certificates", {})],
    "workshops.reopen_register": [(EAST_ADMIN, "POST", "/org/{east}/sessions/{workshop}/register/reopen", {})],
    "training.remove_requirement": [
        (EAST_ADMIN, "POST", "/org/{north}/training/requirements/{requirement}/remove", {}),
        (EAST_ADMIN, "POST", "/org/{east}/training/requirements/{requirement}/remove", {})],
}

CASES = [(endpoint, *case) for endpoint, cases in CHECKED.items() for case in cases]


def test_every_route_is_swept_or_listed_as_taking_no_ids(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unlisted = endpoints - set(NO_TENANT_IDS) - set(CHECKED)
    assert not unlisted, f"add these routes to CHECKED or NO_TENANT_IDS in {__name__}: {sorted(unlisted)}"
    assert not set(NO_TENANT_IDS) & set(CHECKED)
    assert not (set(NO_TENANT_IDS) | set(CHECKED)) - endpoints, "listed routes that no longer exist"


@pytest.fixture
def targets(app, world):  # noqa: F811 - world is the imported fixture
    """Northmoor's learner passes the tiny course (an attempt, a completion, a certificate);
    Northmoor also has a certificate batch and a training requirement."""
    with database(app) as session:
        catalogue = app.extensions["lms.catalogue"]
        course = catalogue.get("tiny")
        learner = session.scalars(select(User).where(User.email == "learner@example.org")).one()
        admin = session.scalars(select(User).where(User.email == "orgadmin@example.org")).one()
        for slug in course.module_slugs:
            learn.mark_lesson_read(session, learner.id, course, slug)
        attempt = learn.start_attempt(session, learner.id, course, "en")
        answers = {qid: sorted(course.question_bank[qid].answers) for qid in attempt.question_ids}
        session.commit()
        learn.submit_attempt(session, learner.id, course, attempt.id, answers, organisation_id=world["north"])
        session.commit()
        certificate = session.scalars(select(Certificate)).one()
        scope = scope_for(session, admin, world["north"])
        batch = batches.create_batch(session, scope, kind="pdf", course_id=None, requested_by=admin)
        requirement = training.add_requirement(session, scope, [course], course_id="tiny", team_id=None,
                                               role=None, due_days=30)
        workshop = workshops.schedule(session, scope, admin, [course], workshops.Plan(
            course_id="tiny", language="en", day=date(2027, 1, 1), start=time(10), end=time(11),
            venue="Northmoor Hall"), ZoneInfo("Europe/London"))
        east_admin = session.scalars(select(User).where(User.email == "eastgate-admin@example.org")).one()
        east_workshop = workshops.schedule(session, scope_for(session, east_admin, world["east"]), east_admin, [course],
                                           workshops.Plan(course_id="tiny", language="en", day=date(2027, 1, 1),
                                                          start=time(10), end=time(11), venue="Eastgate Hall"),
                                           ZoneInfo("Europe/London"))
        attendance = Attendance(workshop_id=workshop.id, name="Lena Kowalska", user_id=learner.id)
        session.add(attendance)
        platform = LtiPlatform(organisation_id=world["north"], name="Northmoor Moodle", issuer="https://moodle.example",
                               client_id="north", deployment_ids=["1"], auth_login_url="https://moodle.example/auth",
                               auth_token_url="https://moodle.example/token", key_set_url="https://moodle.example/jwks")
        session.add(platform)
        # The org admin's reminders: not the Housing champion's to follow, nor another organisation's.
        reminder_job = Job(organisation_id=world["north"], requested_by_id=admin.id,
                           task="lms.reports.reminders:send_reminders_job", params={"filters": {"course_id": "tiny"}})
        session.add(reminder_job)
        export_job = Job(organisation_id=world["north"], requested_by_id=admin.id, status="done",
                         task="lms.reports.export_files:export_job", result={"rows": 3},
                         params={"format": "csv", "filters": {}, "sort": "name", "language": "en", "query": {}})
        session.add(export_job)
        session.commit()
        assert session.scalars(select(Membership).where(Membership.user_id == learner.id)).first()
        return {**world, "attempt": attempt.id, "code": certificate.code, "certificate": certificate.id,
                "batch": batch.id, "requirement": requirement.id, "workshop": workshop.id,
                "east_workshop": east_workshop.id, "attendance": attendance.id,
                "reminder_job": reminder_job.id, "export_job": export_job.id, "north_platform": platform.id}


@pytest.mark.parametrize("endpoint,as_,method,path,form", CASES,
                         ids=[f"{c[0]}-{n}" for n, c in enumerate(CASES)])
def test_nobody_reaches_records_that_are_not_theirs(app, client, targets, endpoint, as_, method, path, form):
    client.sign_in(as_)
    url = path.format(**targets)
    assert app.url_map.bind("localhost").match(url, method=method)[0] == endpoint
    before = snapshot(app)
    if method == "GET":
        response = client.get(url)
    else:
        fields = {key: value.format(**targets) for key, value in form.items()}
        response = client.submit(url, fields, form_page="/account")
    assert response.status_code in (403, 404), (url, response.status_code)
    # The page may repeat the address that was asked for (the language form does); nothing else.
    page = text_of(response).replace(url, "")
    assert "Lena Kowalska" not in page and targets["code"] not in page and "Northmoor Hall" not in page
    assert snapshot(app) == before
