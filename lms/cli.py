"""The `lms` command: Flask's CLI (run, routes, shell) plus the project's own commands."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo

from sqlalchemy.exc import OperationalError

from lms import db
from lms.config import DEVELOPMENT_BASE_URL
from lms.errors import InvalidInput

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's error code for a lock_timeout that ran out


def main() -> None:
    from lms import create_app

    group = FlaskGroup(create_app=lambda: create_app(secret_required=False), help="Prevent LMS administration.")
    group.add_command(_needing_secret(group.commands["run"]))
    group(prog_name="lms")


def _needing_secret(command: click.Command) -> click.Command:
    """A copy of a serving command that refuses to start without the secret key and the public
    address, as the app itself does when a server such as gunicorn creates it."""
    import copy

    checked = copy.copy(command)

    def callback(*args, **kwargs):
        _require_serving_settings(click.get_current_context().ensure_object(ScriptInfo).load_app())
        return command.callback(*args, **kwargs)

    checked.callback = callback
    return checked


def _require_serving_settings(app: Flask) -> None:
    from lms.config import missing_for_serving

    missing = missing_for_serving(app.config)
    if missing:
        raise click.ClickException(missing)


def _require_current_schema() -> None:
    """A command about records stops with one line, not a traceback, on a database that has not
    been set up or upgraded yet."""
    from sqlalchemy.exc import OperationalError

    from lms.migrate import is_current

    try:
        current = is_current(current_app.extensions["lms.engine"])
    except OperationalError as error:
        raise click.ClickException(f"The database cannot be opened ({error.orig}): check LMS_DATABASE_URL.") from None
    if not current:
        raise click.ClickException("The database is not up to date with this version: run `lms db upgrade` first.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(users_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(courses_group)
    app.cli.add_command(certificate_group)
    app.cli.add_command(slides_group)
    app.cli.add_command(translations_group)
    app.cli.add_command(reminders_group)
    app.cli.add_command(exports_group)
    app.cli.add_command(retention_group)
    app.cli.add_command(xapi_group)
    app.cli.add_command(lti_group)
    app.cli.add_command(worker_command)


@click.group("db", help="The database: schema, backups and restores.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply every migration not yet applied.")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    from lms.migrate import upgrade

    url = current_app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(url, revision)
    except RuntimeError as problem:
        raise click.ClickException(str(problem))
    except OperationalError as problem:
        if getattr(problem.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise click.ClickException(
            "A migration could not lock a table within LMS_MIGRATION_LOCK_TIMEOUT: another transaction holds it "
            "(a long report or export?). Nothing was changed; run `lms db upgrade` again.")
    click.echo("Database is up to date.")


@db_group.command("backup", help="Write a consistent copy of the database (LMS_DATABASE_URL) while the app runs: "
                                 "an SQLite file, or a pg_dump archive (custom format).")
@click.argument("out_file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace OUT_FILE (and the counts file) if it exists.")
@click.option("--counts", "counts_file", type=click.Path(path_type=Path),
              help="Also write each table's row count, from the same snapshot, to this JSON file "
                   "(for `lms db compare` after a restore).")
def db_backup(out_file: Path, force: bool, counts_file: Path | None) -> None:
    from lms.backup import BackupError, backup, shown

    url = current_app.config["DATABASE_URL"]
    try:
        outcome = backup(url, out_file, force=force, counts_out=counts_file)
    except BackupError as problem:
        raise click.ClickException(str(problem))
    click.echo(f"Backed up {shown(url)} to {outcome.path} ({outcome.path.stat().st_size:,} bytes; "
               f"{outcome.tables} tables, {outcome.rows:,} rows) in {outcome.seconds:.2f} s.")


@db_group.command("restore", help="Restore a backup from `lms db backup` into a new, empty database.")
@click.argument("in_file", type=click.Path(path_type=Path))
@click.option("--into", "into", required=True, metavar="URL",
              help="The empty database to restore into: sqlite:///path or postgresql+psycopg://user@host/name.")
def db_restore(in_file: Path, into: str) -> None:
    from lms.backup import BackupError, restore, shown

    try:
        outcome = restore(in_file, into)
    except BackupError as problem:
        raise click.ClickException(str(problem))
    click.echo(f"Restored {outcome.path} into {shown(into)} ({outcome.tables} tables, {outcome.rows:,} rows) "
               f"in {outcome.seconds:.2f} s.")


@db_group.command("counts", help="Each table's row count.")
@click.option("--url", default=None, help="Another database than LMS_DATABASE_URL's.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def db_counts(url: str | None, as_json: bool) -> None:
    import json

    from lms.backup import BackupError, table_counts

    try:
        counts = table_counts(url or current_app.config["DATABASE_URL"])
    except BackupError as problem:
        raise click.ClickException(str(problem))
    if as_json:
        click.echo(json.dumps(counts, indent=2, sort_keys=True))
        return
    width = max(map(len, counts))
    for name, count in counts.items():
        click.echo(f"{name:<{width}}  {'missing' if count is None else f'{count:,}':>11}")


@db_group.command("compare", help="Compare the row counts of two databases (URLs) or counts files; "
                                  "exit 1 naming each table that differs.")
@click.argument("first")
@click.argument("second")
def db_compare(first: str, second: str) -> None:
    from lms.backup import BackupError, differences, load_counts, shown

    try:
        a, b = load_counts(first), load_counts(second)
    except BackupError as problem:
        raise click.ClickException(str(problem))
    names = [shown(x) if "://" in x else x for x in (first, second)]
    differing = differences(a, b)
    if not differing:
        missing = [name for name, count in a.items() if count is None]
        click.echo(f"All {len(a) - len(missing)} tables match ({sum(c or 0 for c in a.values()):,} rows)"
                   + (f"; missing from both: {', '.join(missing)}." if missing else "."))
        return
    for name, in_a, in_b in differing:
        click.echo(f"{name}: {'missing' if in_a is None else in_a} in {names[0]}, "
                   f"{'missing' if in_b is None else in_b} in {names[1]}")
    raise click.ClickException(f"{len(differing)} of {len(set(a) | set(b))} tables differ: "
                               + ", ".join(name for name, _, _ in differing) + ".")


@db_group.command("create-scratch", help="Create an empty PostgreSQL database for a restore check "
                                         "(replacing one left by an interrupted check; never any other).")
@click.argument("url")
def db_create_scratch(url: str) -> None:
    from lms.backup import BackupError, create_scratch, shown

    try:
        create_scratch(url)
    except BackupError as problem:
        raise click.ClickException(str(problem))
    click.echo(f"Created the scratch database {shown(url)}.")


@db_group.command("drop-scratch", help="Drop a database made by `lms db create-scratch` (and refuse any other).")
@click.argument("url")
def db_drop_scratch(url: str) -> None:
    from lms.backup import BackupError, drop_scratch, shown

    try:
        dropped = drop_scratch(url)
    except BackupError as problem:
        raise click.ClickException(str(problem))
    click.echo(f"Dropped the scratch database {shown(url)}." if dropped else f"There is no database {shown(url)}.")


@click.group("users", help="People's accounts.")
def users_group() -> None:
    pass


@users_group.command("create", help="Create an account, optionally a site admin or a member of an organisation.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--site-admin", is_flag=True, help="Can create organisations and see all of them.")
@click.option("--organisation", "organisation_name", help="Name of an existing organisation to join.")
@click.option("--role", type=click.Choice(["learner", "champion", "trainer", "org_admin"]), default="learner", show_default=True)
@click.option("--language", default=None, help="Preferred language code, e.g. ur.")
def users_create(email, name, password, site_admin, organisation_name, role, language) -> None:
    from sqlalchemy import select

    from lms.models import Organisation
    from lms.people import services as people

    session = db.get_session()
    organisation = None
    if organisation_name:
        organisation = session.scalars(select(Organisation).where(Organisation.name == organisation_name)).first()
        if organisation is None:
            raise click.UsageError(f"No organisation called {organisation_name!r}.")
    try:
        user = people.create_user(session, email=email, name=name, password=password,
                                  preferred_language=language, site_admin=site_admin)
    except InvalidInput as problem:
        raise click.UsageError(str(problem.message))
    if organisation is not None:
        people.join_organisation(session, user, organisation, role=role)
    session.commit()
    click.echo(f"Created {user.email}" + (f" ({role} in {organisation.name})" if organisation else ""))


@click.command("demo", help="Load fictional organisations, teams and people in every role (safe to run again).")
def demo_command() -> None:
    from lms.demo import DEMO_PASSWORD, load_demo

    session = db.get_session()
    accounts = load_demo(session, current_app.extensions["lms.catalogue"].all())
    session.commit()
    click.echo("Demo data is ready. Sign in with any of these (password for all: %s):" % DEMO_PASSWORD)
    for email, description in accounts:
        click.echo(f"  {email:<34} {description}")


@click.group("courses", help="Course plugins.")
def courses_group() -> None:
    pass


@courses_group.command("list", help="The courses on offer, with their languages.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def courses_list(as_json: bool) -> None:
    import json

    courses = current_app.extensions["lms.catalogue"].all()
    rows = [{
        "id": course.id, "version": course.version, "title": course.title(),
        "modules": len(course.module_slugs), "questions": len(course.question_bank), "slides": len(course.deck()),
        "languages": course.languages,
    } for course in courses]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        languages = ", ".join(f"{code} ({status})" for code, status in row["languages"].items())
        click.echo(f"{row['id']}  {row['version']}  {row['title']}\n    {row['modules']} modules, "
                   f"{row['questions']} questions, {row['slides']} slides; {languages}")
    if not rows:
        click.echo("No courses found.")


@courses_group.command("check", help="Check courses and name the file and line of every fault (exit 1 if any).")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
def courses_check(paths: tuple[Path, ...]) -> None:
    from lms.catalogue import discover

    catalogue = discover(list(paths), include_installed=False) if paths else discover(
        current_app.config["COURSE_PATHS"])
    from lms.catalogue.balance import course_balance

    for course in catalogue.all():
        click.echo(f"ok      {course.id} {course.version} ({course.path})")
        for balance in course_balance(course):
            click.echo(f"  quiz  {balance}")
            for problem in balance.problems:
                click.echo(f"  WARNING {course.id} [{balance.language}]: {problem}", err=True)
    for folder, faults in catalogue.broken.items():
        click.echo(f"FAULTS  {folder}", err=True)
        for fault in faults:
            click.echo(f"  {fault}", err=True)
    if not catalogue.courses and not catalogue.broken:
        raise click.ClickException("No courses found there.")
    if catalogue.broken:
        sys.exit(1)


@courses_group.command("export-scorm", help="Write a course as a SCORM 1.2 package (ZIP) for another LMS "
                                             "(Moodle, Totara, ESR) to play.")
@click.option("--course", "course_id", required=True, help="The course's id (see `lms courses list`).")
@click.option("--lang", "language", default="en", show_default=True, help="The language to package.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The ZIP file to write.")
def courses_export_scorm(course_id: str, language: str, out: Path) -> None:
    from lms.interop import scorm

    course = current_app.extensions["lms.catalogue"].get(course_id)
    if course is None:
        raise click.ClickException(f"No course {course_id!r}. The courses are: "
                                   + ", ".join(c.id for c in current_app.extensions["lms.catalogue"].all()))
    if language not in course.languages:
        raise click.ClickException(f"{course_id} has no {language!r} version. It has: {', '.join(course.languages)}")
    with current_app.test_request_context():
        package = scorm.build(course, language)
    out.write_bytes(package.data)
    click.echo(f"Wrote {out} ({len(package.data):,} bytes): {course.title(language)}, {language}, SCORM 1.2.")


@courses_group.command("check-scorm", help="Check SCORM packages exported by `lms courses export-scorm` for missing, "
                                            "changed or added files (exit 1 if any fault).")
@click.argument("packages", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def courses_check_scorm(packages: tuple[Path, ...]) -> None:
    from lms.interop import scorm

    faulty = False
    for package in packages:
        faults = scorm.check_package(package)
        if not faults:
            click.echo(f"ok      {package}")
            continue
        faulty = True
        click.echo(f"FAULTS  {package}", err=True)
        for fault in faults:
            click.echo(f"  {fault}", err=True)
    if faulty:
        sys.exit(1)


@click.group("slides", help="Trainers' slide decks.")
def slides_group() -> None:
    pass


@slides_group.command("export", help="Write a course's deck as a 16:9 slide PDF, an A4 handout with the speaker notes, "
                                       "or (--html) one self-contained HTML file to present from.")
@click.option("--course", "course_id", required=True, help="Course id, as in `lms courses list`.")
@click.option("--lang", "language", default="en", show_default=True, help="Language of the deck; English where it has none.")
@click.option("--handout", is_flag=True, help="An A4 handout: each slide with its speaker notes.")
@click.option("--html", "as_html", is_flag=True,
              help="One HTML file with the audience and speaker views that loads nothing from anywhere.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="The file to write.")
def slides_export(course_id: str, language: str, handout: bool, as_html: bool, out: Path) -> None:
    import time

    from lms.workshops.slides_pdf import write_deck

    course = current_app.extensions["lms.catalogue"].get(course_id)
    if course is None:
        raise click.ClickException(f"No course {course_id!r}. `lms courses list` shows the installed ones.")
    if language != "en" and language not in course.slides:
        click.echo(f"The deck has no {language!r} translation: writing the English.", err=True)
    if handout and as_html:
        raise click.UsageError("Choose --handout or --html, not both.")
    started = time.perf_counter()
    if as_html:
        from lms.workshops.presenter import render_presenter

        with current_app.test_request_context():
            html = render_presenter(course, language, view="file", title=course.title(language),
                                    channel=f"lms-deck-{course.id}-{language}", standalone=True)
        size = out.write_bytes(html.encode("utf-8"))
    else:
        size = write_deck(course, language, out, handout=handout)
    click.echo(f"{out}: {len(course.deck(language))} slides, {size:,} bytes, {time.perf_counter() - started:.2f} s")


@click.group("certificate", help="Certificate designs.")
def certificate_group() -> None:
    pass


@certificate_group.command("render", help="Draw a preview certificate to a PDF, without touching the database.")
@click.option("--course", "course_id", required=True, help="Course id, as in `lms courses list`.")
@click.option("--name", required=True, help="The learner's name to show.")
@click.option("--lang", "language", default="en", show_default=True, help="Language code, such as ur or pl.")
@click.option("--template", "template_name", default=None, help="A folder in certificates/ (default: classic).")
@click.option("--organisation", default="Example Organisation", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path))
def certificate_render(course_id, name, language, template_name, organisation, out) -> None:
    from babel import Locale, UnknownLocaleError

    from lms.certify import render
    from lms.certify.services import preview_drawing
    from lms.people.services import clean_name

    course = current_app.extensions["lms.catalogue"].get(course_id)
    if course is None:
        known = ", ".join(c.id for c in current_app.extensions["lms.catalogue"].all()) or "none"
        raise click.UsageError(f"No course {course_id!r}. Courses: {known}.")
    templates = render.available_templates()
    if template_name and template_name not in templates:
        raise click.UsageError(f"No certificate template {template_name!r}. Templates: {', '.join(templates)}.")
    try:
        Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise click.UsageError(f"{language!r} is not a language code.")
    try:
        name = clean_name(name)
    except InvalidInput as problem:
        raise click.UsageError(str(problem.message))
    with current_app.test_request_context():
        drawing = preview_drawing(name=name, course_title=course.title(language), organisation_name=organisation,
                                  template_name=template_name, logo=None,
                                  # A designer's preview: without the server's address, its QR code points here.
                                  base_url=current_app.config["BASE_URL"] or DEVELOPMENT_BASE_URL,
                                  language=language.replace("-", "_"), validity_months=course.validity_months)
    pdf = render.render_pdf(drawing.html, drawing.fetcher())
    out.write_bytes(pdf)
    click.echo(f"Wrote {out} ({len(pdf):,} bytes, template {drawing.template.name}).")


@click.group("translations", help="Interface catalogues and course translations.")
def translations_group() -> None:
    pass


@translations_group.command("status", help="How complete each language is, in the interface and in each course.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def translations_status(as_json: bool) -> None:
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from lms.translate.services import status_report

    from sqlalchemy import inspect

    try:
        session = db.get_session()
        if not inspect(session.connection()).has_table("translation_reviews"):
            session = None
    except SQLAlchemyError:
        session = None  # no database yet: report the files alone, without reviews recorded there
    report = status_report(session, current_app.extensions["lms.catalogue"],
                           Path(current_app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for language, entry in report.items():
        ui = entry["interface"]
        click.echo(f"{language}: interface {ui['translated']}/{ui['total']} ({ui['share']:.0%})")
        for course_id, course in entry["courses"].items():
            click.echo(f"    {course_id:<28} {course['status']:<9} lessons {course['modules']:.0%}, "
                       f"questions {course['questions']:.0%}, slides {course['slides']:.0%}")


@click.group("exports", help="People lists prepared by jobs.")
def exports_group() -> None:
    pass


@exports_group.command("clean", help="Delete the people lists prepared more than 24 hours ago (run hourly from cron).")
def exports_clean() -> None:
    from lms.db import utcnow
    from lms.reports import export_files

    removed = export_files.remove_expired(current_app._get_current_object(), utcnow())
    click.echo(f"Deleted {removed} people list{'' if removed == 1 else 's'} older than {export_files.KEEP_HOURS} hours.")


@click.group("retention", help="Erasing personal data kept longer than the LMS_RETAIN_* settings allow.")
def retention_group() -> None:
    pass


@retention_group.command("apply", help="Erase unused accounts, old walk-ins' names and idle learning by reference "
                                       "code, and delete old audit entries "
                                       "(run daily from cron).")
@click.option("--dry-run", is_flag=True, help="List what would be erased, and change nothing.")
def retention_apply(dry_run: bool) -> None:
    from lms.certify.services import PdfCache
    from lms.db import utcnow
    from lms.privacy import erasure, retention

    _require_current_schema()
    app = current_app._get_current_object()
    periods = retention.Periods.of(app.config)
    session = db.get_session()
    found = retention.due(session, periods, utcnow())
    for label, days in (("Accounts unused for", periods.inactive_days), ("Walk-ins' names kept for", periods.walk_in_days),
                        ("Learning by reference code kept, after its last use, for", periods.guest_days),
                        ("Audit entries kept for", periods.audit_days)):
        click.echo(f"{label}: {f'{days} days' if days else 'ever (0: never erased)'}")
    verb = "Would erase" if dry_run else "Erasing"
    click.echo(f"{verb} {len(found.accounts)} account(s): {_ids(found.accounts)}")
    click.echo(f"{verb} {len(found.walk_ins)} walk-in(s) on registers: {_ids(found.walk_ins)}")
    click.echo(f"{verb} {len(found.guests)} learner(s) by reference code: {_ids(found.guests)}")
    click.echo(f"{'Would delete' if dry_run else 'Deleting'} {found.audit_entries} audit entries")
    for user_id, why in found.kept.items():
        click.echo(f"Keeping account {user_id}: {why}")
    if dry_run:
        session.rollback()
        return
    retention.apply(session, found, erasure.Storage.of(app))
    copies = retention.remove_erased_copies(session, PdfCache(app.config["CERTIFICATE_CACHE_DIR"]))
    click.echo(f"Done. Deleted {copies} cached certificate PDF(s) of erased holders.")


@retention_group.command("clean-copies", help="Delete this host's cached certificate PDFs of erased holders "
                                              "(daily on each web host that keeps its own cache).")
def retention_clean_copies() -> None:
    from lms.certify.services import PdfCache
    from lms.privacy import retention

    _require_current_schema()
    cache = PdfCache(current_app.config["CERTIFICATE_CACHE_DIR"])
    click.echo(f"Deleted {retention.remove_erased_copies(db.get_session(), cache)} cached certificate PDF(s) "
               "of erased holders.")


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:20])
    return shown + (f" and {len(ids) - 20} more" if len(ids) > 20 else "") if ids else "none"


@click.group("xapi", help="Statements for the organisation's learning record store (LMS_XAPI_URL).")
def xapi_group() -> None:
    pass


@xapi_group.command("send", help="Send every statement still waiting (from cron, every few minutes, while a store "
                                 "is set); exit 1 if the store does not take them.")
def xapi_send() -> None:
    from sqlalchemy import func, select

    from lms.interop import xapi
    from lms.models import XapiStatement

    _require_current_schema()
    if not current_app.config.get("XAPI_URL"):
        raise click.ClickException("LMS_XAPI_URL is not set: there is no learning record store to send to.")
    session = db.get_session()
    try:
        sent = xapi.send_waiting_now(session)
    except xapi.StoreUnavailable as error:
        waiting = session.scalar(select(func.count()).select_from(XapiStatement).where(XapiStatement.sent_at.is_(None)))
        click.echo(f"The learning record store did not take the statements ({error}); {waiting} wait for the next try.",
                   err=True)
        sys.exit(1)
    click.echo(f"Sent {sent} statement{'' if sent == 1 else 's'}.")


@click.group("lti", help="Learning platforms that open these courses with LTI 1.3.")
def lti_group() -> None:
    pass


@lti_group.command("send", help="Send every score still waiting for its platform (from cron, every few minutes); "
                                "exit 1 if a platform does not take them.")
def lti_send() -> None:
    from sqlalchemy import func, select

    from lms.interop import lti
    from lms.models import LtiScore

    _require_current_schema()
    session = db.get_session()
    try:
        sent = lti.send_waiting_now(session)
    except lti.ScoresUnsent as error:
        waiting = session.scalar(select(func.count()).select_from(LtiScore).where(LtiScore.sent_at.is_(None)))
        click.echo(f"A platform did not take the scores ({error}); {waiting} wait for the next try.", err=True)
        sys.exit(1)
    click.echo(f"Sent {sent} score{'' if sent == 1 else 's'}.")


@click.group("reminders", help="Reminder emails about training.")
def reminders_group() -> None:
    pass


@reminders_group.command("send-due", help="Email everyone whose completion is about to expire (run daily from cron).")
def reminders_send_due() -> None:
    from lms.db import utcnow
    from lms.reports.reminders import send_due

    # Links in the emails are built from LMS_BASE_URL, as for invitations.
    _require_serving_settings(current_app)
    _require_current_schema()
    with current_app.test_request_context():
        totals = send_due(db.get_session(), current_app.extensions["lms.catalogue"].all(), now=utcnow(),
                          refresher_days=current_app.config["REFRESHER_DAYS"])
    click.echo(f"Reminders sent: {totals['sent']}; failed: {totals['failed']}.")
    if totals["failed"]:
        sys.exit(1)


@click.command("worker", help="Run queued jobs (bulk certificates and other slow work) from Redis, until stopped.")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst: bool) -> None:
    from lms import jobs

    _require_serving_settings(current_app)
    if not current_app.config["REDIS_URL"]:
        raise click.ClickException("LMS_REDIS_URL is not set: without Redis, each job runs in a process the web app "
                                   "starts itself, and there is no queue for a worker to take jobs from.")
    try:
        jobs.redis_connection(current_app.config["REDIS_URL"]).ping()
    except Exception as error:
        raise click.ClickException(f"Cannot reach the Redis at LMS_REDIS_URL: {error}")
    jobs.work(current_app._get_current_object(), burst=burst)
