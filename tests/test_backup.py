"""Backups that are proven to restore: `lms db backup`, `restore`, `counts`, `compare` and the
scratch databases, run as an operator runs them (the installed `lms`, no LMS_SECRET_KEY), and
deploy/backup.sh end to end, on SQLite and (with LMS_TEST_POSTGRES_URL) PostgreSQL."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from lms import backup as backups
from lms import db
from lms.config import SHIPPED_ROOT
from lms.migrate import upgrade
from tests.conftest import POSTGRES_URL, make_test_app

BIN = Path(sys.executable).parent
SCRIPT = Path(__file__).resolve().parent.parent / "deploy" / "backup.sh"
ENGINES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
SUFFIX = {"sqlite": "sqlite3", "postgresql": "pgdump"}


# --- Databases --------------------------------------------------------------------------------

class Databases:
    """Empty databases of one engine, each new: SQLite paths not yet created, or PostgreSQL
    databases of unique names, all dropped at the end."""

    def __init__(self, engine: str, folder: Path):
        self.engine, self.folder, self.made = engine, folder, []
        if engine == "postgresql":
            self.server = make_url(POSTGRES_URL)
            self.admin = create_engine(self.server, isolation_level="AUTOCOMMIT")

    def new(self, label: str = "db") -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.folder / f'{label}-{uuid.uuid4().hex[:6]}.sqlite3'}"
        name = f"lms_backup_{label}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.made.append(name)
        return self.server.set(database=name).render_as_string(hide_password=False)

    def exists(self, url: str) -> bool:
        if self.engine == "sqlite":
            return Path(make_url(url).database).exists()
        with self.admin.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :n"),
                                     {"n": make_url(url).database}) == 1

    def drop_all(self) -> None:
        if self.engine == "postgresql":
            with self.admin.connect() as connection:
                for name in self.made + [f"{n}_restore_check" for n in self.made]:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(params=ENGINES)
def databases(request, tmp_path):
    made = Databases(request.param, tmp_path)
    yield made
    made.drop_all()


def online_course(catalogue):
    return next(course for course in catalogue.all() if course.completion != "attendance")


def seed(url: str) -> dict:
    """Migrations, the demo (sessions with closed registers: attendance completions and
    certificates) and online passes for every demo learner; what a real site holds."""
    from lms.demo import load_demo
    from lms.learn import services as learn
    from lms.models import Certificate, Membership, User

    upgrade(url)
    app = make_test_app(url, COURSE_PATHS=[SHIPPED_ROOT / "courses"])
    with app.app_context():
        session = db.get_session()
        load_demo(session, app.extensions["lms.catalogue"].all())
        session.commit()
        course = online_course(app.extensions["lms.catalogue"])
        learners = session.execute(select(User.id, Membership.organisation_id).join(Membership)
                                   .where(Membership.role == "learner")).all()
        for user_id, organisation_id in learners:
            attempt = learn.start_attempt(session, user_id, course, "en")
            right = {qid: list(course.question_bank[qid].answers) for qid in attempt.question_ids}
            assert learn.submit_attempt(session, user_id, course, attempt.id, right, organisation_id=organisation_id).passed
            session.commit()
        codes = sorted(session.scalars(select(Certificate.code)))
    app.extensions["lms.engine"].dispose()
    assert len(codes) >= len(learners) + 3  # online passes and the demo session's certificates
    return {"url": url, "codes": codes}


@pytest.fixture
def seeded(databases):
    return seed(databases.new("live"))


def scalar(url: str, statement: str, **params):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text(statement), params)
    finally:
        engine.dispose()


def lms(*args: str, url: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The installed command in production mode, without LMS_SECRET_KEY: backups must not need it."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    environment.update(LMS_ENV="production", LMS_INSTANCE_DIR=str(Path(os.environ.get("TMPDIR", "/tmp"))))
    if url:
        environment["LMS_DATABASE_URL"] = url
    environment.update(env or {})
    return subprocess.run([str(BIN / "lms"), *args], env=environment, capture_output=True, text=True, timeout=300)


class Ran:
    """A CliRunner result in the shape of subprocess.CompletedProcess."""

    def __init__(self, result):
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception  # a traceback is a failure, never a message
        self.returncode, self.stdout, self.stderr = result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli():
    """The same commands in this process, for the many refusals (each `lms` process spends
    seconds starting); the subprocess tests show they need no LMS_SECRET_KEY."""
    apps = {}

    def run(*args: str, url: str | None = None) -> Ran:
        url = url or "sqlite:///unused-by-this-command.sqlite3"
        if url not in apps:
            apps[url] = make_test_app(url)
        with apps[url].app_context():  # as the `lms` command runs it
            return Ran(apps[url].test_cli_runner().invoke(args=list(args)))

    yield run
    for app in apps.values():
        app.extensions["lms.engine"].dispose()


def only_line(result: subprocess.CompletedProcess) -> str:
    """A refusal is one line on stderr, never a traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stdout
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def state_of(url: str) -> dict:
    """Everything a refusal must leave alone: row counts, and an SQLite file's bytes."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        return {"exists": path.exists(), "bytes": hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None}
    return backups.table_counts(url)


def empty(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return not Path(parsed.database).exists()
    return all(count is None for count in backups.table_counts(url).values())


# --- Backup while the app writes, restore, compare ---------------------------------------------

class Writer(threading.Thread):
    """Another connection writing all the while: each transaction adds an organisation and its
    team together, so a backup torn between transactions would show unequal numbers."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.engine = db.make_engine(url)
        self.committed = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self):
        from lms.models import Organisation, Team

        make_session = sessionmaker(self.engine)
        try:
            while not self.stop.is_set():
                with make_session.begin() as session:
                    organisation = Organisation(name=f"Writer {self.committed}")
                    session.add_all([organisation, Team(organisation=organisation, name="Team")])
                self.committed += 1
                time.sleep(0.002)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error
        finally:
            self.engine.dispose()

    def wait_for(self, committed: int) -> None:
        deadline = time.monotonic() + 60
        while self.committed < committed and self.error is None:
            assert time.monotonic() < deadline, "the writer stalled"
            time.sleep(0.01)
        assert self.error is None, self.error


def test_a_backup_taken_while_writing_restores_with_the_counts_it_was_taken_with(seeded, databases, tmp_path):
    live = seeded["url"]
    before = backups.table_counts(live)
    writer = Writer(live)
    writer.start()
    try:
        writer.wait_for(20)
        out, counts_file = tmp_path / "nightly.backup", tmp_path / "nightly.counts.json"
        made = lms("db", "backup", str(out), "--counts", str(counts_file), url=live)
        assert made.returncode == 0, made.stderr
        assert f"to {out}" in made.stdout and "rows" in made.stdout
        writer.wait_for(writer.committed + 20)  # the live database moves on after the backup
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, writer.error
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []
    assert out.stat().st_mode & 0o777 == counts_file.stat().st_mode & 0o777 == 0o600  # personal data

    taken = json.loads(counts_file.read_text())
    added = taken["organisations"] - before["organisations"]
    # Taken from one snapshot: mid-way through the writing, and never between an organisation and its team.
    assert 20 <= added < writer.committed
    assert taken["teams"] - before["teams"] == added
    assert {k: v for k, v in taken.items() if k not in {"organisations", "teams"}} == \
        {k: v for k, v in before.items() if k not in {"organisations", "teams"}}

    target = databases.new("restored")
    restored = lms("db", "restore", str(out), "--into", target)
    assert restored.returncode == 0, restored.stderr
    compared = lms("db", "compare", str(counts_file), target)
    assert compared.returncode == 0, compared.stderr
    assert f"All {len(taken)} tables match" in compared.stdout
    assert backups.table_counts(target) == taken
    # Real rows survived, not only their number.
    assert scalar(target, "SELECT name FROM users WHERE email = :e", e="learner@example.org") == "Lena Kowalska"
    for code in seeded["codes"]:
        assert scalar(target, "SELECT count(*) FROM certificates WHERE code = :c", c=code) == 1
    assert scalar(target, "SELECT version_num FROM alembic_version") == scalar(live, "SELECT version_num FROM alembic_version")

    # The live database has moved on since: compare names exactly the tables that differ.
    moved_on = lms("db", "compare", live, target)
    assert moved_on.returncode == 1
    assert "2 of" in moved_on.stderr and "organisations, teams." in moved_on.stderr
    assert f"organisations: {before['organisations'] + writer.committed}" in moved_on.stdout

    # The restored database is the app's own again: it migrates (nothing to do) and serves its data.
    assert lms("db", "upgrade", url=target).returncode == 0
    counted = lms("db", "counts", "--json", url=target)
    assert json.loads(counted.stdout) == taken


def test_an_sqlite_backup_holds_what_is_still_in_the_write_ahead_log(tmp_path):
    live = seed(f"sqlite:///{tmp_path / 'live.sqlite3'}")["url"]
    path = Path(make_url(live).database)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        # Committed, but not yet copied into the database file: the state of a busy app.
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("BEGIN IMMEDIATE")
        writer.executemany("INSERT INTO organisations (name, join_code, invite_token, created_at) VALUES (?, ?, ?, ?)",
                           [(f"Only in the WAL {i}", f"WAL{i:05d}", f"wal-{i}", "2025-01-01 00:00:00") for i in range(50)])
        writer.execute("COMMIT")
        assert Path(f"{path}-wal").stat().st_size > 0
        shutil.copy(path, tmp_path / "naive-copy.sqlite3")  # what copying the file would have kept
        naive = sqlite3.connect(tmp_path / "naive-copy.sqlite3")
        assert naive.execute("SELECT count(*) FROM organisations WHERE name LIKE 'Only in the WAL%'").fetchone()[0] == 0
        naive.close()

        outcome = backups.backup(live, tmp_path / "copy.sqlite3")
    finally:
        writer.close()
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("SELECT count(*) FROM organisations WHERE name LIKE 'Only in the WAL%'").fetchone()[0] == 50
    # One self-contained file, in rollback-journal mode, with no -wal of its own to lose.
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    copy.close()
    assert outcome.counts == backups.table_counts(live)


# --- Refusals: each a clear line, and nothing lost ----------------------------------------------

def test_restoring_into_a_database_that_has_tables_is_refused_untouched(cli, seeded, databases, tmp_path):
    out = tmp_path / "backup"
    assert cli("db", "backup", str(out), url=seeded["url"]).returncode == 0
    other = seed(databases.new("other"))["url"]
    before = state_of(other)
    refused = only_line(cli("db", "restore", str(out), "--into", other))
    assert f"already has {len(backups.expected_tables())} tables (" in refused
    assert refused.endswith("restore only into a new, empty database.")
    assert state_of(other) == before
    # Nor into the live database itself.
    live_before = state_of(seeded["url"])
    assert "already has" in only_line(cli("db", "restore", str(out), "--into", seeded["url"]))
    assert state_of(seeded["url"]) == live_before


def test_a_missing_or_garbage_or_truncated_backup_restores_nothing(cli, seeded, databases, tmp_path):
    out = tmp_path / "backup"
    assert cli("db", "backup", str(out), url=seeded["url"]).returncode == 0
    target = databases.new("target")

    missing = only_line(cli("db", "restore", str(tmp_path / "no-such-file"), "--into", target))
    assert f"There is no backup file {tmp_path / 'no-such-file'}." in missing
    garbage = tmp_path / "garbage"
    garbage.write_bytes(os.urandom(64 * 1024))
    assert "is not a backup from lms db backup" in only_line(cli("db", "restore", str(garbage), "--into", target))
    assert empty(target)

    truncated = tmp_path / "truncated"
    truncated.write_bytes(out.read_bytes()[: out.stat().st_size - 5000])
    failed = only_line(cli("db", "restore", str(truncated), "--into", target))
    assert str(truncated.name) in failed
    assert empty(target)  # a damaged archive restores nothing at all, not half a database

    if databases.engine == "sqlite":
        # An SQLite database that is not the app's.
        stranger = tmp_path / "stranger.sqlite3"
        connection = sqlite3.connect(stranger)
        connection.execute("CREATE TABLE t (x)")
        connection.close()
        assert "not an LMS backup" in only_line(cli("db", "restore", str(stranger), "--into", target))
        assert empty(target)
        # The file where the restore goes is not a database: refused, and left as it was.
        occupied = tmp_path / "occupied.sqlite3"
        occupied.write_bytes(b"someone's notes")
        assert "is not an empty SQLite database" in only_line(
            cli("db", "restore", str(out), "--into", f"sqlite:///{occupied}"))
        assert occupied.read_bytes() == b"someone's notes"
    else:
        sqlite_backup = tmp_path / "sqlite-backup"
        sqlite_backup.write_bytes(backups.SQLITE_MAGIC + b"\0" * 100)
        assert "is an SQLite backup; it restores only into an SQLite database" in only_line(
            cli("db", "restore", str(sqlite_backup), "--into", target))
        assert "is a PostgreSQL backup" in only_line(
            cli("db", "restore", str(out), "--into", f"sqlite:///{tmp_path / 'x.sqlite3'}"))
        assert not (tmp_path / "x.sqlite3").exists()
    assert empty(target)


def test_a_backup_never_overwrites_without_force_nor_writes_where_it_cannot(cli, seeded, tmp_path):
    live = seeded["url"]
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    existing = tmp_path / "yesterday.backup"
    existing.write_bytes(b"yesterday's backup")
    refused = only_line(cli("db", "backup", str(existing), url=live))
    assert f"{existing} already exists: choose another name, or pass --force to replace it." in refused
    assert existing.read_bytes() == b"yesterday's backup"
    # The counts file is checked before any work, too.
    counts = tmp_path / "counts.json"
    counts.write_text("{}")
    assert "counts.json already exists" in only_line(cli("db", "backup", str(tmp_path / "new.backup"),
                                                         "--counts", str(counts), url=live))
    assert not (tmp_path / "new.backup").exists() and counts.read_text() == "{}"

    for unwritable, said in [(tmp_path / "no-folder" / "x.backup", "there is no folder"),
                             (existing / "x.backup", "there is no folder"),
                             (tmp_path, "is a folder"),
                             (Path("/proc/lms-backup-test.backup"), "Cannot write /proc/lms-backup-test.backup")]:
        assert said in only_line(cli("db", "backup", str(unwritable), url=live)), unwritable
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts.json", "yesterday.backup"]

    replaced = cli("db", "backup", str(existing), "--force", url=live)
    assert replaced.returncode == 0, replaced.stderr
    assert backups.backup_kind(existing) in {"sqlite", "postgresql"}
    if make_url(live).get_backend_name() == "sqlite":
        live_file = make_url(live).database
        assert "is the live database itself" in only_line(cli("db", "backup", live_file, "--force", url=live))
        assert backups.table_counts(live)["users"] == 8


def test_counts_and_compare(cli, seeded, tmp_path):
    live = seeded["url"]
    text_counts = cli("db", "counts", url=live)
    assert text_counts.returncode == 0, text_counts.stderr
    lines = text_counts.stdout.splitlines()
    expected = backups.expected_tables()
    assert [line.split()[0] for line in lines] == sorted(expected)
    assert len({len(line) for line in lines}) == 1  # aligned: the counts end in one column
    as_json = json.loads(cli("db", "counts", "--json", url=live).stdout)
    assert as_json["users"] == 8 and as_json["alembic_version"] == 1
    assert set(as_json) == expected

    saved = tmp_path / "counts.json"
    saved.write_text(json.dumps(as_json))
    assert cli("db", "compare", str(saved), live).returncode == 0
    as_json["users"] = 7
    del as_json["teams"]
    saved.write_text(json.dumps(as_json))
    differing = cli("db", "compare", live, str(saved))
    assert differing.returncode == 1
    assert "Error: 2 of" in differing.stderr and "tables differ: teams, users." in differing.stderr
    assert "users: 8 in" in differing.stdout and "7 in" in differing.stdout and "missing in" in differing.stdout

    for bad, said in [("not json", "neither a database URL nor a counts file"),
                      ('["users", 1]', "is not a counts file"), ('{"users": "eight"}', "is not a counts file")]:
        saved.write_text(bad)
        assert said in only_line(cli("db", "compare", str(saved), live))
    assert "Cannot read" in only_line(cli("db", "compare", str(tmp_path / "none.json"), live))
    assert "There is no SQLite database at" in only_line(cli("db", "counts", "--url", f"sqlite:///{tmp_path}/none.db"))
    assert not (tmp_path / "none.db").exists()


def test_database_urls_that_cannot_work_get_one_line(cli, tmp_path):
    pg_like = tmp_path / "pg-like"
    pg_like.write_bytes(backups.PGDUMP_MAGIC + b"\0" * 100)
    for args, said in [
        (("db", "counts", "--url", "mysql://someone@127.0.0.1/lms"), "only SQLite and PostgreSQL"),
        (("db", "counts", "--url", "not a url"), "is not a database URL"),
        (("db", "counts", "--url", "sqlite://"), "is not an SQLite file"),
        (("db", "counts", "--url", "postgresql+psycopg://nobody:hunter2@127.0.0.1:1/lms"), "Connection refused"),
        (("db", "restore", str(pg_like), "--into", "postgresql+psycopg://nobody:hunter2@127.0.0.1:1/lms"),
         "Cannot use the database postgresql+psycopg://nobody:***@127.0.0.1:1/lms"),
        (("db", "backup", str(tmp_path / "x")), "Connection refused"),
    ]:
        line = only_line(cli(*args, url="postgresql+psycopg://nobody:hunter2@127.0.0.1:1/lms"))
        assert said in line, (args, line)
        assert "hunter2" not in line  # a password is never printed


# --- PostgreSQL's client programs and scratch databases ----------------------------------------

def fake_tool(folder: Path, name: str, version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    tool.chmod(0o755)


def test_pg_dump_is_found_new_enough_or_named_for_installing(tmp_path):
    with pytest.raises(backups.BackupError, match=r"pg_dump was not found .* apt-get install postgresql-client-16\.$"):
        backups.find_pg_tool("pg_dump", server=(16,), search_path=str(tmp_path), search_globs=())
    fake_tool(tmp_path / "path", "pg_dump", "13.4 (Debian 13.4-1)")
    fake_tool(tmp_path / "lib" / "12" / "bin", "pg_dump", "12.1")
    fake_tool(tmp_path / "lib" / "17" / "bin", "pg_dump", "17.0")
    fake_tool(tmp_path / "lib" / "9.6" / "bin", "pg_dump", "9.6.24")
    only_path = dict(search_path=str(tmp_path / "path"), search_globs=())
    with pytest.raises(backups.BackupError, match=r"^pg_dump 13 \(.*\) is older than the PostgreSQL 16 server: "
                                                  r"install postgresql-client-16\.$"):
        backups.find_pg_tool("pg_dump", server=(16,), **only_path)
    assert backups.find_pg_tool("pg_dump", server=(13,), **only_path) == str(tmp_path / "path" / "pg_dump")
    # The newest wins, wherever it is; an old 9.x client counts as older than any 1x server.
    everywhere = dict(search_path=str(tmp_path / "path"), search_globs=(str(tmp_path / "lib" / "*" / "bin"),))
    assert backups.find_pg_tool("pg_dump", server=(16,), **everywhere) == str(tmp_path / "lib" / "17" / "bin" / "pg_dump")
    with pytest.raises(backups.BackupError, match=r"pg_dump 9\.6 .* older than the PostgreSQL 10 server"):
        backups.find_pg_tool("pg_dump", server=(10,), search_path="", search_globs=(str(tmp_path / "lib" / "9.6" / "bin"),))


@pytest.mark.skipif(not POSTGRES_URL, reason="LMS_TEST_POSTGRES_URL is not set")
def test_scratch_databases_are_the_only_ones_created_over_or_dropped(cli, tmp_path):
    made = Databases("postgresql", tmp_path)
    try:
        precious = seed(made.new("precious"))["url"]
        before = state_of(precious)
        assert "is not a scratch database" in only_line(cli("db", "drop-scratch", precious))
        assert "already exists and is not a scratch database" in only_line(cli("db", "create-scratch", precious))
        assert state_of(precious) == before

        scratch = make_url(precious).set(database=f"{make_url(precious).database}_restore_check") \
            .render_as_string(hide_password=False)
        assert cli("db", "create-scratch", scratch).returncode == 0
        assert empty(scratch)
        out = tmp_path / "backup"
        assert cli("db", "backup", str(out), url=precious).returncode == 0
        assert cli("db", "restore", str(out), "--into", scratch).returncode == 0
        # One left by an interrupted check is replaced by an empty one.
        assert cli("db", "create-scratch", scratch).returncode == 0
        assert empty(scratch)
        dropped = cli("db", "drop-scratch", scratch)
        assert dropped.returncode == 0 and "Dropped" in dropped.stdout
        assert not made.exists(scratch)
        assert "There is no database" in cli("db", "drop-scratch", scratch).stdout
        assert "for PostgreSQL" in only_line(cli("db", "create-scratch", f"sqlite:///{tmp_path / 'x.sqlite3'}"))
    finally:
        made.drop_all()


# --- deploy/backup.sh ------------------------------------------------------------------------

def run_script(folder: Path, url: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    environment.update({"LMS_ENV": "production", "LMS_DATABASE_URL": url, "LMS_BIN": str(BIN / "lms"),
                        "LMS_INSTANCE_DIR": str(folder.parent), **env})
    return subprocess.run(["bash", str(SCRIPT), str(folder)], env=environment, capture_output=True, text=True,
                          timeout=300)


def test_the_backup_script_checks_each_backup_and_keeps_the_newest(seeded, databases, tmp_path):
    live = seeded["url"]
    folder = tmp_path / "backups"
    folder.mkdir()
    suffix = SUFFIX[databases.engine]
    older = [folder / f"lms-2020-01-0{day}T023000Z.{suffix}" for day in (1, 2, 3)]
    for path in older:
        path.write_bytes(b"an old backup")
        Path(f"{path}.counts.json").write_text("{}")
    (folder / "notes.txt").write_text("not a backup")
    (folder / ".lms-2020-01-04T023000Z.sqlite3.partial-123").write_bytes(b"half")  # a run killed mid-way

    done = run_script(folder, live, LMS_BACKUP_KEEP="2")
    assert done.returncode == 0, done.stderr
    assert "backup.sh: OK:" in done.stdout and "All" in done.stdout and "tables match" in done.stdout
    made = [p for p in folder.glob(f"lms-*Z.{suffix}") if p not in older]
    assert len(made) == 1
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted([older[2].name, f"{older[2].name}.counts.json", made[0].name, f"{made[0].name}.counts.json",
                           "notes.txt", ".backup.lock"])
    assert done.stdout.count("Deleted the old backup") == 2
    assert json.loads(Path(f"{made[0]}.counts.json").read_text()) == backups.table_counts(live)
    if databases.engine == "postgresql":
        assert not databases.exists(f"{live}_restore_check")  # the scratch database is dropped again

    # The new backup restores into a fresh database by hand, as the guide tells an operator to.
    target = databases.new("by_hand")
    assert lms("db", "restore", str(made[0]), "--into", target).returncode == 0
    assert scalar(target, "SELECT count(*) FROM certificates WHERE code = :c", c=seeded["codes"][0]) == 1


def test_the_backup_script_fails_loudly_and_deletes_nothing(seeded, databases, tmp_path):
    live = seeded["url"]
    folder = tmp_path / "backups"
    folder.mkdir()
    old = folder / f"lms-2020-01-01T023000Z.{SUFFIX[databases.engine]}"
    old.write_bytes(b"an old backup")

    # A restore whose counts do not match (an lms whose compare finds a difference).
    liar = tmp_path / "lms-that-finds-a-difference"
    liar.write_text(f'#!/bin/sh\nif [ "$2" = compare ]; then echo "users: 8 in a, 7 in b"; '
                    f'echo "Error: 1 of 22 tables differ: users." >&2; exit 1; fi\nexec "{BIN / "lms"}" "$@"\n')
    liar.chmod(0o755)
    failed = run_script(folder, live, LMS_BACKUP_KEEP="1", LMS_BIN=str(liar))
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1].startswith("backup.sh: FAILED: ")
    assert "restored with other row counts" in failed.stderr and "no backup was deleted" in failed.stderr
    assert old.exists() and len([p for p in folder.glob("lms-*Z.*") if p.suffix != ".json"]) == 2
    if databases.engine == "postgresql":
        assert not databases.exists(f"{live}_restore_check")  # dropped even after a failure

    for env, said in [({"LMS_BACKUP_KEEP": "none"}, "LMS_BACKUP_KEEP must be a whole number"),
                      ({"LMS_BIN": str(tmp_path / "no-lms")}, "set LMS_BIN to the installed lms command")]:
        refused = run_script(folder, live, **env)
        assert refused.returncode == 1 and "backup.sh: FAILED: " in refused.stderr and said in refused.stderr, refused.stderr
    unwritable = run_script(old / "inside-a-file", live)
    assert unwritable.returncode == 1 and "cannot create the backup folder" in unwritable.stderr
    if databases.engine == "postgresql":
        # A scratch name that is a real database is never restored into nor dropped.
        other = seed(databases.new("other"))["url"]
        before = state_of(other)
        refused = run_script(folder, live, LMS_BACKUP_SCRATCH_DB=make_url(other).database)
        assert refused.returncode == 1 and "could not create the scratch database" in refused.stderr
        assert "is not a scratch database" in refused.stderr
        assert state_of(other) == before
    assert old.exists()


def test_the_backup_script_is_shellcheck_clean():
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0
    assert SCRIPT.read_text().splitlines()[0] == "#!/usr/bin/env bash" and "set -euo pipefail" in SCRIPT.read_text()
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    checked = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
