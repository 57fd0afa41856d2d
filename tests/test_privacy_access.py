"""A person downloads everything held about them (issue 14, access): every row that names
them, found from the models' foreign keys, and nobody else's details."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.audit import services as audit
from lms.db import Base, utcnow
from lms.learn import services as learn
from lms.models import (Attendance, Certificate, Completion, GuestLearner, Invite, Job, LtiAccount, LtiGradeLink, LtiPlatform,
                        Reminder, TranslationReview, User, Workshop, XapiStatement)
from lms.privacy import holdings
from tests.conftest import database, text_of

NORTHMOOR = "Northmoor Borough Council"
PEOPLE = ["learner@example.org", "learner2@example.org", "champion@example.org", "trainer@example.org",
          "orgadmin@example.org", "admin@example.org"]
# People who are in the records below but have no account of their own.
OTHERS = ["New Comer", "newcomer@example.org", "Walk-in Wanjiru", "wanjiru@example.org"]


def test_every_foreign_key_to_users_says_whose_row_it_is():
    keys = holdings.keys_to_users()
    assert keys == holdings.SUBJECT_KEYS | holdings.ACTOR_KEYS, (
        "classify each new foreign key to users in lms/privacy/holdings.py: "
        f"{sorted(keys - holdings.SUBJECT_KEYS - holdings.ACTOR_KEYS)}")
    assert not holdings.SUBJECT_KEYS & holdings.ACTOR_KEYS


@pytest.fixture
def records(app, demo):
    """A row in every table that names a person, made by the people of the demo."""
    organisation = demo["organisations"][NORTHMOOR]
    user = {email: demo["users"][email] for email in PEOPLE}
    now = utcnow()
    with database(app) as session:
        course = app.extensions["lms.catalogue"].get("tiny")
        for email in ("learner@example.org", "learner2@example.org"):
            for slug in course.module_slugs:
                learn.mark_lesson_read(session, user[email], course, slug)
            attempt = learn.start_attempt(session, user[email], course, "en")
            answers = {qid: sorted(course.question_bank[qid].answers) for qid in attempt.question_ids}
            session.commit()
            learn.submit_attempt(session, user[email], course, attempt.id, answers, organisation_id=organisation)
            session.commit()
        revoked = session.scalars(select(Certificate).join(Completion).where(
            Completion.user_id == user["learner2@example.org"])).one()
        revoked.revoked_at, revoked.revoked_by_id = now, user["orgadmin@example.org"]
        revoked.revoked_reason = "Dev Sharma's name was misspelt"
        session.add(Reminder(organisation_id=organisation, user_id=user["learner@example.org"], course_id="tiny",
                             status="overdue", language="en", sent_by_id=user["champion@example.org"], sent_at=now))
        workshop = Workshop(organisation_id=organisation, course_id="tiny", language="en", starts_at=now,
                            ends_at=now + timedelta(hours=1), venue="Northmoor Hall",
                            created_by_id=user["trainer@example.org"], trainer_id=user["trainer@example.org"])
        session.add(workshop)
        session.flush()
        session.add_all([
            Attendance(workshop_id=workshop.id, name="Lena Kowalska", email="learner@example.org",
                       user_id=user["learner@example.org"], added_by_id=user["trainer@example.org"]),
            Attendance(workshop_id=workshop.id, name="Walk-in Wanjiru", email="wanjiru@example.org",
                       added_by_id=user["trainer@example.org"]),
            GuestLearner(name="Lena K", claimed_by_id=user["learner@example.org"]),
            Invite(organisation_id=organisation, email="newcomer@example.org", name="New Comer",
                   expires_at=now + timedelta(days=7), invited_by_id=user["orgadmin@example.org"]),
            Job(organisation_id=organisation, requested_by_id=user["champion@example.org"],
                task="lms.reports.export_files:export_job", params={"filters": {"search": "Dev Sharma"}}),
            TranslationReview(course_id="tiny", language="ur", reviewed_by_id=user["admin@example.org"]),
            XapiStatement(statement_id="0b7f5c1e-3d4a-4b8e-9f10-1a2b3c4d5e6f", user_id=user["learner@example.org"],
                          payload={"verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}}),
        ])
        platform = LtiPlatform(organisation_id=organisation, name="Trust Moodle", issuer="https://moodle.example",
                               client_id="abc", deployment_ids=["1"], auth_login_url="https://moodle.example/auth",
                               auth_token_url="https://moodle.example/token", key_set_url="https://moodle.example/jwks")
        session.add(platform)
        session.flush()
        account = LtiAccount(platform_id=platform.id, subject="moodle-17", user_id=user["learner@example.org"])
        session.add(account)
        session.flush()
        session.add(LtiGradeLink(account_id=account.id, course_id="tiny", resource_link_id="link-1",
                                 endpoint={"lineitems": "https://moodle.example/lineitems"}))
        audit.record(session, organisation, session.get(User, user["orgadmin@example.org"]), audit.INVITATION,
                     email="newcomer@example.org", name="New Comer")
        # Entries about people, naming them in their details.
        audit.record(session, organisation, session.get(User, user["trainer@example.org"]), audit.ATTENDEE_ADDED,
                     workshop_id=workshop.id, name="Lena Kowalska")
        audit.record(session, organisation, session.get(User, user["orgadmin@example.org"]), audit.INVITATIONS_UPLOADED,
                     emails=["learner@example.org", "learner2@example.org", "newcomer@example.org"], problems=0)
        session.commit()
    return user


def names_and_emails(app) -> dict[int, list[str]]:
    with database(app) as session:
        return {row.id: [row.name, row.email] for row in session.execute(select(User.id, User.name, User.email))}


def test_each_person_gets_every_row_that_names_them_and_nobody_elses_details(app, client, records):
    everyone = names_and_emails(app)
    tables = Base.metadata.tables
    with database(app) as session:
        # Each kind of row is in the records at least once, or this test would prove nothing of it.
        for table_name, column in holdings.keys_to_users():
            assert session.execute(select(tables[table_name].c.id).where(
                tables[table_name].c[column].is_not(None)).limit(1)).first(), (table_name, column)
        naming = {email: {(table_name, row_id) for table_name, column in holdings.keys_to_users()
                          for row_id in session.scalars(select(tables[table_name].c.id).where(
                              tables[table_name].c[column] == user_id))}
                  for email, user_id in records.items()}
    for email, user_id in records.items():
        client.sign_in(email)
        response = client.get("/account/your-data.json")
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert "attachment" in response.headers["Content-Disposition"]
        text = response.get_data(as_text=True)
        held = json.loads(text)
        assert held["you"]["email"] == email and "password_hash" not in held["you"]
        given = {(table_name, row["id"]) for part in ("about_you", "your_actions")
                 for table_name, rows in held[part].items() for row in rows}
        assert naming[email] <= given, (email, naming[email] - given)
        others = [detail for other_id, details in everyone.items() if other_id != user_id for detail in details]
        for detail in others + OTHERS:
            # Whole names and addresses: admin@example.org is not in orgadmin@example.org.
            assert not re.search(rf"(?<![\w.+-]){re.escape(detail)}(?![\w-])", text), (email, detail)
        client.sign_out()


def test_what_a_learner_gets_reads_as_their_record(app, client, records):
    client.sign_in("learner2@example.org")
    held = json.loads(client.get("/account/your-data.json").get_data(as_text=True))
    about = held["about_you"]
    assert {"memberships", "lesson_progress", "quiz_attempts", "completions", "certificates"} <= set(about)
    # Their revoked certificate says why, though an admin wrote it: it is about them.
    assert about["certificates"][0]["revoked_reason"] == "Dev Sharma's name was misspelt"
    assert held["your_actions"] == {}


def test_audit_entries_about_a_person_are_theirs_with_everyone_else_left_out(app, client, records):
    client.sign_in("learner@example.org")
    held = json.loads(client.get("/account/your-data.json").get_data(as_text=True))
    entries = {entry["action"]: entry for entry in held["about_you"]["audit_events"]}
    assert set(entries) == {"attendee_added", "invitations_uploaded"}
    assert entries["attendee_added"]["details"]["name"] == "Lena Kowalska"
    assert entries["invitations_uploaded"]["details"]["emails"] == ["learner@example.org"]
    # An entry that names someone else only is not in their file.
    client.sign_out()
    client.sign_in("learner2@example.org")
    held = json.loads(client.get("/account/your-data.json").get_data(as_text=True))
    assert [entry["action"] for entry in held["about_you"]["audit_events"]] == ["invitations_uploaded"]


def test_without_signing_in_there_is_nothing_to_download(client, records):
    response = client.get("/account/your-data.json")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert b"Lena" not in response.get_data()


def test_every_kind_of_record_and_field_has_words_on_the_readable_page():
    from lms.privacy import labels

    tables = Base.metadata.tables
    about = holdings.personal_tables() | {"audit_events"}
    actions = {name for name, _column in holdings.ACTOR_KEYS}
    assert about - {"users"} <= set(labels.SECTIONS), sorted(about - {"users"} - set(labels.SECTIONS))
    assert actions <= set(labels.ACTION_SECTIONS), sorted(actions - set(labels.ACTION_SECTIONS))
    columns = ({column.name for name in about for column in tables[name].columns}
               | {column.name for name, key in holdings.ACTOR_KEYS for column in holdings.actor_columns(tables[name], key)})
    assert columns - {"password_hash", "session_token"} <= set(labels.FIELDS), sorted(columns - set(labels.FIELDS))


def test_the_readable_page_shows_what_the_download_holds(app, client, records):
    for email in ("learner@example.org", "orgadmin@example.org"):
        client.sign_in(email)
        held = json.loads(client.get("/account/your-data.json").get_data(as_text=True))
        page = client.get("/account/your-data")
        assert page.status_code == 200
        text = text_of(page)
        assert held["you"]["email"] in text and held["you"]["name"] in text
        for part in ("about_you", "your_actions"):
            for rows in held[part].values():
                for row in rows:
                    for field in ("name", "email", "code", "revoked_reason", "module_slug"):
                        if row.get(field):
                            assert row[field] in text, (email, field)
        assert ("Lessons you have read" in text) == (email == "learner@example.org")
        assert "password" not in text.lower().replace("change your password", "")
        client.sign_out()
    assert client.get("/account/your-data").status_code == 302
