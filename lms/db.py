"""Engine, session and declarative base.

SQLite is the embedded default and PostgreSQL the production engine. Each SQLite
connection is set up for a web server with several threads (WAL, a busy timeout)
and for correctness (foreign keys), and the settings are read back, because SQLite
silently ignores a pragma it cannot apply.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask, current_app, g
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 5000

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


def _begin_sqlite_transaction(conn) -> None:
    conn.exec_driver_sql("BEGIN")


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    # JIT compiling pays off for long analytical queries; for this app's report queries (tens of
    # milliseconds) compiling took longer than running them, so it is switched off.
    connect_args = {"options": "-c jit=off"} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["lms.engine"] = engine
    app.extensions["lms.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The request's database session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["lms.sessionmaker"]()
    return g.db_session


def get_engine() -> Engine:
    return current_app.extensions["lms.engine"]


def _close_session(_exc) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
