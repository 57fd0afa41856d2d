"""quiz option order per attempt

Revision ID: 8c41d2e7a9f3
Revises: 2307334998a7
Create Date: 2026-12-05 09:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '8c41d2e7a9f3'
down_revision = '2307334998a7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quiz_attempts') as batch_op:
        batch_op.add_column(sa.Column('option_order', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('quiz_attempts') as batch_op:
        batch_op.drop_column('option_order')
