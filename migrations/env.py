from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

import lms.models  # noqa: F401  (registers every table)
from lms.config import from_environment
from lms.db import Base, make_engine

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or from_environment(secret_required=False)["DATABASE_URL"]


def lock_timeout_seconds() -> int:
    value = os.environ.get("LMS_MIGRATION_LOCK_TIMEOUT", "5").strip()
    if not value.isdigit() or int(value) == 0:
        raise RuntimeError(f"LMS_MIGRATION_LOCK_TIMEOUT must be a whole number of seconds (1 or more), not {value!r}.")
    return int(value)


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url())
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # A migration that cannot get its lock soon gives up, rather than wait behind a long
            # report while every page that needs the same table queues behind the migration.
            connection.exec_driver_sql(f"SET lock_timeout = '{lock_timeout_seconds()}s'")
            connection.commit()
        # Batch mode lets ALTER TABLE work on SQLite too.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
