"""monitoring: readings_inbox, new raw rows waiting for the aggregate roll-up

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "readings_inbox",
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Emptied every few seconds: vacuum it by the number of dead rows, not a fraction.
        op.execute(
            "ALTER TABLE readings_inbox SET (autovacuum_vacuum_scale_factor = 0,"
            " autovacuum_vacuum_threshold = 100000, autovacuum_vacuum_cost_delay = 0)"
        )


def downgrade() -> None:
    op.drop_table("readings_inbox")
