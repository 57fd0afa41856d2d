"""Reminder emails: the preview, sending in each person's language, the weekly limit, the
scheduled job and the audit log."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.db import utcnow
from lms.models import AuditEvent, Reminder
from tests.conftest import database, snapshot, text_of
from tests.test_reports import (TINY, add_person, app, client, complete, courses_dir, northmoor,  # noqa: F401
                                require, team)


def reminders_path(demo, query: str) -> str:
    return f"/org/{northmoor(demo)}/reports/reminders?{query}"


def setup_housing(app, demo):
    with database(app) as session:
        organisation, housing = northmoor(demo), team(demo, "Housing")
        require(session, organisation, TINY, 30, team_id=housing)
        polish = add_person(session, organisation, "Zofia Nowak", team_id=housing, joined_days_ago=45, language="pl")
        urdu = add_person(session, organisation, "Ayesha Khan", team_id=housing, joined_days_ago=3, language="ur")
        done = add_person(session, organisation, "Dana Done", team_id=housing)
        complete(session, done, TINY, days_ago=2)
        other_team = add_person(session, organisation, "Omar Other", team_id=team(demo, "Children's Services"))
        session.commit()
        return {"pl": polish.id, "ur": urdu.id, "done": done.id, "other": other_team.id}


def test_preview_shows_who_and_what_before_anything_is_sent(app, client, demo):
    setup_housing(app, demo)
    client.sign_in("champion@example.org")
    before = snapshot(app)
    page = text_of(client.get(reminders_path(demo, f"course={TINY}")))
    assert "Zofia Nowak" in page and "Ayesha Khan" in page
    assert "Dana Done" not in page and "Omar Other" not in page  # completed; another team
    assert "This will email" in page and "This is the email Ayesha Khan will get" in page
    assert "<div class=\"email-preview\" lang=\"ur\" dir=\"rtl\">" in page  # her language, not the champion's
    assert snapshot(app) == before and client.outbox == []


def test_sending_emails_each_person_in_their_language_once_a_week(app, client, demo, queued_jobs):
    ids = setup_housing(app, demo)
    client.sign_in("champion@example.org")
    path = reminders_path(demo, f"course={TINY}&status=overdue")
    response = client.submit(path)
    assert response.status_code == 302 and client.outbox == []  # the request only queues the send
    assert queued_jobs() == 1
    assert len(client.outbox) == 1
    message = client.outbox[0]
    body = message.get_content()
    assert "zofianowak" in message["To"] and "Zofia Nowak" in body and "http://localhost/courses/tiny" in body
    # In Polish, her saved language: not the English the champion reads.
    assert not message["Subject"].startswith("Reminder:") and "Hello" not in body
    with database(app) as session:
        reminders = session.scalars(select(Reminder)).all()
        assert [(r.user_id, r.course_id, r.status, r.language) for r in reminders] == [(ids["pl"], TINY, "overdue", "pl")]
        assert reminders[0].sent_by_id == demo["users"]["champion@example.org"]

    # Everyone in the team who has not finished: Ayesha, the demo's Housing learner and the champion
    # (Housing's own member), with Zofia skipped as reminded this week.
    client.outbox.clear()
    page = text_of(client.get(reminders_path(demo, f"course={TINY}")))
    assert "1 person in this list was reminded" in page
    client.submit(reminders_path(demo, f"course={TINY}"))
    queued_jobs()
    recipients = [message["To"] for message in client.outbox]
    assert len(recipients) == 3
    assert not any("zofia" in address for address in recipients)
    ayesha = next(message for message in client.outbox if "ayesha" in message["To"])
    assert "Ayesha Khan" in ayesha.get_content()

    # A second send the same week reaches nobody.
    client.outbox.clear()
    client.submit(reminders_path(demo, f"course={TINY}"))
    queued_jobs()
    assert client.outbox == []

    # A week later they can be reminded again.
    with database(app) as session:
        for reminder in session.scalars(select(Reminder)):
            reminder.sent_at = utcnow() - timedelta(days=8)
        session.commit()
    client.submit(reminders_path(demo, f"course={TINY}"))
    queued_jobs()
    assert len(client.outbox) == 4

    with database(app) as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.action, e.details["sent"]) for e in events] == [("reminders", 1), ("reminders", 3), ("reminders", 0),
                                                                   ("reminders", 4)]
    client.sign_out()
    client.sign_in("orgadmin@example.org")
    log = text_of(client.get(f"/org/{northmoor(demo)}/audit"))
    assert "Emailed 4 reminders about A tiny test course" in log and "Chris Morgan" in log


def test_reminders_need_one_course_and_a_status_worth_reminding(app, client, demo):
    setup_housing(app, demo)
    client.sign_in("champion@example.org")
    before = snapshot(app)
    for query in ("", "status=not_started", f"course={TINY}&status=completed", f"course={TINY}&status=bogus"):
        response = client.get(reminders_path(demo, query))
        assert response.status_code == 400, query
    assert client.get(reminders_path(demo, "course=nope")).status_code == 404
    response = client.submit(reminders_path(demo, f"course={TINY}"), {"csrf_token": "forged"},
                             form_page=reminders_path(demo, f"course={TINY}"))
    assert response.status_code == 400
    assert snapshot(app) == before and client.outbox == []


def test_send_due_reminds_people_whose_completion_is_expiring(app, demo):
    with database(app) as session:
        organisation = northmoor(demo)
        expiring = add_person(session, organisation, "Erin Expiring", language="pl")
        complete(session, expiring, TINY, days_ago=330)      # expires in 35 days
        fresh = add_person(session, organisation, "Fran Fresh")
        complete(session, fresh, TINY, days_ago=30)
        session.commit()
        expiring_id = expiring.id
    runner = app.test_cli_runner()

    def send_due():
        with app.app_context():  # as the `lms` command runs it
            return runner.invoke(args=["reminders", "send-due"])

    result = send_due()
    assert result.exit_code == 0, result.output
    assert "Reminders sent: 1" in result.output
    outbox = app.config["MAIL_OUTBOX"]
    assert len(outbox) == 1 and "erin" in outbox[0]["To"]
    assert "http://localhost/courses/tiny" in outbox[0].get_content()
    # Run daily, it does not nag: nothing more until three weeks have passed.
    assert "Reminders sent: 0" in send_due().output
    with database(app) as session:
        reminder = session.scalars(select(Reminder)).one()
        assert (reminder.user_id, reminder.sent_by_id, reminder.status) == (expiring_id, None, "refresher_due")
        event = session.scalars(select(AuditEvent)).one()
        assert event.action == "scheduled_reminders" and event.actor_id is None and event.details["sent"] == 1


def test_two_champions_sending_at_once_email_each_person_once(app, demo, monkeypatch):
    """Two real concurrent sends of the same reminders, run by two workers at the same moment:
    nobody may get two emails."""
    import threading

    from lms import jobs
    from tests.conftest import FormClient

    queued = []
    monkeypatch.setattr(jobs, "enqueue", lambda _app, task, *args: queued.append((task, args)))
    setup_housing(app, demo)
    # The champion, and the org admin at the same moment, both remind Housing.
    path = reminders_path(demo, f"course={TINY}&team={team(demo, 'Housing')}")
    senders = []
    for email in ("champion@example.org", "orgadmin@example.org"):
        sender = FormClient(app.test_client(), app.config["MAIL_OUTBOX"])
        sender.sign_in(email)
        senders.append((sender, sender.csrf_token(path)))
    assert [sender.post(path, data={"csrf_token": token}).status_code for sender, token in senders] == [302, 302]
    assert len(queued) == 2
    barrier = threading.Barrier(2)

    def work(task, args):
        barrier.wait()
        with app.app_context():
            task(*args)

    threads = [threading.Thread(target=work, args=job) for job in queued]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recipients = [message["To"] for message in app.config["MAIL_OUTBOX"]]
    assert len(recipients) == len(set(recipients)) == 4  # Zofia, Ayesha, Lena and the champion
    with database(app) as session:
        assert len(session.scalars(select(Reminder)).all()) == 4


def test_an_email_that_fails_is_not_recorded_as_sent(app, demo):
    from lms.people.scope import scope_for
    from lms.reports.reminders import plan_reminders, send_reminders
    from lms.reports.status import Filters
    from lms.models import Organisation, User

    setup_housing(app, demo)
    with app.test_request_context():
        session = __import__("lms").db.get_session()
        champion = session.get(User, demo["users"]["champion@example.org"])
        scope = scope_for(session, champion, northmoor(demo))
        course = app.extensions["lms.catalogue"].get(TINY)
        plan = plan_reminders(session, scope, Filters(course_id=TINY), course, now=utcnow(), refresher_days=60)
        delivered = []

        def flaky_send(to, subject, body):
            if "zofia" in to:
                raise ConnectionError("the mail server hung up")
            delivered.append(to)

        sent, failed = send_reminders(session, session.get(Organisation, northmoor(demo)), plan, sender=champion,
                                      now=utcnow(), send=flaky_send)
        session.commit()
        assert (sent, failed) == (len(plan.recipients) - 1, 1)
        reminded = set(session.scalars(select(Reminder.user_id)))
        assert len(reminded) == sent and not any("zofia" in address for address in delivered)
        zofia = next(r.user_id for r in plan.recipients if "zofia" in r.email)
        assert zofia not in reminded  # so the next send tries her again


def test_a_long_list_is_sent_whole_by_a_job_the_champion_can_follow(app, client, demo, queued_jobs, monkeypatch):
    from lms import jobs
    from lms.models import Job
    from lms.reports import reminders

    monkeypatch.setattr(reminders, "PROGRESS_EVERY", 1)
    setup_housing(app, demo)
    client.sign_in("champion@example.org")
    path = reminders_path(demo, f"course={TINY}")
    assert "Send 4 reminders" in text_of(client.get(path))
    response = client.submit(path)
    job_page = response.headers["Location"]
    assert "/reports/reminders/" in job_page
    waiting = text_of(client.get(job_page))
    assert "Sending 0 of 4 reminders" in waiting and "You can leave this page" in waiting

    # The first attempt fails (an email that fails alone is counted, not fatal; a lost database is).
    def first_attempt_fails(*args, **kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(reminders, "lock_reminders", first_attempt_fails)
    token = jobs._final_attempt.set(False)
    try:
        with pytest.raises(ConnectionError):
            queued_jobs()
    finally:
        jobs._final_attempt.reset(token)
    monkeypatch.undo()
    monkeypatch.setattr(reminders, "PROGRESS_EVERY", 1)
    assert "being sent again" in text_of(client.get(job_page)) and client.outbox == []

    # The retry sends all four.
    with database(app) as session:
        job_id = session.scalars(select(Job.id)).one()
    with app.app_context():
        reminders.send_reminders_job(job_id)
    done = text_of(client.get(job_page))
    assert "Reminders sent: 4." in done and "could not be sent" not in done
    assert len(client.outbox) == 4
    assert "Nobody in this list needs a reminder now" in text_of(client.get(path))
    # Run again by a late retry, a finished job sends nothing more.
    with app.app_context():
        reminders.send_reminders_job(job_id)
    assert len(client.outbox) == 4

    # Another champion's or organisation's people cannot follow it.
    client.sign_out()
    client.sign_in("eastgate-admin@example.org")
    assert client.get(job_page).status_code == 404
    client.sign_out()
    client.sign_in("orgadmin@example.org")  # manages Northmoor: may follow any of its sends
    assert "Reminders sent: 4." in text_of(client.get(job_page))
    assert client.get(job_page.rsplit("/", 1)[0] + "/999999").status_code == 404
