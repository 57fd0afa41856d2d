"""Reports on who is trained, without Flask: the dashboard's counts, the people matrix
and the rows the exports stream. Each takes a Scope, so nothing outside it is read."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from lms.catalogue import Course
from lms.errors import InvalidInput, OutOfScope
from lms.models import Job, Membership, Role, Team, TrainingRequirement, User
from lms.pagination import PER_PAGE, Page
from lms.people.scope import Scope, scope_for
from lms.reports import status
from lms.reports.status import (COMPLETED, DONE, EXPIRED, IN_PROGRESS, NOT_STARTED, OVERDUE, REFRESHER_DUE, REVOKED,
                                STATUSES, Filters, cells, person_conditions)
from lms.training.services import offered_courses

STREAM_BATCH = 1000

SORTS = {
    "name": lambda: (User.name, User.id),
    "-name": lambda: (User.name.desc(), User.id.desc()),
    "team": lambda: (Team.name.is_(None), Team.name, User.name, User.id),
    "role": lambda: (Membership.role, User.name, User.id),
    "joined": lambda: (Membership.joined_at, User.id),
    "-joined": lambda: (Membership.joined_at.desc(), User.id.desc()),
}
DEFAULT_SORT = "name"
ATTENDANCE = "attendance"  # Completion.method of a course completed by attending a session
# Sorting by a course's status puts whoever most needs a nudge first.
URGENCY_SORT = "urgency"
URGENCY = (OVERDUE, EXPIRED, REVOKED, REFRESHER_DUE, NOT_STARTED, IN_PROGRESS, COMPLETED)


# --- the dashboard ------------------------------------------------------------------------

@dataclass
class Counts:
    """How the people one course is required of stand, and who completed it anyway."""

    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    optional_done: int = 0
    done_at_session: int = 0  # of those completed or due a refresher (required or not), by attending

    @property
    def required(self) -> int:
        return sum(self.by_status.values())

    def percent(self, status: str) -> int:
        # Half rounds up, as people expect (Python's round() would make 1 of 8 "12%").
        return (200 * self.by_status[status] + self.required) // (2 * self.required) if self.required else 0

    def add(self, other: Counts) -> None:
        for status, number in other.by_status.items():
            self.by_status[status] += number
        self.optional_done += other.optional_done
        self.done_at_session += other.done_at_session


@dataclass
class CourseReport:
    course: Course
    total: Counts
    teams: list[tuple[str, Counts]]  # (team name, or "" for people in no team)


def dashboard(db: Session, scope: Scope, courses: list[Course], teams: list[Team], *, now: datetime,
              refresher_days: int, team_id: int | None = None) -> list[CourseReport]:
    """Counts per course and team from two queries (the requirements, and one tally), however
    many people there are. `teams` are the scope's teams (the caller has them already), for
    their names."""
    if not courses:
        return []
    course_ids = [course.id for course in courses]
    requirements = db.execute(
        select(TrainingRequirement.course_id, TrainingRequirement.team_id, TrainingRequirement.role,
               TrainingRequirement.due_days)
        .where(TrainingRequirement.organisation_id == scope.organisation_id,
               TrainingRequirement.course_id.in_(course_ids))
    ).all()
    deadlines = sorted({requirement.due_days for requirement in requirements})
    members: dict[tuple[int | None, str, int], int] = {}
    active: dict[tuple[str, int | None, str, int], list[tuple[int, bool, int]]] = {}
    for kind, course_id, row_team_id, role, lateness, code, attended, number in db.execute(status.tally(
            scope, course_ids, now=now, refresher_days=refresher_days, deadlines=deadlines, team_id=team_id,
            attendance=ATTENDANCE)):
        if kind == "members":
            members[(row_team_id, role, lateness)] = number
        else:
            active.setdefault((course_id, row_team_id, role, lateness), []).append((code, bool(attended), number))

    counts: dict[tuple[str, int | None], Counts] = {}
    for course_id in course_ids:
        for (row_team_id, role, lateness), number in members.items():
            due_days = _due_days(requirements, course_id, row_team_id, role)
            # As cells() has it: overdue once the tightest deadline that applies has passed.
            late = due_days is not None and lateness > deadlines.index(due_days)
            entry = counts.setdefault((course_id, row_team_id), Counts())
            idle = number
            for code, attended, pairs in active.get((course_id, row_team_id, role, lateness), ()):
                idle -= pairs
                if code == status.STARTED:
                    _count(entry, due_days is not None, OVERDUE if late else IN_PROGRESS, False, pairs)
                else:
                    _count(entry, due_days is not None, status.LATEST[code], attended, pairs)
            if idle:
                _count(entry, due_days is not None, OVERDUE if late else NOT_STARTED, False, idle)

    team_names = {team.id: team.name for team in teams}
    reports = []
    for course in courses:
        total = Counts()
        rows = []
        for (course_id, row_team_id), entry in counts.items():
            if course_id != course.id:
                continue
            total.add(entry)
            rows.append((team_names.get(row_team_id, "") if row_team_id else "", entry))
        # Teams by name, and people in no team last.
        rows.sort(key=lambda row: (row[0] == "", row[0].casefold()))
        reports.append(CourseReport(course, total, rows))
    return reports


def _due_days(requirements, course_id: str, team_id: int | None, role: str) -> int | None:
    """The tightest deadline of the requirements that apply, as cells() works it out."""
    applying = [requirement.due_days for requirement in requirements
                if requirement.course_id == course_id
                and (requirement.team_id is None or requirement.team_id == team_id)
                and (requirement.role is None or requirement.role == role)]
    return min(applying) if applying else None


def _count(entry: Counts, required: bool, status_name: str, attended: bool, number: int) -> None:
    if required:
        entry.by_status[status_name] += number
    elif status_name in DONE:
        entry.optional_done += number
    if status_name in DONE and attended:
        entry.done_at_session += number


def shown_statuses(reports: list[CourseReport]) -> list[str]:
    """The dashboard's columns: every status, but "revoked" only when someone has it, as
    revocations are rare and an always-empty column would only be noise."""
    return [status for status in STATUSES
            if status != REVOKED or any(report.total.by_status[REVOKED] for report in reports)]


# --- the matrix ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    status: str
    required: bool
    completed_at: datetime | None
    expires_at: datetime | None
    due: datetime | None  # the deadline of a required course never completed
    revoked_at: datetime | None = None  # when the certificate of the latest completion was revoked
    method: str | None = None  # how the latest completion was made: "online" or "attendance"

    @property
    def at_session(self) -> bool:
        return self.method == ATTENDANCE and self.completed_at is not None

    @property
    def date(self) -> datetime | None:
        """The one date that matters for this status."""
        if self.status == COMPLETED:
            return self.completed_at
        if self.status in (REFRESHER_DUE, EXPIRED):
            return self.expires_at
        if self.status == REVOKED:
            return self.revoked_at
        return self.due


@dataclass(frozen=True)
class Person:
    membership_id: int
    name: str
    email: str
    team: str
    role: str
    joined_at: datetime


@dataclass
class Row:
    person: Person
    cells: dict[str, Cell]


def _utc(moment) -> datetime | None:
    """Timestamps read through a subquery: SQLite's may come back as text or naive; all are UTC."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def cell_from_row(row) -> Cell:
    joined_at = _utc(row.joined_at)
    never_completed = row.completed_at is None
    due = joined_at + timedelta(days=row.due_days) if row.due_days is not None and never_completed else None
    return Cell(row.status, row.due_days is not None, _utc(row.completed_at), _utc(row.expires_at), due,
                _utc(row.revoked_at), getattr(row, "method", None))


def check_filters(db: Session, scope: Scope, filters: Filters, courses: list[Course]) -> None:
    """A filter naming something outside the scope is refused (OutOfScope, a 404), not quietly
    emptied; a status or role that does not exist is InvalidInput."""
    if filters.team_id:
        scope.team(db, filters.team_id)
    elif filters.team_id == 0 and not scope.can_manage:  # people in no team are outside every champion's team
        raise OutOfScope()
    if filters.course_id and filters.course_id not in {course.id for course in courses}:
        raise OutOfScope()
    if filters.status and filters.status not in STATUSES:
        raise InvalidInput(_l("Choose a status from the list."), "status")
    if filters.role and filters.role not in Role.values():
        raise InvalidInput(_l("Choose a role from the list."), "role")


def shown_courses(courses: list[Course], filters: Filters) -> list[Course]:
    """The course filter narrows the columns to one course."""
    return [course for course in courses if course.id == filters.course_id] if filters.course_id else courses


_PERSON_COLUMNS = (Membership.id, User.name, User.email, Team.name, Membership.role, Membership.joined_at)


def _people(scope: Scope, filters: Filters, course_ids: list[str], sort: str, *, now: datetime, refresher_days: int):
    conditions = person_conditions(scope, filters, course_ids, now=now, refresher_days=refresher_days)
    query = (
        select(*_PERSON_COLUMNS)
        .select_from(Membership).join(User, User.id == Membership.user_id).outerjoin(Team, Team.id == Membership.team_id)
        .where(*conditions)
    )
    if sort == URGENCY_SORT and filters.course_id:
        table = cells(scope, [filters.course_id], now=now, refresher_days=refresher_days, name="urgency")
        rank = case({status: number for number, status in enumerate(URGENCY)}, value=table.c.status)
        # Within a status, the longest overdue (or soonest to expire) first.
        return (query.join(table, table.c.membership_id == Membership.id)
                .order_by(rank, table.c.expires_at, Membership.joined_at, User.name, User.id))
    return query.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT])())


def _person(row) -> Person:
    membership_id, name, email, team, role, joined_at = row[:6]
    return Person(membership_id, name, email, team or "", role, _utc(joined_at))


@dataclass
class JobRequest:
    """What a job asked for from the people list may do when it runs: all worked out again then,
    so a champion who has since lost the team, or a course no longer offered, is refused."""
    requester: User
    scope: Scope
    courses: list[Course]
    filters: Filters


def job_request(db: Session, job: Job, catalogue: list[Course]) -> JobRequest:
    requester = db.get(User, job.requested_by_id) if job.requested_by_id else None
    if requester is None:
        raise OutOfScope()
    scope = scope_for(db, requester, job.organisation_id)
    if not scope.sees_people:
        raise OutOfScope()
    courses = offered_courses(db, scope.organisation_id, catalogue)
    filters = Filters(**job.params["filters"])
    check_filters(db, scope, filters, courses)
    return JobRequest(requester, scope, courses, filters)


def count_people(db: Session, scope: Scope, filters: Filters, courses: list[Course], *, now: datetime,
                 refresher_days: int) -> int:
    """How many people the filters match."""
    course_ids = [course.id for course in shown_courses(courses, filters)]
    # Counted from the memberships alone (users only to search their names): joining every
    # person's user and team to count them took 100 ms at 100,000 people.
    counted = select(func.count()).select_from(Membership)
    if filters.search:
        counted = counted.join(User, User.id == Membership.user_id)
    return db.scalar(counted.where(
        *person_conditions(scope, filters, course_ids, now=now, refresher_days=refresher_days)))


def matrix(db: Session, scope: Scope, filters: Filters, courses: list[Course], *, page: int, sort: str = DEFAULT_SORT,
           now: datetime, refresher_days: int, per_page: int = PER_PAGE) -> Page:
    """One page of people, each Row holding their cell in every course shown: three queries."""
    course_ids = [course.id for course in shown_courses(courses, filters)]
    query = _people(scope, filters, course_ids, sort, now=now, refresher_days=refresher_days)
    total = count_people(db, scope, filters, courses, now=now, refresher_days=refresher_days)
    number = min(max(1, page), max(1, -(-total // per_page)))
    people = [_person(row) for row in db.execute(query.limit(per_page).offset((number - 1) * per_page))]
    by_membership: dict[int, dict[str, Cell]] = {person.membership_id: {} for person in people}
    if people and course_ids:
        table = cells(scope, course_ids, now=now, refresher_days=refresher_days, membership_ids=list(by_membership),
                      with_method=True)
        for row in db.execute(select(table)):
            by_membership[row.membership_id][row.course_id] = cell_from_row(row)
    return Page(items=[Row(person, by_membership[person.membership_id]) for person in people],
                number=number, per_page=per_page, total=total)


def stream_rows(db: Session, scope: Scope, filters: Filters, courses: list[Course], *, sort: str = DEFAULT_SORT,
                now: datetime, refresher_days: int) -> Iterator[Row]:
    """Every matching person as a Row, from one query read in batches, so memory stays flat
    however many there are."""
    course_ids = [course.id for course in shown_courses(courses, filters)]
    query = _people(scope, filters, course_ids, sort, now=now, refresher_days=refresher_days)
    if not course_ids:
        for row in db.execute(query.execution_options(yield_per=STREAM_BATCH)):
            yield Row(_person(row), {})
        return
    table = cells(scope, course_ids, now=now, refresher_days=refresher_days, with_method=True)
    query = (query.join(table, table.c.membership_id == Membership.id)
             .add_columns(table.c.course_id, table.c.status, table.c.joined_at, table.c.completed_at,
                          table.c.expires_at, table.c.revoked_at, table.c.due_days, table.c.method)
             .order_by(table.c.course_id))
    current: Row | None = None
    for row in db.execute(query.execution_options(yield_per=STREAM_BATCH)):
        # Each person's rows arrive together: every sort ends on a unique column.
        if current is None or current.person.membership_id != row[0]:
            if current is not None:
                yield current
            current = Row(_person(row), {})
        current.cells[row.course_id] = cell_from_row(row)
    if current is not None:
        yield current
