"""monitoring: index sensors by position, for "what is within r metres" (the command map)

Revision ID: monitoring_0001
Revises: 0009
"""

from alembic import op

revision = "monitoring_0001"
down_revision = "0009"
branch_labels = ("monitoring",)
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sensors_lon_lat", "sensors", ["lon", "lat"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sensors_lon_lat", table_name="sensors")
