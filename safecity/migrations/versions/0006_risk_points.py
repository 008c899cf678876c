"""risk points: register number (import key), list indexes, major hazard unit boundary

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_points", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_risk_points_code"), ["code"], unique=False)
        batch_op.create_index(
            "ix_risk_points_div_archived_level",
            ["division_code", "archived", "level"],
            unique=False,
        )
        batch_op.create_index("ix_risk_points_archived_name", ["archived", "name"], unique=False)
    with op.batch_alter_table("major_hazards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("boundary", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("exposure", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("major_hazards", schema=None) as batch_op:
        batch_op.drop_column("exposure")
        batch_op.drop_column("boundary")
    with op.batch_alter_table("risk_points", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_points_archived_name")
        batch_op.drop_index("ix_risk_points_div_archived_level")
        batch_op.drop_index(batch_op.f("ix_risk_points_code"))
        batch_op.drop_column("code")
