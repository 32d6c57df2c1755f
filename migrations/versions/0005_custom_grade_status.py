"""Submissions keep Canvas's custom grade status (issue 9): a reading with one is neither late
nor missing in Canvas, and the policy leaves it alone by default.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01 16:40:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('submissions') as batch:
        batch.add_column(sa.Column('custom_grade_status_id', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions') as batch:
        batch.drop_column('custom_grade_status_id')
