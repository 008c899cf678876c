"""Tables of supervision and enforcement: classes, yearly plans, the inspector pool, 双随机 draws,
inspections with findings, penalty cases and their generated documents."""

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


class SupervisionClass(Base):
    """An enterprise's supervision class (分级分类): what the rules said, and any override."""

    __tablename__ = "enf_supervision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, unique=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    industry_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    computed_class: Mapped[str] = mapped_column(String(8))
    class_key: Mapped[str] = mapped_column(String(8), index=True)
    inspections_per_year: Mapped[int] = mapped_column(Integer)
    facts: Mapped[dict] = mapped_column(JSON)
    explanation_zh: Mapped[str] = mapped_column(Text, default="")
    explanation_en: Mapped[str] = mapped_column(Text, default="")
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    overridden_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Plan(Base):
    """A division's yearly inspection plan (年度监督检查计划)."""

    __tablename__ = "enf_plans"
    __table_args__ = (UniqueConstraint("division_code", "year", name="uq_enf_plans_div_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | approved
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PlanRow(Base):
    """One row of a plan: item, legal basis, key units or random share, how and how often."""

    __tablename__ = "enf_plan_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("enf_plans.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(String(300), default="")
    scope_kind: Mapped[str] = mapped_column(String(16))  # key_units | random
    random_share: Mapped[str] = mapped_column(String(16), default="1/20")  # exact fraction
    industry_section: Mapped[str | None] = mapped_column(String(1), nullable=True)
    content: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str] = mapped_column(String(100), default="")
    frequency: Mapped[int] = mapped_column(Integer, default=1)  # times a year
    per_enterprise_cap: Mapped[int] = mapped_column(Integer, default=2)
    timing: Mapped[str] = mapped_column(String(100), default="")
    office: Mapped[str] = mapped_column(String(100), default="")
    planned_count: Mapped[int] = mapped_column(Integer, default=0)


class Inspector(Base):
    """A law-enforcement officer in the inspector pool (执法人员库)."""

    __tablename__ = "enf_inspectors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    name: Mapped[str] = mapped_column(String(64))
    office: Mapped[str] = mapped_column(String(100), default="")
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    duty: Mapped[str] = mapped_column(String(16), default="inspector")  # cases.ROLES
    certificate_no: Mapped[str] = mapped_column(String(32))
    certificate_expires: Mapped[date] = mapped_column(Date)
    related_enterprise_ids: Mapped[list] = mapped_column(JSON, default=list)
    former_employer_ids: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Draw(Base):
    """One 双随机 draw: the commitment first, then the result with the revealed seed."""

    __tablename__ = "enf_draws"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    title: Mapped[str] = mapped_column(String(200))
    plan_row_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    industry_section: Mapped[str | None] = mapped_column(String(1), nullable=True)
    draw_date: Mapped[date] = mapped_column(Date)
    share: Mapped[str] = mapped_column(String(16))
    per_target: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # committed | drawn
    commitment: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Kept secret until the draw has run; then published with the result.
    seed_hex: Mapped[str] = mapped_column(String(128))
    # The canonical pools as drawn (targets, inspectors, previous pairs): what --verify re-runs.
    pools: Mapped[dict] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    n_targets: Mapped[int] = mapped_column(Integer, default=0)
    n_selected: Mapped[int] = mapped_column(Integer, default=0)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    drawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Inspection(Base):
    """An on-site inspection (现场检查) of one enterprise by at least two inspectors."""

    __tablename__ = "enf_inspections"
    __table_args__ = (
        Index("ix_enf_inspections_div_status", "division_code", "status"),
        Index("ix_enf_inspections_enterprise", "enterprise_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    plan_row_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    division_code: Mapped[str] = mapped_column(String(12))
    industry_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    inspector_ids: Mapped[list] = mapped_column(JSON)
    checklist_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # planned | in_progress | done
    scheduled_on: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    results: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # item id → result, note
    summary: Mapped[str] = mapped_column(Text, default="")
    party_present: Mapped[str] = mapped_column(String(64), default="")
    signatures: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Finding(Base):
    """A problem found on site: it opens a hidden danger or starts a case."""

    __tablename__ = "enf_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("enf_inspections.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # hidden_danger | violation
    description: Mapped[str] = mapped_column(Text)
    violation: Mapped[str | None] = mapped_column(String(32), nullable=True)
    circumstance: Mapped[str | None] = mapped_column(String(16), nullable=True)
    photos: Mapped[list | None] = mapped_column(JSON, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    hidden_danger_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Case(Base):
    """An administrative penalty case (行政处罚案件) and where it stands."""

    __tablename__ = "enf_cases"
    __table_args__ = (
        Index("ix_enf_cases_div_state", "division_code", "state"),
        Index("ix_enf_cases_enterprise", "enterprise_id"),
        Index("ix_enf_cases_opened", "opened_at"),
        Index("ix_enf_cases_state_deadline", "state", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), default="")
    title: Mapped[str] = mapped_column(String(200))
    # lower(number + " " + title), kept by the service: what the list's text search matches
    search_text: Mapped[str] = mapped_column(String(300), default="", server_default="")
    enterprise_id: Mapped[int] = mapped_column(Integer)
    division_code: Mapped[str] = mapped_column(String(12))
    industry_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    inspection_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    finding_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    violation: Mapped[str] = mapped_column(String(32))
    circumstance: Mapped[str] = mapped_column(String(16))
    facts: Mapped[str] = mapped_column(Text, default="")
    party_kind: Mapped[str] = mapped_column(String(16), default="organisation")
    state: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    filed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    proposed_fine: Mapped[int | None] = mapped_column(Integer, nullable=True)
    proposed_measures: Mapped[list | None] = mapped_column(JSON, nullable=True)
    fine_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fine_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    discretion_note: Mapped[str] = mapped_column(Text, default="")
    decided_fine: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    extensions: Mapped[list] = mapped_column(JSON, default=list)
    history: Mapped[list] = mapped_column(JSON, default=list)
    inspector_username: Mapped[str] = mapped_column(String(64), default="")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Document(Base):
    """A generated document (文书), its content fixed when issued; DOCX and PDF render from it."""

    __tablename__ = "enf_documents"
    __table_args__ = (Index("ix_enf_documents_numbering", "division_code", "kind", "issued_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    inspection_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, index=True)
    division_code: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64), default="")
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict] = mapped_column(JSON)  # {"title", "number", "blocks": [[label, text]]}
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


__all__ = [
    "Case",
    "Document",
    "Draw",
    "Finding",
    "Inspection",
    "Inspector",
    "Plan",
    "PlanRow",
    "SupervisionClass",
]
