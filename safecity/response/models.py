"""Tables of emergency command: incidents with their grade history, upward reports and
timeline, plans, tasks, dispatches, the duty roster and handovers, the city's grading table."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from safecity.core.db import Base


class Incident(Base):
    """One incident (突发事件) from reception to closing; counts are the latest known."""

    __tablename__ = "rs_incidents"
    __table_args__ = (
        Index("ix_rs_incidents_div_status", "division_code", "status"),
        # the list's order: most severe first, then newest
        Index("ix_rs_incidents_rank_received", "grade_rank", "received_at"),
        Index("ix_rs_incidents_occurred", "occurred_at"),
        # open incidents (the map layer, the duty room's list) without reading the closed ones
        Index("ix_rs_incidents_status_rank", "status", "grade_rank", "received_at"),
        # the yearly accident groups (figures.accident_groups, the plan indicators; created by
        # migration indicators_0002): PostgreSQL hashes a year's range of it index-only. SQLite
        # reads the groups in the order of an expression index (division code, Beijing year …)
        # that migration indicators_0003 creates on SQLite only and no model declares (neither
        # SQLite's reflection nor the other dialects could compare it)
        Index(
            "ix_ind_incidents_year",
            "occurred_at", "division_code", "type_key", "class_key", "production_safety",
            "is_drill", "status", "deaths", "direct_loss_yuan", "response_ended_at",
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type_key: Mapped[str] = mapped_column(String(64))
    class_key: Mapped[str] = mapped_column(String(32))
    production_safety: Mapped[bool] = mapped_column(Boolean, default=False)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16))  # phone | alarm | report | cap | agency
    source_ref: Mapped[str] = mapped_column(String(200), default="")
    alarm_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    sensor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    merged_into_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_by: Mapped[str] = mapped_column(String(64))
    received_level: Mapped[str] = mapped_column(String(16), default="county")
    reporter_name: Mapped[str] = mapped_column(String(100), default="")
    reporter_phone: Mapped[str] = mapped_column(String(32), default="")
    reporter_org: Mapped[str] = mapped_column(String(200), default="")
    division_code: Mapped[str] = mapped_column(String(12))
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    enterprise_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    industry_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    deaths: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    serious_injuries: Mapped[int] = mapped_column(Integer, default=0)
    trapped: Mapped[int] = mapped_column(Integer, default=0)
    affected_population: Mapped[int] = mapped_column(Integer, default=0)
    relocated: Mapped[int] = mapped_column(Integer, default=0)
    direct_loss_yuan: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    quantities: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # city-table extras
    grade: Mapped[str | None] = mapped_column(String(24), nullable=True)
    grade_rank: Mapped[int] = mapped_column(Integer, default=0)
    grade_explanation: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    grade_confirmed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    plan_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_level: Mapped[str | None] = mapped_column(String(4), nullable=True)
    response_started_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    response_ended_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    review: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list | None] = mapped_column(JSON, nullable=True)
    warning_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GradeChange(Base):
    """Every grade the incident held: the first, each regrade on a 续报, with its explanation."""

    __tablename__ = "rs_grade_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("rs_incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16))  # reception | confirm | followup
    previous: Mapped[str | None] = mapped_column(String(24), nullable=True)
    grade: Mapped[str] = mapped_column(String(24))
    counts: Mapped[dict] = mapped_column(JSON)
    explanation: Mapped[dict] = mapped_column(JSON)


class UpwardReport(Base):
    """A report sent up the hierarchy (首报 / 续报 / 终报) and the level that received it."""

    __tablename__ = "rs_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("rs_incidents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # first | followup | final
    level: Mapped[str] = mapped_column(String(16))  # county | city | province | national
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")


class TimelineEntry(Base):
    """One line of the incident's log: reception, report, grade, plan step, task, dispatch…"""

    __tablename__ = "rs_timeline"
    __table_args__ = (Index("ix_rs_timeline_incident_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("rs_incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class Plan(Base):
    """A digital emergency plan (预案) with trigger rules, command structure and tasks."""

    __tablename__ = "rs_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(16))  # comprehensive | special | onsite
    owner_kind: Mapped[str] = mapped_column(String(16))  # department | enterprise
    owner_name: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    types: Mapped[list] = mapped_column(JSON)  # GB/T 35561 keys it applies to (and below)
    triggers: Mapped[dict] = mapped_column(JSON)  # levels.TriggerRules as data
    groups: Mapped[list] = mapped_column(JSON)  # [{key, name, department, contact, members}]
    tasks: Mapped[list] = mapped_column(JSON)  # [{group, levels, title, due_minutes}]
    version: Mapped[int] = mapped_column(Integer, default=1)
    # the version this one revises: editing an approved plan writes a new row (draft) and the
    # old one stays in force, readable, until the new one is approved (then it is retired)
    previous_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16))  # draft | approved | filed | retired
    effective_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    filed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_review_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_drill_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attachment: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Task(Base):
    """A task of a started response for one working group: assigned → received → done."""

    __tablename__ = "rs_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("rs_incidents.id", ondelete="CASCADE"), index=True
    )
    group_key: Mapped[str] = mapped_column(String(40))
    group_name: Mapped[str] = mapped_column(String(100))
    members: Mapped[list] = mapped_column(JSON)  # usernames who may sign for the group
    title: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16))  # assigned | received | in_progress | done
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    received_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    progress: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Dispatch(Base):
    """Forces or supplies sent to an incident: requested → dispatched → en route → on scene →
    returned."""

    __tablename__ = "rs_dispatches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("rs_incidents.id", ondelete="CASCADE"), index=True
    )
    resource_kind: Mapped[str] = mapped_column(String(16))  # team | equipment | supply
    resource_ref: Mapped[str] = mapped_column(String(64), default="")
    resource_name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16))
    eta_minutes: Mapped[float | None] = mapped_column(Float, nullable=True)
    distance_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    tracker_sensor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    history: Mapped[list] = mapped_column(JSON)  # [{status, at, actor}]


class DutyShift(Base):
    """One shift of the duty roster (排班) of a division's duty room."""

    __tablename__ = "rs_duty_shifts"
    __table_args__ = (Index("ix_rs_duty_shifts_div_start", "division_code", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    division_code: Mapped[str] = mapped_column(String(12))
    day: Mapped[date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(8))  # day | night
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    leader: Mapped[str] = mapped_column(String(64), default="")  # 带班领导
    officer_username: Mapped[str] = mapped_column(String(64))
    officer_name: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Handover(Base):
    """A handover (交接班) between two duty officers, with what was open at the time."""

    __tablename__ = "rs_handovers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    from_username: Mapped[str] = mapped_column(String(64))
    to_username: Mapped[str] = mapped_column(String(64))
    notes: Mapped[str] = mapped_column(Text, default="")
    open_incidents: Mapped[list] = mapped_column(JSON)


class GradingTableRow(Base):
    """The city's grading table for incidents other than production-safety accidents."""

    __tablename__ = "rs_grading_table"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[dict] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
