"""monitoring alarms: the hidden danger an alarm opened (alarm → 隐患)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hidden_danger_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_alarms_hidden_danger_id"), ["hidden_danger_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alarms_hidden_danger_id"))
        batch_op.drop_column("hidden_danger_id")
