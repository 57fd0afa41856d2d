"""Trainers' face-to-face sessions ("workshops", so never confused with a database or a
Flask session): when and where, which course and deck language, and the code people type
to check in."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, UTCDateTime, utcnow
from lms.models.people import Organisation, Team, User, new_code
from lms.models.learning import COURSE_ID_LENGTH, VERSION_LENGTH

# 10 characters of a 29-letter alphabet: about 48 bits, far beyond guessing at the per-address
# rate limit, and still short enough to read off a projector.
CHECK_IN_CODE_LENGTH = 10


def new_check_in_code() -> str:
    return new_code(CHECK_IN_CODE_LENGTH)


class Workshop(Base):
    __tablename__ = "workshops"
    __table_args__ = (
        Index("ix_workshops_organisation_starts", "organisation_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    course_id: Mapped[str] = mapped_column(String(COURSE_ID_LENGTH))
    language: Mapped[str] = mapped_column(String(16))  # of the deck and the check-in pages
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue: Mapped[str] = mapped_column(String(300), default="")
    online_link: Mapped[str] = mapped_column(String(500), default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    check_in_code: Mapped[str] = mapped_column(String(16), unique=True, default=new_check_in_code)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Check-in stops when the trainer closes the register (or the session is cancelled).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    team: Mapped[Team | None] = relationship()
    trainer: Mapped[User | None] = relationship(foreign_keys=[trainer_id])


class Attendance(Base):
    """One person on a session's register: someone who checked in on their phone (signed in,
    or a walk-in giving a name), or whom the trainer added."""

    __tablename__ = "attendances"
    __table_args__ = (
        # Checking in twice with an account finds the same row (walk-ins have no user_id).
        UniqueConstraint("workshop_id", "user_id", name="uq_attendances_workshop_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The name to print on the register and the certificate, as given at check-in.
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    # When the person agreed to their name being kept (None when a trainer added them).
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    attended: Mapped[bool] = mapped_column(Boolean, default=True)
    # The completion recorded for this attendance when the register was closed.
    completion_id: Mapped[int | None] = mapped_column(ForeignKey("completions.id", ondelete="SET NULL"), unique=True)
    # A walk-in's learner record, made when the register is closed, which holds their certificate.
    guest_id: Mapped[int | None] = mapped_column(ForeignKey("guest_learners.id", ondelete="SET NULL"))
    # Set when the person's details were erased: the row stays, nameless, so the register's
    # count of who came stays right.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    workshop: Mapped[Workshop] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class EvaluationResponse(Base):
    """One attendee's answers before or after a session: confidence 1 to 5 in each of the
    course's learning outcomes, and one free-text answer. Anonymous: the respondent is a
    keyed hash of a random token kept in the phone's browser, so one phone answers each
    stage once, and no answer can be tied to a name on the register."""

    __tablename__ = "evaluation_responses"
    __table_args__ = (
        UniqueConstraint("workshop_id", "stage", "respondent", name="uq_evaluation_responses_once"),
        CheckConstraint("stage IN ('before', 'after')", name="stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(8))
    respondent: Mapped[str] = mapped_column(String(64))
    # One rating (1 to 5) per learning outcome, in the manifest's order.
    ratings: Mapped[list] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    course_version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    language: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
