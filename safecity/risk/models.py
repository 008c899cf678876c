"""Risk grading tables: risk points and their assessments, major hazard installations, signals."""

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
)
from sqlalchemy.orm import Mapped, mapped_column

from safecity.core.db import Base


class RiskPoint(Base):
    """风险点: a place or activity whose hazards are identified, graded and controlled."""

    __tablename__ = "risk_points"
    __table_args__ = (
        # list pages: counting a scope (by level) from the index alone, and name order (0006)
        Index("ix_risk_points_div_archived_level", "division_code", "archived", "level"),
        Index("ix_risk_points_archived_name", "archived", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # the owner's own register number (e.g. "FX-001"); matched on import (migration 0006)
    code: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # enterprise | facility | public_place | area
    owner_kind: Mapped[str] = mapped_column(String(16))
    enterprise_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    grid_cell_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    protected_target_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    facility_name: Mapped[str] = mapped_column(String(200), default="")
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    industry_code: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # [{"category": people|material|environment|management, "description": ...}] per GB/T 13861
    hazard_factors: Mapped[list] = mapped_column(JSON, default=list)
    # GB 6441 accident type keys
    accident_types: Mapped[list] = mapped_column(JSON, default=list)
    # [{"type": engineering|management|training|ppe|emergency, "description", "level":
    #   company|workshop|team|post, "person"}]
    control_measures: Mapped[list] = mapped_column(JSON, default=list)
    review_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # red | orange | yellow | blue: the level of the latest approved assessment
    level: Mapped[str | None] = mapped_column(String(8), nullable=True, index=True)
    level_assessment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RiskAssessment(Base):
    """One LEC or matrix assessment of a risk point, kept as history with its inputs and result."""

    __tablename__ = "risk_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_point_id: Mapped[int] = mapped_column(ForeignKey("risk_points.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))  # lec | matrix
    inputs: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)  # D for LEC, R for the matrix
    level: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft|approved|rejected
    assessed_by: Mapped[str] = mapped_column(String(64))
    assessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class MajorHazard(Base):
    """重大危险源: a production or storage unit identified and graded per GB 18218-2018."""

    __tablename__ = "major_hazards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_kind: Mapped[str] = mapped_column(String(16))  # storage | production
    substances: Mapped[list] = mapped_column(JSON)  # as given: [{name|cas, quantity_t, ...}]
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    # optional GeoJSON Polygon of the unit; the 500 m exposure buffer grows from it (0006)
    boundary: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # how exposed_population_computed was found: cells and targets with their shares (0006)
    exposure: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    s_value: Mapped[float] = mapped_column(Float)
    is_major: Mapped[bool] = mapped_column(Boolean, index=True)
    r_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    level: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # 1..4
    alpha: Mapped[float] = mapped_column(Float)
    exposed_population: Mapped[int] = mapped_column(Integer)
    exposed_population_computed: Mapped[int] = mapped_column(Integer)
    exposed_override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict] = mapped_column(JSON)  # the full identify() output for this unit
    assessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    archived: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class RiskSignal(Base):
    """A live fact that raises an area's dynamic risk: an active alarm, an overdue hidden danger."""

    __tablename__ = "risk_signals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # alarm | hidden_danger_overdue
    source_ref: Mapped[str] = mapped_column(String(64), index=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    grid_cell_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    enterprise_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    severity: Mapped[str] = mapped_column(String(8))  # red | orange | yellow | blue
    raise_steps: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RiskSetting(Base):
    """Per-city configuration: LEC bands, the matrix, area aggregation rule (JSON by key)."""

    __tablename__ = "risk_settings"

    division_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
