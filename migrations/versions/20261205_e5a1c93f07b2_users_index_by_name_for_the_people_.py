"""users index by name, for the people matrix of a large organisation

Revision ID: e5a1c93f07b2
Revises: 4c0b7e1d2a90
Create Date: 2026-12-05 23:10:00
"""
from __future__ import annotations

from alembic import op


revision = 'e5a1c93f07b2'
down_revision = '4c0b7e1d2a90'
branch_labels = None
depends_on = None

INDEX = 'ix_users_name_id'


def upgrade() -> None:
    if op.get_context().dialect.name == 'postgresql':
        # CONCURRENTLY: building the index over every user must not stop sign-ups and name
        # changes meanwhile. It cannot run inside a transaction, hence the autocommit block. An
        # earlier attempt that failed part-way leaves an invalid index behind, dropped first.
        with op.get_context().autocommit_block():
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {INDEX}')
            op.execute(f'CREATE INDEX CONCURRENTLY {INDEX} ON users (name, id)')
    else:
        op.create_index(INDEX, 'users', ['name', 'id'], unique=False)


def downgrade() -> None:
    if op.get_context().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {INDEX}')
    else:
        op.drop_index(INDEX, table_name='users')
