"""Learners without an account (guest learners): walk-ins at a session, whose certificates wait
in a guest record, and people learning an open course by reference code, whose progress,
completions and certificates are kept against that code only. Either claims the record into an
account with the reference code. The reference code, not a certificate's verification code, is
the key: a verification code is shown to anyone who checks a certificate, so it cannot be what
moves one."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.catalogue import Course
from lms.certify import codes
from lms.certify.services import issue_certificate
from lms.db import utcnow
from lms.errors import InvalidInput, OutOfScope
from lms.guests import reference
from lms.models import Certificate, Completion, GuestLearner, LessonProgress, QuizAttempt, User
from lms.people.services import clean_name


def start(db: Session) -> GuestLearner:
    """A new guest learner, for someone starting an open course without an account."""
    guest = GuestLearner(name="")
    db.add(guest)
    db.flush()
    return guest


def find(db: Session, typed: str | None) -> GuestLearner:
    """The guest record a typed reference names. InvalidInput (on the field "reference") when it
    is mistyped or names nothing, with a message saying which."""
    try:
        code = reference.normalise(typed)
    except reference.Mistyped:
        raise InvalidInput(_l("There is a mistake in this reference: a digit is wrong or two are swapped. "
                              "Check it against the one you kept."), "reference")
    guest = db.scalars(select(GuestLearner).where(GuestLearner.reference_code == code)).first() if code else None
    if guest is None:
        raise InvalidInput(_l("That reference does not match any learning kept here. Check it against the one you kept."),
                           "reference")
    return guest


def resume(db: Session, typed: str | None) -> GuestLearner:
    """The guest record to carry on with on this device; one already claimed into an account is
    carried on there, after signing in."""
    guest = find(db, typed)
    if guest.claimed_by_id is not None:
        raise InvalidInput(_l("This learning has been added to an account. Sign in to that account to carry on."),
                           "reference")
    return guest


def active(db: Session, guest_id: int | None) -> GuestLearner | None:
    """The guest a browser is learning as, unless it has since been claimed or erased."""
    guest = db.get(GuestLearner, guest_id) if guest_id else None
    return guest if guest is not None and guest.claimed_by_id is None else None


def name_certificate(db: Session, guest: GuestLearner, course: Course, attempt_id: int, typed_name: str) -> Certificate:
    """The guest gives the name to print; the certificate of their passed attempt is issued
    (or, asked again, the same one returned, with the name as now given)."""
    completion = db.scalars(select(Completion).where(
        Completion.attempt_id == attempt_id, Completion.guest_id == guest.id, Completion.course_id == course.id)).first()
    if completion is None:
        raise OutOfScope()
    guest.name = clean_name(typed_name)
    guest.last_active_at = utcnow()
    return issue_certificate(db, completion.id, None)


def claim(db: Session, user: User, typed: str) -> int | None:
    """Move a guest record's progress, completions and certificates into the user's account;
    returns how many completions moved (None when this account had already claimed it). A
    reference claimed into another account is refused, and two accounts claiming at the same
    instant cannot both win."""
    guest = find(db, typed)
    if guest.claimed_by_id == user.id:
        return None
    won = db.execute(update(GuestLearner).where(GuestLearner.id == guest.id, GuestLearner.claimed_by_id.is_(None))
                     .values(claimed_by_id=user.id, claimed_at=utcnow())).rowcount
    if won != 1:
        raise InvalidInput(_l("This learning has already been added to another account."), "reference")
    _move_progress(db, guest.id, user.id)
    moved = db.execute(select(Completion, Certificate).outerjoin(Certificate, Certificate.completion_id == Completion.id)
                       .where(Completion.guest_id == guest.id)).all()
    for completion, certificate in moved:
        completion.user_id, completion.guest_id = user.id, None
        if certificate is not None and certificate.organisation_id is not None:
            audit.record(db, certificate.organisation_id, user, audit.CERTIFICATE_CLAIMED,
                         code=codes.display(certificate.code), course=completion.course_id, name=guest.name)
    db.flush()
    return len(moved)


def _move_progress(db: Session, guest_id: int, user_id: int) -> None:
    """Lessons read and quiz attempts go to the account; a lesson the account has read too
    keeps the later of the two readings."""
    mine = {(row.course_id, row.module_slug): row
            for row in db.scalars(select(LessonProgress).where(LessonProgress.user_id == user_id))}
    for row in db.scalars(select(LessonProgress).where(LessonProgress.guest_id == guest_id)):
        kept = mine.get((row.course_id, row.module_slug))
        if kept is None:
            row.user_id, row.guest_id = user_id, None
        else:
            kept.read_at = max(kept.read_at, row.read_at)
            db.delete(row)
    db.flush()
    db.execute(update(QuizAttempt).where(QuizAttempt.guest_id == guest_id).values(user_id=user_id, guest_id=None)
               .execution_options(synchronize_session=False))
