"""Words for the readable copy of a person's data: a heading for each kind of record and a
label for each field. A field with no label here is shown by its name, so a column added
later still appears, and tests/test_privacy_access.py asks for a label for it."""
from __future__ import annotations

import json
from datetime import datetime

from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

SECTIONS = {
    "memberships": _l("Your organisations"),
    "championed_teams": _l("Teams you look after as a Prevent Champion"),
    "lesson_progress": _l("Lessons you have read"),
    "quiz_attempts": _l("Your quiz attempts"),
    "completions": _l("Courses you have completed"),
    "certificates": _l("Your certificates"),
    "reminders": _l("Reminders sent to you"),
    "attendances": _l("Sessions you attended"),
    "guest_learners": _l("Certificates from sessions, added to your account"),
    "audit_events": _l("Audit log entries about you"),
    "xapi_statements": _l("Learning records sent to your organisation's learning record store"),
    "lti_accounts": _l("Learning platforms you open these courses from"),
    "lti_grade_links": _l("Where a learning platform wants your results"),
}
# The same tables, where the rows are things the person did.
ACTION_SECTIONS = {
    "audit_events": _l("Changes you made (from the audit log)"),
    "jobs": _l("Downloads and emails you asked for"),
    "reminders": _l("Reminders you sent"),
    "translation_reviews": _l("Course translations you reviewed"),
    "invites": _l("Invitations you sent"),
    "workshops": _l("Sessions you ran or scheduled"),
    "attendances": _l("People you added to a register"),
    "certificates": _l("Certificates you revoked"),
}

FIELDS = {
    "id": _l("Record number"), "email": _l("Email address"), "name": _l("Name"),
    "preferred_language": _l("Preferred language"), "is_site_admin": _l("Site admin"),
    "created_at": _l("Created"), "last_seen_at": _l("Last signed in"), "user_id": _l("Your account number"),
    "organisation_id": _l("Organisation number"), "team_id": _l("Team number"), "role": _l("Role"),
    "joined_at": _l("Joined"), "membership_id": _l("Membership number"), "course_id": _l("Course"),
    "module_slug": _l("Lesson"), "read_at": _l("Read on"), "course_version": _l("Course version"),
    "language": _l("Language"), "question_ids": _l("Questions asked"), "option_order": _l("Order of the answers shown"),
    "answers": _l("Your answers"), "correct": _l("Correct answers"), "passed": _l("Passed"),
    "started_at": _l("Started"), "submitted_at": _l("Submitted"), "guest_id": _l("Learning without an account (number)"),
    "method": _l("How"), "completed_at": _l("Completed on"), "expires_at": _l("Valid until"),
    "attempt_id": _l("Quiz attempt number"), "holder_erased_at": _l("Holder's details erased"),
    "completion_id": _l("Completion number"), "code": _l("Verification code"), "issued_at": _l("Issued"),
    "revoked_at": _l("Revoked"), "revoked_reason": _l("Reason for revoking"), "revoked_by_id": _l("Revoked by (account number)"),
    "status": _l("Status"), "sent_by_id": _l("Sent by (account number)"), "sent_at": _l("Sent"),
    "workshop_id": _l("Session number"), "consented_at": _l("Agreed to the name being kept"),
    "checked_in_at": _l("Checked in"), "added_by_id": _l("Added by (account number)"), "attended": _l("Attended"),
    "erased_at": _l("Erased"), "reference_code": _l("Reference"), "claimed_by_id": _l("Added to account number"),
    "claimed_at": _l("Added to your account"), "last_active_at": _l("Last used without an account"),
    "action": _l("What was done"), "details": _l("Details"),
    "actor_id": _l("Done by (account number)"), "actor_name": _l("Done by"), "requested_by_id": _l("Asked for by (account number)"),
    "task": _l("Kind of work"), "done": _l("Done"), "total": _l("Total"), "finished_at": _l("Finished"),
    "reviewed_by_id": _l("Reviewed by (account number)"), "reviewed_at": _l("Reviewed"),
    "invited_by_id": _l("Invited by (account number)"), "accepted_at": _l("Accepted"),
    "created_by_id": _l("Created by (account number)"), "trainer_id": _l("Trainer (account number)"),
    "starts_at": _l("Starts"), "ends_at": _l("Ends"), "cancelled_at": _l("Cancelled"), "closed_at": _l("Register closed"),
    "capacity": _l("Places"),
    "statement_id": _l("Statement number"), "payload": _l("What was sent"), "attempts": _l("Tries"),
    "last_error": _l("Last problem sending it"),
    "platform_id": _l("Learning platform number"), "subject": _l("Your identifier on that platform"),
    "account_id": _l("Platform account number"), "resource_link_id": _l("Activity on that platform"),
    "endpoint": _l("Where results go"), "updated_at": _l("Updated"),
}


def readable(field: str, value, course_titles: dict[str, str]) -> str:
    """One value of the person's data, as words: dates in their time zone and language, yes or
    no, a course's title; lists and answers as they are stored."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_l("Yes") if value else _l("No"))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if field == "course_id":
        return course_titles.get(value, value)
    if isinstance(value, str) and (field.endswith("_at") or field in ("starts_at", "ends_at")):
        try:
            return format_datetime(datetime.fromisoformat(value), "medium")
        except ValueError:
            return value
    return str(value)
