"""Which courses an organisation offers and requires, and what that asks of one learner."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from lms.audit import services as audit
from lms.catalogue import Course
from lms.errors import InvalidInput, OutOfScope
from lms.models import CourseOffering, Membership, Role, TrainingRequirement, User
from lms.models.training import MAX_DUE_DAYS
from lms.people.scope import MAX_ID, Scope


# Built once: the learner's course list and the reports ask them on every page.
_WITHDRAWN = select(CourseOffering.course_id).where(
    CourseOffering.organisation_id == bindparam("organisation_id"), CourseOffering.offered.is_(False))
# The learner's membership (when it joined) with each requirement that applies to it: one row
# with no requirement when none does, and no row at all for someone who is not a member.
_JOINED_AND_DUE_DAYS = (
    select(Membership.joined_at, TrainingRequirement.course_id, TrainingRequirement.due_days)
    .select_from(Membership)
    .outerjoin(TrainingRequirement, and_(
        TrainingRequirement.organisation_id == Membership.organisation_id,
        or_(TrainingRequirement.team_id.is_(None), TrainingRequirement.team_id == Membership.team_id),
        or_(TrainingRequirement.role.is_(None), TrainingRequirement.role == Membership.role)))
    .where(Membership.user_id == bindparam("user_id"), Membership.organisation_id == bindparam("organisation_id"))
)


def offered_courses(db: Session, organisation_id: int, courses: list[Course]) -> list[Course]:
    """Installed courses the organisation offers, in catalogue order."""
    withdrawn = set(db.scalars(_WITHDRAWN, {"organisation_id": organisation_id}))
    return [course for course in courses if course.id not in withdrawn]


def set_offered(db: Session, organisation_id: int, courses: list[Course], offered_ids: set[str], *,
                actor: User | None = None) -> None:
    """The courses offered; a change someone makes (actor) is written to the audit log."""
    known = {course.id for course in courses}
    if not offered_ids <= known:
        raise InvalidInput(_l("Choose courses from the list."), "courses")
    existing = {offering.course_id: offering for offering in db.scalars(
        select(CourseOffering).where(CourseOffering.organisation_id == organisation_id))}
    was_offered = {course_id for course_id in known if course_id not in existing or existing[course_id].offered}
    added, withdrawn = sorted(offered_ids - was_offered), sorted(was_offered - offered_ids)
    for course_id in known:
        offering = existing.get(course_id)
        if offering is None:
            db.add(CourseOffering(organisation_id=organisation_id, course_id=course_id, offered=course_id in offered_ids))
        else:
            offering.offered = course_id in offered_ids
    db.flush()
    if actor is not None and (added or withdrawn):
        audit.record(db, organisation_id, actor, audit.COURSES_OFFERED, offered=added, withdrawn=withdrawn)


def requirements(db: Session, organisation_id: int) -> list[TrainingRequirement]:
    return list(db.scalars(
        select(TrainingRequirement).where(TrainingRequirement.organisation_id == organisation_id)
        .options(joinedload(TrainingRequirement.team))
        .order_by(TrainingRequirement.course_id, TrainingRequirement.id)))


def add_requirement(db: Session, scope: Scope, offered: list[Course], *, course_id: str,
                    team_id: int | None, role: str | None, due_days: int,
                    actor: User | None = None) -> TrainingRequirement:
    """Require a course of everyone, a team, a role, or a role within a team. Asking again
    for the same people changes the deadline rather than adding a second rule. A change
    someone makes (actor) is written to the audit log."""
    organisation_id = scope.organisation_id
    if course_id not in {course.id for course in offered}:
        raise InvalidInput(_l("Choose a course your organisation offers."), "course_id")
    team_name = None
    if team_id is not None:
        try:
            team_name = scope.team(db, team_id).name
        except OutOfScope:
            raise InvalidInput(_l("Choose a team from the list."), "team_id") from None
    if role is not None and role not in Role.values():
        raise InvalidInput(_l("Choose a role from the list."), "role")
    if not 0 <= due_days <= MAX_DUE_DAYS:
        raise InvalidInput(_l("Enter a number of days from 0 to %(most)s.", most=MAX_DUE_DAYS), "due_days")
    existing = db.scalars(select(TrainingRequirement).where(
        TrainingRequirement.organisation_id == organisation_id, TrainingRequirement.course_id == course_id,
        TrainingRequirement.team_id.is_(None) if team_id is None else TrainingRequirement.team_id == team_id,
        TrainingRequirement.role.is_(None) if role is None else TrainingRequirement.role == role)).first()
    who = {"course": course_id, "team": team_name, "role": role, "due_days": due_days}
    if existing is not None:
        previous = existing.due_days
        existing.due_days = due_days
        db.flush()
        if actor is not None and previous != due_days:
            audit.record(db, organisation_id, actor, audit.REQUIREMENT_CHANGED, previous_due_days=previous, **who)
        return existing
    requirement = TrainingRequirement(organisation_id=organisation_id, course_id=course_id, team_id=team_id,
                                      role=role, due_days=due_days)
    db.add(requirement)
    db.flush()
    if actor is not None:
        audit.record(db, organisation_id, actor, audit.REQUIREMENT_ADDED, **who)
    return requirement


def remove_requirement(db: Session, organisation_id: int, requirement_id: int, *, actor: User | None = None) -> None:
    requirement = db.get(TrainingRequirement, requirement_id) if 0 < requirement_id <= MAX_ID else None
    if requirement is None or requirement.organisation_id != organisation_id:
        raise OutOfScope()
    who = {"course": requirement.course_id, "team": requirement.team.name if requirement.team else None,
           "role": requirement.role, "due_days": requirement.due_days}
    db.delete(requirement)
    db.flush()
    if actor is not None:
        audit.record(db, organisation_id, actor, audit.REQUIREMENT_REMOVED, **who)


@dataclass(frozen=True)
class Plan:
    """What one organisation asks of one learner."""

    offered: list[Course]
    due_days: dict[str, int]  # course id -> days from joining, for required courses
    joined_at: datetime | None

    def due(self, course_id: str) -> datetime | None:
        days = self.due_days.get(course_id)
        return self.joined_at + timedelta(days=days) if days is not None and self.joined_at else None


def plan_for(db: Session, user_id: int, organisation_id: int | None, courses: list[Course]) -> Plan:
    """The learner's courses in their current organisation; every course when they belong to none."""
    if organisation_id is None:
        return Plan(courses, {}, None)
    rows = db.execute(_JOINED_AND_DUE_DAYS, {"user_id": user_id, "organisation_id": organisation_id}).all()
    if not rows:
        return Plan(courses, {}, None)
    offered = offered_courses(db, organisation_id, courses)
    due_days: dict[str, int] = {}
    for _joined_at, course_id, days in rows:
        if course_id is not None:
            due_days[course_id] = min(days, due_days.get(course_id, days))
    offered_ids = {course.id for course in offered}
    return Plan(offered, {course_id: days for course_id, days in due_days.items() if course_id in offered_ids},
                rows[0].joined_at)
