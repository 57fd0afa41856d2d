"""Backups that are proven to restore: a consistent copy of the live database, a restore into an
empty database, and the row counts that show the two hold the same.

SQLite is copied with its online backup API: one step that reads a single snapshot (rows still in
the write-ahead log included) while the app keeps writing. PostgreSQL is dumped by pg_dump, in its
custom format, from a snapshot that a transaction of ours exports after counting the rows in it; so
the counts saved beside a backup are exactly what the backup holds, even on a busy morning, and a
restore check compares against them rather than against a live database that has moved on.

Every failure is a BackupError with one line for the operator; a refused or failed restore leaves
its target as it was.
"""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from lms.db import Base

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# Where Debian and Ubuntu install each PostgreSQL version's client programs side by side.
PG_BIN_GLOBS = ("/usr/lib/postgresql/*/bin",)
# Marks a database that `create_scratch` made, so `drop_scratch` can never drop anything else.
SCRATCH_COMMENT = "Scratch database for an lms restore check; lms db drop-scratch removes it."
COUNTS_SUFFIX = ".counts.json"


class BackupError(Exception):
    """What went wrong, in one line an operator can act on."""


@dataclass(frozen=True)
class Outcome:
    path: Path
    counts: dict[str, int | None]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(count or 0 for count in self.counts.values())

    @property
    def tables(self) -> int:
        return sum(count is not None for count in self.counts.values())


# --- URLs -------------------------------------------------------------------------------------

def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise BackupError(f"{url!r} is not a database URL (sqlite:///path or postgresql+psycopg://user@host/name).")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
            raise BackupError(f"{shown(parsed)} is not an SQLite file: give sqlite:///path/to/file.sqlite3.")
    elif backend == "postgresql":
        if not parsed.database:
            raise BackupError(f"{shown(parsed)} names no database: add /name at its end.")
        # The app's driver (psycopg 3), whichever the URL names.
        parsed = parsed.set(drivername="postgresql+psycopg")
    else:
        raise BackupError(f"{shown(parsed)}: only SQLite and PostgreSQL databases are supported.")
    return parsed


def shown(url: URL | str) -> str:
    """A URL fit to print: never its password."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except (ArgumentError, ValueError):
            return "(not a URL)"
    return url.render_as_string(hide_password=True)


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _sqlite_path(url: URL) -> Path:
    return Path(url.database).expanduser().absolute()


def _sqlite_connect(path: Path, *, create: bool = False, read_only: bool = False) -> sqlite3.Connection:
    """A plain sqlite3 connection; unlike sqlite3.connect(path) it never creates a file by mistake."""
    mode = "ro" if read_only else ("rwc" if create else "rw")
    # The connection waits for the app's writers the way the app does (lms.db's busy timeout).
    connection = sqlite3.connect(f"file:{quote(str(path))}?mode={mode}", uri=True, timeout=15, isolation_level=None)
    return connection


def _engine(url: URL) -> Engine:
    """An engine for a short look at a database that opens nothing new: an SQLite file must
    already exist, and it is not switched into the app's write-locking transactions."""
    if _is_sqlite(url):
        path = _sqlite_path(url)
        if not path.is_file():
            raise BackupError(f"There is no SQLite database at {path}.")
        return create_engine("sqlite://", creator=lambda: _sqlite_connect(path), poolclass=NullPool)
    return create_engine(url, poolclass=NullPool)


def _problem(error: BaseException) -> str:
    """The first line of a driver's message, without SQLAlchemy's SQL and background link."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


def _connect_error(url: URL, error: BaseException) -> BackupError:
    return BackupError(f"Cannot use the database {shown(url)}: {_problem(error)}")


# --- Row counts -------------------------------------------------------------------------------

def expected_tables() -> set[str]:
    import lms.models  # noqa: F401  (registers every table on Base.metadata)

    return set(Base.metadata.tables) | {"alembic_version"}


def count_rows(connection: Connection) -> dict[str, int | None]:
    """Rows in every table the migrations make (None when one is missing) and in any other
    table the database has, so a restore that loses a table cannot match."""
    present = set(inspect(connection).get_table_names())
    return {name: (connection.scalar(select(func.count()).select_from(table(name))) if name in present else None)
            for name in sorted(expected_tables() | present)}


def table_counts(url: str) -> dict[str, int | None]:
    parsed = parse_url(url)
    engine = _engine(parsed)
    try:
        with engine.connect() as connection:
            return count_rows(connection)
    except SQLAlchemyError as error:
        raise _connect_error(parsed, error)
    finally:
        engine.dispose()


def load_counts(source: str) -> dict[str, int | None]:
    """Counts from a database URL, or from a file written by `lms db backup --counts` or
    `lms db counts --json`."""
    if "://" in source:
        return table_counts(source)
    path = Path(source)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BackupError(f"Cannot read {path}: {error.strerror or error}.")
    except (UnicodeDecodeError, ValueError):
        raise BackupError(f"{path} is neither a database URL nor a counts file (JSON).")
    if not (isinstance(data, dict) and data
            and all(isinstance(k, str) and (v is None or (isinstance(v, int) and not isinstance(v, bool)))
                    for k, v in data.items())):
        raise BackupError(f"{path} is not a counts file: expected a JSON object of table names and row counts.")
    return data


def differences(a: dict[str, int | None], b: dict[str, int | None]) -> list[tuple[str, int | None, int | None]]:
    return [(name, a.get(name), b.get(name)) for name in sorted(set(a) | set(b)) if a.get(name) != b.get(name)]


def write_counts(counts: dict[str, int | None], path: Path) -> None:
    path.write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# --- Backup -----------------------------------------------------------------------------------

def backup(url: str, out: Path, *, force: bool = False, counts_out: Path | None = None) -> Outcome:
    """Write a consistent copy of the database at `url` to `out` (an SQLite file, or a pg_dump
    custom-format archive), and its row counts to `counts_out` if given. An existing file is
    replaced only with force; a failure leaves no file, or the one that was there, behind."""
    parsed = parse_url(url)
    out = Path(out).expanduser().absolute()
    targets = [out] + ([Path(counts_out).expanduser().absolute()] if counts_out else [])
    for target in targets:
        if target.is_dir():
            raise BackupError(f"{target} is a folder: give the name of the file to write.")
        if target.exists() and not force:
            raise BackupError(f"{target} already exists: choose another name, or pass --force to replace it.")
        if not target.parent.is_dir():
            raise BackupError(f"Cannot write {target}: there is no folder {target.parent}.")
    if _is_sqlite(parsed) and _sqlite_path(parsed).resolve() in {t.resolve() for t in targets}:
        raise BackupError(f"{out} is the live database itself: write the backup to another file.")

    started = time.perf_counter()
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        partial.open("xb").close()  # proves the folder is writable before any work is done
        # People's names, emails and password hashes: for the service's user alone.
        partial.chmod(0o600)
    except OSError as error:
        raise BackupError(f"Cannot write {out}: {error.strerror or error}.")
    try:
        if _is_sqlite(parsed):
            counts = _backup_sqlite(_sqlite_path(parsed), partial)
        else:
            counts = _backup_postgres(parsed, partial)
        counts_partial = partial.with_name(partial.name + COUNTS_SUFFIX)
        if counts_out:
            write_counts(counts, counts_partial)
            counts_partial.chmod(0o600)
        _put_in_place(partial, out, force)
        if counts_out:
            _put_in_place(counts_partial, Path(counts_out).expanduser().absolute(), force)
    except OSError as error:
        raise BackupError(f"Cannot write {out}: {error.strerror or error}.")
    finally:
        for leftover in (partial, partial.with_name(partial.name + COUNTS_SUFFIX)):
            leftover.unlink(missing_ok=True)
    return Outcome(out, counts, time.perf_counter() - started)


def _put_in_place(partial: Path, final: Path, force: bool) -> None:
    if force:
        os.replace(partial, final)
        return
    # A hard link refuses to replace a file that appeared meanwhile (another backup of the same name).
    try:
        os.link(partial, final)
    except FileExistsError:
        raise BackupError(f"{final} already exists: choose another name, or pass --force to replace it.")
    partial.unlink()


def _backup_sqlite(source_path: Path, partial: Path) -> dict[str, int | None]:
    if not source_path.is_file():
        raise BackupError(f"There is no SQLite database at {source_path}.")
    try:
        source = _sqlite_connect(source_path)
        copy = _sqlite_connect(partial, create=True)
        try:
            # pages=-1: the whole database in one step, from one read snapshot, so writers (which
            # WAL lets carry on meanwhile) can neither tear the copy nor make it start over.
            source.backup(copy, pages=-1)
            # One self-contained file: no -wal beside it to lose when it is copied elsewhere.
            copy.execute("PRAGMA journal_mode = DELETE")
            _check_sqlite(copy, partial)
        finally:
            copy.close()
            source.close()
    except sqlite3.Error as error:
        raise BackupError(f"Cannot back up {source_path}: {error}.")
    engine = create_engine("sqlite://", creator=lambda: _sqlite_connect(partial, read_only=True), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return count_rows(connection)
    finally:
        engine.dispose()


def _check_sqlite(connection: sqlite3.Connection, path: Path) -> None:
    problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(f"{path} is damaged: {problems[0]}")


def _backup_postgres(url: URL, partial: Path) -> dict[str, int | None]:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            server = _server_version(connection)
        pg_dump = find_pg_tool("pg_dump", server=server)
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            with connection.begin():
                # pg_dump imports this transaction's snapshot, so it must stay open (idle) until pg_dump ends.
                connection.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
                snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
                counts = count_rows(connection)
                _run_pg_tool(url, [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                                   f"--file={partial}"], what=f"pg_dump of {shown(url)}")
    except SQLAlchemyError as error:
        raise _connect_error(url, error)
    finally:
        engine.dispose()
    return counts


# --- PostgreSQL client programs ---------------------------------------------------------------

def _server_version(connection: Connection) -> tuple[int, ...]:
    number = int(connection.scalar(text("SHOW server_version_num")))
    return (number // 10000,) if number >= 100000 else (number // 10000, number // 100 % 100)


def _version_text(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def _tool_version(path: str) -> tuple[int, ...] | None:
    try:
        answer = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", answer.stdout)
    if answer.returncode != 0 or not match:
        return None
    major = int(match.group(1))
    return (major,) if major >= 10 else (major, int(match.group(2) or 0))


def find_pg_tool(name: str, *, server: tuple[int, ...] | None = None, search_path: str | None = None,
                 search_globs: tuple[str, ...] = PG_BIN_GLOBS) -> str:
    """The newest `name` (pg_dump, pg_restore) on PATH or in Debian's per-version folders. A dump
    needs a pg_dump at least as new as the server, which refuses to dump a newer server."""
    candidates = []
    for pattern in search_globs:
        candidates += [str(Path(folder) / name) for folder in sorted(glob.glob(pattern))]
    on_path = shutil.which(name, path=search_path)
    if on_path:
        candidates.append(on_path)
    found = [(version, path) for path in dict.fromkeys(candidates)
             if os.access(path, os.X_OK) and (version := _tool_version(path))]
    wanted = f"postgresql-client-{_version_text(server)}" if server else "postgresql-client"
    if not found:
        raise BackupError(f"{name} was not found (on PATH or in /usr/lib/postgresql/*/bin): "
                          f"install the PostgreSQL client programs, e.g. apt-get install {wanted}.")
    # Ties go to the folder of that version rather than Debian's wrapper on PATH, which may pick another.
    version, path = max(found, key=lambda item: item[0])
    if server and version < server:
        raise BackupError(f"{name} {_version_text(version)} ({path}) is older than the PostgreSQL "
                          f"{_version_text(server)} server: install {wanted}.")
    return path


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL as a libpq connection string for the client programs, and an environment that
    carries the password, so it never appears in a process list."""
    from psycopg.conninfo import make_conninfo

    parts = {"host": url.host, "port": str(url.port) if url.port else None, "user": url.username,
             "dbname": url.database}
    for key, value in url.query.items():
        parts[key] = value[-1] if isinstance(value, tuple) else value
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    return make_conninfo(**{k: v for k, v in parts.items() if v is not None}), environment


def _run_pg_tool(url: URL, command: list[str], *, what: str) -> None:
    conninfo, environment = _libpq(url)
    try:
        finished = subprocess.run([*command, f"--dbname={conninfo}"], env=environment, capture_output=True, text=True)
    except OSError as error:
        raise BackupError(f"Cannot run {command[0]}: {error.strerror or error}.")
    if finished.returncode != 0:
        raise BackupError(f"{what} failed: {_tool_error(finished.stderr)}")


def _tool_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line or "FATAL:" in line or "ERROR:" in line]
    line = (errors or lines or ["no message"])[0]
    return re.sub(r"^(pg_dump|pg_restore): (error: )?", "", line)


# --- Restore ----------------------------------------------------------------------------------

def backup_kind(path: Path) -> str:
    """'sqlite' or 'postgresql', from the file's first bytes."""
    path = Path(path).expanduser()
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"There is no backup file {path}.")
    except OSError as error:
        raise BackupError(f"Cannot read {path}: {error.strerror or error}.")
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a backup from lms db backup (neither an SQLite database nor a pg_dump archive).")


def restore(backup_file: Path, into: str) -> Outcome:
    """Restore a backup into an empty database (an SQLite file that does not exist yet or has no
    tables; a PostgreSQL database with no tables). A database with tables is refused untouched."""
    started = time.perf_counter()
    backup_file = Path(backup_file).expanduser().absolute()
    target = parse_url(into)
    kind = backup_kind(backup_file)
    engine_name = "sqlite" if _is_sqlite(target) else "postgresql"
    if kind != engine_name:
        name = {"sqlite": "an SQLite", "postgresql": "a PostgreSQL"}[kind]
        raise BackupError(f"{backup_file} is {name} backup; it restores only into {name} database, "
                          f"not {shown(target)}.")
    if kind == "sqlite":
        _restore_sqlite(backup_file, _sqlite_path(target))
    else:
        _restore_postgres(backup_file, target)
    return Outcome(backup_file, table_counts(into), time.perf_counter() - started)


def _refuse_tables(names: list[str], where: str) -> None:
    if names:
        listed = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
        raise BackupError(f"{where} already has {len(names)} table{'s' if len(names) != 1 else ''} ({listed}): "
                          "restore only into a new, empty database.")


def _restore_sqlite(backup_file: Path, path: Path) -> None:
    try:
        source = _sqlite_connect(backup_file, read_only=True)
        try:
            _check_sqlite(source, backup_file)
            if not source.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone():
                raise BackupError(f"{backup_file} is an SQLite database but not an LMS backup (it has no alembic_version table).")
        finally:
            source.close()
    except sqlite3.Error as error:
        raise BackupError(f"{backup_file} cannot be read as an SQLite backup: {error}.")

    if path.resolve() == backup_file.resolve():
        raise BackupError(f"{path} is the backup itself: restore into another file.")
    existed = path.exists()
    if existed:
        if not path.is_file():
            raise BackupError(f"{path} is not a file: give the path of a new database file.")
        try:
            target = _sqlite_connect(path)
            try:
                tables = [row[0] for row in target.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            finally:
                target.close()
        except sqlite3.Error as error:
            raise BackupError(f"{path} exists and is not an empty SQLite database ({error}): "
                              "restore only into a new, empty database.")
        _refuse_tables(tables, str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        source = _sqlite_connect(backup_file, read_only=True)
        target = _sqlite_connect(path, create=True)
        try:
            source.backup(target, pages=-1)
            # The app works in WAL mode; a restored file starts in it so nothing changes on first use.
            target.execute("PRAGMA journal_mode = WAL")
        finally:
            target.close()
            source.close()
    except (OSError, sqlite3.Error) as error:
        if not existed:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
                leftover.unlink(missing_ok=True)
        message = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise BackupError(f"Cannot restore into {path}: {message}.")


def _user_tables(connection: Connection) -> list[str]:
    return list(connection.scalars(text(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'")))


def _restore_postgres(backup_file: Path, url: URL) -> None:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            _refuse_tables(_user_tables(connection), shown(url))
    except SQLAlchemyError as error:
        raise _connect_error(url, error)
    finally:
        engine.dispose()
    pg_restore = find_pg_tool("pg_restore")
    listed = subprocess.run([pg_restore, "--list", str(backup_file)], capture_output=True, text=True)
    if listed.returncode != 0:
        problem = _tool_error(listed.stderr)
        if "unsupported version" in problem:
            problem += f" (pg_restore {pg_restore} is older than the pg_dump that wrote it: install a newer postgresql-client)"
        raise BackupError(f"{backup_file} cannot be read as a pg_dump archive: {problem}")
    # One transaction that stops at the first error: a damaged archive restores nothing at all.
    # --no-owner: the tables belong to whoever restores (the role in the URL), as the app expects.
    _run_pg_tool(url, [pg_restore, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                       "--no-password", str(backup_file)], what=f"Restoring {backup_file.name} into {shown(url)}")


# --- Scratch databases for a restore check (PostgreSQL) ---------------------------------------

def _server_admin(url: URL) -> tuple[URL, str]:
    if _is_sqlite(url):
        raise BackupError("Scratch databases are for PostgreSQL; an SQLite restore check uses a temporary file.")
    return url.set(database="postgres"), url.database


def _scratch_state(connection: Connection, name: str) -> str | None:
    """None when there is no such database, else its comment ('' when it has none)."""
    row = connection.execute(text("SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
                                  "WHERE datname = :name"), {"name": name}).first()
    return None if row is None else row[0]


def _drop(connection: Connection, name: str) -> None:
    quoted = connection.dialect.identifier_preparer.quote(name)
    force = " WITH (FORCE)" if _server_version(connection) >= (13,) else ""
    connection.execute(text(f"DROP DATABASE IF EXISTS {quoted}{force}"))


def create_scratch(url: str) -> None:
    """Make an empty database for a restore check, marked so that only drop_scratch removes it.
    A marked one left by an interrupted check is replaced; any other database is refused."""
    parsed = parse_url(url)
    admin, name = _server_admin(parsed)
    engine = create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            state = _scratch_state(connection, name)
            if state is not None and state != SCRATCH_COMMENT:
                raise BackupError(f"Database {name!r} already exists and is not a scratch database: "
                                  "refusing to touch it; choose another scratch name.")
            if state is not None:
                _drop(connection, name)
            quoted = connection.dialect.identifier_preparer.quote(name)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
            connection.execute(text(f"COMMENT ON DATABASE {quoted} IS '{SCRATCH_COMMENT}'"))
    except SQLAlchemyError as error:
        raise BackupError(f"Cannot create the scratch database {name!r} on {shown(admin)}: {_problem(error)}")
    finally:
        engine.dispose()


def drop_scratch(url: str) -> bool:
    """Drop a database create_scratch made (False if there is none); refuse any other."""
    parsed = parse_url(url)
    admin, name = _server_admin(parsed)
    engine = create_engine(admin, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            state = _scratch_state(connection, name)
            if state is None:
                return False
            if state != SCRATCH_COMMENT:
                raise BackupError(f"Database {name!r} is not a scratch database made by lms db create-scratch: "
                                  "refusing to drop it.")
            _drop(connection, name)
            return True
    except SQLAlchemyError as error:
        raise BackupError(f"Cannot drop the scratch database {name!r} on {shown(admin)}: {_problem(error)}")
    finally:
        engine.dispose()
