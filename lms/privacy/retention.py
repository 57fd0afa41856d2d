"""Keeping no more than is needed (`lms retention apply`, daily from cron): accounts nobody has
used for RETAIN_INACTIVE_DAYS are erased, walk-ins' names once RETAIN_WALK_IN_DAYS have passed
since their session ended, learning kept against a reference code only once RETAIN_GUEST_DAYS
have passed since its last lesson or quiz, and audit entries older than RETAIN_AUDIT_DAYS are
deleted. A period
of 0 keeps that kind of record until someone erases it by hand.

Accounts are erased exactly as when a person asks (lms.privacy.erasure), so their completions
stay in the totals without a name. An account that cannot be erased without leaving an
organisation with no admin (or the site with none) is kept and reported instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from lms.certify.services import PdfCache
from lms.models import Attendance, AuditEvent, Certificate, Completion, GuestLearner, User, Workshop
from lms.privacy import erasure


@dataclass(frozen=True)
class Periods:
    inactive_days: int
    walk_in_days: int
    audit_days: int
    guest_days: int = 0

    @classmethod
    def of(cls, config) -> Periods:
        return cls(config["RETAIN_INACTIVE_DAYS"], config["RETAIN_WALK_IN_DAYS"], config["RETAIN_AUDIT_DAYS"],
                   config["RETAIN_GUEST_DAYS"])


@dataclass
class Due:
    """What retention would erase now."""

    accounts: list[int] = field(default_factory=list)
    kept: dict[int, str] = field(default_factory=dict)  # account id -> why it is kept
    walk_ins: list[int] = field(default_factory=list)
    guests: list[int] = field(default_factory=list)  # learners by reference code, unclaimed and idle
    audit_entries: int = 0
    audit_before: datetime | None = None


def _before(now: datetime, days: int) -> datetime | None:
    return now - timedelta(days=days) if days else None


def due(db: Session, periods: Periods, now: datetime) -> Due:
    found = Due()
    unused_since = _before(now, periods.inactive_days)
    if unused_since is not None:
        for user in db.scalars(select(User).where(func.coalesce(User.last_seen_at, User.created_at) < unused_since)
                               .order_by(User.id)):
            blocker = erasure.blocker_for_self(db, user)
            if blocker:
                found.kept[user.id] = str(blocker)
            else:
                found.accounts.append(user.id)
    ended_before = _before(now, periods.walk_in_days)
    if ended_before is not None:
        found.walk_ins = list(db.scalars(
            select(Attendance.id).join(Workshop, Workshop.id == Attendance.workshop_id)
            .where(Attendance.user_id.is_(None), Attendance.erased_at.is_(None), Workshop.ends_at < ended_before)
            .order_by(Attendance.id)))
    idle_since = _before(now, periods.guest_days)
    if idle_since is not None:
        # A walk-in's record goes with their name on the register, by the rule above.
        found.guests = list(db.scalars(
            select(GuestLearner.id).where(GuestLearner.claimed_by_id.is_(None), GuestLearner.last_active_at < idle_since,
                                          ~exists().where(Attendance.guest_id == GuestLearner.id))
            .order_by(GuestLearner.id)))
    found.audit_before = _before(now, periods.audit_days)
    if found.audit_before is not None:
        found.audit_entries = db.scalar(select(func.count()).select_from(AuditEvent)
                                        .where(AuditEvent.created_at < found.audit_before))
    return found


def remove_erased_copies(db: Session, cache: PdfCache) -> int:
    """Delete this host's drawn PDFs of certificates whose holder has been erased. The erasure
    deleted those on the host it ran on; a web host with a cache of its own runs this daily."""
    cached = cache.cached_certificate_ids()
    erased = set(db.scalars(select(Certificate.id).join(Completion).where(
        Certificate.id.in_(cached), Completion.holder_erased_at.is_not(None)))) if cached else set()
    return sum(cache.forget(certificate_id) for certificate_id in erased) + cache.remove_old_layout()


def apply(db: Session, found: Due, storage: erasure.Storage) -> None:
    """Erase what is due, committing after each person, so that an interrupted run keeps what
    it finished and the next run does the rest. Old audit entries go first, so the entries
    recording these erasures are kept."""
    if found.audit_before is not None:
        db.execute(delete(AuditEvent).where(AuditEvent.created_at < found.audit_before))
        db.commit()
    for user_id in found.accounts:
        erasure.erase_account(db, user_id, storage, erased_by=None, reason=erasure.RETENTION)
        db.commit()
    for attendance_id in found.walk_ins:
        attendance = db.get(Attendance, attendance_id)
        if attendance is not None and attendance.erased_at is None:
            erasure.erase_walk_in(db, attendance, storage, erased_by=None, reason=erasure.RETENTION)
            db.commit()
    for guest_id in found.guests:
        guest = db.get(GuestLearner, guest_id)
        if guest is not None and guest.claimed_by_id is None:
            erasure.erase_guest(db, guest, storage)
            db.commit()
