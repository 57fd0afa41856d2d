"""Records kept for other systems: xAPI statements waiting to reach an organisation's learning
record store, and the LTI 1.3 platforms that launch these courses, with what they need."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, UTCDateTime, utcnow
from lms.models.people import Organisation, User


class XapiStatement(Base):
    """One statement, written with the record it describes (in the same transaction) and sent
    by the queue. It stays until the store has it, so a store that is down loses nothing. The
    person it is about goes with their account or walk-in record."""

    __tablename__ = "xapi_statements"
    __table_args__ = (Index("ix_xapi_statements_unsent", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    guest_id: Mapped[int | None] = mapped_column(ForeignKey("guest_learners.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class LtiPlatform(Base):
    """A learning platform (Moodle, Totara, Canvas...) that an organisation's admin registered
    to launch these courses with LTI 1.3. The people it launches join that organisation."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="uq_lti_platforms_issuer_client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    # The deployments of the tool on that platform that may launch (a list of strings).
    deployment_ids: Mapped[list] = mapped_column(JSON, default=list)
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    key_set_url: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()


class LtiAccount(Base):
    """Which account here a platform's user is: the platform's stable "sub" for them. It goes
    with the account when the account is erased."""

    __tablename__ = "lti_accounts"
    __table_args__ = (UniqueConstraint("platform_id", "subject", name="uq_lti_accounts_platform_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    platform: Mapped[LtiPlatform] = relationship()
    user: Mapped[User] = relationship()


class LtiGradeLink(Base):
    """Where a platform wants a person's result for one course: the Assignment and Grade
    Services claim of their latest launch of it."""

    __tablename__ = "lti_grade_links"
    __table_args__ = (UniqueConstraint("account_id", "course_id", name="uq_lti_grade_links_account_course"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("lti_accounts.id", ondelete="CASCADE"))
    course_id: Mapped[str] = mapped_column(String(64))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    endpoint: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[LtiAccount] = relationship()


class LtiScore(Base):
    """A result waiting to go back to a platform, written with the completion it reports and
    sent by the queue, like an xAPI statement."""

    __tablename__ = "lti_scores"
    __table_args__ = (Index("ix_lti_scores_unsent", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grade_link_id: Mapped[int] = mapped_column(ForeignKey("lti_grade_links.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    grade_link: Mapped[LtiGradeLink] = relationship()


class LtiLaunchValue(Base):
    """What an LTI login hands to its launch (the nonce), kept here rather than in the session
    cookie, which a browser does not send with the platform's cross-site form post."""

    __tablename__ = "lti_launch_values"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LtiToolKey(Base):
    """This service's key pair for signing its requests to platforms (the public half is at
    /lti/jwks.json). Made once, on first need."""

    __tablename__ = "lti_tool_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
