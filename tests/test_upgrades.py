"""Upgrading a live PostgreSQL database: a migration that cannot get its table lock quickly
gives up with one clear line and changes nothing, instead of queueing every request that
needs the table behind it while a long report finishes."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import empty_postgres_database

LMS = str(Path(sys.executable).with_name("lms"))
BEFORE_GUESTS, GUESTS = "34db2522a213", "873489abb5f8"  # the second alters attendances


@pytest.fixture
def fresh_postgres():
    with empty_postgres_database("lms_upgrade") as url:
        yield url


def upgrade(url: str, *args: str, **settings) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LMS_")}
    env.update(LMS_DATABASE_URL=url, **settings)
    return subprocess.run([LMS, "db", "upgrade", *args], env=env, capture_output=True, text=True, timeout=120)


def version(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.scalar(text("SELECT version_num FROM alembic_version"))
    engine.dispose()
    return found


def test_a_migration_behind_a_long_transaction_gives_up_and_changes_nothing(fresh_postgres):
    assert upgrade(fresh_postgres, "--revision", BEFORE_GUESTS).returncode == 0
    report = create_engine(fresh_postgres).connect()
    report.execute(text("LOCK TABLE attendances IN ACCESS SHARE MODE"))  # a long read, still open
    try:
        started = time.monotonic()
        blocked = upgrade(fresh_postgres, LMS_MIGRATION_LOCK_TIMEOUT="1")
        waited = time.monotonic() - started
    finally:
        report.rollback()
        report.close()
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "could not lock a table within LMS_MIGRATION_LOCK_TIMEOUT" in blocked.stderr
    assert "Traceback" not in blocked.stderr
    assert waited < 20
    assert version(fresh_postgres) == BEFORE_GUESTS  # the whole upgrade was rolled back

    finished = upgrade(fresh_postgres)
    assert finished.returncode == 0, finished.stderr
    assert version(fresh_postgres) != BEFORE_GUESTS


def test_a_lock_timeout_that_is_not_a_number_is_refused_in_one_line(fresh_postgres):
    refused = upgrade(fresh_postgres, LMS_MIGRATION_LOCK_TIMEOUT="soon")
    assert refused.returncode == 1
    assert "LMS_MIGRATION_LOCK_TIMEOUT must be a whole number of seconds" in refused.stderr
    assert "Traceback" not in refused.stderr
