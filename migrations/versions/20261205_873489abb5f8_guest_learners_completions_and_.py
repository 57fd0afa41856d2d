"""guest learners: completions and certificates without an account

Revision ID: 873489abb5f8
Revises: 34db2522a213
Create Date: 2026-12-05 20:07:33
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '873489abb5f8'
down_revision = '34db2522a213'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guest_learners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('reference_code', sa.String(length=16), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['users.id'], name=op.f('fk_guest_learners_claimed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guest_learners')),
    sa.UniqueConstraint('reference_code', name=op.f('uq_guest_learners_reference_code'))
    )
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guest_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_attendances_guest_id_guest_learners'), 'guest_learners', ['guest_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guest_id', sa.Integer(), nullable=True))
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_completions_guest_id'), ['guest_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_completions_guest_id_guest_learners'), 'guest_learners', ['guest_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint(op.f('ck_completions_one_holder'), '(user_id IS NULL) <> (guest_id IS NULL)')



def downgrade() -> None:
    with op.batch_alter_table('completions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_completions_one_holder'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_completions_guest_id_guest_learners'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_completions_guest_id'))
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('guest_id')

    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attendances_guest_id_guest_learners'), type_='foreignkey')
        batch_op.drop_column('guest_id')

    op.drop_table('guest_learners')
