"""The audit log: every export of people's records and every reminder sent, for org admins."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from lms.models import AuditEvent, User
from lms.pagination import Page, paginate

EXPORT = "export"
REMINDERS = "reminders"
SCHEDULED_REMINDERS = "scheduled_reminders"


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
