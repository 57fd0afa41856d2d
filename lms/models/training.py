"""What an organisation asks of its people: the courses it offers, the ones it requires
(of a team, a role, or everyone) and the reminders sent about them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, UTCDateTime, utcnow
from lms.models.learning import COURSE_ID_LENGTH
from lms.models.people import Team

# A requirement's deadline for someone new: this many days after they join.
MAX_DUE_DAYS = 730


class CourseOffering(Base):
    """An organisation's choice about one installed course. A course with no row is
    offered, so a newly installed course reaches learners without an admin's step."""

    __tablename__ = "course_offerings"
    __table_args__ = (UniqueConstraint("organisation_id", "course_id", name="uq_course_offerings_organisation_course"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    course_id: Mapped[str] = mapped_column(String(COURSE_ID_LENGTH))
    offered: Mapped[bool] = mapped_column(Boolean, default=True)


class TrainingRequirement(Base):
    """A course that people must complete: everyone in the organisation, one team, one
    role, or one role within one team, each within some days of joining."""

    __tablename__ = "training_requirements"
    __table_args__ = (
        CheckConstraint(f"due_days >= 0 AND due_days <= {MAX_DUE_DAYS}", name="due_days"),
        CheckConstraint("role IS NULL OR role IN ('learner', 'champion', 'trainer', 'org_admin')", name="role"),
        Index("ix_training_requirements_organisation_course", "organisation_id", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    course_id: Mapped[str] = mapped_column(String(COURSE_ID_LENGTH))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    role: Mapped[str | None] = mapped_column(String(20))
    due_days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    team: Mapped[Team | None] = relationship()


class Reminder(Base):
    """An email asking someone to complete a course: sent by a person, or by the
    scheduled job (sent_by_id is None)."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_user_course_sent", "user_id", "course_id", "sent_at"),
        Index("ix_reminders_organisation_sent", "organisation_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[str] = mapped_column(String(COURSE_ID_LENGTH))
    status: Mapped[str] = mapped_column(String(20))  # the person's status in the course when reminded
    language: Mapped[str] = mapped_column(String(16))
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
