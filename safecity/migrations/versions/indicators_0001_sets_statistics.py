"""indicators capability tables: indicator sets, indicators, versioned statistical inputs

Revision ID: indicators_0001
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "indicators_0001"
down_revision = "0009"
branch_labels = ("indicators",)
depends_on = None


def upgrade() -> None:
    # Generated from safecity/indicators/models.py.
    op.create_table(
        "ind_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("divisions", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("city"),
    )
    op.create_index("ix_ind_sets_division_code", "ind_sets", ["division_code"])
    op.create_table(
        "ind_indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("formula", sa.String(length=500), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Integer(), nullable=False),
        sa.Column("period_end", sa.Integer(), nullable=False),
        sa.Column("base_year", sa.Integer(), nullable=True),
        sa.Column("base_value", sa.String(length=40), nullable=True),
        sa.Column("target_value", sa.String(length=40), nullable=True),
        sa.Column("target_change_percent", sa.String(length=40), nullable=True),
        sa.Column("target_strict", sa.Boolean(), nullable=False),
        sa.Column("binding", sa.String(length=16), nullable=True),
        sa.Column("divisions", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["set_id"], ["ind_sets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("set_id", "key", name="uq_ind_indicators_key"),
    )
    op.create_index("ix_ind_indicators_set_id", "ind_indicators", ["set_id"])
    op.create_table(
        "ind_statistics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("input", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "division_code", "year", "input", "version", name="uq_ind_statistics_v"
        ),
    )
    op.create_index("ix_ind_statistics_division_code", "ind_statistics", ["division_code"])
    op.create_index(
        "ix_ind_statistics_current",
        "ind_statistics",
        ["input", "superseded_at", "division_code", "year"],
    )


def downgrade() -> None:
    op.drop_table("ind_statistics")
    op.drop_table("ind_indicators")
    op.drop_table("ind_sets")
