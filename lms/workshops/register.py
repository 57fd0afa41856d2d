"""Check-in and the register: people check in on their phones with the session's code
(signed in, or as a walk-in giving a name), the trainer keeps the register, and closing it
records a completion for each attendee with an account, as a pass online would."""
from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from lms.audit import services as audit
from lms.catalogue import Course
from lms.certify.services import issue_certificate
from lms.dates import add_months
from lms.db import utcnow
from lms.errors import Forbidden, InvalidInput, OutOfScope
from lms.interop import xapi
from lms.models import Attendance, Certificate, Completion, GuestLearner, User, Workshop
from lms.models.people import normalise_code as normalise_code_of_length
from lms.models.workshops import CHECK_IN_CODE_LENGTH
from lms.people.scope import MAX_ID, Scope
from lms.workshops.services import ATTENDANCE_COMPLETIONS, get_workshop, may_change

# Check-in stays open this long after the session ends, for the trainer who closes late.
CHECK_IN_GRACE = timedelta(hours=12)
# The earliest check-in: people arrive early, but not a day early.
CHECK_IN_OPENS = timedelta(hours=2)


def normalise_code(typed: str) -> str | None:
    """The check-in code as stored, from what someone typed ("k7qx-9mtd 2b" works), or None."""
    return normalise_code_of_length(typed, CHECK_IN_CODE_LENGTH)


def display_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def certificate_ids(db: Session, scope: Scope, workshop_id: int) -> list[int]:
    """The certificates a session's register recorded (not revoked), in register order, for the
    trainer to print and hand out. Whoever may change the session may have them."""
    workshop = get_workshop(db, scope, workshop_id)
    if not may_change(scope, workshop):
        raise OutOfScope()
    return list(db.scalars(
        select(Certificate.id).join(Attendance, Attendance.completion_id == Certificate.completion_id)
        .where(Attendance.workshop_id == workshop.id, Certificate.revoked_at.is_(None))
        .order_by(Attendance.checked_in_at, Attendance.id)))


def workshop_by_code(db: Session, typed_code: str) -> Workshop | None:
    """The session a code belongs to, whatever its state; None for a code that is no session's."""
    code = normalise_code(typed_code)
    return db.scalars(select(Workshop).where(Workshop.check_in_code == code)).first() if code else None


def check_in_open(workshop: Workshop, now: datetime) -> bool:
    """Whether people can check in now. Pages treat a closed session like a wrong code, so
    neither tells a guesser which codes exist."""
    return (workshop.cancelled_at is None and workshop.closed_at is None
            and workshop.starts_at - CHECK_IN_OPENS <= now <= workshop.ends_at + CHECK_IN_GRACE)


def _clean_name(name: str) -> str:
    # Control and bidirectional-override characters would garble the register and the PDF.
    kept = "".join(ch for ch in (name or "") if unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(kept.split())[:200]


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    if not email:
        return ""
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise InvalidInput(_l("Enter an email address like name@example.org, or leave it empty."), "email") from None


def check_in_account(db: Session, workshop: Workshop, user: User) -> Attendance:
    """Signed in: one tap. Checking in again (a second tap, a resent form) finds the same row."""
    existing = db.scalars(select(Attendance).where(Attendance.workshop_id == workshop.id,
                                                   Attendance.user_id == user.id)).first()
    if existing is not None:
        return existing
    attendance = Attendance(workshop_id=workshop.id, user_id=user.id, name=user.name, email=user.email,
                            consented_at=utcnow())
    try:
        with db.begin_nested():
            db.add(attendance)
    except IntegrityError:  # the same person checking in from two tabs at once
        return db.scalars(select(Attendance).where(Attendance.workshop_id == workshop.id,
                                                   Attendance.user_id == user.id)).one()
    return attendance


def check_in_walk_in(db: Session, workshop: Workshop, *, name: str, email: str, consent: bool) -> Attendance:
    name = _clean_name(name)
    if not name:
        raise InvalidInput(_l("Enter your name as you would like it on your certificate."), "name")
    email = _clean_email(email)
    if not consent:
        raise InvalidInput(_l("Tick the box to agree that your name is kept for the register and your certificate."),
                           "consent")
    attendance = Attendance(workshop_id=workshop.id, name=name, email=email, consented_at=utcnow())
    db.add(attendance)
    db.flush()
    return attendance


def own_attendance(db: Session, workshop: Workshop, attendance_id: int | None) -> Attendance | None:
    """The walk-in's own row, from the id their browser keeps; never anyone else's."""
    if not isinstance(attendance_id, int) or not 0 < attendance_id <= MAX_ID:
        return None
    return db.scalars(select(Attendance).where(Attendance.id == attendance_id,
                                               Attendance.workshop_id == workshop.id)).first()


def own_certificate(db: Session, workshop: Workshop, attendance_id: int | None) -> Certificate | None:
    """The certificate the register recorded for the walk-in whose browser keeps this row."""
    attendance = own_attendance(db, workshop, attendance_id)
    if attendance is None or attendance.completion_id is None:
        return None
    return db.scalars(select(Certificate).where(Certificate.completion_id == attendance.completion_id)).first()


# --- the trainer's register -----------------------------------------------------------------

def _managed(db: Session, scope: Scope, workshop_id: int) -> Workshop:
    workshop = get_workshop(db, scope, workshop_id)
    if not may_change(scope, workshop):
        raise Forbidden(_l("Only the session's trainer or an admin can change its register."))
    if workshop.cancelled_at:
        raise InvalidInput(_l("This session was cancelled."))
    return workshop


def register(db: Session, workshop: Workshop) -> list[Attendance]:
    return list(db.scalars(select(Attendance).where(Attendance.workshop_id == workshop.id)
                           .options(joinedload(Attendance.user)).order_by(Attendance.checked_in_at, Attendance.id)))


def add_attendee(db: Session, scope: Scope, actor: User, workshop_id: int, *, name: str, email: str) -> Attendance:
    workshop = _managed(db, scope, workshop_id)
    name = _clean_name(name)
    if not name:
        raise InvalidInput(_l("Enter the person's name."), "name")
    attendance = Attendance(workshop_id=workshop.id, name=name, email=_clean_email(email), added_by_id=actor.id)
    db.add(attendance)
    db.flush()
    audit.record(db, scope.organisation_id, actor, audit.ATTENDEE_ADDED, workshop_id=workshop.id, name=name)
    return attendance


def _attendance(db: Session, workshop: Workshop, attendance_id: int) -> Attendance:
    found = own_attendance(db, workshop, attendance_id)
    if found is None:
        raise OutOfScope()
    return found


def set_attended(db: Session, scope: Scope, actor: User, workshop_id: int, attendance_id: int,
                 attended: bool) -> Attendance:
    workshop = _managed(db, scope, workshop_id)
    attendance = _attendance(db, workshop, attendance_id)
    if attendance.attended != attended:
        attendance.attended = attended
        db.flush()
        audit.record(db, scope.organisation_id, actor, audit.ATTENDANCE_MARKED, workshop_id=workshop.id,
                     name=attendance.name, attended=attended)
    return attendance


def change_attendee(db: Session, scope: Scope, actor: User, workshop_id: int, attendance_id: int, *, name: str,
                    email: str) -> Attendance:
    """Correct a walk-in's name (as it will be printed) or email, before their certificate is drawn.
    Someone with an account has the name of their account."""
    workshop = _managed(db, scope, workshop_id)
    attendance = _attendance(db, workshop, attendance_id)
    if attendance.user_id is not None:
        raise InvalidInput(_l("This person checked in with their account: their name comes from it."))
    if attendance.completion_id is not None:
        raise InvalidInput(_l("A certificate has been recorded for this person, so their name can no longer be changed."))
    new_name = _clean_name(name)
    if not new_name:
        raise InvalidInput(_l("Enter the person's name."), "name")
    new_email = _clean_email(email)
    previous = attendance.name
    attendance.name, attendance.email = new_name, new_email
    db.flush()
    # The name is what the certificate will carry, so a change to it is kept in the audit log.
    if new_name != previous:
        audit.record(db, scope.organisation_id, actor, audit.ATTENDEE_CHANGED, workshop_id=workshop.id,
                     name=new_name, previous=previous)
    return attendance


def remove_attendee(db: Session, scope: Scope, actor: User, workshop_id: int, attendance_id: int) -> None:
    workshop = _managed(db, scope, workshop_id)
    attendance = _attendance(db, workshop, attendance_id)
    if attendance.completion_id is not None:
        raise InvalidInput(_l("A completion has been recorded for this person; revoke their certificate instead."))
    db.delete(attendance)
    db.flush()
    audit.record(db, scope.organisation_id, actor, audit.ATTENDEE_REMOVED, workshop_id=workshop.id,
                 name=attendance.name)


def close_register(db: Session, scope: Scope, actor: User, workshop_id: int, course: Course | None) -> int:
    """Stop check-in and record a completion, with its certificate, for everyone marked attended:
    in their account, or for a walk-in in a guest learner record that holds it until they claim
    it. Returns how many were recorded; closing again records only new ones."""
    workshop = _managed(db, scope, workshop_id)
    if course is None or course.id != workshop.course_id:
        raise InvalidInput(_l("This session's course is not installed any more, so no completion can be recorded."))
    now = utcnow()
    if now < workshop.starts_at:
        raise InvalidInput(_l("The register can be closed once the session has started."))
    workshop.closed_at = workshop.closed_at or now
    # Attending is what completes the course, so a register closed days later still dates the
    # completion (and its expiry) from the session.
    completed_at = min(now, workshop.ends_at)
    recorded: list[str] = []
    if course.completion in ATTENDANCE_COMPLETIONS:
        for attendance in register(db, workshop):
            if not attendance.attended or attendance.completion_id is not None:
                continue
            if attendance.user_id is None and attendance.guest_id is None:
                guest = GuestLearner(name=attendance.name)
                db.add(guest)
                db.flush()
                attendance.guest_id = guest.id
            completion = Completion(user_id=attendance.user_id, guest_id=None if attendance.user_id else attendance.guest_id,
                                    course_id=course.id, course_version=course.version, language=workshop.language,
                                    method="attendance", completed_at=completed_at,
                                    expires_at=add_months(completed_at, course.validity_months))
            db.add(completion)
            db.flush()
            attendance.completion_id = completion.id
            issue_certificate(db, completion.id, workshop.organisation_id)
            xapi.attended(db, user_id=completion.user_id, guest_id=completion.guest_id, course=course,
                          language=workshop.language, workshop_id=workshop.id, when=completed_at)
            recorded.append(attendance.name)
    db.flush()
    audit.record(db, scope.organisation_id, actor, audit.REGISTER_CLOSED, workshop_id=workshop.id,
                 course_id=workshop.course_id, certificates_for=recorded)
    return len(recorded)


def reopen_register(db: Session, scope: Scope, actor: User, workshop_id: int) -> None:
    workshop = _managed(db, scope, workshop_id)
    if workshop.closed_at is not None:
        workshop.closed_at = None
        db.flush()
        audit.record(db, scope.organisation_id, actor, audit.REGISTER_REOPENED, workshop_id=workshop.id)
