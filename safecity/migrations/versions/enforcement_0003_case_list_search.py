"""enforcement: the case list at 100,000 cases — a lower-cased search column (case number and
title, so a text search is a plain LIKE, not a per-row lower()) and an index for overdue cases
(state, deadline)

Revision ID: enforcement_0003
Revises: enforcement_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "enforcement_0003"
down_revision = "enforcement_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "enf_cases",
        sa.Column("search_text", sa.String(length=300), nullable=False, server_default=""),
    )
    op.execute("UPDATE enf_cases SET search_text = lower(number || ' ' || title)")
    op.create_index(
        "ix_enf_cases_state_deadline", "enf_cases", ["state", "deadline_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_enf_cases_state_deadline", table_name="enf_cases")
    with op.batch_alter_table("enf_cases") as batch:
        batch.drop_column("search_text")
