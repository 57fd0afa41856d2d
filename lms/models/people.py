"""People and where they belong: users, organisations, teams, memberships and invites."""
from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, UTCDateTime, utcnow

# Letters and digits that cannot be confused when read aloud or handwritten (no 0/O, 1/I/L, 5/S).
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRTUVWXYZ2346789"
JOIN_CODE_LENGTH = 8


def new_code(length: int) -> str:
    """A random code of that many characters from the read-aloud alphabet (join codes,
    check-in codes, guest references)."""
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(length))


def normalise_code(typed: str, length: int | None = None) -> str | None:
    """A code as stored, from what someone typed ("k7qx-9mtd 2b" works); None when it cannot
    be one (a wrong length, when given, or a character outside the alphabet)."""
    code = "".join(ch for ch in (typed or "").upper() if ch.isalnum())
    if not code or (length is not None and len(code) != length) or any(ch not in JOIN_CODE_ALPHABET for ch in code):
        return None
    return code


def new_join_code() -> str:
    return new_code(JOIN_CODE_LENGTH)


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Role(str, enum.Enum):
    LEARNER = "learner"
    CHAMPION = "champion"
    TRAINER = "trainer"
    ORG_ADMIN = "org_admin"

    @classmethod
    def values(cls) -> list[str]:
        return [role.value for role in cls]


_ROLE_CHECK = "role IN ('learner', 'champion', 'trainer', 'org_admin')"


class User(Base):
    __tablename__ = "users"
    # People are listed by name everywhere; in a large organisation the first page of the
    # people matrix reads its 50 from this index instead of sorting everyone.
    __table_args__ = (Index("ix_users_name_id", "name", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    preferred_language: Mapped[str | None] = mapped_column(String(16))
    is_site_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Part of the sign-in cookie: changing it (new password) signs out every other session.
    session_token: Mapped[str] = mapped_column(String(64), default=new_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When they last signed in or used the service (to the day): retention erases accounts
    # unused for LMS_RETAIN_INACTIVE_DAYS.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # Flask-Login protocol
    is_active = True
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    join_code: Mapped[str] = mapped_column(String(16), unique=True, default=new_join_code)
    invite_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The organisation's choice of certificate design, and its logo (PNG, or sanitised SVG).
    certificate_template: Mapped[str | None] = mapped_column(String(64))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_type: Mapped[str | None] = mapped_column(String(32))
    # Who is responsible for people's data here, and how to reach them, for the privacy notice.
    privacy_controller: Mapped[str] = mapped_column(String(300), default="", server_default="")
    privacy_contact: Mapped[str] = mapped_column(Text, default="", server_default="")

    teams: Mapped[list[Team]] = relationship(back_populates="organisation", cascade="all, delete-orphan", order_by="Team.name")


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("organisation_id", "name", name="uq_teams_organisation_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="teams")


class Membership(Base):
    """A person's place in one organisation: their role, and the team they are in (or champion)."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "organisation_id", name="uq_memberships_user_organisation"),
        CheckConstraint(_ROLE_CHECK, name="role"),
        Index("ix_memberships_organisation_team", "organisation_id", "team_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(20), default=Role.LEARNER.value)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship()
    team: Mapped[Team | None] = relationship()


class ChampionedTeam(Base):
    """A further team a Prevent Champion looks after, besides the one they are in."""

    __tablename__ = "championed_teams"
    __table_args__ = (UniqueConstraint("membership_id", "team_id", name="uq_championed_teams_membership_team"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)


class Invite(Base):
    """A personal invitation, emailed to one address with a link that works once."""

    __tablename__ = "invites"
    __table_args__ = (
        CheckConstraint(_ROLE_CHECK, name="role"),
        Index("ix_invites_organisation_email", "organisation_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20), default=Role.LEARNER.value)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    team: Mapped[Team | None] = relationship()
