"""Daemons table: running daemons and their next scheduled runs (SPEC §9 status).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 02:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('daemons',
    sa.Column('holder', sa.String(length=255), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.Column('course_ids', sa.JSON(), nullable=False),
    sa.Column('next_runs', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('holder')
    )


def downgrade() -> None:
    op.drop_table('daemons')
