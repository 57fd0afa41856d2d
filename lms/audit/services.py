"""The audit log, for org admins: every export of people's records, every reminder sent,
and every change to who is invited, which certificates stand, how they look, and what
training is offered and required, and when sessions are scheduled, changed or cancelled.

Each event is recorded by the service that makes the change, in the same transaction, so
a change and its record are committed together or not at all."""
from __future__ import annotations

import json

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session, joinedload

from lms.models import AuditEvent, User
from lms.pagination import Page, paginate

EXPORT = "export"
REMINDERS = "reminders"
SCHEDULED_REMINDERS = "scheduled_reminders"
CERTIFICATE_REVOKED = "certificate_revoked"
CERTIFICATE_DESIGN = "certificate_design"
INVITATION = "invitation"
INVITATIONS_UPLOADED = "invitations_uploaded"
INVITATION_CANCELLED = "invitation_cancelled"
COURSES_OFFERED = "courses_offered"
REQUIREMENT_ADDED = "requirement_added"
REQUIREMENT_CHANGED = "requirement_changed"
REQUIREMENT_REMOVED = "requirement_removed"
WORKSHOP_SCHEDULED = "workshop_scheduled"
WORKSHOP_CHANGED = "workshop_changed"
WORKSHOP_CANCELLED = "workshop_cancelled"
ATTENDEE_ADDED = "attendee_added"
ATTENDEE_REMOVED = "attendee_removed"
ATTENDEE_CHANGED = "attendee_changed"
ATTENDANCE_MARKED = "attendance_marked"
REGISTER_CLOSED = "register_closed"
REGISTER_REOPENED = "register_reopened"
CERTIFICATE_CLAIMED = "certificate_claimed"
PRIVACY_DETAILS = "privacy_details"  # an org admin changed the controller details on the privacy notice
PERSON_ERASED = "person_erased"
ATTENDEE_ERASED = "attendee_erased"
# Stands in an entry for a name or email address erased since (lms.privacy.erasure).
ERASED = "(erased)"


def record(db: Session, organisation_id: int, actor: User | None, action: str, **details) -> AuditEvent:
    event = AuditEvent(organisation_id=organisation_id, actor_id=actor.id if actor else None,
                       actor_name=actor.name if actor else "", action=action, details=details)
    db.add(event)
    db.flush()
    return event


def _json_forms(text: str) -> set[str]:
    """How a string may appear inside stored JSON: as typed, and escaped as json.dumps writes it."""
    return {text, json.dumps(text)[1:-1]}


def mentions(value, folded: set[str]) -> bool:
    """Whether any string in the details is one of these (casefolded) names or addresses."""
    if isinstance(value, str):
        return value.casefold() in folded
    if isinstance(value, dict):
        return any(mentions(item, folded) for item in value.values())
    if isinstance(value, list):
        return any(mentions(item, folded) for item in value)
    return False


def mentioning(db: Session, organisation_ids: set[int], values: set[str]) -> list[AuditEvent]:
    """These organisations' entries whose details hold one of the values whole (a name, an
    address). The database finds the entries that might; each is then checked value by value,
    so a name that is only part of another word does not count."""
    wanted = {value for value in values if value}
    if not wanted or not organisation_ids:
        return []
    folded = {value.casefold() for value in wanted}
    text = cast(AuditEvent.details, Text)
    candidates = db.scalars(select(AuditEvent).where(
        AuditEvent.organisation_id.in_(organisation_ids),
        or_(*(text.contains(form) for value in wanted for form in _json_forms(value)))).order_by(AuditEvent.id))
    return [event for event in candidates if mentions(event.details, folded)]


def with_erased_shown(value, label: str):
    """An entry's details with each erased value replaced by words saying so."""
    if value == ERASED:
        return label
    if isinstance(value, dict):
        return {key: with_erased_shown(item, label) for key, item in value.items()}
    if isinstance(value, list):
        return [with_erased_shown(item, label) for item in value]
    return value


def events(db: Session, organisation_id: int, page: int) -> Page:
    query = (select(AuditEvent).where(AuditEvent.organisation_id == organisation_id)
             .options(joinedload(AuditEvent.actor))
             .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()))
    return paginate(db, query, page)
