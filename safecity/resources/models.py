"""Tables of the emergency resources capability (应急保障): the five registers, the stock log,
transfer requests between departments (调拨) and the road networks imported for routing."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safecity.core.db import Base


class _Placed:
    """Columns every register shares: enough to import any of them (name, lon, lat, division)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    department: Mapped[str] = mapped_column(String(100), default="")
    contact: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    archived: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RescueTeam(_Placed, Base):
    """救援队伍: fire-rescue stations, professional teams and social forces."""

    __tablename__ = "rs_rescue_teams"

    team_type: Mapped[str] = mapped_column(String(32), default="fire_rescue", index=True)
    members: Mapped[int] = mapped_column(Integer, default=0)
    equipment: Mapped[str] = mapped_column(Text, default="")
    readiness: Mapped[str] = mapped_column(String(16), default="ready")


class Warehouse(_Placed, Base):
    """应急物资储备库, by tier (city / district / town / village storage room)."""

    __tablename__ = "rs_warehouses"

    tier: Mapped[str] = mapped_column(String(16), default="district", index=True)
    floor_area_m2: Mapped[float] = mapped_column(Float, default=0.0)


class Shelter(_Placed, Base):
    """应急避难场所 (GB 21734-2008, GB/T 44013-2024)."""

    __tablename__ = "rs_shelters"

    shelter_class: Mapped[str] = mapped_column(String(16), default="emergency", index=True)
    effective_area_m2: Mapped[float] = mapped_column(Float, default=0.0)
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    facilities: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(8), default="open")


class Expert(_Placed, Base):
    """专家库."""

    __tablename__ = "rs_experts"

    field: Mapped[str] = mapped_column(String(32), default="comprehensive", index=True)
    organisation: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(64), default="")


class Equipment(_Placed, Base):
    """Equipment and vehicles (装备), with a tracker device where one exists."""

    __tablename__ = "rs_equipment"

    equipment_type: Mapped[str] = mapped_column(String(32), default="vehicle", index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("rs_rescue_teams.id"), nullable=True, index=True
    )
    tracker_id: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="available")


class Item(Base):
    """One kind of emergency material, coded by GB/T 38565-2020 (4 levels, 7 digits)."""

    __tablename__ = "rs_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    unit: Mapped[str] = mapped_column(String(16), default="件")
    shelf_life_days: Mapped[int | None] = mapped_column(Integer, nullable=True)


class StockMovement(Base):
    """One line of the stock log: stock is the sum of these, never a stored number."""

    __tablename__ = "rs_stock_movements"
    __table_args__ = (
        Index("ix_rs_stock_movements_wh_item_batch", "warehouse_id", "item_id", "batch"),
        Index("ix_rs_stock_movements_division", "division_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("rs_warehouses.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("rs_items.id"))
    batch: Mapped[str] = mapped_column(String(64), default="")
    expiry: Mapped[date | None] = mapped_column(Date, nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)  # signed: + into the warehouse, − out
    division_code: Mapped[str] = mapped_column(String(12))  # the warehouse's (scope)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("rs_transfer_requests.id"), nullable=True, index=True
    )
    counterpart_warehouse_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class MinimumStock(Base):
    """The least quantity of an item a warehouse must hold (below it: an alert)."""

    __tablename__ = "rs_minimum_stock"
    __table_args__ = (UniqueConstraint("warehouse_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("rs_warehouses.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("rs_items.id"))
    minimum: Mapped[int] = mapped_column(Integer)


class TransferRequest(Base):
    """调拨: request → approve → commit → dispatch → receive → return, between warehouses."""

    __tablename__ = "rs_transfer_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("rs_items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    source_warehouse_id: Mapped[int] = mapped_column(ForeignKey("rs_warehouses.id"))
    destination_warehouse_id: Mapped[int] = mapped_column(ForeignKey("rs_warehouses.id"))
    source_division_code: Mapped[str] = mapped_column(String(12), index=True)
    destination_division_code: Mapped[str] = mapped_column(String(12), index=True)
    requesting_department: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    incident_ref: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0)
    history: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RoadNetwork(Base):
    """An imported road network: where its file is (or how to regenerate it) and its figures.

    The graph itself lives in memory, built once per process from the newest active row."""

    __tablename__ = "rs_road_networks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))  # "file" | "synthetic"
    path: Mapped[str] = mapped_column(String(500), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    params: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    nodes: Mapped[int] = mapped_column(Integer, default=0)
    edges: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    imported_by: Mapped[str] = mapped_column(String(64), default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
