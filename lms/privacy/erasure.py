"""Erasing a person: their account (at their own request, an org admin's, or by retention) or
a walk-in's name on a session register (a trainer's, or retention's).

What goes: the account and everything about it (memberships, lessons read, quiz attempts,
reminders sent to them, invitations to their address), every copy of their name and email
address (on registers, in audit entries, in drawn certificates and in the downloads that may
list them), and free text about them (a revoked certificate's reason).

What stays: their completions, belonging to nobody (holder_erased_at), so an organisation's
totals stay right and a certificate still verifies, as issued to someone whose details were
erased; and a register row with no name, so a session's count of who came stays right.

Files are deleted before the commit: if the erasure then fails, they are only drawn again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.certify import batches
from lms.certify.services import PdfCache
from lms.db import utcnow
from lms.errors import Forbidden, InvalidInput, OutOfScope
from lms.jobs import task_name
from lms.models import (Attendance, AuditEvent, Certificate, Completion, GuestLearner, Invite, Job, Membership, Role,
                        User, Workshop)
from lms.people.scope import Scope
from lms.privacy import holdings
from lms.reports import export_files

# What an erased name or address becomes in an audit entry (the log page shows it in words).
ERASED = audit.ERASED


# Why an erasure was made, as recorded in the audit log.
OWN_REQUEST, ORG_ADMIN, TRAINER, RETENTION = "own_request", "org_admin", "trainer", "retention"


@dataclass(frozen=True)
class Storage:
    """Where copies of names are kept on disk: drawn certificates, and downloads waiting."""

    certificate_cache: Path
    batch_dir: Path

    @classmethod
    def of(cls, app: Flask) -> Storage:
        return cls(Path(app.config["CERTIFICATE_CACHE_DIR"]), Path(app.config["BATCH_DIR"]))


# --- the checks ------------------------------------------------------------------------------

def blocker_for_self(db: Session, user: User) -> str | None:
    """Why this person cannot erase their own account yet, or None."""
    if user.is_site_admin and db.scalar(select(func.count()).select_from(User).where(User.is_site_admin)) <= 1:
        return _l("You are the only site admin. Make someone else a site admin first.")
    for membership in user.memberships:
        if membership.role == Role.ORG_ADMIN.value and _sole_admin_of_others(db, membership.organisation_id):
            return _l("You are the only org admin of %(name)s, which has other members. Make one of them org admin "
                      "first.", name=membership.organisation.name)
    return None


def _sole_admin_of_others(db: Session, organisation_id: int) -> bool:
    admins = db.scalar(select(func.count()).select_from(Membership).where(
        Membership.organisation_id == organisation_id, Membership.role == Role.ORG_ADMIN.value))
    members = db.scalar(select(func.count()).select_from(Membership).where(Membership.organisation_id == organisation_id))
    return admins <= 1 and members > 1


def erasable_member(db: Session, scope: Scope, membership_id: int) -> Membership:
    """A member an org admin may erase: someone in this organisation only (an account used in
    another organisation is not theirs to remove), and not the last org admin."""
    if not scope.can_manage:
        raise Forbidden()
    membership = scope.membership(db, membership_id)
    others = db.scalar(select(func.count()).select_from(Membership).where(
        Membership.user_id == membership.user_id, Membership.organisation_id != scope.organisation_id))
    if others:
        raise InvalidInput(_l("This person also belongs to another organisation, so their account is not yours to "
                              "erase. Remove them from your organisation instead; they can delete their account "
                              "themselves."))
    if membership.user_id == scope.user_id:
        raise InvalidInput(_l("To erase your own account, use your account page."))
    if membership.user.is_site_admin:
        raise InvalidInput(_l("This person is a site admin; only they can delete their account."))
    return membership


def erasable_walk_in(db: Session, scope: Scope, workshop_id: int, attendance_id: int) -> Attendance:
    """A walk-in on the register of a session this person runs (or manages), even a cancelled
    or long-past one."""
    from lms.workshops.register import own_attendance
    from lms.workshops.services import get_workshop, may_change

    workshop = get_workshop(db, scope, workshop_id)
    if not may_change(scope, workshop):
        raise Forbidden()
    attendance = own_attendance(db, workshop, attendance_id)
    if attendance is None or attendance.erased_at is not None:
        raise OutOfScope()
    if attendance.user_id is not None:
        raise InvalidInput(_l("This person checked in with their account. They can delete it from their account "
                              "page, or an org admin can erase it."))
    return attendance


# --- erasing an account ----------------------------------------------------------------------

def erase_account(db: Session, user_id: int, storage: Storage, *, erased_by: User | None, reason: str) -> None:
    """Erase one account; the caller commits. erased_by is recorded as the actor of the audit
    entry (None for the person themselves or for retention); reason is a kind ("own_request",
    "org_admin", "retention"), never free text."""
    # Wait for a reminder being planned in their organisations, and make the next one wait for
    # this: a plan made before the erasure commits its reminders first (and they go with the
    # account); one made after it does not find the person.
    for organisation_id in sorted(db.scalars(select(Membership.organisation_id).where(Membership.user_id == user_id))):
        _lock_organisation(db, organisation_id)
    user = db.get(User, user_id)
    if user is None:  # erased by someone else while we waited
        return
    now = utcnow()
    values, organisation_ids = holdings.known_as(db, user_id)
    claimed = list(db.scalars(select(GuestLearner.id).where(GuestLearner.claimed_by_id == user_id)))
    attendances = list(db.scalars(select(Attendance).where(
        or_(Attendance.user_id == user_id, Attendance.guest_id.in_(claimed)))))
    completions = list(db.scalars(select(Completion).where(
        or_(Completion.user_id == user_id, Completion.guest_id.in_(claimed)))))
    _forget_files(db, storage, [c.id for c in completions], organisation_ids, requested_by=user_id)
    _keep_nameless(db, completions, attendances, now)
    db.execute(delete(GuestLearner).where(GuestLearner.id.in_(claimed)))
    addresses = {value.lower() for value in values if "@" in value}
    db.execute(delete(Invite).where(func.lower(Invite.email).in_(addresses)))
    db.execute(update(AuditEvent).where(AuditEvent.actor_id == user_id).values(actor_name=ERASED))
    _scrub_audit(db, organisation_ids, values)
    db.execute(delete(Job).where(Job.requested_by_id == user_id))
    _scrub_jobs(db, organisation_ids, values)
    db.delete(user)  # memberships, lessons read, attempts and reminders go with it
    db.flush()
    for organisation_id in organisation_ids:
        audit.record(db, organisation_id, erased_by, audit.PERSON_ERASED, reason=reason,
                     completions_kept=len(completions))


def _lock_organisation(db: Session, organisation_id: int) -> None:
    from lms.reports.reminders import lock_reminders

    lock_reminders(db, organisation_id)


def _keep_nameless(db: Session, completions: list[Completion], attendances: list[Attendance], now: datetime) -> None:
    for completion in completions:
        completion.user_id = completion.guest_id = None
        completion.holder_erased_at = now
    if completions:
        # A revoked certificate's reason was written about its holder.
        db.execute(update(Certificate).where(Certificate.completion_id.in_([c.id for c in completions]),
                                             Certificate.revoked_reason.is_not(None))
                   .values(revoked_reason=""))
    for attendance in attendances:
        attendance.name = attendance.email = ""
        attendance.user_id = attendance.guest_id = None
        attendance.erased_at = now
    db.flush()


# --- erasing a walk-in -------------------------------------------------------------------------

def erase_walk_in(db: Session, attendance: Attendance, storage: Storage, *, erased_by: User | None,
                  reason: str) -> None:
    """Erase the name and address a walk-in gave at a session, and the learner record holding
    their certificate (unless they have claimed it into an account, which is theirs to keep)."""
    now = utcnow()
    organisation_id = db.scalar(select(Workshop.organisation_id).where(Workshop.id == attendance.workshop_id))
    names, addresses = {attendance.name}, {attendance.email} - {""}
    guest = db.get(GuestLearner, attendance.guest_id) if attendance.guest_id else None
    _keep_nameless(db, [], [attendance], now)
    completions_kept = 0
    if guest is not None and guest.claimed_by_id is None:
        names.add(guest.name)
        completions_kept = erase_guest(db, guest, storage, now)
    _scrub_audit(db, {organisation_id}, names | addresses)
    db.flush()
    audit.record(db, organisation_id, erased_by, audit.ATTENDEE_ERASED, workshop_id=attendance.workshop_id,
                 reason=reason, completions_kept=completions_kept)


# --- erasing learning kept against a reference code --------------------------------------------

def erase_guest(db: Session, guest: GuestLearner, storage: Storage, now: datetime | None = None) -> int:
    """Erase an unclaimed guest learner (a walk-in's record, or someone who learned an open course
    by reference code): their lessons read and quiz attempts go with the record; a completion
    stays without a name, so its certificate still verifies. Returns how many completions were
    kept. Audited by the caller where the record belongs to an organisation's session."""
    completions = list(db.scalars(select(Completion).where(Completion.guest_id == guest.id)))
    _forget_files(db, storage, [c.id for c in completions], set(), requested_by=None)
    _keep_nameless(db, completions, [], now or utcnow())
    db.delete(guest)  # lessons read and attempts go with it
    db.flush()
    return len(completions)


# --- copies of names elsewhere ----------------------------------------------------------------

def _forget_files(db: Session, storage: Storage, completion_ids: list[int], organisation_ids: set[int], *,
                  requested_by: int | None) -> None:
    """Delete drawn PDFs of these completions' certificates, certificate batches holding them,
    the people lists prepared in these organisations (any of which may list the person), and
    downloads the person asked for."""
    certificates = db.execute(select(Certificate.id, Certificate.organisation_id)
                              .where(Certificate.completion_id.in_(completion_ids))).all()
    certificate_ids = {certificate_id for certificate_id, _organisation in certificates}
    cache = PdfCache(storage.certificate_cache)
    for certificate_id in certificate_ids:
        cache.forget(certificate_id)
    batch_task, export_task = task_name(batches.draw_batch), task_name(export_files.export_job)
    # A batch is drawn for the organisation that issued its certificates: only those can hold them.
    conditions = [(Job.task == batch_task) & Job.organisation_id.in_({org for _id, org in certificates}),
                  (Job.task == export_task) & Job.organisation_id.in_(organisation_ids)]
    if requested_by is not None:
        conditions.append(Job.requested_by_id == requested_by)
    for job in db.scalars(select(Job).where(or_(*conditions))):
        if job.task == batch_task and "kind" in job.params:
            if job.requested_by_id != requested_by and not certificate_ids & set(job.params["certificate_ids"]):
                continue
            path = batches.output_path(storage.batch_dir, job)
        elif job.task == export_task and "format" in job.params:
            path = export_files.file_in(storage.batch_dir, job)
        else:
            continue
        path.unlink(missing_ok=True)


def _scrub_audit(db: Session, organisation_ids: set[int], values: set[str]) -> None:
    """Put ERASED in place of every value in these organisations' audit entries that is one of
    these names or addresses."""
    folded = {value.casefold() for value in values if value}
    for event in audit.mentioning(db, organisation_ids, values):
        event.details = _without(event.details, folded)


def _scrub_jobs(db: Session, organisation_ids: set[int], values: set[str]) -> None:
    """A job's parameters may hold a name typed into the people list's search box."""
    folded = {value.casefold() for value in values if value}
    for job in db.scalars(select(Job).where(Job.organisation_id.in_(organisation_ids))):
        if audit.mentions(job.params, folded):
            job.params = _without(job.params, folded)


def _without(value, folded: set[str]):
    if isinstance(value, str):
        return ERASED if value.casefold() in folded else value
    if isinstance(value, dict):
        return {key: _without(item, folded) for key, item in value.items()}
    if isinstance(value, list):
        return [_without(item, folded) for item in value]
    return value
