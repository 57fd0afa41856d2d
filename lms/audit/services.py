"""The audit log, for org admins: every export of people's records, every reminder sent,
and every change to who is invited, which certificates stand, how they look, and what
training is offered and required, and when sessions are scheduled, changed or cancelled.

Each event is recorded by the service that makes the change, in the same transaction, so
a change and its record are committed together or not at all."""
from __future__ import annotations

from sqlalchemy import select
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


def record(db: Session, organisation_id: int, actor: User | None, action: str, **details) -> AuditEvent:
    event = AuditEvent(organisation_id=organisation_id, actor_id=actor.id if actor else None,
                       actor_name=actor.name if actor else "", action=action, details=details)
    db.add(event)
    db.flush()
    return event


def events(db: Session, organisation_id: int, page: int) -> Page:
    query = (select(AuditEvent).where(AuditEvent.organisation_id == organisation_id)
             .options(joinedload(AuditEvent.actor))
             .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()))
    return paginate(db, query, page)
