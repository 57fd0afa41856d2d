"""The audit log records revocations, invitations, certificate design changes and training
requirement changes: one entry for each action, with who, what and the organisation, written
with the change, shown readably to org admins; a refused action records nothing."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from lms import db
from lms.audit import services as audit
from lms.certify import codes
from lms.models import AuditEvent, Certificate, Invite, Organisation, TrainingRequirement, User
from lms.people.scope import organisation_scope
from lms.training import services as training
from tests.conftest import FormClient, database, text_of
from tests.test_learn import answers_for, drawn_questions, start_quiz
from tests.test_marked_for_translation import DEMO_DATA, PSEUDO, pseudo_client, unmarked  # noqa: F401
from tests.test_reports import SECOND, TINY, app, client, courses_dir, northmoor, team  # noqa: F401


def png_logo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 20), (29, 79, 145)).save(out, format="PNG")
    return out.getvalue()


def events(app) -> list[AuditEvent]:
    with database(app) as session:
        found = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        session.expunge_all()
        return found


def count(app) -> int:
    with database(app) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.fixture
def admin(client, demo):  # noqa: F811
    client.sign_in("orgadmin@example.org")
    client.organisation = northmoor(demo)
    client.user_id = demo["users"]["orgadmin@example.org"]
    return client


def audit_page(admin) -> str:
    response = admin.get(f"/org/{admin.organisation}/audit")
    assert response.status_code == 200
    return text_of(response)


def only_new_event(app, before: int, action: str, admin) -> AuditEvent:
    found = events(app)[before:]
    assert [event.action for event in found] == [action]
    event = found[0]
    assert event.organisation_id == admin.organisation and event.actor_id == admin.user_id
    assert event.actor_name == "Olu Adeyemi"
    return event


# --- revocation -------------------------------------------------------------------------------

def test_a_revocation_is_recorded_and_a_refused_one_is_not(app, admin, demo):
    learner = FormClient(app.test_client(), [])
    learner.sign_in("learner@example.org")
    quiz = start_quiz(learner)
    learner.submit(quiz, answers_for(drawn_questions(learner, quiz)), form_page=quiz)
    with database(app) as session:
        certificate = session.scalars(select(Certificate)).one()
        certificate_id, code = certificate.id, codes.display(certificate.code)
    url = f"/org/{admin.organisation}/certificates/{certificate_id}/revoke"

    assert admin.submit(url, {"reason": "  "}).status_code == 400
    eastgate = FormClient(app.test_client(), [])
    eastgate.sign_in("eastgate-admin@example.org")
    assert eastgate.submit(url, {"reason": "no"}, form_page="/account").status_code == 404
    assert count(app) == 0

    assert admin.submit(url, {"reason": "Issued to the wrong person"}).status_code == 302
    event = only_new_event(app, 0, audit.CERTIFICATE_REVOKED, admin)
    assert event.details == {"code": code, "course": TINY, "name": "Lena Kowalska", "reason": "Issued to the wrong person"}
    page = audit_page(admin)
    assert f"Revoked certificate {code} of Lena Kowalska, for A tiny test course" in page
    assert "Reason: Issued to the wrong person" in page

    assert admin.submit(url, {"reason": "twice"}).status_code == 400  # already revoked
    assert count(app) == 1


# --- the certificate design -------------------------------------------------------------------

def design(admin, template: str = "classic", logo: bytes | None = None, **extra):
    data = {"template": template, **extra}
    if logo is not None:
        data["logo"] = (io.BytesIO(logo), "logo.png")
    return admin.submit(f"/org/{admin.organisation}/certificate-design", data, content_type="multipart/form-data")


def test_design_changes_are_recorded_one_a_save(app, admin):
    assert design(admin, "classic").status_code == 302  # the design it already had: nothing changed
    assert design(admin, "../../etc").status_code == 400
    assert design(admin, "simple", b"GIF89a\x01\x00\x01\x00").status_code == 400
    assert count(app) == 0

    assert design(admin, "simple").status_code == 302
    assert only_new_event(app, 0, audit.CERTIFICATE_DESIGN, admin).details == {
        "template": "simple", "previous_template": "classic"}
    assert design(admin, "simple", png_logo()).status_code == 302
    assert only_new_event(app, 1, audit.CERTIFICATE_DESIGN, admin).details == {"logo": "uploaded"}
    assert design(admin, "classic", png_logo()).status_code == 302
    assert only_new_event(app, 2, audit.CERTIFICATE_DESIGN, admin).details == {
        "template": "classic", "previous_template": "simple", "logo": "replaced"}
    assert design(admin, "classic", remove_logo="y").status_code == 302
    assert only_new_event(app, 3, audit.CERTIFICATE_DESIGN, admin).details == {"logo": "removed"}
    assert design(admin, "classic", remove_logo="y").status_code == 302  # no logo left to remove
    assert count(app) == 4

    page = audit_page(admin)
    for line in ("Changed the certificate design from Classic to Simple", "Added a logo to the certificates",
                 "Changed the certificate design from Simple to Classic", "Replaced the logo on the certificates",
                 "Removed the logo from the certificates"):
        assert line in page, line


# --- invitations ------------------------------------------------------------------------------

def test_an_invitation_and_its_cancelling_are_recorded(app, admin, demo):
    path = f"/org/{admin.organisation}/invite"
    housing = team(demo, "Housing")
    assert admin.submit(path, {"email": "not an address", "role": "learner", "team": ""}).status_code == 400
    assert admin.submit(path, {"email": "learner@example.org", "role": "learner", "team": ""}).status_code == 400
    assert count(app) == 0

    assert admin.submit(path, {"email": "New.Person@Example.org", "role": "champion", "team": str(housing)}).status_code == 302
    assert only_new_event(app, 0, audit.INVITATION, admin).details == {
        "email": "new.person@example.org", "role": "champion", "team": "Housing"}
    assert admin.submit(path, {"email": "new.person@example.org", "role": "learner", "team": ""}).status_code == 400
    assert admin.submit(path, {"email": "other@example.org", "role": "learner", "team": ""}).status_code == 302
    assert count(app) == 2

    with database(app) as session:
        invite_id = session.scalars(select(Invite.id).where(Invite.email == "new.person@example.org")).one()
    cancel = f"/org/{admin.organisation}/invites/{invite_id}/cancel"
    assert admin.post(cancel, data={"csrf_token": "forged"}).status_code == 400
    assert count(app) == 2
    assert admin.submit(cancel, form_page=f"/org/{admin.organisation}").status_code == 302
    assert only_new_event(app, 2, audit.INVITATION_CANCELLED, admin).details == {"email": "new.person@example.org"}
    assert admin.submit(cancel, form_page=f"/org/{admin.organisation}").status_code == 404  # gone already
    assert count(app) == 3

    page = audit_page(admin)
    assert "Invited new.person@example.org to join Housing as Prevent Champion" in page
    assert "Invited other@example.org to join as Learner" in page
    assert "Cancelled the invitation to new.person@example.org" in page


def upload(admin, content: bytes):
    return admin.submit(f"/org/{admin.organisation}/invite/upload",
                        {"file": (io.BytesIO(content), "people.csv", "text/csv")}, content_type="multipart/form-data")


def test_an_upload_of_invitations_is_one_entry(app, admin):
    assert upload(admin, b"email,name\nnot-an-address,X\nlearner@example.org,Lena\n").status_code == 400
    assert upload(admin, b"name\nNo email column\n").status_code == 400
    assert count(app) == 0

    response = upload(admin, b"email,name,team\nada@example.org,Ada,Housing\nbo@example.org,Bo,\nbad,Bad,\n")
    assert response.status_code == 200
    event = only_new_event(app, 0, audit.INVITATIONS_UPLOADED, admin)
    assert event.details == {"emails": ["ada@example.org", "bo@example.org"], "problems": 1}
    page = audit_page(admin)
    assert "Invited 2 people from a CSV file · 1 row was not invited" in page
    assert re.search(r"<details><summary>Who was invited</summary>.*ada@example.org.*bo@example.org.*</details>", page, re.S)


# --- training requirements ----------------------------------------------------------------------

def test_offered_courses_changes_are_recorded(app, admin):
    path = f"/org/{admin.organisation}/training/courses"
    form_page = f"/org/{admin.organisation}/training"
    assert admin.submit(path, {"courses": [TINY, SECOND]}, form_page=form_page).status_code == 302  # as they were
    assert admin.submit(path, {"courses": ["no-such-course"]}, form_page=form_page).status_code == 400
    assert count(app) == 0

    assert admin.submit(path, {"courses": [TINY]}, form_page=form_page).status_code == 302
    assert only_new_event(app, 0, audit.COURSES_OFFERED, admin).details == {"offered": [], "withdrawn": [SECOND]}
    assert admin.submit(path, {"courses": [SECOND]}, form_page=form_page).status_code == 302
    assert only_new_event(app, 1, audit.COURSES_OFFERED, admin).details == {"offered": [SECOND], "withdrawn": [TINY]}

    page = audit_page(admin)
    assert "Stopped offering A second test course" in page
    assert "Started offering A second test course<br>Stopped offering A tiny test course" in page


def test_requirement_changes_are_recorded(app, admin, demo):
    path = f"/org/{admin.organisation}/training/requirements"
    form_page = f"/org/{admin.organisation}/training"
    housing = str(team(demo, "Housing"))

    def require(due_days, team_id=housing, role="learner"):
        return admin.submit(path, {"course_id": TINY, "team_id": team_id, "role": role, "due_days": due_days},
                            form_page=form_page)

    assert require("-4").status_code == 400
    assert require("30", team_id="99999").status_code == 400
    assert count(app) == 0

    assert require("30").status_code == 302
    assert only_new_event(app, 0, audit.REQUIREMENT_ADDED, admin).details == {
        "course": TINY, "team": "Housing", "role": "learner", "due_days": 30}
    assert require("30").status_code == 302  # the same again: nothing changed
    assert count(app) == 1
    assert require("45").status_code == 302
    assert only_new_event(app, 1, audit.REQUIREMENT_CHANGED, admin).details == {
        "course": TINY, "team": "Housing", "role": "learner", "due_days": 45, "previous_due_days": 30}
    assert require("1", team_id="", role="").status_code == 302

    with database(app) as session:
        requirement_id = session.scalars(select(TrainingRequirement.id).where(TrainingRequirement.team_id.is_not(None))).one()
    remove = f"/org/{admin.organisation}/training/requirements/{requirement_id}/remove"
    eastgate = FormClient(app.test_client(), [])
    eastgate.sign_in("eastgate-admin@example.org")
    assert eastgate.submit(remove, form_page="/account").status_code == 404
    assert admin.post(remove, data={"csrf_token": "forged"}).status_code == 400
    assert count(app) == 3
    assert admin.submit(remove, form_page=form_page).status_code == 302
    assert only_new_event(app, 3, audit.REQUIREMENT_REMOVED, admin).details == {
        "course": TINY, "team": "Housing", "role": "learner", "due_days": 45}

    page = audit_page(admin)
    assert "Required A tiny test course of people in Housing whose role is Learner, within 30 days of joining" in page
    assert ("Changed the deadline for A tiny test course, required of people in Housing whose role is Learner, "
            "to 45 days after joining") in page and "(it was 30 days)" in page
    assert "Required A tiny test course of everyone in the organisation, within 1 day of joining" in page
    assert "Stopped requiring A tiny test course of people in Housing whose role is Learner" in page


def test_a_change_and_its_entry_are_committed_together(app, demo):
    """The entry is written in the change's own transaction: rolled back, neither is kept."""
    with app.test_request_context():
        session = db.get_session()
        organisation = session.get(Organisation, northmoor(demo))
        actor = session.get(User, demo["users"]["orgadmin@example.org"])
        courses = app.extensions["lms.catalogue"].all()
        training.add_requirement(session, organisation_scope(organisation), courses, course_id=TINY, team_id=None,
                                 role=None, due_days=30, actor=actor)
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1
        session.rollback()
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
        assert session.scalar(select(func.count()).select_from(TrainingRequirement)) == 0


def test_only_org_admins_read_the_entries(app, admin, demo):
    assert admin.submit(f"/org/{admin.organisation}/invite", {"email": "x@example.org", "role": "learner", "team": ""}).status_code == 302
    for email in ("champion@example.org", "learner@example.org", "eastgate-admin@example.org"):
        other = FormClient(app.test_client(), [])
        other.sign_in(email)
        assert other.get(f"/org/{admin.organisation}/audit").status_code == 404, email


# --- every new line is marked for translation ---------------------------------------------------

def test_the_new_entries_are_marked_for_translation(pseudo_client):  # noqa: F811
    from lms.catalogue import load_course
    from tests.conftest import FIXTURE_COURSES

    client = pseudo_client
    client.sign_in("orgadmin@example.org")
    client.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = PSEUDO
    client.submit("/org/1/invite", {"email": "new@example.org", "role": "learner", "team": "1"})
    client.submit("/org/1/invite", {"email": "solo@example.org", "role": "trainer", "team": ""})
    client.submit("/org/1/invite/upload", {"file": (io.BytesIO(b"email\nada@example.org\nbad\n"), "p.csv", "text/csv")},
                  content_type="multipart/form-data")
    client.submit("/org/1/certificate-design", {"template": "simple", "logo": (io.BytesIO(png_logo()), "logo.png")},
                  content_type="multipart/form-data")
    client.submit("/org/1/certificate-design", {"template": "classic", "remove_logo": "y"}, content_type="multipart/form-data")
    client.submit("/org/1/training/requirements", {"course_id": "tiny", "team_id": "1", "role": "learner", "due_days": "30"},
                  form_page="/org/1/training")
    client.submit("/org/1/training/requirements", {"course_id": "tiny", "team_id": "1", "role": "learner", "due_days": "1"},
                  form_page="/org/1/training")
    client.submit("/org/1/training/requirements", {"course_id": "tiny", "team_id": "", "role": "", "due_days": "7"},
                  form_page="/org/1/training")
    client.submit("/org/1/training/courses", {}, form_page="/org/1/training")
    with database_of(client) as session:
        actions = {event.action for event in session.scalars(select(AuditEvent))}
    assert actions >= {audit.INVITATION, audit.INVITATIONS_UPLOADED, audit.CERTIFICATE_DESIGN, audit.REQUIREMENT_ADDED,
                       audit.REQUIREMENT_CHANGED, audit.COURSES_OFFERED}
    title = load_course(FIXTURE_COURSES / "tiny")[0].title()
    html = client.get("/org/1/audit").get_data(as_text=True)
    # A role inside "whom" inside a sentence nests marked text three deep: take it off from the inside.
    while re.search(r"⟦[^⟦⟧]*⟧", html):
        html = re.sub(r"⟦[^⟦⟧]*⟧", " ", html)
    assert unmarked(html, DEMO_DATA + [title, "new@example.org", "solo@example.org", "ada@example.org", "Classic",
                                       "Simple"]) == []


def database_of(client):
    return database(client.client.application)


def test_a_revocation_reads_in_the_readers_language_everywhere(pseudo_client):  # noqa: F811
    from datetime import timedelta

    from lms.catalogue import load_course
    from lms.db import utcnow
    from lms.models import Completion
    from tests.conftest import FIXTURE_COURSES

    with database_of(pseudo_client) as session:
        learner = session.scalars(select(User).where(User.email == "learner@example.org")).one()
        now = utcnow()
        completion = Completion(user_id=learner.id, course_id="tiny", course_version="1", language="en", method="online",
                                completed_at=now - timedelta(days=3), expires_at=now + timedelta(days=700))
        session.add(completion)
        session.flush()
        certificate = Certificate(completion_id=completion.id, code=codes.new_code(), organisation_id=1)
        session.add(certificate)
        session.commit()
        certificate_id, code = certificate.id, codes.display(certificate.code)
    pseudo_client.sign_in("orgadmin@example.org")
    pseudo_client.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = PSEUDO
    pseudo_client.submit(f"/org/1/certificates/{certificate_id}/revoke", {"reason": "Wrong person"})
    title = load_course(FIXTURE_COURSES / "tiny")[0].title()
    from zoneinfo import ZoneInfo

    from babel.dates import format_date

    completed_on = (now - timedelta(days=3)).astimezone(ZoneInfo("Europe/London")).date()
    data = DEMO_DATA + [title, code, "Wrong person"] + [format_date(completed_on, style, locale=PSEUDO)
                                                          for style in ("long", "medium")]
    assert unmarked(pseudo_client.get("/org/1/audit").get_data(as_text=True), data) == []
    pseudo_client.sign_out()
    pseudo_client.sign_in("learner@example.org")
    refused = pseudo_client.get(f"/certificates/{code}.pdf")
    assert refused.status_code == 410
    assert unmarked(refused.get_data(as_text=True), data) == []
    for path in ("/courses", "/courses/tiny"):
        assert unmarked(pseudo_client.get(path).get_data(as_text=True), data) == [], path
