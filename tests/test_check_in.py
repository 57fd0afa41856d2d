"""Check-in on attendees' phones, the trainer's register, and completions by attendance."""
from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.certify.codes import display
from lms.db import utcnow
from lms.models import Attendance, AuditEvent, Certificate, Completion, Workshop
from lms.workshops.register import display_code
from tests.conftest import FormClient, database, make_test_app, snapshot, text_of

NORTHMOOR = "Northmoor Borough Council"


@pytest.fixture
def workshop(app, demo):
    """A session of the tiny course running now, run by the demo trainer."""
    with database(app) as session:
        row = Workshop(organisation_id=demo["organisations"][NORTHMOOR], course_id="tiny", language="en",
                       starts_at=utcnow() - timedelta(minutes=30), ends_at=utcnow() + timedelta(minutes=90),
                       venue="Northmoor Community Hall", trainer_id=demo["users"]["trainer@example.org"])
        session.add(row)
        session.commit()
        return {"id": row.id, "org": row.organisation_id, "code": display_code(row.check_in_code),
                "raw": row.check_in_code}


def _walk_in(client, workshop, name="Amina Khatun", consent="y", **extra):
    path = f"/check-in/{workshop['code']}"
    data = {"name": name, "email": "", **({"consent": consent} if consent else {}), **extra}
    return client.submit(path, data)


def _register(client, workshop):
    return text_of(client.get(f"/org/{workshop['org']}/sessions/{workshop['id']}/register"))


def test_a_walk_in_checks_in_with_a_name_and_sees_only_their_own(app, client, workshop):
    response = _walk_in(client, workshop)
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]))
    assert "You are checked in as Amina Khatun." in page
    # A second person on another phone sees their own name, not the first one's.
    other = FormClient(app.test_client(), [])
    assert _walk_in(other, workshop, name="Grace Okafor").status_code == 302
    page = text_of(other.get(f"/check-in/{workshop['code']}"))
    assert "Grace Okafor" in page and "Amina Khatun" not in page
    # Pressing again (a resent form) changes nothing.
    before = snapshot(app)
    assert _walk_in(other, workshop, name="Grace Okafor").status_code == 302
    assert snapshot(app) == before
    with database(app) as session:
        assert session.scalar(select(func.count()).select_from(Attendance)) == 2


def test_a_walk_in_must_agree_to_their_name_being_kept(app, client, workshop):
    before = snapshot(app)
    response = _walk_in(client, workshop, consent=None)
    assert response.status_code == 400
    page = text_of(response)
    assert "Tick the box to agree" in page and 'value="Amina Khatun"' in page
    assert snapshot(app) == before


@pytest.mark.parametrize("name, email, message", [
    ("", "", "Enter your name"),
    ("\u202e\u0000", "", "Enter your name"),
    ("Amina", "not-an-email", "Enter an email address like name@example.org"),
])
def test_bad_walk_in_details_are_refused_with_a_message(app, client, workshop, name, email, message):
    before = snapshot(app)
    response = _walk_in(client, workshop, name=name, email=email)
    assert response.status_code == 400
    assert message in text_of(response)
    assert snapshot(app) == before


def test_someone_signed_in_checks_in_with_one_tap_once(app, client, demo, workshop):
    client.sign_in("learner@example.org")
    page = text_of(client.get(f"/check-in/{workshop['code']}"))
    assert "Check in as Lena Kowalska" in page
    for _ in range(2):
        assert client.submit(f"/check-in/{workshop['code']}", {}).status_code == 302
    with database(app) as session:
        rows = session.scalars(select(Attendance)).all()
    assert [(row.user_id, row.name) for row in rows] == [(demo["users"]["learner@example.org"], "Lena Kowalska")]
    assert "You are checked in as Lena Kowalska." in text_of(client.get(f"/check-in/{workshop['code']}"))


def test_the_code_can_be_typed_loosely(app, client, workshop):
    typed = workshop["raw"].lower()[:4] + " " + workshop["raw"].lower()[4:]
    response = client.submit("/check-in", {"code": typed})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/check-in/{workshop['code']}")


@pytest.mark.parametrize("change", ["wrong", "closed", "cancelled", "ended long ago", "next week"])
def test_closed_or_wrong_codes_are_refused_and_change_nothing(app, client, workshop, change):
    code = workshop["code"]
    with database(app) as session:
        row = session.get(Workshop, workshop["id"])
        if change == "wrong":
            code = "ABCDE-FGHJK"
        elif change == "closed":
            row.closed_at = utcnow()
        elif change == "cancelled":
            row.cancelled_at = utcnow()
        elif change == "ended long ago":
            # Past the week in which the questions after the session are taken, too.
            row.starts_at, row.ends_at = utcnow() - timedelta(days=10), utcnow() - timedelta(days=10, hours=-2)
        else:
            row.starts_at, row.ends_at = utcnow() + timedelta(days=7), utcnow() + timedelta(days=7, hours=2)
        session.commit()
    before = snapshot(app)
    if change == "closed":
        # The register is closed, but the questions after the session are still open: the code leads there.
        for response in (client.get(f"/check-in/{code}"), client.submit("/check-in", {"code": code})):
            assert response.status_code == 302 and response.headers["Location"].endswith(f"/check-in/{code}/after")
    else:
        assert client.get(f"/check-in/{code}").status_code == 404
        response = client.submit("/check-in", {"code": code})
        assert response.status_code == 400
        assert "does not match a session open for check-in" in text_of(response)
    assert client.submit(f"/check-in/{code}", {"name": "X", "consent": "y"}, form_page="/check-in").status_code == 404
    assert snapshot(app) == before


def test_wrong_codes_are_limited_per_address(database_url, demo):
    limited = FormClient(make_test_app(database_url, RATELIMIT_ENABLED=True, ADDRESS_RATE_LIMIT="3 per minute")
                         .test_client(), [])
    statuses = [limited.submit("/check-in", {"code": f"ABCDE-FGHJ{letter}"}).status_code for letter in "KMNP"]
    assert statuses == [400, 400, 400, 429]
    # The address a QR code opens is limited the same way, on its own count.
    assert [limited.get(f"/check-in/ABCDE-FGHJ{letter}").status_code for letter in "KMNP"] == [404, 404, 404, 429]


def test_the_trainer_keeps_the_register(app, client, workshop):
    _walk_in(FormClient(app.test_client(), []), workshop, name="Amina Khatun")
    client.sign_in("trainer@example.org")
    page = _register(client, workshop)
    assert "Amina Khatun" in page and workshop["code"] in page and "data:image/svg+xml" in page
    rows = client.get(f"/org/{workshop['org']}/sessions/{workshop['id']}/register/rows")
    assert rows.status_code == 200 and "Amina Khatun" in text_of(rows) and "<html" not in text_of(rows)
    base = f"/org/{workshop['org']}/sessions/{workshop['id']}/register"
    assert client.submit(f"{base}/add", {"name": "Joan Price", "email": ""}, form_page=base).status_code == 302
    with database(app) as session:
        joan = session.scalars(select(Attendance).where(Attendance.name == "Joan Price")).one()
        amina = session.scalars(select(Attendance).where(Attendance.name == "Amina Khatun")).one()
    assert client.submit(f"{base}/{amina.id}/attended", {"attended": "no"}, form_page=base).status_code == 302
    assert "Did not attend" in _register(client, workshop)
    assert client.submit(f"{base}/{joan.id}/remove", {}, form_page=base).status_code == 302
    assert "Joan Price" not in _register(client, workshop)
    with database(app) as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["attendee_added", "attendance_marked", "attendee_removed"]
    client.sign_out()
    client.sign_in("orgadmin@example.org")
    assert "Joan Price" in text_of(client.get(f"/org/{workshop['org']}/audit"))


def test_adding_nobody_is_refused_with_the_form(app, client, workshop):
    client.sign_in("trainer@example.org")
    base = f"/org/{workshop['org']}/sessions/{workshop['id']}/register"
    response = client.submit(f"{base}/add", {"name": "  ", "email": ""}, form_page=base)
    assert response.status_code == 400 and "Enter the person" in text_of(response)


@pytest.mark.parametrize("email", ["eastgate-admin@example.org", "champion@example.org", "learner@example.org"])
def test_nobody_else_reaches_the_register(app, client, workshop, email):
    _walk_in(FormClient(app.test_client(), []), workshop, name="Amina Khatun")
    client.sign_in(email)
    base = f"/org/{workshop['org']}/sessions/{workshop['id']}/register"
    before = snapshot(app)
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/rows").status_code == 404
    assert client.submit(f"{base}/add", {"name": "Spy"}, form_page="/account").status_code == 404
    assert client.submit(f"{base}/close", {}, form_page="/account").status_code == 404
    assert snapshot(app) == before


def test_closing_the_register_records_completions_and_certificates(app, client, demo, workshop):
    learner = FormClient(app.test_client(), [])
    learner.sign_in("learner@example.org")
    learner.submit(f"/check-in/{workshop['code']}", {})
    absent = FormClient(app.test_client(), [])
    absent.sign_in("learner2@example.org")
    absent.submit(f"/check-in/{workshop['code']}", {})
    _walk_in(FormClient(app.test_client(), []), workshop, name="Amina Khatun")
    client.sign_in("trainer@example.org")
    base = f"/org/{workshop['org']}/sessions/{workshop['id']}/register"
    with database(app) as session:
        dev = session.scalars(select(Attendance).where(Attendance.user_id == demo["users"]["learner2@example.org"])).one()
    client.submit(f"{base}/{dev.id}/attended", {"attended": "no"}, form_page=base)
    response = client.submit(f"{base}/close", {}, form_page=base)
    assert response.status_code == 302
    assert "2 completions and certificates recorded" in text_of(client.get(base))
    with database(app) as session:
        completions = session.scalars(select(Completion).order_by(Completion.id)).all()
        version = app.extensions["lms.catalogue"].get("tiny").version
        # The account holder's in their account; the walk-in's in a guest learner record.
        assert [(c.user_id, c.holder_name, c.method, c.course_id, c.course_version, c.language)
                for c in completions] == [
            (demo["users"]["learner@example.org"], "Lena Kowalska", "attendance", "tiny", version, "en"),
            (None, "Amina Khatun", "attendance", "tiny", version, "en")]
        assert completions[1].guest_id is not None and completions[1].guest.claimed_by_id is None
        certificates = session.scalars(select(Certificate).order_by(Certificate.id)).all()
        assert [c.completion_id for c in certificates] == [completion.id for completion in completions]
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "register_closed")).one()
        assert event.details["certificates_for"] == ["Lena Kowalska", "Amina Khatun"]
    # Closing again records nothing twice.
    client.submit(f"{base}/reopen", {}, form_page=base)
    client.submit(f"{base}/close", {}, form_page=base)
    with database(app) as session:
        assert session.scalar(select(func.count()).select_from(Completion)) == 2
    # Check-in has stopped: the code now leads to the questions after the session.
    assert client.get(f"/check-in/{workshop['code']}").headers["Location"].endswith("/after")
    # The learner's course now shows as completed, with its certificate.
    page = text_of(learner.get("/courses/tiny"))
    assert re.search(r"[Cc]ompleted", page)

    # The champion's reports count it like an online completion, and say it was at a session.
    client.sign_out()
    client.sign_in("orgadmin@example.org")
    organisation = workshop["org"]
    people = text_of(client.get(f"/org/{organisation}/reports/people?course=tiny&q=Kowalska"))
    assert "Completed" in people and "at a session" in people
    dashboard = text_of(client.get(f"/org/{organisation}/reports"))
    assert "1 did so by attending a session" in dashboard
    rows = list(csv.reader(io.StringIO(client.get(f"/org/{organisation}/reports/people.csv?course=tiny")
                                       .get_data(as_text=True)[1:])))
    how = rows[0].index("A tiny test course: how completed")
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Lena Kowalska"][how] == "At a session"
    assert by_name["Dev Sharma"][how] == ""  # marked absent: nothing recorded


def test_a_register_closed_days_later_dates_completions_from_the_session(app, client, demo, workshop):
    learner = FormClient(app.test_client(), [])
    learner.sign_in("learner@example.org")
    learner.submit(f"/check-in/{workshop['code']}", {})
    ended = utcnow() - timedelta(days=3)
    with database(app) as session:
        row = session.get(Workshop, workshop["id"])
        row.starts_at, row.ends_at = ended - timedelta(hours=2), ended
        session.commit()
    client.sign_in("trainer@example.org")
    base = f"/org/{workshop['org']}/sessions/{workshop['id']}/register"
    assert client.submit(f"{base}/close", {}, form_page=base).status_code == 302
    with database(app) as session:
        completion = session.scalars(select(Completion)).one()
        assert abs(completion.completed_at - ended) < timedelta(seconds=1)
        months = app.extensions["lms.catalogue"].get("tiny").validity_months
        assert completion.expires_at.year * 12 + completion.expires_at.month == ended.year * 12 + ended.month + months


def test_the_register_cannot_close_before_the_session_starts(app, client, workshop):
    with database(app) as session:
        row = session.get(Workshop, workshop["id"])
        row.starts_at, row.ends_at = utcnow() + timedelta(hours=1), utcnow() + timedelta(hours=3)
        session.commit()
    client.sign_in("trainer@example.org")
    base = f"/org/{workshop['org']}/sessions/{workshop['id']}/register"
    client.submit(f"{base}/close", {}, form_page=base)
    assert "once the session has started" in _register(client, workshop)
    with database(app) as session:
        assert session.get(Workshop, workshop["id"]).closed_at is None


def test_the_check_in_page_opens_in_the_sessions_language(app, client, workshop):
    with database(app) as session:
        session.get(Workshop, workshop["id"]).language = "ur"
        session.commit()
    page = client.get(f"/check-in/{workshop['code']}").get_data(as_text=True)
    assert 'lang="ur"' in page.split(">", 2)[1] and 'dir="rtl"' in page.split(">", 2)[1]


def test_the_trainer_prints_the_sessions_certificates_as_one_pdf(app, client, demo, workshop, tmp_path):
    from tests.test_certificate_batches import wait_for

    app.config["BATCH_DIR"] = tmp_path / "batches"
    base = f"/org/{workshop['org']}/sessions/{workshop['id']}"
    for email in ("learner@example.org", "learner2@example.org"):
        attendee = FormClient(app.test_client(), [])
        attendee.sign_in(email)
        attendee.submit(f"/check-in/{workshop['code']}", {})
    client.sign_in("trainer@example.org")
    # Nothing recorded yet: refused with a message, and no batch.
    refused = client.submit(f"{base}/certificates", {}, form_page=f"{base}/register")
    assert refused.status_code == 302
    assert "There are no certificates to include" in text_of(client.get(f"{base}/register"))
    client.submit(f"{base}/register/close", {}, form_page=f"{base}/register")
    assert "2 certificates were recorded from this register." in text_of(client.get(f"{base}/register"))  # no walk-ins here

    response = client.submit(f"{base}/certificates", {}, form_page=f"{base}/register")
    assert response.status_code == 302
    progress = response.headers["Location"]
    batch = wait_for(app, int(progress.rsplit("/", 1)[1]))
    assert batch.status == "done" and batch.total == 2, batch.error
    pdf = client.get(progress + "/download")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    path = tmp_path / "session.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Lena Kowalska" in text and "Dev Sharma" in text
    assert "Back to the sessions" in text_of(client.get(progress))

    # Only whoever asked (or an admin) sees the batch; a learner cannot ask for one.
    learner = FormClient(app.test_client(), [])
    learner.sign_in("learner@example.org")
    assert learner.get(progress).status_code == 404
    assert learner.get(progress + "/download").status_code == 404
    before = snapshot(app)
    assert learner.submit(f"{base}/certificates", {}, form_page="/account").status_code == 404
    assert snapshot(app) == before
    admin = FormClient(app.test_client(), [])
    admin.sign_in("orgadmin@example.org")
    assert admin.get(progress + "/download").status_code == 200


def test_a_walk_in_gets_their_own_certificate_on_their_phone_and_nobody_else_does(app, client, demo, workshop):
    amina = FormClient(app.test_client(), [])
    _walk_in(amina, workshop, name="Amina Khatun")
    other = FormClient(app.test_client(), [])
    _walk_in(other, workshop, name="Bilal Ahmed")
    certificate = f"/check-in/{workshop['code']}/certificate.pdf"
    assert amina.get(certificate).status_code == 404  # nothing yet: the register is open
    client.sign_in("trainer@example.org")
    base = f"/org/{workshop['org']}/sessions/{workshop['id']}/register"
    client.submit(f"{base}/close", {}, form_page=base)

    # The code now leads to the questions after the session, with the certificate on top.
    page = text_of(amina.get(f"/check-in/{workshop['code']}/after"))
    assert "Your certificate is ready." in page
    pdf = amina.get(certificate)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    with database(app) as session:
        mine = session.scalars(select(Certificate).join(Completion).where(Completion.guest_id.is_not(None))
                               .order_by(Certificate.id)).first()
        code = mine.code
    # It verifies publicly under the name given at check-in.
    assert "Amina Khatun" in text_of(client.get(f"/verify/{display(code)}"))
    # Another walk-in gets their own, and a phone that never checked in gets nothing.
    assert other.get(certificate).data != pdf.data
    stranger = FormClient(app.test_client(), [])
    before = snapshot(app)
    assert stranger.get(certificate).status_code == 404
    assert stranger.get(f"/check-in/{workshop['code']}/after").status_code == 200
    assert "Your certificate is ready." not in text_of(stranger.get(f"/check-in/{workshop['code']}/after"))
    assert stranger.get("/check-in/AAAAA-AAAAA/certificate.pdf").status_code == 404
    assert snapshot(app) == before

    # A guest's completion is in no organisation's figures until it is claimed.
    client.sign_out()
    client.sign_in("orgadmin@example.org")
    people = text_of(client.get(f"/org/{workshop['org']}/reports/people?course=tiny"))
    assert "Amina Khatun" not in people and "Bilal Ahmed" not in people
    # The organisation issued it, so its certificate list shows it, under the walk-in's name.
    assert "Amina Khatun" in text_of(client.get(f"/org/{workshop['org']}/certificates"))
    # Withdrawn, it is refused to the walk-in too, saying so.
    with database(app) as session:
        session.get(Certificate, mine.id).revoked_at = utcnow()
        session.commit()
    assert amina.get(certificate).status_code == 410
    assert "Your certificate is ready." not in text_of(amina.get(f"/check-in/{workshop['code']}/after"))


def test_the_trainer_corrects_a_walk_ins_name_before_the_certificate(app, client, demo, workshop):
    _walk_in(FormClient(app.test_client(), []), workshop, name="Amina Katun")
    account = FormClient(app.test_client(), [])
    account.sign_in("learner@example.org")
    account.submit(f"/check-in/{workshop['code']}", {})
    with database(app) as session:
        walk_in, holder = session.scalars(select(Attendance).order_by(Attendance.id)).all()
        walk_in_id, holder_id = walk_in.id, holder.id
    base = f"/org/{workshop['org']}/sessions/{workshop['id']}/register"
    client.sign_in("trainer@example.org")
    assert client.get(f"{base}/{walk_in_id}/edit").status_code == 200
    response = client.submit(f"{base}/{walk_in_id}/edit", {"name": "Amina Khatun", "email": "amina@example.org"})
    assert response.status_code == 302
    assert "Amina Khatun" in text_of(client.get(base))
    with database(app) as session:
        assert session.get(Attendance, walk_in_id).email == "amina@example.org"
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "attendee_changed")).one()
        assert (event.details["previous"], event.details["name"]) == ("Amina Katun", "Amina Khatun")

    before = snapshot(app)
    refused = client.submit(f"{base}/{walk_in_id}/edit", {"name": "  ", "email": ""})
    assert refused.status_code == 400 and "Enter the person's name." in text_of(refused)
    # Someone with an account has their account's name.
    refused = client.submit(f"{base}/{holder_id}/edit", {"name": "Someone Else", "email": ""})
    assert refused.status_code == 400 and "their name comes from it" in text_of(refused)
    assert client.get(f"{base}/999999/edit").status_code == 404
    assert snapshot(app) == before

    # Once the certificate is recorded, the name is fixed.
    client.submit(f"{base}/close", {}, form_page=base)
    refused = client.submit(f"{base}/{walk_in_id}/edit", {"name": "Amina K", "email": ""})
    assert refused.status_code == 400 and "can no longer be changed" in text_of(refused)
    with database(app) as session:
        assert session.scalars(select(Completion).where(Completion.guest_id.is_not(None))).one().holder_name == "Amina Khatun"

    # Nobody else changes it.
    other = FormClient(app.test_client(), [])
    other.sign_in("champion@example.org")
    assert other.get(f"{base}/{walk_in_id}/edit").status_code in (403, 404)
