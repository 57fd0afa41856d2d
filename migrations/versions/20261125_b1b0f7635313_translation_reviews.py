"""translation reviews

Revision ID: b1b0f7635313
Revises: 516250aea447
Create Date: 2026-11-25 12:23:04.368695
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = 'b1b0f7635313'
down_revision = '516250aea447'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('translation_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_translation_reviews_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_translation_reviews')),
    sa.UniqueConstraint('course_id', 'language', name='uq_translation_reviews_course_language')
    )


def downgrade() -> None:
    op.drop_table('translation_reviews')
