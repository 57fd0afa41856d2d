"""trainers' sessions (workshops) and their registers (attendances)

Revision ID: 5a7e0c2b9d41
Revises: 8c41d2e7a9f3
Create Date: 2026-12-05 17:52:21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '5a7e0c2b9d41'
down_revision = '8c41d2e7a9f3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('workshops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('course_id', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('starts_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=False),
    sa.Column('online_link', sa.String(length=500), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('trainer_id', sa.Integer(), nullable=True),
    sa.Column('check_in_code', sa.String(length=16), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('capacity IS NULL OR capacity > 0', name=op.f('ck_workshops_capacity_positive')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_workshops_ends_after_start')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_workshops_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_workshops_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_workshops_team_id_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['trainer_id'], ['users.id'], name=op.f('fk_workshops_trainer_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workshops')),
    sa.UniqueConstraint('check_in_code', name=op.f('uq_workshops_check_in_code'))
    )
    with op.batch_alter_table('workshops', schema=None) as batch_op:
        batch_op.create_index('ix_workshops_organisation_starts', ['organisation_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_workshops_trainer_id'), ['trainer_id'], unique=False)

    op.create_table('attendances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('consented_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_in_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('attended', sa.Boolean(), nullable=False),
    sa.Column('completion_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_attendances_added_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['completion_id'], ['completions.id'], name=op.f('fk_attendances_completion_id_completions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_attendances_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshops.id'], name=op.f('fk_attendances_workshop_id_workshops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendances')),
    sa.UniqueConstraint('completion_id', name=op.f('uq_attendances_completion_id')),
    sa.UniqueConstraint('workshop_id', 'user_id', name='uq_attendances_workshop_user')
    )
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendances_workshop_id'), ['workshop_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendances_workshop_id'))

    op.drop_table('attendances')
    with op.batch_alter_table('workshops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workshops_trainer_id'))
        batch_op.drop_index('ix_workshops_organisation_starts')

    op.drop_table('workshops')
