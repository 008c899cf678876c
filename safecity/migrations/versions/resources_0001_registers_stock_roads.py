"""resources: registers (teams, warehouses, shelters, experts, equipment), items and the stock
log, minimum stock, transfer requests (调拨), imported road networks

Revision ID: resources_0001
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "resources_0001"
down_revision = "0009"
branch_labels = ("resources",)
depends_on = None


def upgrade() -> None:
    # Generated from safecity/resources/models.py.
    op.create_table(
        "rs_experts",
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("contact", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_experts")),
    )
    op.create_index(op.f("ix_rs_experts_archived"), "rs_experts", ["archived"], unique=False)
    op.create_index(
        op.f("ix_rs_experts_division_code"), "rs_experts", ["division_code"], unique=False
    )
    op.create_index(op.f("ix_rs_experts_field"), "rs_experts", ["field"], unique=False)
    op.create_table(
        "rs_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("shelf_life_days", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_items")),
        sa.UniqueConstraint("code", name=op.f("uq_rs_items_code")),
    )
    op.create_table(
        "rs_rescue_teams",
        sa.Column("team_type", sa.String(length=32), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("equipment", sa.Text(), nullable=False),
        sa.Column("readiness", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("contact", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_rescue_teams")),
    )
    op.create_index(
        op.f("ix_rs_rescue_teams_archived"), "rs_rescue_teams", ["archived"], unique=False
    )
    op.create_index(
        op.f("ix_rs_rescue_teams_division_code"), "rs_rescue_teams", ["division_code"], unique=False
    )
    op.create_index(
        op.f("ix_rs_rescue_teams_team_type"), "rs_rescue_teams", ["team_type"], unique=False
    )
    op.create_table(
        "rs_road_networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=True),
        sa.Column("nodes", sa.Integer(), nullable=False),
        sa.Column("edges", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_road_networks")),
    )
    op.create_table(
        "rs_shelters",
        sa.Column("shelter_class", sa.String(length=16), nullable=False),
        sa.Column("effective_area_m2", sa.Float(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("facilities", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("contact", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_shelters")),
    )
    op.create_index(op.f("ix_rs_shelters_archived"), "rs_shelters", ["archived"], unique=False)
    op.create_index(
        op.f("ix_rs_shelters_division_code"), "rs_shelters", ["division_code"], unique=False
    )
    op.create_index(
        op.f("ix_rs_shelters_shelter_class"), "rs_shelters", ["shelter_class"], unique=False
    )
    op.create_table(
        "rs_warehouses",
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("floor_area_m2", sa.Float(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("contact", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_warehouses")),
    )
    op.create_index(op.f("ix_rs_warehouses_archived"), "rs_warehouses", ["archived"], unique=False)
    op.create_index(
        op.f("ix_rs_warehouses_division_code"), "rs_warehouses", ["division_code"], unique=False
    )
    op.create_index(op.f("ix_rs_warehouses_tier"), "rs_warehouses", ["tier"], unique=False)
    op.create_table(
        "rs_equipment",
        sa.Column("equipment_type", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("tracker_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("contact", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["rs_rescue_teams.id"],
            name=op.f("fk_rs_equipment_team_id_rs_rescue_teams"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_equipment")),
    )
    op.create_index(op.f("ix_rs_equipment_archived"), "rs_equipment", ["archived"], unique=False)
    op.create_index(
        op.f("ix_rs_equipment_division_code"), "rs_equipment", ["division_code"], unique=False
    )
    op.create_index(
        op.f("ix_rs_equipment_equipment_type"), "rs_equipment", ["equipment_type"], unique=False
    )
    op.create_index(op.f("ix_rs_equipment_team_id"), "rs_equipment", ["team_id"], unique=False)
    op.create_table(
        "rs_minimum_stock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["rs_items.id"], name=op.f("fk_rs_minimum_stock_item_id_rs_items")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["rs_warehouses.id"],
            name=op.f("fk_rs_minimum_stock_warehouse_id_rs_warehouses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_minimum_stock")),
        sa.UniqueConstraint(
            "warehouse_id", "item_id", name=op.f("uq_rs_minimum_stock_warehouse_id")
        ),
    )
    op.create_table(
        "rs_transfer_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("source_warehouse_id", sa.Integer(), nullable=False),
        sa.Column("destination_warehouse_id", sa.Integer(), nullable=False),
        sa.Column("source_division_code", sa.String(length=12), nullable=False),
        sa.Column("destination_division_code", sa.String(length=12), nullable=False),
        sa.Column("requesting_department", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("incident_ref", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("returned_quantity", sa.Integer(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_warehouse_id"],
            ["rs_warehouses.id"],
            name=op.f("fk_rs_transfer_requests_destination_warehouse_id_rs_warehouses"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["rs_items.id"], name=op.f("fk_rs_transfer_requests_item_id_rs_items")
        ),
        sa.ForeignKeyConstraint(
            ["source_warehouse_id"],
            ["rs_warehouses.id"],
            name=op.f("fk_rs_transfer_requests_source_warehouse_id_rs_warehouses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_transfer_requests")),
    )
    op.create_index(
        op.f("ix_rs_transfer_requests_destination_division_code"),
        "rs_transfer_requests",
        ["destination_division_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_rs_transfer_requests_source_division_code"),
        "rs_transfer_requests",
        ["source_division_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_rs_transfer_requests_status"), "rs_transfer_requests", ["status"], unique=False
    )
    op.create_table(
        "rs_stock_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("counterpart_warehouse_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["rs_items.id"], name=op.f("fk_rs_stock_movements_item_id_rs_items")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["rs_transfer_requests.id"],
            name=op.f("fk_rs_stock_movements_request_id_rs_transfer_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["rs_warehouses.id"],
            name=op.f("fk_rs_stock_movements_warehouse_id_rs_warehouses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_stock_movements")),
    )
    op.create_index(op.f("ix_rs_stock_movements_at"), "rs_stock_movements", ["at"], unique=False)
    op.create_index(
        "ix_rs_stock_movements_division", "rs_stock_movements", ["division_code"], unique=False
    )
    op.create_index(
        op.f("ix_rs_stock_movements_request_id"), "rs_stock_movements", ["request_id"], unique=False
    )
    op.create_index(
        "ix_rs_stock_movements_wh_item_batch",
        "rs_stock_movements",
        ["warehouse_id", "item_id", "batch"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("rs_stock_movements")
    op.drop_table("rs_transfer_requests")
    op.drop_table("rs_minimum_stock")
    op.drop_table("rs_equipment")
    op.drop_table("rs_warehouses")
    op.drop_table("rs_shelters")
    op.drop_table("rs_road_networks")
    op.drop_table("rs_rescue_teams")
    op.drop_table("rs_items")
    op.drop_table("rs_experts")
