"""Which guest learner this browser is learning as: the record's id in the signed session
cookie, put there when someone starts an open course or types their reference code, and taken
out when they choose to forget it on this device (a shared computer at a community centre)."""
from __future__ import annotations

from flask import current_app, g, session
from flask_login import current_user
from sqlalchemy.orm import Session

from lms import db
from lms.extensions import limiter
from lms.guests import services
from lms.models import GuestLearner

GUEST_KEY = "guest_learner"


def current_guest(db: Session) -> GuestLearner | None:
    if "current_guest" not in g:
        g.current_guest = services.active(db, session.get(GUEST_KEY))
    return g.current_guest


def remember(guest: GuestLearner) -> None:
    session[GUEST_KEY] = guest.id
    g.current_guest = guest


def forget() -> None:
    session.pop(GUEST_KEY, None)
    g.current_guest = None


def _has_a_learner() -> bool:
    return current_user.is_authenticated or current_guest(db.get_session()) is not None


# Every request that would make a guest record (starting an open course, or reading or taking
# its quiz before starting) counts against one limit per address; anyone already learning,
# with an account or a code, is not held back by it.
limit_new_guests = limiter.shared_limit(lambda: current_app.config["GUEST_START_RATE_LIMIT"], scope="new-guest",
                                        methods=["POST"], exempt_when=_has_a_learner)
