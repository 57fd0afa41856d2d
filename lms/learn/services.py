"""The learner's path through a course, without Flask: lessons read, quiz attempts,
scoring on the server, completions and refreshers."""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Integer, String, bindparam, null, select, type_coerce, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.catalogue import SOURCE_LANGUAGE, Course, Question
from lms.certify.services import issue_certificate
from lms.dates import add_months
from lms.db import UTCDateTime, utcnow
from lms.errors import InvalidInput, OutOfScope
from lms.interop import lti, xapi
from lms.models import Certificate, Completion, GuestLearner, LessonProgress, QuizAttempt

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
REFRESHER_DUE = "refresher_due"
REVOKED = "revoked"  # the latest completion's certificate was revoked: it no longer counts


def content_language(course: Course, language: str) -> str:
    """The language the course is shown in: the one asked for if the course has it, else English."""
    return language if language in course.languages else SOURCE_LANGUAGE


# --- where a learner is in each course ----------------------------------------------------

@dataclass
class CourseState:
    course: Course
    status: str
    completion: Completion | None = None        # the latest
    lessons_read: set[str] = field(default_factory=set)  # in this round (since the last completion)
    open_attempt_id: int | None = None
    certificate: Certificate | None = None  # of the latest completion

    @property
    def next_lesson(self) -> str | None:
        return next((slug for slug in self.course.module_slugs if slug not in self.lessons_read), None)

    @property
    def lessons_done(self) -> int:
        return sum(1 for slug in self.course.module_slugs if slug in self.lessons_read)


@dataclass(frozen=True)
class Learner:
    """Who is learning: a person with an account, or a guest learner (someone learning an open
    course by reference code). Exactly one of the two ids is set. Where a service takes a
    learner, an account's id stands for Learner(user_id=that id)."""

    user_id: int | None = None
    guest_id: int | None = None

    @property
    def column(self) -> str:
        return "user_id" if self.user_id is not None else "guest_id"

    @property
    def id(self) -> int:
        return self.user_id if self.user_id is not None else self.guest_id

    @property
    def holder(self) -> dict[str, int | None]:
        """The columns of a row that belongs to this learner."""
        return {"user_id": self.user_id, "guest_id": self.guest_id}

    def owns(self, row) -> bool:
        return getattr(row, self.column) == self.id

    def where(self, model):
        return getattr(model, self.column) == self.id


def as_learner(who: Learner | int) -> Learner:
    return who if isinstance(who, Learner) else Learner(user_id=who)


def _state_statements(column: str):
    """Built once per kind of learner, with parameters: every page of a course runs these, and
    building a statement anew costs more than the database takes to answer it."""
    latest_completions = (
        select(Completion, Certificate).outerjoin(Certificate, Certificate.completion_id == Completion.id)
        .where(getattr(Completion, column) == bindparam("learner"),
               Completion.course_id.in_(bindparam("course_ids", expanding=True)))
        .order_by(Completion.id)
    )
    # Lessons read and quiz attempts in one statement: a lesson's row has no attempt id.
    reads_and_attempts = union_all(
        select(LessonProgress.course_id, LessonProgress.module_slug, LessonProgress.read_at,
               type_coerce(null(), Integer).label("attempt_id"), type_coerce(null(), Boolean).label("open"))
        .where(getattr(LessonProgress, column) == bindparam("learner"),
               LessonProgress.course_id.in_(bindparam("course_ids", expanding=True))),
        select(QuizAttempt.course_id, type_coerce(null(), String), type_coerce(null(), UTCDateTime),
               QuizAttempt.id, QuizAttempt.submitted_at.is_(None))
        .where(getattr(QuizAttempt, column) == bindparam("learner"),
               QuizAttempt.course_id.in_(bindparam("course_ids", expanding=True))),
    )
    return latest_completions, reads_and_attempts


_STATE_STATEMENTS = {column: _state_statements(column) for column in ("user_id", "guest_id")}


def course_states(db: Session, learner: Learner | int, courses: list[Course], *, refresher_days: int,
                  now: datetime | None = None) -> list[CourseState]:
    """Each course's state for the learner, in two queries however many courses there are."""
    now = now or utcnow()
    learner = as_learner(learner)
    latest_completions, reads_and_attempts = _STATE_STATEMENTS[learner.column]
    who = {"learner": learner.id, "course_ids": [course.id for course in courses]}
    latest: dict[str, tuple[Completion, Certificate | None]] = {}
    for completion, certificate in db.execute(latest_completions, who):
        current = latest.get(completion.course_id)
        if current is None or completion.completed_at > current[0].completed_at:
            latest[completion.course_id] = (completion, certificate)
    reads: dict[str, list[tuple[str, datetime]]] = {}
    open_attempts: dict[str, int] = {}  # the newest open attempt of each course
    any_attempt: set[str] = set()
    for course_id, module_slug, read_at, attempt_id, is_open in db.execute(reads_and_attempts, who):
        if attempt_id is None:
            reads.setdefault(course_id, []).append((module_slug, read_at))
            continue
        any_attempt.add(course_id)
        if is_open and attempt_id > open_attempts.get(course_id, 0):
            open_attempts[course_id] = attempt_id

    states = []
    for course in courses:
        completion, certificate = latest.get(course.id, (None, None))
        since = completion.completed_at if completion else None
        read = {slug for slug, read_at in reads.get(course.id, []) if since is None or read_at > since}
        if completion is not None and completion.expires_at - timedelta(days=refresher_days) > now:
            status = COMPLETED
        elif completion is not None:
            status = REFRESHER_DUE
        elif read or course.id in any_attempt:
            status = IN_PROGRESS
        else:
            status = NOT_STARTED
        if certificate is not None and certificate.revoked_at is not None:
            status = REVOKED
        states.append(CourseState(course, status, completion, read, open_attempts.get(course.id), certificate))
    return states


def course_state(db: Session, learner: Learner | int, course: Course, *, refresher_days: int) -> CourseState:
    return course_states(db, learner, [course], refresher_days=refresher_days)[0]


def _progress_made(db: Session, learner: Learner) -> None:
    """A guest's learning is kept for a retention period from its last progress (lms.privacy.retention)."""
    if learner.guest_id is not None:
        db.execute(update(GuestLearner).where(GuestLearner.id == learner.guest_id).values(last_active_at=utcnow()))


def mark_lesson_read(db: Session, learner: Learner | int, course: Course, slug: str) -> None:
    if slug not in course.module_slugs:
        raise OutOfScope()
    learner = as_learner(learner)
    _progress_made(db, learner)
    progress = db.scalars(select(LessonProgress).where(
        learner.where(LessonProgress), LessonProgress.course_id == course.id, LessonProgress.module_slug == slug)).first()
    if progress is not None:
        progress.read_at = utcnow()
        db.flush()
        return
    try:
        with db.begin_nested():
            db.add(LessonProgress(**learner.holder, course_id=course.id, module_slug=slug))
    except IntegrityError:  # the same lesson marked from another tab at the same moment
        pass


# --- the quiz -----------------------------------------------------------------------------

class AttemptFinished(InvalidInput):
    def __init__(self):
        super().__init__(_l("This quiz attempt has already been submitted. Your result is below; you can start a new attempt."))


class CourseChanged(InvalidInput):
    def __init__(self):
        super().__init__(_l("This course was updated after you started the quiz. Please start a new attempt."))


class BadSubmission(InvalidInput):
    """A submission no honest form could send: a question or option not in the attempt."""


class Unanswered(InvalidInput):
    def __init__(self, question_ids: list[str]):
        super().__init__(_l("Answer every question before you submit."))
        self.question_ids = question_ids


def start_attempt(db: Session, learner: Learner | int, course: Course, language: str, *,
                  rng: random.Random | None = None) -> QuizAttempt:
    """An open attempt on the current version is carried on; otherwise questions are drawn afresh."""
    if course.completion == "attendance":
        raise InvalidInput(_l("This course is completed by attending a session, not online."))
    learner = as_learner(learner)
    _progress_made(db, learner)
    existing = db.scalars(select(QuizAttempt).where(
        learner.where(QuizAttempt), QuizAttempt.course_id == course.id, QuizAttempt.submitted_at.is_(None),
        QuizAttempt.course_version == course.version).order_by(QuizAttempt.id.desc())).first()
    if existing is not None:
        return existing
    rng = rng or random.SystemRandom()
    drawn = rng.sample(sorted(course.question_bank), course.questions_per_attempt)
    option_order = {}
    for question_id in drawn:
        option_ids = [option.id for option in course.question_bank[question_id].options]
        rng.shuffle(option_ids)
        option_order[question_id] = option_ids
    attempt = QuizAttempt(**learner.holder, course_id=course.id, course_version=course.version,
                          language=content_language(course, language), question_ids=drawn, option_order=option_order)
    db.add(attempt)
    db.flush()
    return attempt


def as_shown(attempt: QuizAttempt, question: Question) -> Question:
    """The question with its options in the order this attempt shows them."""
    order = (attempt.option_order or {}).get(question.id)
    if not order:
        return question
    position = {option_id: index for index, option_id in enumerate(order)}
    options = sorted(question.options, key=lambda option: position.get(option.id, len(position)))
    return dataclasses.replace(question, options=tuple(options))


def attempt_questions(course: Course, attempt: QuizAttempt, language: str) -> list[Question]:
    """The attempt's questions in the language, as shown; a question later removed from the
    course is left out (it cannot be explained, though the score stands)."""
    return [as_shown(attempt, course.question(question_id, language))
            for question_id in attempt.question_ids if question_id in course.question_bank]


def certificate_of_attempt(db: Session, attempt: QuizAttempt) -> Certificate | None:
    """The certificate a passed attempt earned, if it has one."""
    if not attempt.passed:
        return None
    return db.scalars(select(Certificate).join(Completion, Certificate.completion_id == Completion.id)
                      .where(Completion.attempt_id == attempt.id)).first()


def get_attempt(db: Session, learner: Learner | int, course: Course, attempt_id: int) -> QuizAttempt:
    attempt = db.get(QuizAttempt, attempt_id)
    if attempt is None or not as_learner(learner).owns(attempt) or attempt.course_id != course.id:
        raise OutOfScope()
    return attempt


def check_answers(course: Course, attempt: QuizAttempt, answers: dict[str, list[str]]) -> None:
    """Refuse anything an honest form could not send; list the questions left unanswered."""
    for question_id, chosen in answers.items():
        if question_id not in attempt.question_ids:
            raise BadSubmission(_l("The answers name a question that is not in this attempt."))
        question = course.question_bank[question_id]
        valid = {option.id for option in question.options}
        if any(option_id not in valid for option_id in chosen):
            raise BadSubmission(_l("The answers name an option that is not in the question."))
        if not question.multiple and len(chosen) > 1:
            raise BadSubmission(_l("A question with one answer was given several."))
    missing = [qid for qid in attempt.question_ids if not answers.get(qid)]
    if missing:
        raise Unanswered(missing)


def submit_attempt(db: Session, learner: Learner | int, course: Course, attempt_id: int,
                   answers: dict[str, list[str]], *, organisation_id: int | None = None) -> QuizAttempt:
    """Score the attempt on the server. Of two submissions of one attempt (two tabs, a
    resent form) exactly one is recorded; the other raises AttemptFinished. A guest learner's
    certificate waits for the name to print on it (lms.guests.services.name_certificate)."""
    learner = as_learner(learner)
    attempt = get_attempt(db, learner, course, attempt_id)
    if attempt.submitted_at is not None:
        raise AttemptFinished()
    if attempt.course_version != course.version or any(qid not in course.question_bank for qid in attempt.question_ids):
        raise CourseChanged()
    check_answers(course, attempt, answers)

    chosen = {qid: sorted(set(answers[qid])) for qid in attempt.question_ids}
    correct = sum(1 for qid in attempt.question_ids if set(chosen[qid]) == set(course.question_bank[qid].answers))
    passed = 100 * correct >= course.pass_mark * attempt.total
    now = utcnow()
    # End the read transaction first, so that on SQLite the conditional update below waits
    # for a concurrent submission to finish instead of failing on a stale snapshot.
    db.commit()
    result = db.execute(
        update(QuizAttempt).where(QuizAttempt.id == attempt.id, QuizAttempt.submitted_at.is_(None))
        .values(answers=chosen, correct=correct, passed=passed, submitted_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.rollback()
        raise AttemptFinished()
    _progress_made(db, learner)
    if passed:
        completion = Completion(**learner.holder, course_id=course.id, course_version=attempt.course_version,
                                language=attempt.language, method="online", completed_at=now,
                                expires_at=add_months(now, course.validity_months), attempt_id=attempt.id)
        db.add(completion)
        db.flush()
        if learner.user_id is not None:
            # A completion issues its certificate, credited to the organisation the learner is in.
            issue_certificate(db, completion.id, organisation_id)
    if learner.user_id is not None:  # a guest has no identity to send to a learning record store or a platform
        xapi.attempt_submitted(db, user_id=learner.user_id, course=course, language=attempt.language,
                               correct=correct, total=attempt.total, passed=passed, when=now)
        if passed:
            lti.course_completed(db, user_id=learner.user_id, course=course,
                                 percent=round(100 * correct / attempt.total), when=now)
    db.flush()
    db.refresh(attempt)
    return attempt
