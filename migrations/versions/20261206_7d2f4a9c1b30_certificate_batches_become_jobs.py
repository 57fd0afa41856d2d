"""certificate batches become jobs

Revision ID: 7d2f4a9c1b30
Revises: e5a1c93f07b2
Create Date: 2026-12-06 02:40:00

A batch of certificates is now a row of `jobs` like every other queued piece of work. The
batches table holds only downloads made in the past hours (the files stay on disk until the
operator's clean-up removes them), so it is dropped, not copied: a batch that was still being
drawn during the upgrade is asked for again.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '7d2f4a9c1b30'
down_revision = 'e5a1c93f07b2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('certificate_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_batches_organisation_id'))
    op.drop_table('certificate_batches')


def downgrade() -> None:
    op.create_table('certificate_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('certificate_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('pdf', 'zip')", name=op.f('ck_certificate_batches_kind')),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_certificate_batches_status')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_certificate_batches_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_certificate_batches_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_batches'))
    )
    with op.batch_alter_table('certificate_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_batches_organisation_id'), ['organisation_id'], unique=False)
