"""Where each person stands in each course, worked out by the database.

One row per (membership, offered course) in a Scope, with the person's status there.
The dashboard groups these rows, the matrix pages through them and the exports stream
them, so every report counts the same way and none of them loads a whole organisation
into Python.

A status is one of, first match wins:
- revoked:        the certificate of the latest completion (the one that expires last)
                  was revoked: it counts for nothing, and the course is to be done again;
- completed:      a completion that is not yet in its refresher window;
- refresher_due:  a completion that expires within the refresher window;
- expired:        the latest completion has expired;
- overdue:        never completed, the course is required, and the deadline has passed;
- in_progress:    never completed, but a lesson read or a quiz attempt started;
- not_started:    nothing yet.

A revocation is answered by completing the course again, and only then: so the status
follows the latest completion, as the learner's own page does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Float, String, and_, case, exists, false, func, literal, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import FunctionElement

from lms.db import UTCDateTime
from lms.models import Certificate, Completion, LessonProgress, Membership, QuizAttempt, TrainingRequirement
from lms.people.scope import Scope, search_condition

COMPLETED = "completed"
REFRESHER_DUE = "refresher_due"
EXPIRED = "expired"
REVOKED = "revoked"
OVERDUE = "overdue"
IN_PROGRESS = "in_progress"
NOT_STARTED = "not_started"
STATUSES = (COMPLETED, REFRESHER_DUE, EXPIRED, REVOKED, OVERDUE, IN_PROGRESS, NOT_STARTED)
DONE = (COMPLETED, REFRESHER_DUE)


class days_between(FunctionElement):
    """Days (with a fraction) from the first timestamp to the second, on either engine."""

    type = Float()
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)})) / 86400.0)"


@dataclass(frozen=True)
class Filters:
    """What a champion narrowed the report to. Ids are checked against the scope by the
    caller; here they only narrow the rows."""

    team_id: int | None = None      # 0 means people in no team
    course_id: str | None = None
    status: str | None = None
    role: str | None = None
    search: str = ""


def _offered(course_ids: list[str]):
    """The offered courses as a little table the database can join with."""
    selects = [select(literal(course_id, String).label("course_id")) for course_id in course_ids]
    return (union_all(*selects) if len(selects) > 1 else selects[0]).subquery("offered")


def cells(scope: Scope, course_ids: list[str], *, now: datetime, refresher_days: int,
          membership_ids: list[int] | None = None, name: str = "cells", with_method: bool = False):
    """A subquery of one row per person and course, with columns membership_id, user_id,
    team_id, role, joined_at, course_id, completed_at, expires_at, revoked_at (when the
    certificate of the latest completion was revoked, else None), started, due_days (None
    when not required) and status; with_method, also method: how the latest completion was
    made ("online" or "attendance"). Three subqueries a row read completions, all from one
    index; the latest completion's certificate (and, with_method, the completion itself) is
    then joined by its unique index, no more."""
    offered = _offered(course_ids)
    person_course = and_(Completion.user_id == Membership.user_id, Completion.course_id == offered.c.course_id)
    latest_completion = select(func.max(Completion.completed_at)).where(person_course).scalar_subquery()
    latest_expiry = select(func.max(Completion.expires_at)).where(person_course).scalar_subquery()
    # The completion that expires last, from the end of the same index: its certificate says
    # whether it was revoked, and it says how it was made.
    latest_id = (
        select(Completion.id).where(person_course).order_by(Completion.expires_at.desc()).limit(1).scalar_subquery()
    )
    started = or_(
        exists().where(LessonProgress.user_id == Membership.user_id, LessonProgress.course_id == offered.c.course_id),
        exists().where(QuizAttempt.user_id == Membership.user_id, QuizAttempt.course_id == offered.c.course_id),
    )
    # The tightest deadline of the requirements that apply to this person.
    due_days = select(func.min(TrainingRequirement.due_days)).where(
        TrainingRequirement.organisation_id == scope.organisation_id,
        TrainingRequirement.course_id == offered.c.course_id,
        or_(TrainingRequirement.team_id.is_(None), TrainingRequirement.team_id == Membership.team_id),
        or_(TrainingRequirement.role.is_(None), TrainingRequirement.role == Membership.role),
    ).scalar_subquery()

    base = (
        select(
            Membership.id.label("membership_id"), Membership.user_id, Membership.team_id, Membership.role,
            Membership.joined_at, offered.c.course_id,
            latest_completion.label("completed_at"), latest_expiry.label("expires_at"),
            latest_id.label("latest_id"), started.label("started"), due_days.label("due_days"),
        )
        .select_from(Membership)
        .join(offered, literal(True))
        .where(*scope.membership_conditions())
    )
    if membership_ids is not None:
        base = base.where(Membership.id.in_(membership_ids))
    # OFFSET 0 keeps both engines from merging this subquery into the one below, which would
    # copy each correlated subquery into every branch of the status CASE and run it up to
    # three times a row (and, on PostgreSQL, push the cost estimate into slow JIT compiling).
    base = base.offset(0).subquery("base")

    certificate = aliased(Certificate, name="latest_certificate")
    joined = base.outerjoin(certificate, certificate.completion_id == base.c.latest_id)
    extra = []
    if with_method:
        latest = aliased(Completion, name="latest_completion")
        joined = joined.outerjoin(latest, latest.id == base.c.latest_id)
        extra.append(latest.method.label("method"))
    revoked_at = certificate.revoked_at

    now_value = literal(now, UTCDateTime)
    status = case(
        (revoked_at.is_not(None), REVOKED),
        (base.c.expires_at > literal(now + timedelta(days=refresher_days), UTCDateTime), COMPLETED),
        (base.c.expires_at > now_value, REFRESHER_DUE),
        (base.c.expires_at.is_not(None), EXPIRED),
        (and_(base.c.due_days.is_not(None), days_between(base.c.joined_at, now_value) > base.c.due_days), OVERDUE),
        (base.c.started, IN_PROGRESS),
        else_=NOT_STARTED,
    )
    columns = [column for column in base.c if column.name != "latest_id"]
    return select(*columns, revoked_at.label("revoked_at"), *extra, status.label("status")).select_from(joined).subquery(name)


def person_conditions(scope: Scope, filters: Filters, course_ids: list[str], *, now: datetime,
                      refresher_days: int) -> list:
    """Where-clauses choosing the people a report shows; the query must join User. A status
    filter matches anyone with that status in one of the courses given."""
    conditions = scope.membership_conditions()
    search = search_condition(filters.search)
    if search is not None:
        conditions.append(search)
    if filters.team_id == 0:
        conditions.append(Membership.team_id.is_(None))
    elif filters.team_id is not None:
        conditions.append(Membership.team_id == filters.team_id)
    if filters.role:
        conditions.append(Membership.role == filters.role)
    if filters.status:
        if not course_ids:
            conditions.append(false())
        else:
            table = cells(scope, course_ids, now=now, refresher_days=refresher_days)
            conditions.append(Membership.id.in_(select(table.c.membership_id).where(table.c.status == filters.status)))
    return conditions
