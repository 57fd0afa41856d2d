"""Alembic, driven from code: migrations are the only way the schema changes."""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from lms.config import SHIPPED_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(SHIPPED_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(SHIPPED_ROOT / "migrations"))
    # ConfigParser treats % as interpolation; URLs may contain escaped characters.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def is_current(engine) -> bool:
    """Whether the database has every migration applied (a command that reads or writes
    records needs that; `lms db upgrade` gets it there)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as connection:
        applied = set(MigrationContext.configure(connection).get_current_heads())
    heads = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())
    return applied == heads
