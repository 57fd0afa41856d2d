"""A learner's way through a course: lessons read, quiz attempts, completions."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, UTCDateTime, utcnow
from lms.guests.reference import STORED_LENGTH, new_reference

if TYPE_CHECKING:
    from lms.models.people import User

COURSE_ID_LENGTH = 64
VERSION_LENGTH = 64


# Progress belongs to an account or to a guest learner, never both; a guest's goes with the guest.
ONE_LEARNER = "(user_id IS NULL) <> (guest_id IS NULL)"


class LessonProgress(Base):
    """A lesson the learner has read; read_at moves on when they read it again (refreshers)."""

    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("user_id", "course_id", "module_slug", name="uq_lesson_progress_user_course_module"),
                      UniqueConstraint("guest_id", "course_id", "module_slug", name="uq_lesson_progress_guest_course_module"),
                      CheckConstraint(ONE_LEARNER, name="one_learner"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    guest_id: Mapped[int | None] = mapped_column(ForeignKey("guest_learners.id", ondelete="CASCADE"))
    course_id: Mapped[str] = mapped_column(String(COURSE_ID_LENGTH))
    module_slug: Mapped[str] = mapped_column(String(120))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuizAttempt(Base):
    """The questions drawn for one attempt, and once submitted, the answers and score."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (Index("ix_quiz_attempts_user_course", "user_id", "course_id"),
                      Index("ix_quiz_attempts_guest_course", "guest_id", "course_id"),
                      CheckConstraint(ONE_LEARNER, name="one_learner"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    guest_id: Mapped[int | None] = mapped_column(ForeignKey("guest_learners.id", ondelete="CASCADE"))
    course_id: Mapped[str] = mapped_column(String(COURSE_ID_LENGTH))
    course_version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    language: Mapped[str] = mapped_column(String(16))
    question_ids: Mapped[list] = mapped_column(JSON)
    # question id -> its option ids in the order this attempt shows them, shuffled when the
    # questions are drawn so that an option's position tells a learner nothing. Attempts
    # from before it existed have none and show the bank's order.
    option_order: Mapped[dict | None] = mapped_column(JSON)
    answers: Mapped[dict | None] = mapped_column(JSON)  # question id -> list of option ids
    correct: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def total(self) -> int:
        return len(self.question_ids)

    @property
    def percent(self) -> int:
        return round(100 * (self.correct or 0) / self.total) if self.total else 0


class GuestLearner(Base):
    """A learner without an account: a walk-in at a session, or someone learning an open course
    by reference code. One record for both, which can hold progress, completions and
    certificates and be claimed into an account. Not counted in any organisation's reports until
    claimed, since reports read people through memberships, which a guest has none of."""

    __tablename__ = "guest_learners"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The name to print, as the person gave it ("" until someone learning online gives it).
    name: Mapped[str] = mapped_column(String(200), default="")
    reference_code: Mapped[str] = mapped_column(String(STORED_LENGTH), unique=True, default=new_reference)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Moves on with each lesson read or quiz answered: retention counts from the last of them.
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Completion(Base):
    """A course completed, on the version and in the language it was earned in, by a person
    with an account or by a guest learner (exactly one of the two)."""

    __tablename__ = "completions"
    __table_args__ = (
        CheckConstraint("method IN ('online', 'attendance')", name="method"),
        # A holder whose details were erased leaves the completion with neither.
        CheckConstraint("((user_id IS NULL) <> (guest_id IS NULL)) OR (user_id IS NULL AND guest_id IS NULL "
                        "AND holder_erased_at IS NOT NULL)", name="one_holder"),
        # Covers "the latest expiry of this person's completions of this course", which every
        # report asks once per person and course.
        Index("ix_completions_user_course_expires", "user_id", "course_id", "expires_at"),
        Index("ix_completions_course_expires", "course_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    guest_id: Mapped[int | None] = mapped_column(ForeignKey("guest_learners.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[str] = mapped_column(String(COURSE_ID_LENGTH))
    course_version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    language: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(20))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # One completion per attempt at most: a resent form cannot complete twice.
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("quiz_attempts.id", ondelete="SET NULL"), unique=True)
    # Set when the holder's details were erased: the completion stays, belonging to nobody, so
    # the organisation's totals stay right and the certificate still verifies (without a name).
    holder_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()
    guest: Mapped[GuestLearner | None] = relationship()

    @property
    def holder_name(self) -> str:
        """The name the certificate is made out to ("" once the holder's details are erased)."""
        if self.user is not None:
            return self.user.name
        return self.guest.name if self.guest is not None else ""


class TranslationReview(Base):
    """A person who reads the language has checked a course's translation."""

    __tablename__ = "translation_reviews"
    __table_args__ = (UniqueConstraint("course_id", "language", name="uq_translation_reviews_course_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[str] = mapped_column(String(COURSE_ID_LENGTH))
    language: Mapped[str] = mapped_column(String(16))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewed_by: Mapped[User | None] = relationship()
