"""Push journal, sync locks and sync requests (push and daemon).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 00:54:15.504624
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('push_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('course_id', sa.BigInteger(), nullable=False),
    sa.Column('push_id', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('student_id', sa.BigInteger(), nullable=False),
    sa.Column('assignment_id', sa.BigInteger(), nullable=True),
    sa.Column('from_value', sa.String(length=255), nullable=True),
    sa.Column('to_value', sa.Text(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('progress_id', sa.BigInteger(), nullable=True),
    sa.Column('canvas_answer', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('push_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_changes_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_push_changes_push_id'), ['push_id'], unique=False)

    op.create_table('sync_locks',
    sa.Column('course_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('holder', sa.String(length=255), nullable=False),
    sa.Column('acquired_at', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('course_id')
    )
    op.create_table('sync_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('course_id', sa.BigInteger(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('requested_by', sa.String(length=255), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('claimed_by', sa.String(length=255), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sync_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_requests_course_id'), ['course_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sync_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_requests_course_id'))

    op.drop_table('sync_requests')
    op.drop_table('sync_locks')
    with op.batch_alter_table('push_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_changes_push_id'))
        batch_op.drop_index(batch_op.f('ix_push_changes_course_id'))

    op.drop_table('push_changes')
