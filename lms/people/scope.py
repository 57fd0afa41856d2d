"""The one place that decides whom a user may see.

Every admin screen and report builds its queries from a Scope, so a route cannot
forget a filter: people, teams and invites outside the scope simply are not found.

- a site admin sees every organisation, all of it;
- an org admin sees their whole organisation;
- a champion sees the people of the teams they champion: their own, and any others an
  org admin gives them;
- trainers and learners see nobody else's record.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, false, func, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from lms.errors import OutOfScope
from lms.models import Certificate, ChampionedTeam, Completion, Invite, Membership, Organisation, Role, Team, User

# The largest id an INTEGER primary key holds on both engines (PostgreSQL's is 32-bit). An id
# typed into a URL beyond it matches nothing, and must not reach the driver, which would fail.
MAX_ID = 2**31 - 1


def _valid_id(value: int) -> bool:
    return isinstance(value, int) and 0 < value <= MAX_ID


@dataclass(frozen=True)
class Scope:
    user_id: int
    organisation: Organisation
    role: str | None  # the user's own role here; None for a site admin who is not a member
    is_site_admin: bool
    champion_team_ids: frozenset[int] = frozenset()  # the teams a champion looks after

    @property
    def organisation_id(self) -> int:
        return self.organisation.id

    @property
    def can_manage(self) -> bool:
        """Create teams, invite people, change roles, remove members."""
        return self.is_site_admin or self.role == Role.ORG_ADMIN.value

    @property
    def can_see_join_code(self) -> bool:
        return self.can_manage or self.role in (Role.TRAINER.value, Role.CHAMPION.value)

    @property
    def sees_people(self) -> bool:
        return self.can_manage or (self.role == Role.CHAMPION.value and bool(self.champion_team_ids))

    def _team_filter(self, column):
        if self.can_manage:
            return None
        if self.role == Role.CHAMPION.value and self.champion_team_ids:
            return column.in_(sorted(self.champion_team_ids))
        return false()

    def membership_conditions(self) -> list:
        """Where-clauses on Membership that keep a query inside this scope."""
        conditions = [Membership.organisation_id == self.organisation_id]
        team_filter = self._team_filter(Membership.team_id)
        return conditions if team_filter is None else [*conditions, team_filter]

    def people(self, search: str = "") -> Select:
        """Memberships (with their users) this user may see, in this organisation,
        optionally only those whose name or email contains the search text."""
        query = (
            select(Membership)
            .join(Membership.user)
            .where(*self.membership_conditions())
            .options(contains_eager(Membership.user), joinedload(Membership.team))
            .order_by(User.name, User.id)
        )
        condition = search_condition(search)
        return query if condition is None else query.where(condition)

    def teams(self) -> Select:
        query = select(Team).where(Team.organisation_id == self.organisation_id).order_by(Team.name)
        team_filter = self._team_filter(Team.id)
        return query if team_filter is None else query.where(team_filter)

    def invites(self) -> Select:
        query = (
            select(Invite)
            .where(Invite.organisation_id == self.organisation_id)
            .options(joinedload(Invite.team))
            .order_by(Invite.created_at.desc(), Invite.id.desc())
        )
        return query if self.can_manage else query.where(false())

    def certificates(self) -> Select:
        """Certificates this organisation issued, newest first, for its managers."""
        query = (
            select(Certificate)
            .join(Certificate.completion)
            .where(Certificate.organisation_id == self.organisation_id)
            .options(contains_eager(Certificate.completion).joinedload(Completion.user),
                     contains_eager(Certificate.completion).joinedload(Completion.guest))
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
        return query if self.can_manage else query.where(false())

    def certificate(self, db: Session, certificate_id: int) -> Certificate:
        return _one(db, self.certificates().where(Certificate.id == certificate_id), certificate_id)

    def membership(self, db: Session, membership_id: int) -> Membership:
        return _one(db, self.people().where(Membership.id == membership_id), membership_id)

    def team(self, db: Session, team_id: int) -> Team:
        return _one(db, self.teams().where(Team.id == team_id), team_id)

    def invite(self, db: Session, invite_id: int) -> Invite:
        return _one(db, self.invites().where(Invite.id == invite_id), invite_id)


def search_condition(search: str):
    """Name or email contains the text, ignoring case; None when there is nothing to find.
    The query must join User."""
    # Control characters are dropped: PostgreSQL refuses NUL, and SQLite's LIKE stops at it.
    term = "".join(ch for ch in search if unicodedata.category(ch) != "Cc").strip().lower()
    if not term:
        return None
    return or_(func.lower(User.name).contains(term, autoescape=True), User.email.contains(term, autoescape=True))


def _one(db: Session, query: Select, wanted_id: int):
    if not _valid_id(wanted_id):
        raise OutOfScope()
    found = db.scalars(query).unique().first()
    if found is None:
        raise OutOfScope()
    return found


def scope_for(db: Session, user: User, organisation_id: int) -> Scope:
    """The user's view of one organisation; OutOfScope if they have none."""
    if not _valid_id(organisation_id):
        raise OutOfScope()
    organisation = db.get(Organisation, organisation_id)
    if organisation is None:
        raise OutOfScope()
    membership = db.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == organisation_id)
    ).first()
    if membership is None and not user.is_site_admin:
        raise OutOfScope()
    return scope_of(db, user, organisation, membership)


def organisation_scope(organisation: Organisation) -> Scope:
    """The whole organisation, for the service's own work (scheduled reminders, demo data)."""
    return Scope(user_id=0, organisation=organisation, role=None, is_site_admin=True)


def scope_of(db: Session, user: User, organisation: Organisation, membership: Membership | None) -> Scope:
    """The user's view through a membership already loaded (None for a site admin who is not a member)."""
    return Scope(
        user_id=user.id,
        organisation=organisation,
        role=membership.role if membership else None,
        is_site_admin=user.is_site_admin,
        champion_team_ids=champion_team_ids(db, membership) if membership else frozenset(),
    )


def champion_team_ids(db: Session, membership: Membership) -> frozenset[int]:
    """The teams a champion looks after: the one they are in, and any further ones."""
    if membership.role != Role.CHAMPION.value:
        return frozenset()
    further = db.scalars(select(ChampionedTeam.team_id).where(ChampionedTeam.membership_id == membership.id))
    return frozenset([*further, *([membership.team_id] if membership.team_id else [])])


def signed_in_organisations() -> list[Organisation]:
    """The signed-in user's organisations, read once a request: the header, the home page and
    the courses page all need them."""
    from flask import g
    from flask_login import current_user

    from lms import db

    if "organisations" not in g:
        g.organisations = organisations_for(db.get_session(), current_user)
    return g.organisations


# Built once, with a parameter: building a statement costs more than SQLite takes to answer it,
# and the header of every page after a POST asks this one.
_ORGANISATIONS_OF_USER = (
    select(Organisation)
    .join(Membership, Membership.organisation_id == Organisation.id)
    .where(Membership.user_id == bindparam("user_id"))
    .order_by(Organisation.name)
)


def organisations_for(db: Session, user: User) -> list[Organisation]:
    """Organisations the user belongs to, for the header's switcher."""
    return list(db.scalars(_ORGANISATIONS_OF_USER, {"user_id": user.id}))


# The user a sign-in cookie names, with the organisations they belong to: every signed-in page
# loads the user and lists the organisations in its header, and one query is cheaper than two
# (on PostgreSQL a round trip of its own). One row per organisation, ordered as
# organisations_for() orders them, or one row with none.
_USER_AND_ORGANISATIONS = (
    select(User, Organisation)
    .outerjoin(Membership, Membership.user_id == User.id)
    .outerjoin(Organisation, Organisation.id == Membership.organisation_id)
    .where(User.id == bindparam("user_id"))
    .order_by(Organisation.name)
)


def user_and_organisations(db: Session, user_id: int) -> tuple[User | None, list[Organisation]]:
    rows = db.execute(_USER_AND_ORGANISATIONS, {"user_id": user_id}).all()
    if not rows:
        return None, []
    return rows[0][0], [organisation for _user, organisation in rows if organisation is not None]


def keep_signed_in_organisations(organisations: list[Organisation]) -> None:
    """What signed_in_organisations() answers for the rest of this request, when they were read
    with the user (see the user loader in lms/__init__.py)."""
    from flask import g

    g.organisations = organisations


def managing_scope_for(db: Session, user: User, organisation_id: int) -> Scope:
    """The user's view of an organisation they manage; OutOfScope for anyone else."""
    scope = scope_for(db, user, organisation_id)
    if not scope.can_manage:
        raise OutOfScope()
    return scope


def holds_role_anywhere(db: Session, user: User, roles: tuple[str, ...]) -> bool:
    """Site admins, and people with one of these roles in any organisation (for work that
    is not about one organisation's people, such as showing slides or reviewing a translation)."""
    if user.is_site_admin:
        return True
    return db.scalars(select(Membership.id).where(Membership.user_id == user.id, Membership.role.in_(roles))).first() is not None
