"""What a session changed: attendees rate their confidence in each of the course's learning
outcomes, 1 to 5, before and after the session on their phones (through the check-in code),
with one free-text answer; the trainer's session report and the organisation's report set
before against after.

Nobody can be singled out: answers are anonymous, and any figure drawn from fewer than
MIN_ANSWERS answers is withheld (a mean, a change, even a count), as are the free-text answers
of a stage that fewer than MIN_ANSWERS people answered."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.catalogue import Course
from lms.errors import InvalidInput
from lms.models import EvaluationResponse, Workshop
from lms.people.scope import Scope
from lms.workshops.register import CHECK_IN_OPENS, workshop_by_code

BEFORE, AFTER = "before", "after"
STAGES = (BEFORE, AFTER)
MIN_ANSWERS = 5
LOWEST, HIGHEST = 1, 5
COMMENT_LIMIT = 1000
# Answers "after" are taken until a week after the end, for a follow-up message to the group.
AFTER_CLOSES = timedelta(days=7)


def stage_open(workshop: Workshop, stage: str, now: datetime) -> bool:
    """Before: from when check-in opens until the session ends. After: from its start for a week."""
    if workshop.cancelled_at is not None:
        return False
    if stage == BEFORE:
        return workshop.starts_at - CHECK_IN_OPENS <= now <= workshop.ends_at
    return workshop.starts_at <= now <= workshop.ends_at + AFTER_CLOSES


def workshop_for(db: Session, typed_code: str, stage: str, now: datetime) -> Workshop | None:
    """The session this code is for, if that stage is open now; None otherwise, so a wrong
    code and a closed stage look the same."""
    workshop = workshop_by_code(db, typed_code) if stage in STAGES else None
    if workshop is None or not stage_open(workshop, stage, now):
        return None
    return workshop


def respondent_key(secret: str, token: str) -> str:
    """A keyed hash of the phone's random token: the same phone is known again, and the
    database holds nothing that names it."""
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def has_answered(db: Session, workshop: Workshop, stage: str, respondent: str) -> bool:
    return db.scalar(select(EvaluationResponse.id).where(
        EvaluationResponse.workshop_id == workshop.id, EvaluationResponse.stage == stage,
        EvaluationResponse.respondent == respondent)) is not None


def record(db: Session, workshop: Workshop, course: Course, *, stage: str, respondent: str, ratings: list[int],
           comment: str, language: str) -> bool:
    """Keep one phone's answers for a stage; False when that phone had already answered it
    (a second tap, a resent form), which changes nothing."""
    outcomes = course.learning_outcomes()
    if stage not in STAGES:
        raise InvalidInput(_l("Choose before or after the session."))
    if len(ratings) != len(outcomes) or any(not LOWEST <= rating <= HIGHEST for rating in ratings):
        raise InvalidInput(_l("Choose a number from 1 to 5 for each statement."))
    comment = "".join(ch for ch in comment.strip() if ch.isprintable() or ch == "\n")[:COMMENT_LIMIT]
    if has_answered(db, workshop, stage, respondent):
        return False
    try:
        with db.begin_nested():
            db.add(EvaluationResponse(workshop_id=workshop.id, stage=stage, respondent=respondent, ratings=ratings,
                                      comment=comment, course_version=course.version, language=language))
    except IntegrityError:  # the same phone, at the same instant
        return False
    return True


# --- reports ---------------------------------------------------------------------------------

@dataclass
class Tally:
    """The ratings of one outcome at one stage."""
    total: int = 0
    count: int = 0

    def add(self, rating: int) -> None:
        self.total += rating
        self.count += 1

    @property
    def shown(self) -> bool:
        return self.count >= MIN_ANSWERS

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.shown else None


@dataclass
class OutcomeRow:
    outcome: str
    before: Tally = field(default_factory=Tally)
    after: Tally = field(default_factory=Tally)

    @property
    def change(self) -> float | None:
        """The mean after less the mean before; None unless both rest on enough answers."""
        if self.before.mean is None or self.after.mean is None:
            return None
        return self.after.mean - self.before.mean


@dataclass
class CourseEvaluation:
    course_id: str
    outcomes: list[OutcomeRow]
    responses: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    comments: dict[str, list[str]] = field(default_factory=lambda: {stage: [] for stage in STAGES})
    sessions: set[int] = field(default_factory=set)

    def comments_shown(self, stage: str) -> list[str]:
        # Listed in alphabetical order, never in the order given, which could point to who wrote each.
        if self.responses[stage] < MIN_ANSWERS:
            return []
        return sorted(self.comments[stage], key=str.casefold)


def _tally(rows, courses: dict[str, Course], language: str) -> dict[str, CourseEvaluation]:
    found: dict[str, CourseEvaluation] = {}
    for course_id, workshop_id, stage, ratings, comment in rows:
        course = courses.get(course_id)
        if course is None:
            continue
        entry = found.get(course_id)
        if entry is None:
            entry = found[course_id] = CourseEvaluation(
                course_id, [OutcomeRow(outcome) for outcome in course.learning_outcomes(language)])
        entry.sessions.add(workshop_id)
        entry.responses[stage] += 1
        if comment:
            entry.comments[stage].append(comment)
        # Answers given against an older version with other outcomes count where they line up.
        for row, rating in zip(entry.outcomes, ratings or []):
            if isinstance(rating, int) and LOWEST <= rating <= HIGHEST:
                getattr(row, stage).add(rating)
    return found


_COLUMNS = (Workshop.course_id, Workshop.id, EvaluationResponse.stage, EvaluationResponse.ratings,
            EvaluationResponse.comment)


def session_report(db: Session, workshop: Workshop, course: Course, language: str) -> CourseEvaluation:
    rows = db.execute(select(*_COLUMNS).join(Workshop, Workshop.id == EvaluationResponse.workshop_id)
                      .where(EvaluationResponse.workshop_id == workshop.id))
    found = _tally(rows, {course.id: course}, language)
    return found.get(course.id) or CourseEvaluation(course.id, [OutcomeRow(o) for o in course.learning_outcomes(language)])


def organisation_report(db: Session, scope: Scope, courses: list[Course], language: str) -> list[CourseEvaluation]:
    """Every course's answers across the organisation's sessions (not cancelled ones), in one query."""
    rows = db.execute(select(*_COLUMNS).join(Workshop, Workshop.id == EvaluationResponse.workshop_id)
                      .where(Workshop.organisation_id == scope.organisation_id, Workshop.cancelled_at.is_(None)))
    found = _tally(rows, {course.id: course for course in courses}, language)
    return [found[course.id] for course in courses if course.id in found]
