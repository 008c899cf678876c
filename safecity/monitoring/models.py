"""Tables of the monitoring capability: sensors, readings and aggregates, rules, alarms, dead letters.

Reading times are stored as epoch milliseconds (BIGINT): one integer compares, sorts, buckets
(ts - ts % 60000) and COPYs the same way on SQLite and PostgreSQL, and numpy works on it as is.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from safecity.core.db import Base


class Sensor(Base):
    __tablename__ = "sensors"
    __table_args__ = (
        Index("ix_sensors_div_type", "division_code", "sensor_type"),
        Index("ix_sensors_lon_lat", "lon", "lat"),  # what lies within r metres of a place
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    sensor_type: Mapped[str] = mapped_column(String(32), index=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    grid_cell_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    enterprise_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    facility: Mapped[str] = mapped_column(String(200), default="")
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    install_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    token_hash: Mapped[str] = mapped_column(String(64), default="", index=True)
    rule_override: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    route: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Reading(Base):
    """Raw readings; the primary key makes a repeated delivery a no-op."""

    __tablename__ = "readings"

    sensor_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    value: Mapped[float] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)


# New raw rows waiting to be folded into the aggregates and latest values (PostgreSQL, see
# safecity/monitoring/store.py): written in the same transaction as the readings, emptied by the
# roll-up in the same transaction as the aggregates, so every row is counted exactly once.
# No key and no index: it is only ever appended to and emptied.
readings_inbox = Table(
    "readings_inbox",
    Base.metadata,
    Column("sensor_id", Integer, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
)


class ReadingMinute(Base):
    __tablename__ = "readings_1m"

    sensor_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)
    vmin: Mapped[float] = mapped_column(Float)
    vmax: Mapped[float] = mapped_column(Float)
    vsum: Mapped[float] = mapped_column(Float)


class ReadingHour(Base):
    __tablename__ = "readings_1h"

    sensor_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)
    vmin: Mapped[float] = mapped_column(Float)
    vmax: Mapped[float] = mapped_column(Float)
    vsum: Mapped[float] = mapped_column(Float)


class SensorLatest(Base):
    """The newest reading of each sensor (kept apart so the wide sensors row is not rewritten)."""

    __tablename__ = "sensor_latest"

    sensor_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)


class RuleVersion(Base):
    """Each save of the alarm rules is a new version; the highest is in force."""

    __tablename__ = "monitoring_rule_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    definition: Mapped[dict] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Alarm(Base):
    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_status_updated", "status", "updated_at"),
        # alarms per division code and year by seeks (figures.alarms_by_year, the plan
        # indicators; created by migration indicators_0003)
        Index("ix_alarms_division_raised", "division_code", "raised_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "<sensor id>:<rule>" or "cell<grid id>:<rule>" while open, NULL once closed: the unique
    # index makes "one open alarm per sensor and rule" a database fact, not a hope.
    open_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    sensor_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    grid_cell_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enterprise_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    rule: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(8))
    peak_level: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="active")
    condition_active: Mapped[bool] = mapped_column(Boolean, default=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    message_en: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    first_ts: Mapped[int] = mapped_column(BigInteger)
    last_ts: Mapped[int] = mapped_column(BigInteger)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hidden_danger_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


class AlarmAction(Base):
    """Who did what to an alarm, when, with what note (and the engine's own escalations)."""

    __tablename__ = "alarm_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    level: Mapped[str | None] = mapped_column(String(8), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class DeadLetter(Base):
    """Rejected telemetry, kept with the reason so operators can query and fix devices."""

    __tablename__ = "telemetry_dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    source: Mapped[str] = mapped_column(String(8))
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(String(24), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[str] = mapped_column(Text, default="")
