"""Who is trained: the dashboard, the people matrix, its exports and reminder emails.

Champions see the team they champion, org admins their organisation, site admins any."""
from __future__ import annotations

from dataclasses import asdict

from flask import (Blueprint, Response, current_app, redirect, render_template, request, send_file,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from lms import db, jobs
from lms.admin.forms import role_choices
from lms.audit import services as audit
from lms.db import utcnow
from lms.errors import InvalidInput, OutOfScope
from lms.forms import ConfirmForm
from lms.i18n import choose_language
from lms.models import Job
from lms.pagination import page_number
from lms.people.scope import MAX_ID, Scope, scope_for
from lms.reports import export_files, exports, reminders, services
from lms.reports.status import STATUS_LABELS, Filters
from lms.training.services import offered_courses

blueprint = Blueprint("reports", __name__, template_folder="templates")

SORT_LABELS = {
    "name": _l("Name, A to Z"),
    "-name": _l("Name, Z to A"),
    "team": _l("Team"),
    "role": _l("Role"),
    "-joined": _l("Joined, newest first"),
    "joined": _l("Joined, oldest first"),
    "urgency": _l("Most in need of action first (choose a course)"),
}
EXPORT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class BadFilter(ValueError):
    pass


@blueprint.before_request
@login_required
def require_sign_in():
    return None


@blueprint.errorhandler(BadFilter)
def bad_filter(error: BadFilter):
    return render_template("error.html", status=400, message=str(error)), 400


def _report_scope(organisation_id: int) -> Scope:
    scope = scope_for(db.get_session(), current_user, organisation_id)
    if not scope.sees_people:
        raise OutOfScope()
    return scope


def _courses(scope: Scope):
    return offered_courses(db.get_session(), scope.organisation_id, current_app.extensions["lms.catalogue"].all())


def _team_id(raw: str) -> int | None:
    if raw == "":
        return None
    if raw == "none":
        return 0
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID:
        return int(raw)
    raise OutOfScope()


def _filters(scope: Scope, courses) -> Filters:
    """The filters in the query string, each checked against what this person may see."""
    args = request.args
    filters = Filters(team_id=_team_id(args.get("team", "")), course_id=args.get("course") or None,
                      status=args.get("status") or None, role=args.get("role") or None, search=args.get("q", "")[:200])
    try:
        services.check_filters(db.get_session(), scope, filters, courses)
    except InvalidInput as problem:
        raise BadFilter(str(problem.message)) from None
    return filters


def _sort(filters: Filters) -> str:
    sort = request.args.get("sort", services.DEFAULT_SORT)
    if sort not in SORT_LABELS:
        raise BadFilter(_("Choose a sort order from the list."))
    if sort == services.URGENCY_SORT and not filters.course_id:
        raise BadFilter(_("Choose a course to sort by who most needs to act on it."))
    return sort


def _query_args(filters: Filters, sort: str | None = None) -> dict:
    """Filters as URL parameters, leaving out the empty ones."""
    team = {None: None, 0: "none"}.get(filters.team_id, filters.team_id)
    args = {"team": team, "course": filters.course_id, "status": filters.status, "role": filters.role,
            "q": filters.search or None, "sort": sort if sort and sort != services.DEFAULT_SORT else None}
    return {key: value for key, value in args.items() if value is not None}


def _now_and_refresher() -> dict:
    return {"now": utcnow(), "refresher_days": current_app.config["REFRESHER_DAYS"]}


@blueprint.get("/org/<int:organisation_id>/reports")
def dashboard(organisation_id: int):
    database = db.get_session()
    scope = _report_scope(organisation_id)
    courses = _courses(scope)
    team_id = _team_id(request.args.get("team", ""))
    services.check_filters(database, scope, Filters(team_id=team_id), courses)
    teams = database.scalars(scope.teams()).all()
    reports = services.dashboard(database, scope, courses, teams, team_id=team_id, **_now_and_refresher())
    return render_template("reports/dashboard.html", scope=scope, organisation=scope.organisation, reports=reports,
                           teams=teams, team_id=team_id, statuses=services.shown_statuses(reports),
                           labels=STATUS_LABELS, language=choose_language())


@blueprint.get("/org/<int:organisation_id>/reports/people")
def people(organisation_id: int):
    database = db.get_session()
    scope = _report_scope(organisation_id)
    courses = _courses(scope)
    filters = _filters(scope, courses)
    # The urgency sort needs a course: without one, the page comes back with the person's
    # choices kept, the people in the usual order, and a message on the course filter.
    sort_problem = None
    if request.args.get("sort") == services.URGENCY_SORT and not filters.course_id:
        sort_problem = _("Choose a course to sort by who most needs to act on it.")
        sort = services.URGENCY_SORT
    else:
        sort = _sort(filters)
    page = services.matrix(database, scope, filters, courses, page=page_number(request.args.get("page")),
                           sort=services.DEFAULT_SORT if sort_problem else sort, **_now_and_refresher())
    return render_template(
        "reports/people.html", scope=scope, organisation=scope.organisation, page=page, filters=filters, sort=sort,
        courses=courses, shown=services.shown_courses(courses, filters), teams=database.scalars(scope.teams()).all(),
        labels=STATUS_LABELS, sorts=SORT_LABELS, roles=dict(role_choices()), query_args=_query_args(filters, sort),
        language=choose_language(), remindable=reminders.REMINDABLE, sort_problem=sort_problem,
        export_stream_rows=current_app.config["EXPORT_STREAM_ROWS"], export_form=ConfirmForm(),
    ), 400 if sort_problem else 200


def _logged(filters: Filters) -> dict:
    """The filters that were set, for the audit log."""
    return {key: value for key, value in asdict(filters).items() if value not in (None, "")}


def _filename(organisation_id: int, extension: str, day=None) -> str:
    return f"training-report-{organisation_id}-{day or utcnow():%Y-%m-%d}.{extension}"


def _export(organisation_id: int, kind: str):
    """The filtered people list as a file: streamed while it is written, or, for more people
    than a request should spend its time on, a page offering to prepare it in the background."""
    database = db.get_session()
    scope = _report_scope(organisation_id)
    courses = _courses(scope)
    filters = _filters(scope, courses)
    sort = _sort(filters)
    count = services.count_people(database, scope, filters, courses, **_now_and_refresher())
    if count > current_app.config["EXPORT_STREAM_ROWS"]:
        return render_template("reports/export_prepare.html", organisation=scope.organisation, count=count,
                               kind=kind, form=ConfirmForm(), query_args=_query_args(filters, sort))
    with db.write_transaction() as database:
        audit.record(database, scope.organisation_id, current_user, audit.EXPORT, format=kind,
                     filters=_logged(filters))
    language = choose_language()
    header, rows = exports.table(database, scope, filters, courses, sort=sort, language=language,
                                 **_now_and_refresher())
    chunks = exports.file_chunks(kind, _("Training"), header, rows)

    def body():
        try:
            # Sent as it is written: the download starts at once, and memory stays the same
            # however many people there are.
            yield from chunks
        finally:
            # The request's own teardown may already have run: this session is closed here, as
            # soon as the file is written or the download abandoned.
            database.close()

    return Response(stream_with_context(body()), mimetype=EXPORT_TYPES[kind], headers={
        "Content-Disposition": f'attachment; filename="{_filename(scope.organisation_id, kind)}"'})


@blueprint.get("/org/<int:organisation_id>/reports/people.csv")
def export_csv(organisation_id: int):
    return _export(organisation_id, "csv")


@blueprint.get("/org/<int:organisation_id>/reports/people.xlsx")
def export_xlsx(organisation_id: int):
    return _export(organisation_id, "xlsx")


@blueprint.post("/org/<int:organisation_id>/reports/exports")
def start_export(organisation_id: int):
    """Prepare the filtered people list as a file in the background (the job's page follows it)."""
    database = db.get_session()
    scope = _report_scope(organisation_id)
    if not ConfirmForm().validate_on_submit():
        raise BadFilter(_("The form had expired. Nothing was prepared: please try again."))
    kind = request.form.get("format", "")
    if kind not in exports.FORMATS:
        raise BadFilter(_("Choose whether to download a CSV or an Excel (XLSX) file."))
    courses = _courses(scope)
    filters = _filters(scope, courses)
    sort = _sort(filters)
    params = {"format": kind, "filters": asdict(filters), "sort": sort, "language": choose_language(),
              "query": _query_args(filters, sort)}
    task = jobs.task_name(export_files.export_job)
    # Pressing the button twice follows the file already being prepared.
    for waiting in database.scalars(select(Job).where(
            Job.requested_by_id == current_user.id, Job.organisation_id == scope.organisation_id, Job.task == task,
            Job.status.in_(("queued", "running")))):
        if waiting.params == params:
            return redirect(url_for("reports.export_job", organisation_id=organisation_id, job_id=waiting.id))
    audit.record(database, scope.organisation_id, current_user, audit.EXPORT, format=kind, filters=_logged(filters))
    job = jobs.submit(database, current_app._get_current_object(), export_files.export_job,
                      organisation_id=scope.organisation_id, requested_by_id=current_user.id, params=params,
                      total=services.count_people(database, scope, filters, courses, **_now_and_refresher()))
    return redirect(url_for("reports.export_job", organisation_id=organisation_id, job_id=job.id))


def _job(scope: Scope, job_id: int, task, *, managers_too: bool) -> Job:
    """A job of this kind in this organisation, for the person who asked for it (and, where
    managers_too, for those who manage the organisation)."""
    job = db.get_session().get(Job, job_id) if job_id <= MAX_ID else None
    if (job is None or job.organisation_id != scope.organisation_id or job.task != jobs.task_name(task)
            or not (job.requested_by_id == current_user.id or (managers_too and scope.can_manage))):
        raise OutOfScope()
    return job


@blueprint.get("/org/<int:organisation_id>/reports/exports/<int:job_id>")
def export_job(organisation_id: int, job_id: int):
    """How far the file has got, and then its download; the person can leave and come back.
    Only they may see it: it lists people's details."""
    scope = _report_scope(organisation_id)
    job = _job(scope, job_id, export_files.export_job, managers_too=False)
    return render_template("reports/export_job.html", organisation=scope.organisation, job=job,
                           expired=export_files.expired(job, utcnow()), keep_hours=export_files.KEEP_HOURS,
                           query_args=job.params.get("query", {}))


@blueprint.get("/org/<int:organisation_id>/reports/exports/<int:job_id>/download")
def export_download(organisation_id: int, job_id: int):
    scope = _report_scope(organisation_id)
    job = _job(scope, job_id, export_files.export_job, managers_too=False)
    if job.status != "done":
        return redirect(url_for("reports.export_job", organisation_id=organisation_id, job_id=job.id))
    path = export_files.file_path(current_app, job)
    if export_files.expired(job, utcnow()) or not path.is_file():
        return render_template("error.html", status=410, message=_(
            "This file has been deleted: it held people's details, so it is kept for %(hours)d hours only. "
            "Prepare it again from the people list.", hours=export_files.KEEP_HOURS)), 410
    kind = job.params["format"]
    return send_file(path, mimetype=EXPORT_TYPES[kind], as_attachment=True,
                     download_name=_filename(scope.organisation_id, kind, job.created_at))


def _reminder_plan(scope: Scope, *, lock: bool = False):
    courses = _courses(scope)
    filters = _filters(scope, courses)
    if not filters.course_id:
        raise BadFilter(_("Choose one course to send reminders about."))
    if filters.status and filters.status not in reminders.REMINDABLE:
        raise BadFilter(_("People who have completed the course do not need a reminder."))
    course = next(course for course in courses if course.id == filters.course_id)
    if lock:
        reminders.lock_reminders(db.get_session(), scope.organisation_id)
    plan = reminders.plan_reminders(db.get_session(), scope, filters, course, **_now_and_refresher())
    return filters, plan


@blueprint.get("/org/<int:organisation_id>/reports/reminders")
def reminder_preview(organisation_id: int):
    scope = _report_scope(organisation_id)
    filters, plan = _reminder_plan(scope)
    sample = None
    if plan.recipients:
        subject, body = reminders.render_reminder(plan.recipients[0], plan.course, scope.organisation)
        sample = {"subject": subject, "body": body}
    return render_template(
        "reports/reminders.html", scope=scope, organisation=scope.organisation, plan=plan, filters=filters,
        query_args=_query_args(filters), sample=sample, labels=STATUS_LABELS, form=ConfirmForm(),
        course_title=plan.course.title(choose_language()), shown_names=reminders.PREVIEW_NAMES,
    )


@blueprint.post("/org/<int:organisation_id>/reports/reminders")
def send_reminders(organisation_id: int):
    database = db.get_session()
    scope = _report_scope(organisation_id)
    if not ConfirmForm().validate_on_submit():
        raise BadFilter(_("The form had expired. Nothing was sent: please try again."))
    # Checked now, so a bad filter is a 400 here; the job works out the people again when it runs.
    filters, plan = _reminder_plan(scope)
    job = jobs.submit(database, current_app._get_current_object(), reminders.send_reminders_job,
                      organisation_id=scope.organisation_id, requested_by_id=current_user.id,
                      params={"filters": asdict(filters), "logged": _logged(filters), "query": _query_args(filters)},
                      total=len(plan.recipients))
    return redirect(url_for("reports.reminder_job", organisation_id=organisation_id, job_id=job.id))


@blueprint.get("/org/<int:organisation_id>/reports/reminders/<int:job_id>")
def reminder_job(organisation_id: int, job_id: int):
    """How far a send has got; the person can leave and come back."""
    scope = _report_scope(organisation_id)
    job = _job(scope, job_id, reminders.send_reminders_job, managers_too=True)
    return render_template("reports/reminder_job.html", organisation=scope.organisation, job=job,
                           query_args=job.params.get("query", {}))
