from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

import lms.models  # noqa: F401
from lms.db import SQLITE_BUSY_TIMEOUT_MS, Base, SQLitePragmaError, make_engine


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_sqlite_pragmas_are_checked_not_assumed():
    # An in-memory database cannot use WAL: the check must notice rather than carry on.
    engine = make_engine("sqlite://")
    with pytest.raises(SQLitePragmaError, match="WAL"):
        engine.connect()


def test_text_folds_case_in_every_script(session):
    # SQLite's own lower() knows only A-Z; searches rely on it folding Á, Ł, Ŵ as PostgreSQL does.
    assert session.execute(text("SELECT lower('ÁŁŴ ÇA')")).scalar() == "áłŵ ça"


def test_postgresql_connections_do_not_jit_compile(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL setting")
    engine = make_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SHOW jit")).scalar() == "off"
    engine.dispose()


def test_foreign_keys_are_enforced(app, session):
    from sqlalchemy.exc import IntegrityError

    from lms.models import Team

    session.add(Team(organisation_id=999, name="Orphan"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_migrations_match_the_models(database_url):
    """Alembic migrations are the only way the schema changes: after upgrading to head
    there must be nothing left for autogenerate to add."""
    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_the_database_is_at_the_latest_migration(database_url):
    from alembic.script import ScriptDirectory

    from lms.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    engine = make_engine(database_url)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
    engine.dispose()


def test_naive_datetimes_are_refused(app, session):
    from datetime import datetime

    from lms.models import Organisation

    session.add(Organisation(name="Naive", created_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive"):
        session.flush()
