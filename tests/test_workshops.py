"""Trainers' sessions: scheduling, changing and cancelling them, who may, bad input, time
zones, the audit log and calendar files."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from icalendar import Calendar
from sqlalchemy import select

from lms.models import AuditEvent, Workshop
from tests.conftest import database, snapshot, text_of

NORTHMOOR = "Northmoor Borough Council"
EASTGATE = "Eastgate Community Association"


def _form(**changes) -> dict:
    form = {"course": "tiny", "language": "en", "day": "2027-06-10", "start": "18:30", "end": "20:30",
            "venue": "Northmoor Community Hall, 1 High Street", "online_link": "", "capacity": "30", "team": "",
            "trainer": "", "notes": ""}
    form.update(changes)
    return form


@pytest.fixture
def north(demo):
    return demo["organisations"][NORTHMOOR]


def _schedule(client, north, **changes):
    return client.submit(f"/org/{north}/sessions/new", _form(**changes))


def test_a_trainer_schedules_a_session_in_local_time(app, client, demo, north):
    client.sign_in("trainer@example.org")
    assert client.get(f"/org/{north}/sessions/new").status_code == 200
    response = _schedule(client, north)  # the trainer field's first choice: "You"
    assert response.status_code == 302
    with database(app) as session:
        workshop = session.scalars(select(Workshop)).one()
        # 18:30 in London in June is 17:30 UTC.
        assert workshop.starts_at == datetime(2027, 6, 10, 17, 30, tzinfo=timezone.utc)
        assert workshop.trainer_id == demo["users"]["trainer@example.org"]
        assert len(workshop.check_in_code) == 10
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "workshop_scheduled")).one()
        assert event.details["workshop_id"] == workshop.id
    page = text_of(client.get(response.headers["Location"]))
    assert "18:30" in page and "20:30" in page and "Northmoor Community Hall" in page
    listing = text_of(client.get(f"/org/{north}/sessions"))
    assert "A tiny test course" in listing and "No session is scheduled" not in listing


@pytest.mark.parametrize("changes, message", [
    ({"end": "18:00"}, "The end time must be after the start time."),
    ({"start": "06:00", "end": "20:00"}, "A session can last at most 12 hours."),
    ({"venue": "", "online_link": ""}, "Enter where the session is"),
    ({"online_link": "javascript:alert(1)"}, "full web address starting with https://"),
    ({"online_link": "https://exa mple.org"}, "full web address starting with https://"),
    ({"capacity": "0"}, "between 1 and 10,000"),
    ({"capacity": "lots"}, "Not a valid integer value"),
    ({"day": "2027-02-30"}, "Not a valid date value"),
    ({"start": "25:00"}, "Not a valid time value"),
    ({"language": "ur"}, "Not a valid choice"),  # no offered course has an Urdu deck
    ({"course": "no-such-course"}, "Not a valid choice"),
    ({"team": "999999"}, "Not a valid choice"),
    ({"venue": "x" * 301}, "Field cannot be longer than 300 characters."),
])
def test_bad_sessions_are_refused_with_the_form_kept(app, client, north, changes, message):
    client.sign_in("orgadmin@example.org")
    before = snapshot(app)
    response = _schedule(client, north, **changes)
    page = text_of(response)
    assert response.status_code == 400
    assert message in page
    assert "There is a problem" in page
    assert "Northmoor Community Hall" in page or changes.get("venue") is not None
    assert snapshot(app) == before


def test_a_trainer_cannot_schedule_for_another_trainer(app, client, demo, north):
    client.sign_in("trainer@example.org")
    response = _schedule(client, north, trainer=str(demo["users"]["orgadmin@example.org"]))
    assert response.status_code == 400
    assert "Only an admin can schedule a session for another trainer." in text_of(response)


def test_an_admin_schedules_for_a_trainer_but_not_for_a_learner(app, client, demo, north):
    client.sign_in("orgadmin@example.org")
    assert _schedule(client, north, trainer=str(demo["users"]["learner@example.org"])).status_code == 400
    assert _schedule(client, north, trainer=str(demo["users"]["trainer@example.org"])).status_code == 302


@pytest.mark.parametrize("email", ["learner@example.org", "champion@example.org", "eastgate-admin@example.org"])
def test_people_who_do_not_run_sessions_find_nothing(app, client, north, email):
    client.sign_in(email)
    assert client.get(f"/org/{north}/sessions").status_code == 404
    assert client.get(f"/org/{north}/sessions/new").status_code == 404
    assert _schedule(client, north).status_code == 404


def _one_session(app, client, north, email="orgadmin@example.org", **changes) -> int:
    client.sign_in(email)
    assert _schedule(client, north, **changes).status_code == 302
    client.sign_out()
    with database(app) as session:
        return session.scalars(select(Workshop.id).order_by(Workshop.id.desc())).first()


def test_changing_a_session_is_audited_with_what_it_was(app, client, north):
    workshop_id = _one_session(app, client, north)
    client.sign_in("orgadmin@example.org")
    response = client.submit(f"/org/{north}/sessions/{workshop_id}/edit", _form(venue="Library, Room 2", start="19:00"))
    assert response.status_code == 302
    with database(app) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "workshop_changed")).one()
        assert event.details["changed"] == ["starts_at", "venue"]
        assert event.details["previous"]["venue"] == "Northmoor Community Hall, 1 High Street"
    assert "Library, Room 2" in text_of(client.get(f"/org/{north}/audit"))


def test_another_trainer_may_see_but_not_change_a_session(app, client, demo, north):
    workshop_id = _one_session(app, client, north)  # the org admin runs it
    client.sign_in("trainer@example.org")
    page = text_of(client.get(f"/org/{north}/sessions/{workshop_id}"))
    assert "Change the session" not in page
    before = snapshot(app)
    assert client.get(f"/org/{north}/sessions/{workshop_id}/edit").status_code == 403
    assert client.submit(f"/org/{north}/sessions/{workshop_id}/edit", _form(venue="Elsewhere"),
                         form_page=f"/org/{north}/sessions/new").status_code == 403
    assert client.submit(f"/org/{north}/sessions/{workshop_id}/cancel", {},
                         form_page=f"/org/{north}/sessions/new").status_code == 403
    assert snapshot(app) == before


def test_cancelling_keeps_the_session_marked_and_stops_changes(app, client, north):
    workshop_id = _one_session(app, client, north)
    client.sign_in("orgadmin@example.org")
    response = client.submit(f"/org/{north}/sessions/{workshop_id}/cancel", {"reason": "The hall flooded"})
    assert response.status_code == 302
    page = text_of(client.get(f"/org/{north}/sessions/{workshop_id}"))
    assert "This session was cancelled" in page and "Change the session" not in page
    assert client.get(f"/org/{north}/sessions/{workshop_id}/edit").status_code == 403
    with database(app) as session:
        workshop = session.get(Workshop, workshop_id)
        assert workshop.cancelled_at is not None and workshop.closed_at is not None
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "workshop_cancelled")).one()
        assert event.details["reason"] == "The hall flooded"
    calendar = Calendar.from_ical(client.get(f"/org/{north}/sessions/{workshop_id}/calendar.ics").data)
    assert str(calendar.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"


def test_a_session_calendar_file_reads_back(app, client, north):
    workshop_id = _one_session(app, client, north, venue="Hall; Room 1, upstairs", notes="Bring a laptop,\nand a lead")
    client.sign_in("orgadmin@example.org")
    response = client.get(f"/org/{north}/sessions/{workshop_id}/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    event = Calendar.from_ical(response.data).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == datetime(2027, 6, 10, 17, 30, tzinfo=timezone.utc)
    assert event.decoded("DTEND") == datetime(2027, 6, 10, 19, 30, tzinfo=timezone.utc)
    assert str(event["LOCATION"]) == "Hall; Room 1, upstairs"
    assert str(event["DESCRIPTION"]) == "Bring a laptop,\nand a lead"
    assert str(event["SUMMARY"]) == "A tiny test course"
    assert str(event["UID"]) == f"workshop-{workshop_id}@localhost"


def test_the_trainers_feed_needs_no_sign_in_and_ends_with_a_new_password(app, client, demo, north):
    _one_session(app, client, north, trainer=str(demo["users"]["trainer@example.org"]))
    client.sign_in("trainer@example.org")
    page = client.get(f"/org/{north}/sessions").get_data(as_text=True)
    feed = page.split("http://localhost", 1)[1].split("<", 1)[0]
    assert feed.startswith("/sessions/feed/") and feed.endswith(".ics")
    client.sign_out()
    response = client.get(feed)
    assert response.status_code == 200
    assert len(Calendar.from_ical(response.data).walk("VEVENT")) == 1
    assert client.get(feed.replace(".ics", "x.ics")).status_code == 404
    assert client.get("/sessions/feed/not-a-token.ics").status_code == 404
    client.sign_in("trainer@example.org")
    client.submit("/account/password", {"current_password": "demo-password", "password": "a-brand-new-password",
                                         "confirm": "a-brand-new-password"})
    client.sign_out()
    assert client.get(feed).status_code == 404


def test_a_deck_language_the_course_lacks_is_refused_by_the_service(app, demo, north):
    from datetime import date, time
    from zoneinfo import ZoneInfo

    from lms.errors import InvalidInput
    from lms.models import User
    from lms.people.scope import scope_for
    from lms.workshops import services

    with database(app) as session:
        admin = session.scalars(select(User).where(User.email == "orgadmin@example.org")).one()
        scope = scope_for(session, admin, north)
        plan = services.Plan(course_id="tiny", language="ur", day=date(2027, 1, 1), start=time(10), end=time(11),
                             venue="Hall")
        with pytest.raises(InvalidInput, match="slides are available in"):
            services.schedule(session, scope, admin, [app.extensions["lms.catalogue"].get("tiny")], plan,
                              ZoneInfo("Europe/London"))


def test_the_sessions_slides_download_as_pdf_and_are_drawn_once(app, client, north):
    workshop_id = _one_session(app, client, north)
    client.sign_in("orgadmin@example.org")
    slides = client.get(f"/org/{north}/sessions/{workshop_id}/slides.pdf")
    handout = client.get(f"/org/{north}/sessions/{workshop_id}/slides.pdf?handout=1")
    assert slides.status_code == handout.status_code == 200
    assert slides.data.startswith(b"%PDF") and handout.data.startswith(b"%PDF") and slides.data != handout.data
    cached = sorted(path.name for path in (app.config["BATCH_DIR"] / "slides").glob("*.pdf"))
    assert len(cached) == 2 and all(name.startswith("tiny-") for name in cached)
    assert client.get(f"/org/{north}/sessions/{workshop_id}/slides.pdf").data == slides.data


def test_scheduling_a_session_has_its_decks_drawn_ahead_once(app, client, north, monkeypatch):
    from lms import jobs
    from lms.workshops import slides_pdf

    queued = []
    monkeypatch.setattr(jobs, "enqueue", lambda app, task, *args: queued.append((task, args)))
    workshop_id = _one_session(app, client, north, language="en")
    assert queued == [(slides_pdf.draw_decks, ("tiny", "en"))]
    with app.app_context():
        slides_pdf.draw_decks("tiny", "en")  # what the worker does
        slides_pdf.draw_decks("withdrawn-course", "en")  # a course gone since: nothing to draw, no error
    drawn = sorted(path.name for path in (app.config["BATCH_DIR"] / "slides").glob("*.pdf"))
    assert [name.rsplit("-", 1)[1] for name in drawn] == ["handout.pdf", "slides.pdf"]

    # Already drawn: another session of the same deck, or a change to this one, queues nothing.
    client.sign_in("orgadmin@example.org")
    assert client.submit(f"/org/{north}/sessions/{workshop_id}/edit", _form(venue="Library")).status_code == 302
    client.sign_out()
    _one_session(app, client, north, language="en")
    assert len(queued) == 1
    client.sign_in("orgadmin@example.org")
    slides = client.get(f"/org/{north}/sessions/{workshop_id}/slides.pdf")
    assert slides.status_code == 200 and slides.data == (app.config["BATCH_DIR"] / "slides" / drawn[1]).read_bytes()
