"""response: index for open incidents in the list's order (the map layer, the duty room)

Revision ID: response_0002
Revises: response_0001
"""

from alembic import op

revision = "response_0002"
down_revision = "response_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_rs_incidents_status_rank",
        "rs_incidents",
        ["status", "grade_rank", "received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_rs_incidents_status_rank", table_name="rs_incidents")
