"""teams a champion looks after

Revision ID: c3bb3e9d12e7
Revises: 671c7fd527ae
Create Date: 2026-11-25 14:15:58.764813
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = 'c3bb3e9d12e7'
down_revision = '671c7fd527ae'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('championed_teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['memberships.id'], name=op.f('fk_championed_teams_membership_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_championed_teams_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_championed_teams')),
    sa.UniqueConstraint('membership_id', 'team_id', name='uq_championed_teams_membership_team')
    )
    with op.batch_alter_table('championed_teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_championed_teams_team_id'), ['team_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('championed_teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_championed_teams_team_id'))

    op.drop_table('championed_teams')
