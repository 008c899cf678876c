"""Tables of the indicators capability: indicator sets and their indicators (editable), and the
yearly statistical inputs per division, versioned so that a correction keeps the old value.

Numbers a target or a statistic is compared with are stored as decimal text ("0.005",
"7102116") and read back as ``Fraction``: a float column would put 0.005 a hair off a
"≤ 0.005" target, and the pure rules (safecity.indicators.formula) are exact.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safecity.core.db import Base


class IndicatorSetRow(Base):
    """One city's indicator set as imported (``safecity indicators import FILE``)."""

    __tablename__ = "ind_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    # The set's own division (the city, first of ``divisions``): the scope rule reads it.
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    divisions: Mapped[list] = mapped_column(JSON, default=list)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    imported_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IndicatorRow(Base):
    """One indicator of a set; the fields are those of the TOML file (definitions.py)."""

    __tablename__ = "ind_indicators"
    __table_args__ = (UniqueConstraint("set_id", "key", name="uq_ind_indicators_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("ind_sets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    key: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text, default="")
    formula: Mapped[str] = mapped_column(String(500))
    direction: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[int] = mapped_column(Integer)
    period_end: Mapped[int] = mapped_column(Integer)
    base_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    base_value: Mapped[str | None] = mapped_column(String(40), nullable=True)
    target_value: Mapped[str | None] = mapped_column(String(40), nullable=True)
    target_change_percent: Mapped[str | None] = mapped_column(String(40), nullable=True)
    target_strict: Mapped[bool] = mapped_column(Boolean, default=False)
    binding: Mapped[str | None] = mapped_column(String(16), nullable=True)
    divisions: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class Statistic(Base):
    """One version of one statistical input (GDP, population …) of a division and year.

    The value in force has ``superseded_at`` NULL; a correction adds version n+1 and stamps
    the old row, which stays (history).  ``demo`` marks the demo city's invented figures.
    """

    __tablename__ = "ind_statistics"
    __table_args__ = (
        UniqueConstraint("division_code", "year", "input", "version", name="uq_ind_statistics_v"),
        Index("ix_ind_statistics_current", "input", "superseded_at", "division_code", "year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    year: Mapped[int] = mapped_column(Integer)
    input: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(Text, default="")
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(64))
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    superseded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
