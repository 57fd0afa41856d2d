"""evaluation answers before and after a session

Revision ID: 34db2522a213
Revises: 5a7e0c2b9d41
Create Date: 2026-12-05 19:24:22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '34db2522a213'
down_revision = '5a7e0c2b9d41'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evaluation_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=8), nullable=False),
    sa.Column('respondent', sa.String(length=64), nullable=False),
    sa.Column('ratings', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('course_version', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("stage IN ('before', 'after')", name=op.f('ck_evaluation_responses_stage')),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshops.id'], name=op.f('fk_evaluation_responses_workshop_id_workshops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_responses')),
    sa.UniqueConstraint('workshop_id', 'stage', 'respondent', name='uq_evaluation_responses_once')
    )
    with op.batch_alter_table('evaluation_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_responses_workshop_id'), ['workshop_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('evaluation_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_responses_workshop_id'))

    op.drop_table('evaluation_responses')
