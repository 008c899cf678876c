"""response: plan versions (a revision of an approved plan is a new row pointing at the old)

Revision ID: response_0003
Revises: response_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "response_0003"
down_revision = "response_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rs_plans", sa.Column("previous_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_rs_plans_previous_id"), "rs_plans", ["previous_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rs_plans_previous_id"), table_name="rs_plans")
    with op.batch_alter_table("rs_plans") as batch:
        batch.drop_column("previous_id")
