"""erasure and privacy notice

Revision ID: a40ad3a8fdae
Revises: 7d2f4a9c1b30
Create Date: 2026-12-06 05:34:17.226839

A completion whose holder's details were erased stays with neither a user nor a guest, so the
one-holder check allows that once holder_erased_at is set. Existing accounts count as last
seen when they were created, so retention never erases one on the day of the upgrade for
lack of a date.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = 'a40ad3a8fdae'
down_revision = '7d2f4a9c1b30'
branch_labels = None
depends_on = None

ONE_HOLDER = "(user_id IS NULL) <> (guest_id IS NULL)"
ONE_HOLDER_OR_ERASED = ("((user_id IS NULL) <> (guest_id IS NULL)) OR (user_id IS NULL AND guest_id IS NULL "
                        "AND holder_erased_at IS NOT NULL)")


def upgrade() -> None:
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', lms.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder_erased_at', lms.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f('ck_completions_one_holder'), type_='check')
        batch_op.create_check_constraint(op.f('ck_completions_one_holder'), ONE_HOLDER_OR_ERASED)

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_controller', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('privacy_contact', sa.Text(), server_default='', nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', lms.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET last_seen_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('privacy_contact')
        batch_op.drop_column('privacy_controller')

    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_completions_one_holder'), type_='check')
        batch_op.create_check_constraint(op.f('ck_completions_one_holder'), ONE_HOLDER)
        batch_op.drop_column('holder_erased_at')

    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_column('erased_at')

