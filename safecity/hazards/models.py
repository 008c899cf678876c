"""Tables of the hazards capability: hidden dangers, their timeline and escalations,
checklists, inspection plans and tasks. (The inbox moved to the notification service:
``safecity.core.models.Notification``, re-exported here for existing imports.)"""

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
from safecity.core.models import Notification  # noqa: F401 re-exported: the inbox table moved to core


class HiddenDanger(Base):
    """One hidden danger (隐患) and where it stands in the closed loop."""

    __tablename__ = "hd_hidden_dangers"
    __table_args__ = (
        Index("ix_hd_hidden_dangers_div_status", "division_code", "status"),
        Index("ix_hd_hidden_dangers_status_deadline", "status", "deadline"),
        Index("ix_hd_hidden_dangers_next_escalation", "next_escalation_at"),
        Index("ix_hd_hidden_dangers_reporter_ip", "reporter_ip", "reported_at"),
        Index("ix_hd_hidden_dangers_tracking_hash", "tracking_hash", unique=True),
        # open ones per division code and year by seeks (figures.yearly_figures, the plan
        # indicators; created by migrations indicators_0002 and 0003)
        Index("ix_ind_hidden_dangers_open", "status", "division_code", "month", "grade"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(24), default="other")
    grade: Mapped[str | None] = mapped_column(String(8), nullable=True)
    grade_basis: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    division_code: Mapped[str] = mapped_column(String(12))
    enterprise_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    grid_cell_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    risk_point_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    industry_section: Mapped[str | None] = mapped_column(String(1), nullable=True)
    industry_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    photos: Mapped[list | None] = mapped_column(JSON, nullable=True)
    reporter_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reporter_name: Mapped[str] = mapped_column(String(64), default="")
    reporter_phone: Mapped[str] = mapped_column(String(32), default="")
    reporter_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # SHA-256 of an anonymous reporter's tracking token (hazards/tracking.py); never the token.
    tracking_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    month: Mapped[str] = mapped_column(String(7))  # reported month, Beijing time (statistics)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rejected_reason: Mapped[str] = mapped_column(Text, default="")
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    responsible_party: Mapped[str] = mapped_column(String(200), default="")
    responsible_username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    responsible_person: Mapped[str] = mapped_column(String(64), default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    funds: Mapped[float | None] = mapped_column(Float, nullable=True)
    interim_measures: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    plan_approved_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    supervisor_division_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    supervisor_name: Mapped[str] = mapped_column(String(100), default="")
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    days_to_close: Mapped[float | None] = mapped_column(Float, nullable=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HiddenDangerEvent(Base):
    """One step of the timeline: a transition or a note, with who, when and attachments."""

    __tablename__ = "hd_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hidden_danger_id: Mapped[int] = mapped_column(
        ForeignKey("hd_hidden_dangers.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list | None] = mapped_column(JSON, nullable=True)
    data: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class Escalation(Base):
    """A deadline step done for one hidden danger and deadline; the unique key makes the job
    idempotent when two runs overlap."""

    __tablename__ = "hd_escalations"
    __table_args__ = (
        UniqueConstraint("hidden_danger_id", "step", "deadline", name="uq_hd_escalations_step"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hidden_danger_id: Mapped[int] = mapped_column(
        ForeignKey("hd_hidden_dangers.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    notified: Mapped[str] = mapped_column(Text, default="")


class Checklist(Base):
    """A checklist template for an industry and/or a kind of place."""

    __tablename__ = "hd_checklists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry_section: Mapped[str | None] = mapped_column(String(1), nullable=True)
    place_kind: Mapped[str] = mapped_column(String(32), default="")
    division_code: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChecklistItem(Base):
    __tablename__ = "hd_checklist_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checklist_id: Mapped[int] = mapped_column(
        ForeignKey("hd_checklists.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    clause: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(24), default="other")
    suggested_grade: Mapped[str] = mapped_column(String(8), default="general")


class InspectionPlan(Base):
    """A recurring inspection: which checklist, whom it targets and who does it."""

    __tablename__ = "hd_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    checklist_id: Mapped[int] = mapped_column(ForeignKey("hd_checklists.id"), index=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    industry_section: Mapped[str | None] = mapped_column(String(1), nullable=True)
    frequency: Mapped[str] = mapped_column(String(16))
    assignee_kind: Mapped[str] = mapped_column(String(16))  # enterprise | grid_member | inspector
    assignee_username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    risk_rule: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    start_date: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InspectionTask(Base):
    __tablename__ = "hd_tasks"
    __table_args__ = (
        UniqueConstraint("plan_id", "enterprise_id", "period", name="uq_hd_tasks_period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("hd_plans.id", ondelete="CASCADE"), index=True)
    checklist_id: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(Integer, index=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    assignee_kind: Mapped[str] = mapped_column(String(16))
    assignee_username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    period: Mapped[str] = mapped_column(String(16))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class TaskResult(Base):
    __tablename__ = "hd_task_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("hd_tasks.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(8))  # passed | failed | na
    note: Mapped[str] = mapped_column(Text, default="")
    hidden_danger_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class FinalCount(Base):
    """Counts of closed and rejected hidden dangers per (division, industry, grade, month,
    status). Those never change again, so the dashboard reads them from here (a few thousand
    rows) and aggregates only the open ones live; `final_counts.rebuild_final` recomputes it."""

    __tablename__ = "hd_final_counts"
    __table_args__ = (
        UniqueConstraint(
            "division_code",
            "industry_section",
            "grade",
            "month",
            "status",
            name="uq_hd_final_counts_key",
        ),
        # closed ones per division code and year by seeks (figures.yearly_figures, the plan
        # indicators; created by migration indicators_0003)
        Index(
            "ix_hd_final_counts_figures", "status", "division_code", "month", "grade", "n", "late"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    division_code: Mapped[str] = mapped_column(String(12))
    industry_section: Mapped[str] = mapped_column(String(1), default="")  # '' = none
    grade: Mapped[str] = mapped_column(String(8), default="")
    month: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16))
    n: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    days: Mapped[float] = mapped_column(Float, default=0.0)
    supervised: Mapped[int] = mapped_column(Integer, default=0)
