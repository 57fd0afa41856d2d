"""Which guest learner this browser is learning as: the record's id in the signed session
cookie, put there when someone starts an open course or types their reference code, and taken
out when they choose to forget it on this device (a shared computer at a community centre)."""
from __future__ import annotations

from flask import g, session
from sqlalchemy.orm import Session

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
