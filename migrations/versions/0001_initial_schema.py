"""Initial schema: course, students, assignment groups, assignments, overrides, submissions,
attempts, sync runs, discrepancies and exemptions.

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 00:41:06.080974
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assignment_groups',
    sa.Column('course_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=400), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('course_id', 'id')
    )
    op.create_table('assignments',
    sa.Column('course_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=400), nullable=False),
    sa.Column('assignment_group_id', sa.BigInteger(), nullable=True),
    sa.Column('points_possible', sa.Float(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('omit_from_final_grade', sa.Boolean(), nullable=False),
    sa.Column('submission_types', sa.JSON(), nullable=False),
    sa.Column('rubric', sa.JSON(), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('course_id', 'id')
    )
    op.create_table('courses',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=400), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('submitted_watermark', sa.DateTime(), nullable=True),
    sa.Column('graded_watermark', sa.DateTime(), nullable=True),
    sa.Column('last_full_sync_at', sa.DateTime(), nullable=True),
    sa.Column('late_policy', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('discrepancies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('course_id', sa.BigInteger(), nullable=False),
    sa.Column('fact_key', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('student_id', sa.BigInteger(), nullable=True),
    sa.Column('assignment_id', sa.BigInteger(), nullable=True),
    sa.Column('canvas_value', sa.String(length=255), nullable=True),
    sa.Column('expected_value', sa.String(length=255), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('state_changed_at', sa.DateTime(), nullable=True),
    sa.Column('state_changed_by', sa.String(length=255), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('course_id', 'fact_key')
    )
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discrepancies_course_id'), ['course_id'], unique=False)

    op.create_table('exemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('course_id', sa.BigInteger(), nullable=False),
    sa.Column('student_id', sa.BigInteger(), nullable=False),
    sa.Column('assignment_id', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('course_id', 'student_id', 'assignment_id')
    )
    op.create_table('students',
    sa.Column('course_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=400), nullable=False),
    sa.Column('sortable_name', sa.String(length=400), nullable=False),
    sa.Column('sis_user_id', sa.String(length=255), nullable=True),
    sa.Column('login_id', sa.String(length=255), nullable=True),
    sa.Column('enrollment_state', sa.String(length=32), nullable=False),
    sa.Column('is_test_student', sa.Boolean(), nullable=False),
    sa.Column('section_ids', sa.JSON(), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('course_id', 'id')
    )
    op.create_table('submissions',
    sa.Column('course_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('assignment_id', sa.BigInteger(), nullable=False),
    sa.Column('student_id', sa.BigInteger(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('cached_due_date', sa.DateTime(), nullable=True),
    sa.Column('graded_at', sa.DateTime(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('grade', sa.String(length=64), nullable=True),
    sa.Column('entered_score', sa.Float(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=True),
    sa.Column('workflow_state', sa.String(length=32), nullable=False),
    sa.Column('submission_type', sa.String(length=64), nullable=True),
    sa.Column('excused', sa.Boolean(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('missing', sa.Boolean(), nullable=False),
    sa.Column('seconds_late', sa.BigInteger(), nullable=False),
    sa.Column('late_policy_status', sa.String(length=32), nullable=True),
    sa.Column('grader_id', sa.BigInteger(), nullable=True),
    sa.Column('rubric_assessment', sa.JSON(), nullable=False),
    sa.Column('comments', sa.JSON(), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('course_id', 'id'),
    sa.UniqueConstraint('course_id', 'assignment_id', 'student_id')
    )
    op.create_table('sync_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('course_id', sa.BigInteger(), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('students', sa.Integer(), nullable=False),
    sa.Column('assignments', sa.Integer(), nullable=False),
    sa.Column('submissions', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_runs_course_id'), ['course_id'], unique=False)

    op.create_table('assignment_overrides',
    sa.Column('course_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('assignment_id', sa.BigInteger(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('student_ids', sa.JSON(), nullable=False),
    sa.Column('course_section_id', sa.BigInteger(), nullable=True),
    sa.Column('group_id', sa.BigInteger(), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['course_id', 'assignment_id'], ['assignments.course_id', 'assignments.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', 'id')
    )
    op.create_table('attempts',
    sa.Column('course_id', sa.BigInteger(), nullable=False),
    sa.Column('submission_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['course_id', 'submission_id'], ['submissions.course_id', 'submissions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', 'submission_id', 'seq')
    )


def downgrade() -> None:
    op.drop_table('attempts')
    op.drop_table('assignment_overrides')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_runs_course_id'))

    op.drop_table('sync_runs')
    op.drop_table('submissions')
    op.drop_table('students')
    op.drop_table('exemptions')
    with op.batch_alter_table('discrepancies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discrepancies_course_id'))

    op.drop_table('discrepancies')
    op.drop_table('courses')
    op.drop_table('assignments')
    op.drop_table('assignment_groups')
