"""hazards: tracking_hash, the hashed token behind an anonymous reporter's tracking link

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "hd_hidden_dangers", sa.Column("tracking_hash", sa.String(length=64), nullable=True)
    )
    op.create_index(
        "ix_hd_hidden_dangers_tracking_hash", "hd_hidden_dangers", ["tracking_hash"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_hd_hidden_dangers_tracking_hash", table_name="hd_hidden_dangers")
    op.drop_column("hd_hidden_dangers", "tracking_hash")
