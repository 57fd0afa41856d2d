"""Learners without an account (guest learners): today walk-ins at a session, whose
certificates wait in a guest record until they claim them into an account with the record's
reference code. The reference code, not a certificate's verification code, is the key: a
verification code is shown to anyone who checks a certificate, so it cannot be what moves one."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.certify import codes
from lms.db import utcnow
from lms.errors import InvalidInput
from lms.models import Certificate, Completion, GuestLearner, User
from lms.models.learning import REFERENCE_LENGTH
from lms.models.people import normalise_code


def normalise_reference(typed: str) -> str | None:
    """The reference as stored, from what someone typed ("abcd efgh-jkmn" works), or None."""
    return normalise_code(typed, REFERENCE_LENGTH)


def display_reference(code: str) -> str:
    return "-".join(code[index:index + 4] for index in range(0, len(code), 4))


def claim(db: Session, user: User, typed: str) -> int:
    """Move a guest record's completions and certificates into the user's account; returns how
    many moved (0 when this account had already claimed it). A reference claimed into another
    account is refused, and two accounts claiming at the same instant cannot both win."""
    code = normalise_reference(typed)
    guest = db.scalars(select(GuestLearner).where(GuestLearner.reference_code == code)).first() if code else None
    if guest is None:
        raise InvalidInput(_l("That reference does not match any certificate. Check it against the one on your phone."),
                           "reference")
    if guest.claimed_by_id == user.id:
        return 0
    won = db.execute(update(GuestLearner).where(GuestLearner.id == guest.id, GuestLearner.claimed_by_id.is_(None))
                     .values(claimed_by_id=user.id, claimed_at=utcnow())).rowcount
    if won != 1:
        raise InvalidInput(_l("These certificates have already been added to another account."), "reference")
    moved = db.execute(select(Completion, Certificate).outerjoin(Certificate, Certificate.completion_id == Completion.id)
                       .where(Completion.guest_id == guest.id)).all()
    for completion, certificate in moved:
        completion.user_id, completion.guest_id = user.id, None
        if certificate is not None and certificate.organisation_id is not None:
            audit.record(db, certificate.organisation_id, user, audit.CERTIFICATE_CLAIMED,
                         code=codes.display(certificate.code), course=completion.course_id, name=guest.name)
    db.flush()
    return len(moved)
