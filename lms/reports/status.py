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

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Float, Integer, String, and_, case, exists, false, func, literal, or_, select, union_all
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
# As every page and export names them.
STATUS_LABELS = {
    COMPLETED: _l("Completed"),
    REFRESHER_DUE: _l("Refresher due"),
    EXPIRED: _l("Expired"),
    REVOKED: _l("Revoked"),
    OVERDUE: _l("Overdue"),
    IN_PROGRESS: _l("In progress"),
    NOT_STARTED: _l("Not started"),
}
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


# --- counting a whole organisation ------------------------------------------------------------
#
# cells() works out each (person, course) pair with lookups of its own: right for a page of
# people, but at 100,000 people and three courses that is 300,000 pairs, each with half a dozen
# index lookups, about 1.5 s on PostgreSQL. The dashboard only needs counts, so tally() reads
# each membership once and each completion, lesson read and quiz attempt once, and the
# dashboard (reports.services) works out in Python what no row has to say: a person with no
# activity in a course is overdue or not started, which depends only on their team, their role
# and when they joined. tests/test_report_scale.py checks the two ways agree.

LATEST = (REVOKED, COMPLETED, REFRESHER_DUE, EXPIRED)  # tally codes 0-3: the latest completion's status
STARTED = len(LATEST)  # tally code 4: started, never completed


def _lateness(joined_at, deadlines: list[int], now: datetime):
    """How many of the deadlines (days, ascending) have passed since joined_at: a deadline of d
    days has passed when more than d days lie between joining and now, as cells() judges it.
    Compared as timestamps, against a moment worked out here, so the database does no
    arithmetic on each row."""
    if not deadlines:
        return literal(0)
    return case(*((joined_at < literal(now - timedelta(days=deadline), UTCDateTime), rank)
                  for rank, deadline in reversed(list(enumerate(deadlines, start=1)))), else_=0)


def tally(scope: Scope, course_ids: list[str], *, now: datetime, refresher_days: int, deadlines: list[int],
          team_id: int | None = None, attendance: str = "attendance"):
    """One query of two kinds of rows, each (kind, course_id, team_id, role, lateness, code,
    attended, number):

    - kind "members": how many people in the scope there are per team, role and lateness
      (how many of `deadlines` have passed since they joined);
    - kind "active": per course, team, role and lateness, how many have done something in the
      course, by code: 0-3 the status of their latest completion (LATEST), 4 started but never
      completed (STARTED); attended says whether that latest completion was by attending.

    The latest completion is the one that expires last, as in cells(); when two expire at the
    very same moment, it is revoked (or by attending) if either is."""
    now_value = literal(now, UTCDateTime)
    people = [*scope.membership_conditions()]
    if team_id == 0:
        people.append(Membership.team_id.is_(None))
    elif team_id is not None:
        people.append(Membership.team_id == team_id)
    lateness = _lateness(Membership.joined_at, deadlines, now)

    members = (
        select(literal("members").label("kind"), literal(None, String).label("course_id"), Membership.team_id,
               Membership.role, lateness.label("lateness"), literal(None, Integer).label("code"),
               literal(None, Boolean).label("attended"), func.count().label("number"))
        .where(*people)
        .group_by(Membership.team_id, Membership.role, lateness)
    )

    revoked = (select(Certificate.completion_id).where(Certificate.revoked_at.is_not(None))
               .subquery("revoked_certificate"))
    no_time = literal(None, UTCDateTime)
    activity = union_all(
        select(Completion.user_id, Completion.course_id, Completion.expires_at.label("expires_at"),
               case((revoked.c.completion_id.is_not(None), Completion.expires_at), else_=no_time).label("revoked"),
               case((Completion.method == attendance, Completion.expires_at), else_=no_time).label("attended"))
        .outerjoin(revoked, revoked.c.completion_id == Completion.id)
        .where(Completion.course_id.in_(course_ids)),
        select(LessonProgress.user_id, LessonProgress.course_id, no_time, no_time, no_time)
        .where(LessonProgress.course_id.in_(course_ids)),
        select(QuizAttempt.user_id, QuizAttempt.course_id, no_time, no_time, no_time)
        .where(QuizAttempt.course_id.in_(course_ids)),
    ).subquery("activity")
    # One row per person and course with any activity. Grouped by the membership's primary
    # key, its other columns may be used as they are.
    pairs = (
        select(activity.c.course_id, Membership.team_id, Membership.role, lateness.label("lateness"),
               func.max(activity.c.expires_at).label("expires_at"), func.max(activity.c.revoked).label("revoked"),
               func.max(activity.c.attended).label("attended"))
        .select_from(activity).join(Membership, Membership.user_id == activity.c.user_id)
        .where(*people)
        .group_by(Membership.id, activity.c.course_id)
        .subquery("pairs")
    )
    code = case(
        (pairs.c.expires_at.is_(None), STARTED),
        (pairs.c.revoked == pairs.c.expires_at, LATEST.index(REVOKED)),
        (pairs.c.expires_at > literal(now + timedelta(days=refresher_days), UTCDateTime), LATEST.index(COMPLETED)),
        (pairs.c.expires_at > now_value, LATEST.index(REFRESHER_DUE)),
        else_=LATEST.index(EXPIRED),
    )
    attended = func.coalesce(pairs.c.attended == pairs.c.expires_at, false())
    active = (
        select(literal("active").label("kind"), pairs.c.course_id, pairs.c.team_id, pairs.c.role, pairs.c.lateness,
               code.label("code"), attended.label("attended"), func.count().label("number"))
        .group_by(pairs.c.course_id, pairs.c.team_id, pairs.c.role, pairs.c.lateness, code, attended)
    )
    return union_all(members, active)
