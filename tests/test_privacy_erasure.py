"""Erasure (issue 14): a person deletes their account, an org admin erases a member, a trainer
a walk-in. Afterwards their name and address are in no table and no file, their completions
still count, and their certificates verify without a name."""
from __future__ import annotations

import io
import json
import re
import subprocess
import threading
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import JSON, String, Text, func, select

from lms.audit import services as audit
from lms.certify import batches
from lms.db import Base, utcnow
from lms.learn import services as learn
from lms.models import (Attendance, AuditEvent, Certificate, Completion, GuestLearner, Job, Membership, Organisation,
                        QuizAttempt,
                        Reminder, User)
from lms.people.scope import scope_for
from lms.privacy import erasure
from lms.reports import reminders
from lms.people.scope import organisation_scope
from lms.reports.services import offered_courses
from lms.reports.status import Filters
from tests.conftest import FormClient, database, snapshot, text_of
from tests.test_export_jobs import job_id_of, start
from tests.test_privacy_access import NORTHMOOR, records  # noqa: F401

LENA = ["Lena Kowalska", "Lena K", "learner@example.org"]
WANJIRU = ["Walk-in Wanjiru", "wanjiru@example.org"]


# --- finding a name anywhere -------------------------------------------------------------------

def _mentions(text: str, words: list[str]) -> list[str]:
    return [word for word in words
            if re.search(rf"(?<![\w.+-]){re.escape(word)}(?![\w-])", text, flags=re.IGNORECASE)]


def found_in_tables(app, words: list[str]) -> list[tuple[str, str, str]]:
    """Every text column of every table, from the models' metadata, so a table added later is
    searched too."""
    found = []
    escaped = words + [json.dumps(word)[1:-1] for word in words]
    with database(app) as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
            for row in session.execute(select(*columns)) if columns else []:
                for column, value in zip(columns, row):
                    text = value if isinstance(value, str) else json.dumps(value)
                    found += [(table.name, column.name, word) for word in _mentions(text, escaped)]
    return found


def text_of_file(path: Path) -> str:
    if path.suffix == ".pdf":
        return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            parts = []
            for name in archive.namelist():
                parts.append(name)
                inner = path.parent / f".scan-{Path(name).name}"
                inner.write_bytes(archive.read(name))
                parts.append(text_of_file(inner))
                inner.unlink()
            return "\n".join(parts)
    if path.suffix == ".xlsx":
        sheet = load_workbook(io.BytesIO(path.read_bytes())).active
        return "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row)
    return path.read_bytes().decode("utf-8", errors="replace")


def found_in_files(app, words: list[str]) -> list[tuple[str, str]]:
    found = []
    for folder in (app.config["CERTIFICATE_CACHE_DIR"], app.config["BATCH_DIR"]):
        for path in Path(folder).rglob("*"):
            if path.is_file():
                found += [(str(path), word) for word in _mentions(text_of_file(path), words)]
    return found


# --- copies of names on disk, as a working organisation would have them ------------------------

def signed_in(app, email: str) -> FormClient:
    client = FormClient(app.test_client(), [])
    client.sign_in(email)
    return client


def certificate_code(app, email: str) -> str:
    with database(app) as session:
        return session.scalars(select(Certificate.code).join(Completion).join(User).where(User.email == email)).first()


@pytest.fixture
def copies(app, demo, records, queued_jobs):  # noqa: F811
    """Lena's certificate drawn, a batch of the organisation's certificates and a people list
    prepared (each naming her), and a walk-in's certificate from a closed register."""
    organisation = demo["organisations"][NORTHMOOR]
    learner = signed_in(app, "learner@example.org")
    assert learner.get(f"/certificates/{certificate_code(app, 'learner@example.org')}.pdf").status_code == 200
    with database(app) as session:
        wanjiru = session.scalars(select(Attendance).where(Attendance.name == "Walk-in Wanjiru")).one()
        guest = GuestLearner(name="Walk-in Wanjiru")
        session.add(guest)
        session.flush()
        now = utcnow()
        completion = Completion(guest_id=guest.id, course_id="tiny", course_version="1", language="en",
                                method="attendance", completed_at=now, expires_at=now.replace(year=now.year + 2))
        session.add(completion)
        session.flush()
        from lms.certify.services import issue_certificate
        issue_certificate(session, completion.id, organisation)
        wanjiru.guest_id, wanjiru.completion_id = guest.id, completion.id
        admin = session.get(User, demo["users"]["orgadmin@example.org"])
        scope = scope_for(session, admin, organisation)
        # Audit entries that name them, as the register and certificate pages write them.
        for name in ("Lena Kowalska", "Walk-in Wanjiru"):
            audit.record(session, organisation, admin, audit.ATTENDEE_ADDED, workshop_id=wanjiru.workshop_id, name=name)
        batch_ids = [batches.create_batch(session, scope, kind=kind, course_id=None, requested_by=admin).id
                     for kind in ("zip", "pdf")]
        session.commit()
    for batch_id in batch_ids:
        with app.app_context():
            batches.draw_batch(batch_id)
    app.config["EXPORT_STREAM_ROWS"] = 1
    champion = signed_in(app, "champion@example.org")
    export = job_id_of(start(champion, demo, "xlsx"))
    assert queued_jobs() == 1
    assert found_in_files(app, ["Lena Kowalska", "Walk-in Wanjiru"]), "the copies were not made"
    return {"organisation": organisation, "export": export, "batches": batch_ids}


def counts(app) -> dict:
    with database(app) as session:
        return {"completions": session.scalar(select(func.count()).select_from(Completion)),
                "certificates": session.scalar(select(func.count()).select_from(Certificate)),
                "attendances": session.scalar(select(func.count()).select_from(Attendance))}


# --- a person deletes their own account ----------------------------------------------------------

def test_deleting_your_account_leaves_your_name_and_address_in_no_table_and_no_file(app, demo, copies):
    before = counts(app)
    code = certificate_code(app, "learner@example.org")
    learner = signed_in(app, "learner@example.org")
    assert found_in_tables(app, LENA)
    response = learner.submit("/account/delete", {"password": "demo-password"})
    assert response.status_code == 302
    assert found_in_tables(app, LENA) == []
    assert found_in_files(app, LENA) == []
    # Completions, certificates and the register's count stay: the organisation's totals are right.
    assert counts(app) == before
    with database(app) as session:  # the entries stay, without her
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "attendee_added")) == 3
        uploaded = session.scalars(select(AuditEvent).where(AuditEvent.action == "invitations_uploaded")).one()
        assert uploaded.details["emails"] == [audit.ERASED, "learner2@example.org", "newcomer@example.org"]
    verified = text_of(app.test_client().get(f"/verify/{code}"))
    assert "This certificate is valid" in verified and "details have since been erased" in verified
    assert "Lena" not in verified
    # Signed out, and the account is gone: signing in again fails.
    assert learner.get("/account").status_code == 302
    again = FormClient(app.test_client(), []).submit("/sign-in", {"email": "learner@example.org",
                                                                  "password": "demo-password"})
    assert again.status_code == 400
    with database(app) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "person_erased")).one()
        assert event.actor_id is None and event.details["reason"] == "own_request"
    with database(app) as session:
        # Other people's details are untouched.
        assert session.scalar(select(User.name).where(User.email == "learner2@example.org")) == "Dev Sharma"
        assert session.scalars(select(Attendance.name).where(Attendance.name == "Walk-in Wanjiru")).one()
    # Dev Sharma too: a champion searched for his name, and his certificate was revoked with a
    # reason naming him.
    dev = ["Dev Sharma", "learner2@example.org"]
    assert found_in_tables(app, dev)
    assert signed_in(app, "learner2@example.org").submit("/account/delete", {"password": "demo-password"}).status_code == 302
    assert found_in_tables(app, dev) == [] and found_in_files(app, dev) == []


def test_the_wrong_password_or_none_erases_nothing(app, demo, records):  # noqa: F811
    learner = signed_in(app, "learner@example.org")
    assert "Delete your account" in text_of(learner.get("/account"))
    before = snapshot(app)
    for data, message in (({"password": "not-my-password"}, "Your password is not right"),
                          ({"password": ""}, "Enter your password"),
                          ({"password": "x" * 5000}, "")):
        response = learner.submit("/account/delete", data)
        assert response.status_code == 400, data
        assert message in text_of(response)
    assert learner.post("/account/delete", data={"password": "demo-password"}).status_code == 400  # no CSRF token
    assert snapshot(app) == before


def test_the_only_org_admin_of_an_organisation_with_members_must_hand_over_first(app, demo):
    admin = signed_in(app, "orgadmin@example.org")
    page = text_of(admin.get("/account/delete"))
    assert "You are the only org admin of Northmoor Borough Council" in page
    before = snapshot(app)
    response = admin.submit("/account/delete", {"password": "demo-password"}, form_page="/account")
    assert response.status_code == 400 and "only org admin" in text_of(response)
    assert snapshot(app) == before


def test_signed_out_there_is_nothing_to_delete(client, demo):
    response = client.get("/account/delete")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


# --- an org admin erases a member ------------------------------------------------------------------

def member_path(app, demo, email: str) -> str:
    organisation = demo["organisations"][NORTHMOOR]
    with database(app) as session:
        membership = session.scalars(select(Membership.id).join(User).where(
            User.email == email, Membership.organisation_id == organisation)).one()
    return f"/org/{organisation}/members/{membership}/erase"


def test_an_org_admin_erases_a_member_and_the_log_keeps_no_name(app, demo, copies):
    before = counts(app)
    admin = signed_in(app, "orgadmin@example.org")
    path = member_path(app, demo, "learner@example.org")
    assert "Erase Lena Kowalska" in text_of(admin.get(path))
    response = admin.submit(path, {})
    assert response.status_code == 302
    assert found_in_tables(app, LENA) == [] and found_in_files(app, LENA) == []
    assert counts(app) == before
    log = text_of(admin.get(f"/org/{demo['organisations'][NORTHMOOR]}/audit"))
    assert "Erased a person&#39;s account" in log or "Erased a person's account" in log
    assert "Lena" not in log
    with database(app) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "person_erased")).one()
        assert event.actor_id == demo["users"]["orgadmin@example.org"] and event.details["reason"] == "org_admin"
    # The champion's export held her name, so it is gone: the download says so.
    champion = signed_in(app, "champion@example.org")
    gone = champion.get(f"/org/{demo['organisations'][NORTHMOOR]}/reports/exports/{copies['export']}/download")
    assert gone.status_code == 410


def test_only_an_org_admin_may_erase_and_only_someone_of_theirs_alone(app, demo, records):  # noqa: F811
    path = member_path(app, demo, "learner@example.org")
    others = {email: signed_in(app, email)
              for email in ("champion@example.org", "learner2@example.org", "eastgate-admin@example.org")}
    admin = signed_in(app, "orgadmin@example.org")
    before = snapshot(app)
    for email, someone in others.items():
        assert someone.get(path).status_code in (403, 404), email
        assert someone.submit(path, {}, form_page="/account").status_code in (403, 404), email
    # The trainer is also in another organisation: not this admin's account to erase.
    trainer = member_path(app, demo, "trainer@example.org")
    assert "also belongs to another organisation" in text_of(admin.get(trainer))
    refused = admin.submit(trainer, {}, form_page=path)
    assert refused.status_code == 400 and "also belongs to another organisation" in text_of(refused)
    own = admin.submit(member_path(app, demo, "orgadmin@example.org"), {}, form_page=path)
    assert own.status_code == 400 and "your account page" in text_of(own)
    organisation = demo["organisations"][NORTHMOOR]
    for bad in (f"/org/{organisation}/members/99999999999/erase", f"/org/{organisation}/members/0/erase"):
        assert admin.get(bad).status_code == 404
    assert snapshot(app) == before


# --- a trainer erases a walk-in ---------------------------------------------------------------------

def walk_in_path(app, demo) -> str:
    with database(app) as session:
        attendance = session.scalars(select(Attendance).where(Attendance.name == "Walk-in Wanjiru")).one()
        return (f"/org/{demo['organisations'][NORTHMOOR]}/sessions/{attendance.workshop_id}/register/"
                f"{attendance.id}/erase")


def test_a_trainer_erases_a_walk_in_and_their_certificate_verifies_without_a_name(app, demo, copies):
    before = counts(app)
    with database(app) as session:
        code = session.scalars(select(Certificate.code).join(Completion).join(GuestLearner)).one()
    trainer = signed_in(app, "trainer@example.org")
    path = walk_in_path(app, demo)
    register = path.rsplit("/", 2)[0]
    assert path in text_of(trainer.get(register))
    response = trainer.submit(path, {})
    assert response.status_code == 302
    assert found_in_tables(app, WANJIRU) == [] and found_in_files(app, WANJIRU) == []
    assert counts(app) == before
    assert "Details erased" in text_of(trainer.get(register))
    verified = text_of(app.test_client().get(f"/verify/{code}"))
    assert "Holder&#39;s details erased" in verified or "Holder's details erased" in verified
    # Erased once is erased: the page for it is no longer there.
    assert trainer.get(path).status_code == 404
    # Lena, on the same register with her account, keeps her name there.
    assert "Lena Kowalska" in text_of(trainer.get(register))


def test_a_walk_in_cannot_be_erased_by_a_learner_and_an_account_holder_not_by_a_trainer(app, demo, records):  # noqa: F811
    path = walk_in_path(app, demo)
    learner, trainer = signed_in(app, "learner2@example.org"), signed_in(app, "trainer@example.org")
    before = snapshot(app)
    assert learner.get(path).status_code in (403, 404)
    with database(app) as session:
        lena = session.scalars(select(Attendance).where(Attendance.name == "Lena Kowalska")).one()
    account_holder = path.rsplit("/", 2)[0] + f"/{lena.id}/erase"
    refused = trainer.submit(account_holder, {}, form_page=path)
    assert refused.status_code == 400 and "checked in with their account" in text_of(refused)
    assert snapshot(app) == before


# --- at the same moment as something else -------------------------------------------------------------

def test_erased_mid_quiz_their_next_answer_meets_the_sign_in_page(app, demo):
    learner = signed_in(app, "learner@example.org")
    started = learner.submit("/courses/tiny/quiz", {})
    assert started.status_code == 302
    attempt_page = started.headers["Location"]
    token = learner.csrf_token(attempt_page)
    with database(app) as session:
        user_id = demo["users"]["learner@example.org"]
        attempt = session.scalars(select(QuizAttempt).where(QuizAttempt.user_id == user_id)).one()
        answers = {f"q-{qid}": "a" for qid in attempt.question_ids}
        erasure.erase_account(session, user_id, erasure.Storage.of(app), erased_by=None, reason=erasure.OWN_REQUEST)
        session.commit()
    response = learner.post(attempt_page, data={"csrf_token": token, **answers})
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    with database(app) as session:
        assert session.scalar(select(func.count()).select_from(QuizAttempt)) == 0
        assert session.scalar(select(func.count()).select_from(Completion).where(Completion.user_id == user_id)) == 0


def test_a_download_they_asked_for_is_withdrawn_and_a_batch_drawn_later_leaves_them_out(app, demo, records,  # noqa: F811
                                                                                         queued_jobs):
    app.config["EXPORT_STREAM_ROWS"] = 1
    champion = signed_in(app, "champion@example.org")
    export = job_id_of(start(champion, demo, "csv"))
    organisation = demo["organisations"][NORTHMOOR]
    with database(app) as session:
        admin = session.get(User, demo["users"]["orgadmin@example.org"])
        batch_id = batches.create_batch(session, scope_for(session, admin, organisation), kind="zip", course_id=None,
                                        requested_by=admin).id
        session.commit()
        lenas_certificate = session.scalar(select(Certificate.id).join(Completion).where(
            Completion.user_id == demo["users"]["learner@example.org"]))
        for email in ("champion@example.org", "learner@example.org"):
            user_id = demo["users"][email]
            erasure.erase_account(session, user_id, erasure.Storage.of(app), erased_by=None, reason=erasure.OWN_REQUEST)
            session.commit()
    queued_jobs()  # the export, queued before the champion was erased
    with app.app_context():
        batches.draw_batch(batch_id)
    with database(app) as session:
        assert session.get(Job, export) is None
        batch = session.get(Job, batch_id)
        assert batch.status == "done" and batch.done == 0
        assert lenas_certificate in batch.params["certificate_ids"]
    assert not (Path(app.config["BATCH_DIR"]) / "exports" / f"{export}.csv").exists()
    assert found_in_files(app, LENA) == []
    archive = zipfile.ZipFile(batches.output_path(Path(app.config["BATCH_DIR"]), batch))
    assert not any("Lena" in name for name in archive.namelist())


def test_a_reminder_being_sent_as_they_are_erased_finishes_first_and_leaves_no_orphan(app, demo):
    """The reminder job holds the organisation's lock from planning to recording its sends; an
    erasure that starts meanwhile waits for it, then removes the reminders with the account."""
    organisation_id = demo["organisations"][NORTHMOOR]
    learner_id = demo["users"]["learner@example.org"]
    planned, erased, problems = threading.Event(), threading.Event(), []

    def remind():
        try:
            with app.app_context(), app.test_request_context():
                from lms import db

                session = db.get_session()
                organisation = session.get(Organisation, organisation_id)
                course = offered_courses(session, organisation_id, app.extensions["lms.catalogue"].all())[0]
                reminders.lock_reminders(session, organisation_id)
                plan = reminders.plan_reminders(session, organisation_scope(organisation), Filters(), course,
                                                now=utcnow(), refresher_days=60)
                assert any(r.user_id == learner_id for r in plan.recipients)
                planned.set()
                erased.wait(2)  # the erasure is waiting on the lock, so this times out
                reminders.send_reminders(session, organisation, plan, sender=None, now=utcnow(),
                                         send=lambda *args: None)
                session.commit()
        except Exception as error:  # pragma: no cover - reported below
            problems.append(repr(error))
            planned.set()

    def erase():
        planned.wait(10)
        try:
            with app.app_context():
                from lms import db

                session = db.get_session()
                erasure.erase_account(session, learner_id, erasure.Storage.of(app), erased_by=None,
                                      reason=erasure.OWN_REQUEST)
                session.commit()
        except Exception as error:  # pragma: no cover - reported below
            problems.append(repr(error))
        erased.set()

    threads = [threading.Thread(target=remind), threading.Thread(target=erase)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert problems == []
    with database(app) as session:
        assert session.get(User, learner_id) is None
        assert session.scalar(select(func.count()).select_from(Reminder).where(Reminder.user_id == learner_id)) == 0
        # Others reminded in the same send keep their record.
        assert session.scalar(select(func.count()).select_from(Reminder)) >= 1
