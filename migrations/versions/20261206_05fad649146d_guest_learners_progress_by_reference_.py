"""guest learners: progress by reference code

Revision ID: 05fad649146d
Revises: b9c40281e4df
Create Date: 2026-12-06 13:58:20.636099
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lms.db


revision = '05fad649146d'
down_revision = 'b9c40281e4df'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Walk-ins' records (the only guests so far) were last active when they were made.
    with op.batch_alter_table('guest_learners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_active_at', lms.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column('reference_code',
               existing_type=sa.VARCHAR(length=16),
               type_=sa.String(length=24),
               existing_nullable=False)
    op.execute("UPDATE guest_learners SET last_active_at = created_at")
    with op.batch_alter_table('guest_learners', schema=None) as batch_op:
        batch_op.alter_column('last_active_at', existing_type=lms.db.UTCDateTime(timezone=True), nullable=False)

    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guest_id', sa.Integer(), nullable=True))
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_unique_constraint('uq_lesson_progress_guest_course_module', ['guest_id', 'course_id', 'module_slug'])
        batch_op.create_foreign_key(batch_op.f('fk_lesson_progress_guest_id_guest_learners'), 'guest_learners', ['guest_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint(op.f('ck_lesson_progress_one_learner'), '(user_id IS NULL) <> (guest_id IS NULL)')

    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guest_id', sa.Integer(), nullable=True))
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index('ix_quiz_attempts_guest_course', ['guest_id', 'course_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_quiz_attempts_guest_id_guest_learners'), 'guest_learners', ['guest_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint(op.f('ck_quiz_attempts_one_learner'), '(user_id IS NULL) <> (guest_id IS NULL)')


def downgrade() -> None:
    # Progress without an account has nowhere to go in the older schema.
    op.execute("DELETE FROM quiz_attempts WHERE user_id IS NULL")
    op.execute("DELETE FROM lesson_progress WHERE user_id IS NULL")
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_quiz_attempts_one_learner'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_quiz_attempts_guest_id_guest_learners'), type_='foreignkey')
        batch_op.drop_index('ix_quiz_attempts_guest_course')
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('guest_id')

    with op.batch_alter_table('lesson_progress', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_lesson_progress_one_learner'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_lesson_progress_guest_id_guest_learners'), type_='foreignkey')
        batch_op.drop_constraint('uq_lesson_progress_guest_course_module', type_='unique')
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('guest_id')

    with op.batch_alter_table('guest_learners', schema=None) as batch_op:
        batch_op.alter_column('reference_code',
               existing_type=sa.String(length=24),
               type_=sa.VARCHAR(length=16),
               existing_nullable=False)
        batch_op.drop_column('last_active_at')
