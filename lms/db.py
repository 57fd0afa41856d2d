"""Engine, session and declarative base.

SQLite is the embedded default and PostgreSQL the production engine. Each SQLite
connection is set up for a web server with several threads (WAL, a busy timeout)
and for correctness (foreign keys), and the settings are read back, because SQLite
silently ignores a pragma it cannot apply.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from flask import Flask, current_app, g, has_app_context, request
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# How long a write waits for another to finish before giving up: long enough for a queue of
# writers on a busy morning, shorter than gunicorn's worker timeout.
SQLITE_BUSY_TIMEOUT_MS = 15000

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both engines (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SQLitePragmaError(RuntimeError):
    pass


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite_connection(dbapi_connection, _record) -> None:
    # Let SQLAlchemy manage transactions itself (pysqlite's own handling breaks SAVEPOINT).
    dbapi_connection.isolation_level = None
    # SQLite's own lower() folds only A-Z, so a search for "ápostrophe" would miss "Ápostrophe";
    # Python's folds every script, as PostgreSQL's does.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        journal_mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        foreign_keys = cursor.execute("PRAGMA foreign_keys").fetchone()[0]
        busy_timeout = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
    finally:
        cursor.close()
    if str(journal_mode).lower() != "wal":
        raise SQLitePragmaError(f"SQLite refused WAL journal mode (got {journal_mode!r}); use a file database")
    if foreign_keys != 1:
        raise SQLitePragmaError("SQLite did not enable foreign keys")
    if busy_timeout != SQLITE_BUSY_TIMEOUT_MS:
        raise SQLitePragmaError(f"SQLite busy timeout is {busy_timeout}, expected {SQLITE_BUSY_TIMEOUT_MS}")


# Under concurrency SQLite fails a transaction that first reads and then writes, if another
# connection committed in between: it cannot upgrade the stale read to a write, and it says
# "database is locked" at once, without waiting for the busy timeout. So a transaction that may
# write starts with BEGIN IMMEDIATE and takes the write lock up front, waiting its turn under the
# busy timeout; one that only reads starts deferred, so in WAL mode readers never queue.
# In a request, "may write" means a POST (or another unsafe method), or write_transaction() in a GET.
# Outside requests (command-line tools, jobs) every transaction may write.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class DeferredWrite(RuntimeError):
    """A request begun for reading (a GET, or a view marked reads_only) wrote to SQLite."""


def _may_write() -> bool:
    # Only requests the app dispatches are marked; code run in a test_request_context (a job
    # building URLs, a command) may write like any other code outside a request.
    return not (has_app_context() and g.get("lms_reading", False))


def _note_whether_the_request_reads() -> None:
    g.lms_reading = request.method in SAFE_METHODS


def _forget_whether_the_request_read(_exc) -> None:
    # A test's own app context outlives the requests it makes; what follows them may write.
    g.pop("lms_reading", None)


def reads_only(view):
    """Mark a POST view that never writes (signing in checks a password and sets a cookie), so
    that it does not hold SQLite's write lock while it works: a password check is slow on
    purpose, and every other writer would queue behind it."""
    @functools.wraps(view)
    def view_that_reads(*args, **kwargs):
        g.lms_reading = True
        session = g.get("db_session")
        if session is not None and session.in_transaction():
            session.commit()
        return view(*args, **kwargs)

    return view_that_reads


def _begin_sqlite_transaction(conn) -> None:
    immediate = _may_write()
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    conn.info["lms_read_only_transaction"] = not immediate


def _refuse_deferred_write(conn, _cursor, statement: str, _parameters, _context, _executemany) -> None:
    if conn.info.get("lms_read_only_transaction") and statement.lstrip().upper().startswith(_WRITE_STATEMENTS):
        message = (f"{request.method} {request.path} wrote in a transaction begun for reading; "
                   "use lms.db.write_transaction() (and not @reads_only)")
        if current_app.debug or current_app.testing:
            raise DeferredWrite(message)
        current_app.logger.warning(message)


@contextmanager
def write_transaction() -> Iterator[Session]:
    """One transaction that writes, in a GET request that otherwise only reads (an export that
    is recorded in the audit log): it takes SQLite's write lock from the start, and is
    committed at the end. A transaction the request already opened for reading is ended first;
    what comes after (streaming the export) reads again without holding the lock."""
    session = get_session()
    if session.in_transaction():
        session.commit()
    reading, g.lms_reading = g.get("lms_reading", False), False
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        g.lms_reading = reading


@contextmanager
def reading_transaction(session: Session) -> Iterator[Session]:
    """A long read outside a request (a job writing out an export of many people). On SQLite
    it begins as a reading transaction, so it holds no write lock: learners' writes go on while
    it reads. It must not write; write_now() writes beside it."""
    if session.in_transaction():
        session.commit()
    reading, g.lms_reading = g.get("lms_reading", False), True
    try:
        yield session
    finally:
        session.rollback()  # it only read
        g.lms_reading = reading


def write_now(statement) -> None:
    """One statement, committed at once on a connection of its own: a job's progress, written
    while its reading_transaction() is still open."""
    reading, g.lms_reading = g.get("lms_reading", False), False
    try:
        with get_engine().begin() as connection:
            connection.execute(statement)
    finally:
        g.lms_reading = reading


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        event.listen(engine, "before_cursor_execute", _refuse_deferred_write)
        return engine
    # JIT compiling pays off for long analytical queries; for this app's report queries (tens of
    # milliseconds) compiling took longer than running them, so it is switched off.
    # The app reads a server-side cursor (the exports' streamed rows) to its end, so it is
    # planned for all its rows: planned for the first tenth, PostgreSQL's default, the export of
    # 30,000 people walked the users' name index into a nested loop and took 200 s, not 2.
    connect_args = {"options": "-c jit=off -c cursor_tuple_fraction=1"} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    pool = {} if url.startswith("sqlite") else {"pool_size": app.config["DB_POOL_SIZE"],
                                                "max_overflow": app.config["DB_POOL_OVERFLOW"]}
    engine = make_engine(url, **pool)
    app.extensions["lms.engine"] = engine
    app.extensions["lms.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.before_request(_note_whether_the_request_reads)
    app.teardown_request(_forget_whether_the_request_read)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The request's database session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["lms.sessionmaker"]()
    return g.db_session


def get_engine() -> Engine:
    return current_app.extensions["lms.engine"]


def rollback_request_session() -> None:
    """Before an error page: a failed flush leaves the session unusable until rolled back, and the
    page's own queries (the organisation switcher) would fail with it."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def _close_session(_exc) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
