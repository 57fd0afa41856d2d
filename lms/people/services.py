"""Users, organisations, teams, memberships and invites, without Flask.

Every function takes a database session and plain values, and raises InvalidInput
with a message for the person, or OutOfScope, rather than returning error codes.
"""
from __future__ import annotations

import csv
import io
import string
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.db import utcnow
from lms.errors import Forbidden, InvalidInput, OutOfScope
from lms.models import ChampionedTeam, Invite, Membership, Organisation, Role, Team, User
from lms.models.people import new_token, normalise_code
from lms.people import passwords
from lms.people.scope import Scope

INVITE_VALID_FOR = timedelta(days=30)
CSV_MAX_ROWS = 2000


# --- people ---------------------------------------------------------------------------

# Embeddings, overrides and isolates can make a name display as something else (on a
# certificate, in a report); a name never needs them, as pages isolate names themselves.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line(raw: str | None) -> str:
    """Text for a one-line field: control characters become spaces (PostgreSQL refuses NUL
    in text), bidi controls are dropped, runs of whitespace become one space, and the ends
    are trimmed."""
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in (raw or "") if ch not in BIDI_CONTROLS)
    return " ".join(text.split())


_TOKEN_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_")


def _looks_like_token(token: str | None) -> bool:
    """Tokens are URL-safe base64 (new_token); anything else cannot match, and NUL would upset PostgreSQL."""
    return bool(token) and len(token) <= 64 and set(token) <= _TOKEN_CHARACTERS


def normalise_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise InvalidInput(_l("Enter an email address in the right format, like name@example.org"), "email")


def clean_name(raw: str) -> str:
    name = one_line(raw)
    if not name:
        raise InvalidInput(_l("Enter your full name"), "name")
    if len(name) > 200:
        raise InvalidInput(_l("Name must be 200 characters or fewer"), "name")
    return name


def check_new_password(password: str) -> None:
    if len(password) < passwords.MIN_LENGTH:
        raise InvalidInput(_l("Password must be at least %(n)d characters", n=passwords.MIN_LENGTH), "password")
    if len(password) > passwords.MAX_LENGTH:
        raise InvalidInput(_l("Password must be %(n)d characters or fewer", n=passwords.MAX_LENGTH), "password")


def find_user_by_email(db: Session, email: str) -> User | None:
    try:
        email = normalise_email(email)
    except InvalidInput:
        return None
    return db.scalars(select(User).where(User.email == email)).first()


def create_user(
    db: Session,
    *,
    email: str,
    name: str,
    password: str,
    preferred_language: str | None = None,
    site_admin: bool = False,
) -> User:
    email = normalise_email(email)
    name = clean_name(name)
    check_new_password(password)
    if db.scalars(select(User.id).where(User.email == email)).first() is not None:
        raise InvalidInput(_l("An account with this email address already exists. Sign in instead."), "email")
    user = User(
        email=email,
        name=name,
        password_hash=passwords.hash_password(password),
        preferred_language=preferred_language or None,
        is_site_admin=site_admin,
    )
    db.add(user)
    db.flush()
    return user


def authenticate(db: Session, email: str, password: str) -> User | None:
    """The user, if the email and password match; None otherwise, in the same time either way."""
    user = find_user_by_email(db, email)
    if not passwords.check_password(user.password_hash if user else None, password):
        return None
    return user


def set_password(user: User, password: str) -> None:
    check_new_password(password)
    user.password_hash = passwords.hash_password(password)
    user.session_token = new_token()  # signs out other sessions and spends reset links


def update_account(user: User, *, name: str, preferred_language: str | None) -> None:
    user.name = clean_name(name)
    user.preferred_language = preferred_language or None


# --- organisations and teams ----------------------------------------------------------

def _name_taken(existing_names, name: str) -> bool:
    """Compared in Python: SQLite's lower() leaves non-ASCII letters alone (Ł, É, Ś)."""
    folded = name.casefold()
    return any(existing.casefold() == folded for existing in existing_names)


def create_organisation(db: Session, name: str) -> Organisation:
    name = one_line(name)
    if not name:
        raise InvalidInput(_l("Enter the organisation's name"), "name")
    if len(name) > 200:
        raise InvalidInput(_l("Name must be 200 characters or fewer"), "name")
    if _name_taken(db.scalars(select(Organisation.name)), name):
        raise InvalidInput(_l("An organisation with this name already exists"), "name")
    organisation = Organisation(name=name)
    db.add(organisation)
    db.flush()
    return organisation


def create_team(db: Session, scope: Scope, name: str) -> Team:
    _require_manager(scope)
    name = one_line(name)
    if not name:
        raise InvalidInput(_l("Enter the team's name"), "name")
    if len(name) > 200:
        raise InvalidInput(_l("Name must be 200 characters or fewer"), "name")
    if _name_taken(db.scalars(select(Team.name).where(Team.organisation_id == scope.organisation_id)), name):
        raise InvalidInput(_l("This organisation already has a team with that name"), "name")
    team = Team(organisation_id=scope.organisation_id, name=name)
    db.add(team)
    db.flush()
    return team


def find_organisation_by_join_code(db: Session, code: str) -> Organisation | None:
    cleaned = normalise_code(code)
    if cleaned is None:
        return None
    return db.scalars(select(Organisation).where(Organisation.join_code == cleaned)).first()


def find_organisation_by_invite_token(db: Session, token: str) -> Organisation | None:
    if not _looks_like_token(token):
        return None
    return db.scalars(select(Organisation).where(Organisation.invite_token == token)).first()


def format_join_code(code: str) -> str:
    """ABCD-EFGH: two groups are easier to read aloud in a hall."""
    return f"{code[:4]}-{code[4:]}"


def regenerate_join_code(db: Session, scope: Scope) -> None:
    """A new code and link, when the old ones were shared too widely."""
    from lms.models.people import new_join_code

    _require_manager(scope)
    scope.organisation.join_code = new_join_code()
    scope.organisation.invite_token = new_token()
    db.flush()


PRIVACY_CONTROLLER_MAX = 300
PRIVACY_CONTACT_MAX = 1000


def _lines(raw: str | None) -> str:
    """Text of several lines (an address): each line as one_line() leaves it, blank ones dropped."""
    return "\n".join(line for line in (one_line(part) for part in (raw or "").splitlines()) if line)


def set_privacy_details(db: Session, scope: Scope, *, controller: str, contact: str, actor: User | None) -> bool:
    """Who is responsible for the organisation's people's data, and how to reach them, as the
    privacy notice shows them. Recorded in the audit log (which fields changed, not their
    text); False when nothing changed."""
    _require_manager(scope)
    controller, contact = one_line(controller), _lines(contact)
    if len(controller) > PRIVACY_CONTROLLER_MAX:
        raise InvalidInput(_l("The name must be 300 characters or fewer"), "controller")
    if len(contact) > PRIVACY_CONTACT_MAX:
        raise InvalidInput(_l("The contact details must be 1,000 characters or fewer"), "contact")
    organisation = scope.organisation
    changed = [name for name, old, new in (("controller", organisation.privacy_controller or "", controller),
                                           ("contact", organisation.privacy_contact or "", contact)) if old != new]
    if not changed:
        return False
    organisation.privacy_controller, organisation.privacy_contact = controller, contact
    audit.record(db, scope.organisation_id, actor, audit.PRIVACY_DETAILS, changed=changed)
    return True


# --- membership -----------------------------------------------------------------------

def membership_of(db: Session, user: User, organisation_id: int) -> Membership | None:
    return db.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == organisation_id)
    ).first()


def join_organisation(db: Session, user: User, organisation: Organisation, *, role: str = Role.LEARNER.value,
                      team_id: int | None = None) -> Membership:
    """Add the user to the organisation; joining twice keeps the existing membership."""
    existing = membership_of(db, user, organisation.id)
    if existing is not None:
        return existing
    membership = Membership(user_id=user.id, organisation_id=organisation.id, role=role, team_id=team_id)
    db.add(membership)
    db.flush()
    return membership


def _require_manager(scope: Scope) -> None:
    if not scope.can_manage:
        raise OutOfScope()


def _check_role(role: str) -> str:
    if role not in Role.values():
        raise InvalidInput(_l("Choose a role from the list"), "role")
    return role


def _check_team(db: Session, scope: Scope, team_id: int | None) -> int | None:
    if team_id in (None, 0):
        return None
    try:
        return scope.team(db, team_id).id
    except OutOfScope:
        raise InvalidInput(_l("Choose a team from the list"), "team")


def _org_admin_count(db: Session, organisation_id: int) -> int:
    return db.scalar(
        select(func.count()).select_from(Membership).where(
            Membership.organisation_id == organisation_id, Membership.role == Role.ORG_ADMIN.value
        )
    )


def change_membership(db: Session, scope: Scope, membership_id: int, *, role: str, team_id: int | None,
                      championed_team_ids: set[int] = frozenset()) -> Membership:
    """Change someone's role and team; a champion may also look after further teams."""
    _require_manager(scope)
    membership = scope.membership(db, membership_id)
    role = _check_role(role)
    team_id = _check_team(db, scope, team_id)
    if (membership.role == Role.ORG_ADMIN.value and role != Role.ORG_ADMIN.value
            and _org_admin_count(db, scope.organisation_id) <= 1):
        raise InvalidInput(_l("An organisation needs at least one org admin. Make someone else org admin first."), "role")
    further = set()
    if role == Role.CHAMPION.value:
        for wanted in championed_team_ids:
            try:
                further.add(scope.team(db, wanted).id)
            except OutOfScope:
                raise InvalidInput(_l("Choose teams from the list"), "championed") from None
    further.discard(team_id)  # their own team is championed already
    membership.role = role
    membership.team_id = team_id
    current = {row.team_id: row for row in db.scalars(select(ChampionedTeam).where(ChampionedTeam.membership_id == membership.id))}
    for stale in set(current) - further:
        db.delete(current[stale])
    for added in further - set(current):
        db.add(ChampionedTeam(membership_id=membership.id, team_id=added))
    db.flush()
    return membership


def championed_team_ids(db: Session, membership_id: int) -> list[int]:
    """The further teams a champion looks after, besides their own."""
    return list(db.scalars(select(ChampionedTeam.team_id).where(ChampionedTeam.membership_id == membership_id)))


def remove_membership(db: Session, scope: Scope, membership_id: int) -> None:
    _require_manager(scope)
    membership = scope.membership(db, membership_id)
    if membership.role == Role.ORG_ADMIN.value and _org_admin_count(db, scope.organisation_id) <= 1:
        raise Forbidden(_l("An organisation needs at least one org admin. Make someone else org admin first."))
    db.delete(membership)
    db.flush()


# --- invites --------------------------------------------------------------------------

def invite_person(db: Session, scope: Scope, *, email: str, name: str = "", role: str = Role.LEARNER.value,
                  team_id: int | None = None, invited_by: User | None = None) -> Invite:
    """Invite one person; an invitation someone sends (invited_by) is written to the audit log."""
    invite = _new_invite(db, scope, email=email, name=name, role=role, team_id=team_id, invited_by=invited_by)
    if invited_by is not None:
        audit.record(db, scope.organisation_id, invited_by, audit.INVITATION, email=invite.email, role=invite.role,
                     team=invite.team.name if invite.team else None)
    return invite


def _new_invite(db: Session, scope: Scope, *, email: str, name: str, role: str, team_id: int | None,
                invited_by: User | None) -> Invite:
    _require_manager(scope)
    email = normalise_email(email)
    name = one_line(name)[:200]
    role = _check_role(role)
    team_id = _check_team(db, scope, team_id)
    already_member = db.scalars(
        select(Membership.id).join(User).where(Membership.organisation_id == scope.organisation_id, User.email == email)
    ).first()
    if already_member:
        raise InvalidInput(_l("This person is already a member of the organisation"), "email")
    pending = db.scalars(
        select(Invite).where(
            Invite.organisation_id == scope.organisation_id, Invite.email == email,
            Invite.accepted_at.is_(None), Invite.expires_at > utcnow(),
        )
    ).first()
    if pending:
        raise InvalidInput(_l("This person already has an invitation waiting"), "email")
    invite = Invite(
        organisation_id=scope.organisation_id, email=email, name=name, role=role, team_id=team_id,
        invited_by_id=invited_by.id if invited_by else None, expires_at=utcnow() + INVITE_VALID_FOR,
    )
    db.add(invite)
    db.flush()
    return invite


def find_open_invite(db: Session, token: str) -> Invite | None:
    if not _looks_like_token(token):
        return None
    invite = db.scalars(select(Invite).where(Invite.token == token)).first()
    if invite is None or invite.accepted_at is not None or invite.expires_at <= utcnow():
        return None
    return invite


def accept_invite(db: Session, invite: Invite, user: User) -> Membership:
    membership = membership_of(db, user, invite.organisation_id)
    if membership is None:
        membership = Membership(user_id=user.id, organisation_id=invite.organisation_id,
                                role=invite.role, team_id=invite.team_id)
        db.add(membership)
    invite.accepted_at = utcnow()
    db.flush()
    return membership


def cancel_invite(db: Session, scope: Scope, invite_id: int, *, cancelled_by: User | None = None) -> None:
    _require_manager(scope)
    invite = scope.invite(db, invite_id)
    email = invite.email
    db.delete(invite)
    db.flush()
    if cancelled_by is not None:
        audit.record(db, scope.organisation_id, cancelled_by, audit.INVITATION_CANCELLED, email=email)


@dataclass
class CsvRowProblem:
    line: int
    email: str
    message: str


@dataclass
class CsvImportReport:
    invited: list[Invite] = field(default_factory=list)
    problems: list[CsvRowProblem] = field(default_factory=list)


CSV_COLUMNS = ("email", "name", "role", "team")


def invite_from_csv(db: Session, scope: Scope, data: bytes, invited_by: User | None = None) -> CsvImportReport:
    """Invite every good row; report each bad row with its line number and reason.

    Columns: email (required), name, role (learner if blank), team (a team name, optional).
    Good rows are kept even when others fail, so fixing the bad rows and uploading the
    file again is safe: rows already invited are reported, not invited twice.
    """
    _require_manager(scope)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_l("The file must be a CSV saved as UTF-8"), "file")
    if not text.strip():
        raise InvalidInput(_l("The file is empty"), "file")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        report = _invite_rows(db, scope, reader, invited_by)
    except csv.Error:
        raise InvalidInput(_l("Line %(line)d of the file could not be read. Check it is a CSV file saved as UTF-8.",
                              line=max(reader.reader.line_num, 1)), "file")
    if invited_by is not None and report.invited:
        # One entry for the upload, naming everyone it invited.
        audit.record(db, scope.organisation_id, invited_by, audit.INVITATIONS_UPLOADED,
                     emails=[invite.email for invite in report.invited], problems=len(report.problems))
    return report


def _invite_rows(db: Session, scope: Scope, reader: csv.DictReader, invited_by: User | None) -> CsvImportReport:
    headers = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    if "email" not in headers:
        raise InvalidInput(_l("The first row must name the columns, and one must be “email”"), "file")
    reader.fieldnames = headers
    teams_by_name = {team.name.casefold(): team.id for team in db.scalars(scope.teams())}
    report = CsvImportReport()
    for count, row in enumerate(reader, start=1):
        if count > CSV_MAX_ROWS:
            raise InvalidInput(_l("The file has more than %(n)d rows; split it into smaller files", n=CSV_MAX_ROWS), "file")
        line = reader.line_num
        email = (row.get("email") or "").strip()
        if not any((value or "").strip() for key, value in row.items() if key is not None and isinstance(value, str)):
            continue  # blank line
        role = (row.get("role") or "").strip().lower().replace(" ", "_") or Role.LEARNER.value
        team_name = (row.get("team") or "").strip()
        team_id = None
        if team_name:
            team_id = teams_by_name.get(team_name.casefold())
            if team_id is None:
                report.problems.append(CsvRowProblem(line, email, str(_l("No team called “%(team)s”", team=team_name))))
                continue
        try:
            with db.begin_nested():
                report.invited.append(_new_invite(
                    db, scope, email=email, name=row.get("name") or "", role=role, team_id=team_id, invited_by=invited_by,
                ))
        except InvalidInput as problem:
            report.problems.append(CsvRowProblem(line, email, str(problem.message)))
        except IntegrityError:
            report.problems.append(CsvRowProblem(line, email, str(_l("This row could not be saved"))))
    return report
