"""Reminder emails: to the people a champion filtered, or scheduled before a completion expires.

Nobody gets more than one reminder about one course in a week, however many champions,
organisations or scheduled runs ask, and every send is recorded."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from lms import jobs
from lms.audit import services as audit
from lms.catalogue import Course
from lms.db import utcnow
from lms.i18n import available_locales
from lms.mail import send_email
from lms.models import Job, Membership, Organisation, Reminder, User
from lms.people.scope import Scope, organisation_scope
from lms.reports.services import Cell, cell_from_row, job_request
from lms.reports.status import (EXPIRED, IN_PROGRESS, NOT_STARTED, OVERDUE, REFRESHER_DUE, REVOKED, Filters, cells,
                                person_conditions)
from lms.training.services import offered_courses

log = logging.getLogger(__name__)

REMINDABLE = (NOT_STARTED, IN_PROGRESS, OVERDUE, REFRESHER_DUE, EXPIRED, REVOKED)
QUIET_DAYS = 7
# The scheduled job reminds when a completion enters its refresher window, then every three weeks.
SCHEDULED_QUIET_DAYS = 21
PREVIEW_NAMES = 20
# How often a send in the job queue tells the person waiting how far it has got.
PROGRESS_EVERY = 20


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str
    email: str
    language: str
    cell: Cell


@dataclass
class ReminderPlan:
    course: Course
    recipients: list[Recipient]
    recently_reminded: int  # people in the filter left out: reminded about this course this week

    def first(self, count: int) -> ReminderPlan:
        return ReminderPlan(self.course, self.recipients[:count], self.recently_reminded)


def plan_reminders(db: Session, scope: Scope, filters: Filters, course: Course, *, now: datetime,
                   refresher_days: int, quiet_days: int = QUIET_DAYS) -> ReminderPlan:
    """Who a reminder about this course would go to, in two queries."""
    wanted = (filters.status,) if filters.status in REMINDABLE else REMINDABLE
    table = cells(scope, [course.id], now=now, refresher_days=refresher_days)
    reminded = exists().where(Reminder.user_id == Membership.user_id, Reminder.course_id == course.id,
                              Reminder.sent_at > now - timedelta(days=quiet_days))
    base = (select(User.id, User.name, User.email, User.preferred_language, table.c.status, table.c.joined_at,
                   table.c.completed_at, table.c.expires_at, table.c.revoked_at, table.c.due_days)
            .select_from(Membership).join(User, User.id == Membership.user_id)
            .join(table, table.c.membership_id == Membership.id)
            # The status filter is about this course, so it is applied to this course's cell alone.
            .where(*person_conditions(scope, replace(filters, status=None), [], now=now, refresher_days=refresher_days),
                   table.c.status.in_(wanted)))
    recipients = [
        Recipient(row.id, row.name, row.email, _language(row.preferred_language), cell_from_row(row))
        for row in db.execute(base.where(~reminded).order_by(User.name, User.id))
    ]
    recently = db.scalar(select(func.count()).select_from(base.where(reminded).subquery()))
    return ReminderPlan(course, recipients, recently)


def _language(preferred: str | None) -> str:
    return preferred if preferred in available_locales() else "en"


def render_reminder(recipient: Recipient, course: Course, organisation: Organisation) -> tuple[str, str]:
    """Subject and body in the recipient's language."""
    language = recipient.language
    title = course.title(language)
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("learn.course", course_id=course.id)
    with force_locale("en_GB" if language == "en" else language):
        subject = _("Reminder: %(course)s", course=title)
        # Straight from the Jinja environment: render_template would run the page-layout
        # context processors, which query the database, once per email.
        body = current_app.jinja_env.get_template("reports/email/reminder.txt").render(
            recipient=recipient, course_title=title, link=link, organisation=organisation, cell=recipient.cell)
    return subject, body


def lock_reminders(db: Session, organisation_id: int) -> None:
    """Hold the organisation's row until commit, so two sends at the same moment (two
    champions, a button pressed twice, the scheduled job) run one after the other and the
    second sees what the first recorded. Call it before planning who to remind."""
    # End the read transaction first: on SQLite a write from an old snapshot fails at once
    # instead of waiting its turn.
    db.commit()
    db.execute(update(Organisation).where(Organisation.id == organisation_id).values(id=Organisation.id))


def send_reminders(db: Session, organisation: Organisation, plan: ReminderPlan, *, sender: User | None,
                   now: datetime, send: Callable[[str, str, str], None] = send_email,
                   progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Email each recipient in their own language, and record it. Returns (sent, failed).

    The sends are recorded and committed first, which releases the lock taken by
    lock_reminders before any slow mail server is talked to (on SQLite that lock holds up
    every write). An email that then fails has its record taken back, so it can be sent again."""
    claims = [Reminder(organisation_id=organisation.id, user_id=recipient.user_id, course_id=plan.course.id,
                       status=recipient.cell.status, language=recipient.language,
                       sent_by_id=sender.id if sender else None, sent_at=now)
              for recipient in plan.recipients]
    db.add_all(claims)
    db.commit()
    failed = []
    for number, (recipient, claim) in enumerate(zip(plan.recipients, claims), start=1):
        subject, body = render_reminder(recipient, plan.course, organisation)
        try:
            send(recipient.email, subject, body)
        except Exception:  # one bad address or a dropped connection must not stop the rest
            log.exception("reminder to user %s failed", recipient.user_id)
            failed.append(claim.id)
        if progress and number % PROGRESS_EVERY == 0:
            progress(number)
    if failed:
        db.execute(delete(Reminder).where(Reminder.id.in_(failed)))
        db.flush()
    return len(claims) - len(failed), len(failed)


@jobs.tracked
def send_reminders_job(db: Session, job: Job) -> None:
    """The reminders a champion asked for from the people list, to everyone it finds. Who they
    go to, and whether the champion may still send them, is worked out again when the job runs,
    under the organisation's lock, so the week's limit holds however often the job is run (a
    retry reaches only those the earlier attempt did not)."""
    asked = job_request(db, job, current_app.extensions["lms.catalogue"].all())
    sender, scope, courses, filters = asked.requester, asked.scope, asked.courses, asked.filters
    course = next((course for course in courses if course.id == filters.course_id), None)
    if course is None:
        raise RuntimeError(f"course {filters.course_id} is no longer offered")
    now = utcnow()
    lock_reminders(db, scope.organisation_id)
    plan = plan_reminders(db, scope, filters, course, now=now, refresher_days=current_app.config["REFRESHER_DAYS"])
    earlier = (job.result or {}).get("sent", 0)
    job.done, job.total = 0, len(plan.recipients)

    def progress(done: int) -> None:
        job.done = done
        db.commit()

    sent, failed = send_reminders(db, scope.organisation, plan, sender=sender, now=now, progress=progress)
    audit.record(db, scope.organisation_id, sender, audit.REMINDERS, course=course.id, sent=sent, failed=failed,
                 skipped=plan.recently_reminded - earlier, filters=job.params.get("logged", {}))
    job.done = len(plan.recipients)
    job.result = {"sent": earlier + sent, "failed": failed}


def send_due(db: Session, courses: list[Course], *, now: datetime, refresher_days: int) -> dict[str, int]:
    """For cron: remind everyone whose completion enters its refresher window, in every organisation."""
    totals = {"sent": 0, "failed": 0}
    for organisation in db.scalars(select(Organisation).order_by(Organisation.id)):
        scope = organisation_scope(organisation)
        for course in offered_courses(db, organisation.id, courses):
            lock_reminders(db, organisation.id)
            plan = plan_reminders(db, scope, Filters(status=REFRESHER_DUE), course, now=now,
                                  refresher_days=refresher_days, quiet_days=SCHEDULED_QUIET_DAYS)
            if not plan.recipients:
                continue
            sent, failed = send_reminders(db, organisation, plan, sender=None, now=now)
            audit.record(db, organisation.id, None, audit.SCHEDULED_REMINDERS, course=course.id, sent=sent, failed=failed)
            db.commit()
            totals["sent"] += sent
            totals["failed"] += failed
    return totals


__all__ = ["REMINDABLE", "Recipient", "ReminderPlan", "plan_reminders", "render_reminder", "send_due", "send_reminders"]
