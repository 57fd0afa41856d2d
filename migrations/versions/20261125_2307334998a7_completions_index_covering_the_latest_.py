"""completions index covering the latest expiry

Revision ID: 2307334998a7
Revises: c3bb3e9d12e7
Create Date: 2026-11-25 14:20:23.874816
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '2307334998a7'
down_revision = 'c3bb3e9d12e7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_completions_user_course'))
        batch_op.create_index('ix_completions_user_course_expires', ['user_id', 'course_id', 'expires_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_index('ix_completions_user_course_expires')
        batch_op.create_index(batch_op.f('ix_completions_user_course'), ['user_id', 'course_id'], unique=False)

