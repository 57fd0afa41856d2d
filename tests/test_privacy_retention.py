"""Retention (issue 14): `lms retention apply` erases accounts nobody has used, walk-ins' names
long after their session, and old audit entries; --dry-run lists the same and changes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from lms.audit import services as audit
from lms.certify.services import PdfCache
from lms.config import from_environment
from lms.db import utcnow
from lms.learn import services as learn
from lms.models import Attendance, AuditEvent, Certificate, Completion, User, Workshop
from lms.privacy import erasure
from tests.conftest import FormClient, database, snapshot

NORTHMOOR = "Northmoor Borough Council"
YEARS_AGO = timedelta(days=4 * 365)


@pytest.fixture
def aged(app, demo):
    """Dev Sharma and the org admin have not signed in for four years; a walk-in came to a
    session four years ago and another last week; one audit entry is four years old."""
    organisation = demo["organisations"][NORTHMOOR]
    long_ago, now = utcnow() - YEARS_AGO, utcnow()
    with database(app) as session:
        session.execute(update(User).where(User.email.in_(["learner2@example.org", "orgadmin@example.org"]))
                        .values(last_seen_at=long_ago))
        old, recent = (Workshop(organisation_id=organisation, course_id="tiny", language="en", starts_at=start,
                                ends_at=start + timedelta(hours=2)) for start in (long_ago, now - timedelta(days=7)))
        session.add_all([old, recent])
        session.flush()
        session.add_all([Attendance(workshop_id=old.id, name="Old Walk-in", email="old@example.org"),
                         Attendance(workshop_id=recent.id, name="Recent Walk-in")])
        admin = session.scalars(select(User).where(User.email == "orgadmin@example.org")).one()
        audit.record(session, organisation, admin, audit.ATTENDEE_ADDED, workshop_id=old.id, name="Old Walk-in")
        session.flush()
        session.execute(update(AuditEvent).values(created_at=long_ago))
        audit.record(session, organisation, admin, audit.ATTENDEE_ADDED, workshop_id=recent.id, name="Recent Walk-in")
        session.commit()
    return demo


def run(app, *args):
    with app.app_context():  # as `lms` gives every command
        result = app.test_cli_runner().invoke(args=["retention", "apply", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_dry_run_lists_what_is_due_and_changes_nothing(app, aged):
    before = snapshot(app)
    output = run(app, "--dry-run")
    learner2 = aged["users"]["learner2@example.org"]
    assert f"Would erase 1 account(s): {learner2}" in output
    assert "Would erase 1 walk-in(s)" in output
    assert "Would delete 1 audit entries" in output
    # The org admin is as unused, but the organisation would be left with no admin.
    assert f"Keeping account {aged['users']['orgadmin@example.org']}: You are the only org admin" in output
    assert snapshot(app) == before


def test_applying_erases_what_is_due_and_keeps_the_rest(app, aged):
    with database(app) as session:
        completions = session.scalar(select(func.count()).select_from(Completion))
    run(app)
    with database(app) as session:
        assert session.scalar(select(User).where(User.email == "learner2@example.org")) is None
        assert session.scalar(select(User).where(User.email == "orgadmin@example.org")) is not None
        assert session.scalar(select(User).where(User.email == "learner@example.org")) is not None
        names = set(session.scalars(select(Attendance.name)))
        assert "Old Walk-in" not in names and "Recent Walk-in" in names
        assert session.scalar(select(func.count()).select_from(Completion)) == completions
        kinds = [(event.action, event.details.get("reason"), event.details.get("name"))
                 for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        # The old entry is gone; the recent one stays; each erasure is recorded, by retention.
        assert ("attendee_added", None, "Recent Walk-in") in kinds
        assert not any(name == "Old Walk-in" for _action, _reason, name in kinds)
        assert ("person_erased", "retention", None) in kinds and ("attendee_erased", "retention", None) in kinds
    # Run again: nothing more is due.
    again = run(app, "--dry-run")
    assert "Would erase 0 account(s): none" in again and "Would erase 0 walk-in(s)" in again


def test_a_period_of_zero_keeps_that_kind_of_record(app, aged):
    app.config.update(RETAIN_INACTIVE_DAYS=0, RETAIN_WALK_IN_DAYS=0, RETAIN_AUDIT_DAYS=0)
    before = snapshot(app)
    output = run(app)
    assert "Erasing 0 account(s)" in output and "Deleting 0 audit entries" in output
    assert snapshot(app) == before


def test_signing_in_counts_as_using_the_account(app, aged):
    FormClient(app.test_client(), []).sign_in("learner2@example.org")
    assert "Would erase 0 account(s)" in run(app, "--dry-run")


@pytest.mark.parametrize("value", ["three years", "-5", "1.5"])
def test_a_period_that_is_not_a_whole_number_stops_start_up_with_its_name(monkeypatch, value):
    monkeypatch.setenv("LMS_RETAIN_WALK_IN_DAYS", value)
    with pytest.raises(RuntimeError, match="LMS_RETAIN_WALK_IN_DAYS must be a whole number"):
        from_environment({"LMS_ENV": "development"})


def test_another_hosts_cached_certificate_of_an_erased_holder_is_cleaned_up(app, demo, tmp_path):
    """A web host with its own cache drew Lena's certificate; she was erased on another host."""
    learner = FormClient(app.test_client(), [])
    learner.sign_in("learner@example.org")
    with database(app) as session:
        user_id = demo["users"]["learner@example.org"]
        course = app.extensions["lms.catalogue"].get("tiny")
        attempt = learn.start_attempt(session, user_id, course, "en")
        session.commit()
        learn.submit_attempt(session, user_id, course, attempt.id,
                             {qid: sorted(course.question_bank[qid].answers) for qid in attempt.question_ids},
                             organisation_id=demo["organisations"][NORTHMOOR])
        session.commit()
        code = session.scalar(select(Certificate.code))
    assert learner.get(f"/certificates/{code}.pdf").status_code == 200
    cache = PdfCache(app.config["CERTIFICATE_CACHE_DIR"])
    (cache.folder / "ab").mkdir()
    (cache.folder / "ab" / "ab12.pdf").write_bytes(b"%PDF old layout")
    assert len(cache.cached_certificate_ids()) == 1
    elsewhere = tmp_path / "other-host"
    with database(app) as session:
        erasure.erase_account(session, user_id, erasure.Storage(elsewhere, elsewhere), erased_by=None,
                              reason=erasure.OWN_REQUEST)
        session.commit()
    assert len(cache.cached_certificate_ids()) == 1  # still here: the erasure ran on another host
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["retention", "clean-copies"])
    assert result.exit_code == 0 and "Deleted 2 cached certificate PDF(s)" in result.output, result.output
    assert cache.cached_certificate_ids() == set() and not (cache.folder / "ab").exists()
