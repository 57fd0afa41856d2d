"""What the system holds about a person: every row that names them, found from the models'
foreign keys to users, so that a table added later is either covered or refused by the tests
(tests/test_privacy_access.py).

A foreign key to users says one of two things about the person it names:

- SUBJECT_KEYS: the row is about them (their membership, lessons read, quiz attempts,
  completions, reminders they were sent, sessions they attended). It is theirs, whole, less
  SECRET_COLUMNS. Rows that refer to one of these rows (the certificate of their completion,
  the teams they champion through their membership) are about them too, one step on.
- ACTOR_KEYS: they did something to a row about someone else or about the organisation (sent
  a reminder, invited someone, revoked a certificate, added a walk-in). That they did it is
  theirs; the row's other details are not, so only its ids, times and kinds are given.

Evaluation answers are anonymous by design, tied to no account, so they cannot be found for
anyone and are not listed.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, Table, select
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.db import Base

SUBJECT_KEYS = frozenset({
    ("memberships", "user_id"), ("lesson_progress", "user_id"), ("quiz_attempts", "user_id"),
    ("completions", "user_id"), ("reminders", "user_id"), ("attendances", "user_id"),
    ("guest_learners", "claimed_by_id"), ("xapi_statements", "user_id"), ("lti_accounts", "user_id"),
})
ACTOR_KEYS = frozenset({
    ("audit_events", "actor_id"), ("jobs", "requested_by_id"), ("reminders", "sent_by_id"),
    ("translation_reviews", "reviewed_by_id"), ("invites", "invited_by_id"), ("workshops", "created_by_id"),
    ("workshops", "trainer_id"), ("attendances", "added_by_id"), ("certificates", "revoked_by_id"),
})
# Never given out, even to the person they belong to: each would let someone who got hold of
# the file act as them.
SECRET_COLUMNS = frozenset({("users", "password_hash"), ("users", "session_token")})
# Text columns of an ACTOR row that name a kind of thing, never a person.
KIND_COLUMNS = frozenset({"course_id", "course_version", "action", "status", "role", "language", "method", "kind",
                          "task", "stage"})
_PLAIN_TYPES = (Integer, DateTime, Date, Boolean)


def keys_to_users() -> set[tuple[str, str]]:
    """(table, column) of every foreign key to users in the models."""
    users = Base.metadata.tables["users"]
    return {(key.parent.table.name, key.parent.name) for table in Base.metadata.sorted_tables
            for key in table.foreign_keys if key.column.table is users}


def _is_plain(column) -> bool:
    # UTCDateTime and the like decorate a plain type: it is the one stored.
    return isinstance(getattr(column.type, "impl", column.type), _PLAIN_TYPES)


def _value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _row(table: Table, row, columns) -> dict:
    return {column.name: _value(row._mapping[column]) for column in columns}


def _own_columns(table: Table) -> list:
    return [column for column in table.columns if (table.name, column.name) not in SECRET_COLUMNS]


def personal_tables() -> set[str]:
    """Tables whose rows are about a person: users, the tables of SUBJECT_KEYS, and those one
    step on from them."""
    subject = {"users"} | {name for name, _column in SUBJECT_KEYS}
    return subject | {table.name for table in Base.metadata.sorted_tables
                      for key in table.foreign_keys if key.column.table.name in subject - {"users"}}


def actor_columns(table: Table, actor_column: str) -> list:
    """An ACTOR row's ids, times, counts and kinds, less its links to other people's records."""
    personal = personal_tables()
    return [column for column in table.columns
            if (_is_plain(column) or column.name in KIND_COLUMNS)
            and (column.name == actor_column or not any(key.column.table.name in personal
                                                         for key in column.foreign_keys))]


def known_as(db: Session, user_id: int) -> tuple[set[str], set[int]]:
    """The names and addresses a person appears under (their account's, what they gave on
    registers, a walk-in certificate they claimed), and the organisations whose records may
    hold them (theirs, and those of the sessions they attended)."""
    users, attendances, guests = (Base.metadata.tables[name] for name in ("users", "attendances", "guest_learners"))
    workshops, memberships = Base.metadata.tables["workshops"], Base.metadata.tables["memberships"]
    claimed = select(guests.c.id).where(guests.c.claimed_by_id == user_id)
    values = set(db.execute(select(users.c.name, users.c.email).where(users.c.id == user_id)).one())
    for name, email in db.execute(select(attendances.c.name, attendances.c.email).where(
            (attendances.c.user_id == user_id) | attendances.c.guest_id.in_(claimed))):
        values |= {name, email}
    values |= set(db.scalars(select(guests.c.name).where(guests.c.claimed_by_id == user_id)))
    organisations = set(db.scalars(select(memberships.c.organisation_id).where(memberships.c.user_id == user_id)))
    organisations |= set(db.scalars(select(workshops.c.organisation_id).join(
        attendances, attendances.c.workshop_id == workshops.c.id).where(
        (attendances.c.user_id == user_id) | attendances.c.guest_id.in_(claimed))))
    return {value for value in values if value}, organisations


# Values of an audit entry about someone that name a kind of thing, not a person.
_AUDIT_KIND_KEYS = frozenset({"course", "course_id", "code", "format", "role", "attended", "reason"})


def _only_theirs(details, folded: set[str], key: str | None = None):
    """An audit entry's details with other people's names and addresses left out: numbers,
    kinds, and the person's own name or address stay."""
    if isinstance(details, dict):
        return {k: _only_theirs(v, folded, k) for k, v in details.items()}
    if isinstance(details, list):
        return [item for item in (_only_theirs(v, folded, key) for v in details) if item is not None]
    if isinstance(details, str) and details.casefold() not in folded and key not in _AUDIT_KIND_KEYS:
        return None
    return details


def audit_entries_about(db: Session, user_id: int) -> list[dict]:
    values, organisations = known_as(db, user_id)
    folded = {value.casefold() for value in values}
    return [{"id": event.id, "organisation_id": event.organisation_id, "action": event.action,
             "created_at": event.created_at.isoformat(), "details": _only_theirs(event.details, folded)}
            for event in audit.mentioning(db, organisations, values)]


def held_about(db: Session, user_id: int) -> dict:
    """Everything held about one person, as plain values: {"you": row, "about_you": {table:
    rows}, "your_actions": {table: rows}}."""
    tables = Base.metadata.tables
    users = tables["users"]
    you = db.execute(select(users).where(users.c.id == user_id)).one()
    about: dict[str, dict[int, dict]] = {}
    for name, column in sorted(SUBJECT_KEYS):
        table = tables[name]
        for row in db.execute(select(table).where(table.c[column] == user_id)):
            about.setdefault(name, {})[row._mapping[table.c.id]] = _row(table, row, _own_columns(table))
    # One step on: rows that refer to a row about the person are about them too.
    found = {name: list(rows) for name, rows in about.items()}
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            target = key.column.table.name
            if target not in found or key.column.name != "id":
                continue
            for row in db.execute(select(table).where(key.parent.in_(found[target]))):
                about.setdefault(table.name, {})[row._mapping[table.c.id]] = _row(table, row, _own_columns(table))
    actions: dict[str, list[dict]] = {}
    for name, column in sorted(ACTOR_KEYS):
        table = tables[name]
        rows = db.execute(select(table).where(table.c[column] == user_id).order_by(table.c.id))
        actions.setdefault(name, []).extend(_row(table, row, actor_columns(table, column)) for row in rows)
    audit_entries = audit_entries_about(db, user_id)
    if audit_entries:
        about["audit_events"] = {entry["id"]: entry for entry in audit_entries}
    return {
        "you": _row(users, you, _own_columns(users)),
        "about_you": {name: [rows[key] for key in sorted(rows)] for name, rows in sorted(about.items())},
        "your_actions": {name: rows for name, rows in sorted(actions.items()) if rows},
    }
