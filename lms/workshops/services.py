"""Scheduling trainers' sessions: who may, what a session needs, and the calendar files.

A session belongs to one organisation. Its org admins may schedule, change and cancel any
of its sessions; a trainer may schedule sessions and change or cancel the ones they run or
scheduled. Champions and learners see none of this (404, as for anything out of scope).
Times are entered and shown in the organisation's time zone and stored in UTC."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from lms.audit import services as audit
from lms.catalogue import Course
from lms.db import utcnow
from lms.errors import Forbidden, InvalidInput, OutOfScope
from lms.models import Membership, Role, User, Workshop
from lms.people.scope import MAX_ID, Scope, scope_for
from lms.training.services import offered_courses

MAX_CAPACITY = 10_000
LONGEST_SESSION = timedelta(hours=12)
ATTENDANCE_COMPLETIONS = ("attendance", "online_or_attendance")


def may_run_sessions(scope: Scope) -> bool:
    return scope.can_manage or scope.role == Role.TRAINER.value


def sessions_scope(db: Session, user: User, organisation_id: int) -> Scope:
    """The user's view of an organisation whose sessions they may see and schedule."""
    scope = scope_for(db, user, organisation_id)
    if not may_run_sessions(scope):
        raise OutOfScope()
    return scope


def may_change(scope: Scope, workshop: Workshop) -> bool:
    return scope.can_manage or scope.user_id in (workshop.trainer_id, workshop.created_by_id)


def may_still_change(scope: Scope, workshop: Workshop) -> bool:
    """may_change, and the session is not cancelled: what the pages offer to change."""
    return may_change(scope, workshop) and workshop.cancelled_at is None


def session_courses(db: Session, organisation_id: int, courses: list[Course]) -> list[Course]:
    """Courses this organisation offers that can be completed by attending."""
    return [c for c in offered_courses(db, organisation_id, courses) if c.completion in ATTENDANCE_COMPLETIONS]


def deck_languages(course: Course) -> list[str]:
    """English, and each language the trainer's deck is translated into."""
    return ["en", *sorted(language for language in course.slides if language != "en")]


def trainers(db: Session, scope: Scope) -> list[User]:
    """People of the organisation who may run a session: its trainers and org admins."""
    return list(db.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == scope.organisation_id,
               Membership.role.in_([Role.TRAINER.value, Role.ORG_ADMIN.value]))
        .order_by(User.name, User.id)))


@dataclass(frozen=True)
class Plan:
    """A session as typed into the form, before it is checked."""
    course_id: str
    language: str
    day: date
    start: time
    end: time
    venue: str = ""
    online_link: str = ""
    capacity: int | None = None
    team_id: int | None = None
    trainer_id: int | None = None
    notes: str = ""


def _one_line(text: str, limit: int) -> str:
    return " ".join((text or "").split())[:limit]


def _checked(db: Session, scope: Scope, courses: list[Course], plan: Plan, zone: ZoneInfo) -> dict:
    """The plan as column values, or InvalidInput naming the field."""
    course = next((c for c in session_courses(db, scope.organisation_id, courses) if c.id == plan.course_id), None)
    if course is None:
        raise InvalidInput(_l("Choose a course your organisation offers that can be completed at a session."), "course")
    if plan.language not in deck_languages(course):
        raise InvalidInput(_l("Choose a language the course's slides are available in."), "language")
    starts_at = datetime.combine(plan.day, plan.start, tzinfo=zone).astimezone(timezone.utc)
    ends_at = datetime.combine(plan.day, plan.end, tzinfo=zone).astimezone(timezone.utc)
    if ends_at <= starts_at:
        raise InvalidInput(_l("The end time must be after the start time."), "end")
    if ends_at - starts_at > LONGEST_SESSION:
        raise InvalidInput(_l("A session can last at most 12 hours."), "end")
    venue = _one_line(plan.venue, 300)
    link = (plan.online_link or "").strip()
    if link:
        parts = urlsplit(link)
        if parts.scheme not in ("https", "http") or not parts.netloc or len(link) > 500 or any(ch.isspace() for ch in link):
            raise InvalidInput(_l("Enter the online link as a full web address starting with https://"), "online_link")
    if not venue and not link:
        raise InvalidInput(_l("Enter where the session is: a venue, an online link, or both."), "venue")
    if plan.capacity is not None and not 0 < plan.capacity <= MAX_CAPACITY:
        raise InvalidInput(_l("Enter a number of places between 1 and 10,000, or leave it empty."), "capacity")
    team_id = None
    if plan.team_id is not None:
        if plan.team_id not in {team.id for team in db.scalars(scope.teams())}:
            raise InvalidInput(_l("Choose one of your organisation's teams."), "team")
        team_id = plan.team_id
    trainer_id = plan.trainer_id or scope.user_id
    if trainer_id not in {user.id for user in trainers(db, scope)}:
        raise InvalidInput(_l("Choose a trainer or admin of your organisation to run the session."), "trainer")
    if not scope.can_manage and trainer_id != scope.user_id:
        raise InvalidInput(_l("Only an admin can schedule a session for another trainer."), "trainer")
    return {"course_id": course.id, "language": plan.language, "starts_at": starts_at, "ends_at": ends_at,
            "venue": venue, "online_link": link, "capacity": plan.capacity, "team_id": team_id,
            "trainer_id": trainer_id, "notes": (plan.notes or "").strip()[:2000]}


def _summary(workshop: Workshop) -> dict:
    """What the audit log keeps about a session."""
    return {"workshop_id": workshop.id, "course_id": workshop.course_id, "language": workshop.language,
            "starts_at": workshop.starts_at.astimezone(timezone.utc).isoformat(),
            "ends_at": workshop.ends_at.astimezone(timezone.utc).isoformat(),
            "venue": workshop.venue, "online_link": workshop.online_link}


def schedule(db: Session, scope: Scope, actor: User, courses: list[Course], plan: Plan, zone: ZoneInfo) -> Workshop:
    if not may_run_sessions(scope):
        raise OutOfScope()
    values = _checked(db, scope, courses, plan, zone)
    workshop = Workshop(organisation_id=scope.organisation_id, created_by_id=actor.id, **values)
    db.add(workshop)
    db.flush()
    audit.record(db, scope.organisation_id, actor, audit.WORKSHOP_SCHEDULED, **_summary(workshop))
    return workshop


def get_workshop(db: Session, scope: Scope, workshop_id: int) -> Workshop:
    if not 0 < workshop_id <= MAX_ID:
        raise OutOfScope()
    workshop = db.scalars(select(Workshop).where(Workshop.id == workshop_id,
                                                 Workshop.organisation_id == scope.organisation_id)
                          .options(joinedload(Workshop.trainer), joinedload(Workshop.team))).first()
    if workshop is None:
        raise OutOfScope()
    return workshop


def _changeable(scope: Scope, workshop: Workshop) -> None:
    if not may_change(scope, workshop):
        raise Forbidden(_l("Only the session's trainer or an admin can change it."))
    if workshop.cancelled_at is not None:
        raise InvalidInput(_l("This session was cancelled and can no longer be changed."))


def change(db: Session, scope: Scope, actor: User, courses: list[Course], workshop_id: int, plan: Plan,
           zone: ZoneInfo) -> Workshop:
    workshop = get_workshop(db, scope, workshop_id)
    _changeable(scope, workshop)
    values = _checked(db, scope, courses, plan, zone)
    before = _summary(workshop)
    for name, value in values.items():
        setattr(workshop, name, value)
    db.flush()
    after = _summary(workshop)
    changed = sorted(key for key in after if after[key] != before[key])
    if changed:
        audit.record(db, scope.organisation_id, actor, audit.WORKSHOP_CHANGED, **after,
                     changed=changed, previous={key: before[key] for key in changed})
    return workshop


def cancel(db: Session, scope: Scope, actor: User, workshop_id: int, reason: str) -> Workshop:
    workshop = get_workshop(db, scope, workshop_id)
    _changeable(scope, workshop)
    workshop.cancelled_at = utcnow()
    workshop.closed_at = workshop.closed_at or workshop.cancelled_at
    db.flush()
    audit.record(db, scope.organisation_id, actor, audit.WORKSHOP_CANCELLED, **_summary(workshop),
                 reason=_one_line(reason, 500))
    return workshop


def plan_of(workshop: Workshop, zone: ZoneInfo) -> Plan:
    """The session as the form shows it, in the organisation's time zone."""
    starts, ends = workshop.starts_at.astimezone(zone), workshop.ends_at.astimezone(zone)
    return Plan(course_id=workshop.course_id, language=workshop.language, day=starts.date(), start=starts.time(),
                end=ends.time(), venue=workshop.venue, online_link=workshop.online_link, capacity=workshop.capacity,
                team_id=workshop.team_id, trainer_id=workshop.trainer_id, notes=workshop.notes)


@dataclass(frozen=True)
class Listing:
    upcoming: list[Workshop]
    past: list[Workshop]


PAST_SHOWN = 50


def listing(db: Session, scope: Scope, now: datetime) -> Listing:
    """Upcoming sessions soonest first (cancelled ones included, marked), then the latest past ones."""
    base = select(Workshop).where(Workshop.organisation_id == scope.organisation_id).options(
        joinedload(Workshop.trainer), joinedload(Workshop.team))
    upcoming = db.scalars(base.where(Workshop.ends_at >= now).order_by(Workshop.starts_at, Workshop.id)).all()
    past = db.scalars(base.where(Workshop.ends_at < now).order_by(Workshop.starts_at.desc(), Workshop.id.desc())
                      .limit(PAST_SHOWN)).all()
    return Listing(list(upcoming), list(past))


def trainer_sessions(db: Session, user: User, since: datetime) -> list[Workshop]:
    """Sessions a person runs, in any organisation, from `since` on: their calendar feed."""
    return list(db.scalars(
        select(Workshop).where(Workshop.trainer_id == user.id, Workshop.ends_at >= since)
        .options(joinedload(Workshop.organisation)).order_by(Workshop.starts_at, Workshop.id)))
