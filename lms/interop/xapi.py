"""xAPI statements to an organisation's learning record store (LMS_XAPI_URL), when one is set:
quiz attempts (passed or failed, with the score), completions and attendance at sessions.

A statement is written to xapi_statements in the same transaction as the record it describes,
and the queue sends what is waiting once that transaction commits. A learner's request only
adds a row, so a store that is slow or down never delays a page; the statements wait and go
when it answers again (the queue retries, and `lms xapi send` from cron sends whatever waits).

People are named by an account on this service (homePage = LMS_BASE_URL, name = "user-<id>"
or "guest-<id>"), never by name or email address: the store learns no more than which record
here a statement is about.
"""
from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
import uuid
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import jobs
from lms.catalogue import Course
from lms.db import utcnow
from lms.models import XapiStatement

log = logging.getLogger(__name__)

VERSION = "1.0.3"
BATCH = 200
VERBS = {
    "passed": "http://adlnet.gov/expapi/verbs/passed",
    "failed": "http://adlnet.gov/expapi/verbs/failed",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "attended": "http://adlnet.gov/expapi/verbs/attended",
}
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"
ASSESSMENT_TYPE = "http://adlnet.gov/expapi/activities/assessment"
MEETING_TYPE = "http://adlnet.gov/expapi/activities/meeting"


def enabled() -> bool:
    return has_app_context() and bool(current_app.config.get("XAPI_URL"))


def _base() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def _actor(user_id: int | None, guest_id: int | None) -> dict:
    name = f"user-{user_id}" if user_id is not None else f"guest-{guest_id}"
    return {"objectType": "Agent", "account": {"homePage": _base(), "name": name}}


def _course(course: Course, language: str, suffix: str = "", kind: str = COURSE_TYPE) -> dict:
    return {"objectType": "Activity", "id": f"{_base()}/courses/{course.id}{suffix}",
            "definition": {"type": kind, "name": {language: course.title(language)}}}


def _add(db: Session, *, user_id: int | None, guest_id: int | None, verb: str, activity: dict, when: datetime,
         language: str, result: dict | None = None, context: dict | None = None) -> None:
    statement = {"id": str(uuid.uuid4()), "actor": _actor(user_id, guest_id),
                 "verb": {"id": VERBS[verb], "display": {"en-GB": verb}}, "object": activity,
                 "timestamp": when.isoformat(),
                 "context": {"platform": "Prevent LMS", "language": language.replace("_", "-"), **(context or {})}}
    if result is not None:
        statement["result"] = result
    db.add(XapiStatement(statement_id=statement["id"], user_id=user_id, guest_id=guest_id, payload=statement))
    jobs.enqueue_after_commit(db, send_waiting)


def attempt_submitted(db: Session, *, user_id: int, course: Course, language: str, correct: int, total: int,
                      passed: bool, when: datetime) -> None:
    """A quiz attempt marked, and the course completed when it passed."""
    if not enabled():
        return
    percent = round(100 * correct / total) if total else 0
    _add(db, user_id=user_id, guest_id=None, verb="passed" if passed else "failed", when=when, language=language,
         activity=_course(course, language, "/quiz", ASSESSMENT_TYPE),
         result={"score": {"scaled": round(correct / total, 4) if total else 0, "raw": percent, "min": 0, "max": 100},
                 "success": passed, "completion": True},
         context={"contextActivities": {"parent": [{"id": f"{_base()}/courses/{course.id}"}]}})
    if passed:
        _add(db, user_id=user_id, guest_id=None, verb="completed", when=when, language=language,
             activity=_course(course, language), result={"completion": True, "success": True})


def attended(db: Session, *, user_id: int | None, guest_id: int | None, course: Course, language: str,
             workshop_id: int, when: datetime) -> None:
    """Someone at a session, whose attendance completes the course."""
    if not enabled():
        return
    session = {"objectType": "Activity", "id": f"{_base()}/sessions/{workshop_id}",
               "definition": {"type": MEETING_TYPE, "name": {language: course.title(language)}}}
    _add(db, user_id=user_id, guest_id=guest_id, verb="attended", when=when, language=language, activity=session)
    _add(db, user_id=user_id, guest_id=guest_id, verb="completed", when=when, language=language,
         activity=_course(course, language), result={"completion": True, "success": True},
         context={"contextActivities": {"grouping": [{"id": session["id"]}]}})


# --- sending --------------------------------------------------------------------------------

class StoreUnavailable(RuntimeError):
    """The store did not take the statements; they wait for the next try."""


def _post(statements: list[dict]) -> None:
    config = current_app.config
    credentials = base64.b64encode(f"{config['XAPI_USERNAME']}:{config['XAPI_PASSWORD']}".encode()).decode()
    request = urllib.request.Request(
        config["XAPI_URL"].rstrip("/") + "/statements", data=json.dumps(statements).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-Experience-API-Version": VERSION,
                 "Authorization": f"Basic {credentials}"})
    try:
        with urllib.request.urlopen(request, timeout=config["XAPI_TIMEOUT"]) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise StoreUnavailable(f"HTTP {error.code}: {error.read()[:300].decode(errors='replace')}") from error
    except (urllib.error.URLError, OSError) as error:
        raise StoreUnavailable(str(getattr(error, "reason", error))) from error


def send_waiting_now(db: Session) -> int:
    """Send every statement that waits, oldest first, in batches; how many were sent. Raises
    StoreUnavailable (after noting it on the statements) when the store does not take them."""
    sent = 0
    while True:
        waiting = list(db.scalars(select(XapiStatement).where(XapiStatement.sent_at.is_(None))
                                  .order_by(XapiStatement.id).limit(BATCH)))
        if not waiting:
            return sent
        try:
            _post([statement.payload for statement in waiting])
        except StoreUnavailable as error:
            for statement in waiting:
                statement.attempts += 1
                statement.last_error = str(error)[:500]
            db.commit()
            raise
        now = utcnow()
        for statement in waiting:
            statement.sent_at, statement.last_error = now, None
        db.commit()
        sent += len(waiting)


def send_waiting() -> None:
    """The queued task: send what waits (the queue retries it while the store is down)."""
    from lms import db as database

    if not current_app.config.get("XAPI_URL"):
        return
    send_waiting_now(database.get_session())
