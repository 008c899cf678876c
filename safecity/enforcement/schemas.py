"""Typed request and response bodies of the enforcement API (so /api/v1/openapi.json describes
every body). Input is checked again by the service, which gives field messages in zh + en."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from safecity.core.validation import SafeInput


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ---------------------------------------------------------------- classes


class ClassifyIn(SafeInput):
    division_code: str | None = Field(default=None, max_length=12)


class ClassifyOut(BaseModel):
    counts: dict[str, int]


class OverrideIn(SafeInput):
    to_class: str = Field(max_length=8)
    reason: str = Field(default="", max_length=1000)


class ClassOut(Out):
    enterprise_id: int
    division_code: str
    computed_class: str
    class_key: str
    inspections_per_year: int
    facts: dict[str, Any]
    explanation_zh: str
    explanation_en: str
    override_reason: str | None
    overridden_by: str | None


class ClassPage(BaseModel):
    items: list[ClassOut]
    total: int
    counts: dict[str, int]


# ---------------------------------------------------------------- plans


class PlanRowIn(SafeInput):
    item: str = Field(max_length=200)
    legal_basis: str = Field(default="", max_length=300)
    scope_kind: str = Field(default="random", description="key_units | random")
    random_share: str = Field(default="1/20", description="fraction or percentage, ≥ 5 %")
    industry_section: str | None = Field(default=None, max_length=1)
    content: str = Field(default="", max_length=2000)
    method: str = Field(default="", max_length=100)
    frequency: int = 1
    per_enterprise_cap: int = 2
    timing: str = Field(default="", max_length=100)
    office: str = Field(default="", max_length=100)
    planned_count: int = 0


class PlanIn(SafeInput):
    division_code: str | None = Field(default=None, max_length=12)
    year: int
    title: str = Field(default="", max_length=200)
    rows: list[PlanRowIn]


class PlanRowOut(Out):
    id: int
    seq: int
    item: str
    legal_basis: str
    scope_kind: str
    random_share: str
    industry_section: str | None
    content: str
    method: str
    frequency: int
    per_enterprise_cap: int
    timing: str
    office: str
    planned_count: int


class ProgressOut(BaseModel):
    row_id: int
    seq: int
    item: str
    planned: int
    drawn: int
    done: int
    in_progress: int
    percent: float


class PlanOut(Out):
    id: int
    division_code: str
    year: int
    title: str
    status: str
    created_by: str
    approved_by: str | None
    approved_at: datetime | None
    rows: list[PlanRowOut] = []
    progress: list[ProgressOut] = []


# ---------------------------------------------------------------- inspector pool


class InspectorIn(SafeInput):
    name: str = Field(max_length=64)
    username: str | None = Field(default=None, max_length=64)
    office: str = Field(default="", max_length=100)
    division_code: str | None = Field(default=None, max_length=12)
    duty: str = Field(default="inspector", description="inspector | legal_reviewer | office_head")
    certificate_no: str = Field(max_length=32)
    certificate_expires: date
    related_enterprise_ids: list[int] = []
    former_employer_ids: list[int] = []
    active: bool = True


class InspectorOut(Out):
    id: int
    name: str
    username: str | None
    office: str
    division_code: str
    duty: str
    certificate_no: str
    certificate_expires: date
    related_enterprise_ids: list[int]
    former_employer_ids: list[int]
    active: bool


# ---------------------------------------------------------------- draws


class DrawIn(SafeInput):
    division_code: str | None = Field(default=None, max_length=12)
    title: str = Field(default="", max_length=200)
    share: str | None = Field(default=None, description="e.g. 1/20 or 5%; the plan row's if empty")
    per_target: int = 2
    plan_row_id: int | None = None
    industry_section: str | None = Field(default=None, max_length=1)
    draw_date: date | None = None


class DrawOut(Out):
    id: int
    division_code: str
    title: str
    status: str
    plan_row_id: int | None
    industry_section: str | None
    draw_date: date
    share: str
    per_target: int
    commitment: str
    fingerprint: str
    n_targets: int
    n_selected: int
    published: bool
    committed_at: datetime
    drawn_at: datetime | None
    seed: str | None = Field(default=None, description="revealed once the draw has run")
    key_targets: list[str] = []
    random_targets: list[str] = []
    assignments: dict[str, list[str]] = {}


class CheckOut(BaseModel):
    name: str
    ok: bool
    zh: str
    en: str


class VerifyOut(BaseModel):
    draw_id: int
    ok: bool
    checks: list[CheckOut]


class PoolsOut(BaseModel):
    """The pools exactly as they were fixed before the seed was known (what the draw ran on)."""

    targets: list[tuple[str, str, str, str, bool]] = Field(
        description="[enterprise id, division code, GB/T 4754 section, supervision class, "
        "key unit] — key units (class A) are inspected in full"
    )
    inspectors: list[tuple[str, str, str, list[str], list[str]]] = Field(
        description="[inspector id, office, certificate expiry (ISO date), related enterprise "
        "ids, former employer ids] — an inspector never goes to a related or former employer"
    )
    previous: dict[str, list[str]] = Field(
        description="enterprise id → inspector ids of its previous inspection (not sent again)"
    )


class DrawPoolsOut(BaseModel):
    """A published draw with its pools, so anyone can re-run it (pools.json)."""

    draw: DrawOut
    pools: PoolsOut


class PublicAssignment(BaseModel):
    enterprise: str
    division_code: str
    key_unit: bool
    inspectors: list[str]


class PublicDrawOut(BaseModel):
    id: int
    title: str
    division_code: str
    draw_date: date
    share: str
    per_target: int
    commitment: str
    fingerprint: str
    seed: str
    n_targets: int
    n_selected: int
    assignments: list[PublicAssignment]


# ---------------------------------------------------------------- inspections


class InspectionIn(SafeInput):
    enterprise_id: int
    inspector_ids: list[int]
    scheduled_on: date | None = None
    checklist_id: int | None = None
    plan_row_id: int | None = None
    summary: str = Field(default="", max_length=2000)


class ResultIn(SafeInput):
    result: str = Field(description="passed | failed | na")
    note: str = Field(default="", max_length=500)


class ResultsIn(SafeInput):
    checklist_id: int | None = None
    results: dict[str, ResultIn] = {}
    lon: float | None = None
    lat: float | None = None


class FinishIn(SafeInput):
    party_present: str = Field(max_length=64)
    summary: str = Field(default="", max_length=2000)
    rectify_days: int = 30
    signatures: dict[str, str] | None = Field(
        default=None,
        description="hand-drawn signatures as PNG data URLs (data:image/png;base64,…, at most "
        "200 KB each, not blank): one per inspector of the team keyed by pool id, and 'party' "
        "for the enterprise's representative; all or none (none: a record signed on paper)",
    )


class FindingOut(Out):
    id: int
    inspection_id: int
    item_id: int | None
    kind: str
    description: str
    violation: str | None
    circumstance: str | None
    photos: list[str] | None
    lon: float | None
    lat: float | None
    hidden_danger_id: int | None
    case_id: int | None
    created_by: str
    created_at: datetime


class DocumentOut(Out):
    id: int
    kind: str
    number: str
    title: str
    case_id: int | None
    inspection_id: int | None
    issued_by: str
    issued_at: datetime
    docx_url: str = ""


class InspectionOut(Out):
    id: int
    draw_id: int | None
    plan_row_id: int | None
    enterprise_id: int
    division_code: str
    inspector_ids: list[int]
    checklist_id: int | None
    status: str
    scheduled_on: date
    started_at: datetime | None
    finished_at: datetime | None
    results: dict[str, Any] | None
    summary: str
    party_present: str
    signatures: dict[str, Any] | None
    lon: float | None
    lat: float | None
    findings: list[FindingOut] = []
    documents: list[DocumentOut] = []


class InspectionPage(BaseModel):
    items: list[InspectionOut]
    total: int


# ---------------------------------------------------------------- cases


class CaseIn(SafeInput):
    enterprise_id: int
    violation: str = Field(max_length=32)
    circumstance: str = Field(max_length=16)
    facts: str = Field(max_length=4000)
    title: str = Field(default="", max_length=200)
    party_kind: str = "organisation"


class StepIn(SafeInput):
    step: str = Field(description="file, investigate, submit, return, notify, request_hearing, …")
    reason: str = Field(default="", max_length=1000)
    days: int | None = None
    fine: int | None = None
    measures: list[str] = []
    waived: bool = False


class CaseOut(Out):
    id: int
    number: str
    title: str
    enterprise_id: int
    division_code: str
    inspection_id: int | None
    finding_id: int | None
    violation: str
    circumstance: str
    facts: str
    party_kind: str
    state: str
    state_label: str = ""
    opened_at: datetime
    filed_at: datetime | None
    notified_at: datetime | None
    deadline_at: datetime | None
    overdue: bool = False
    fine_min: int | None
    fine_max: int | None
    proposed_fine: int | None
    proposed_measures: list[str] | None
    decided_fine: int | None
    decided_at: datetime | None
    discretion_note: str
    extensions: list[dict[str, Any]]
    history: list[dict[str, Any]]
    closed_at: datetime | None
    allowed_steps: list[str] = []
    documents: list[DocumentOut] = []


class CasePage(BaseModel):
    items: list[CaseOut]
    total: int
    page: int
    size: int


class StatsDivision(BaseModel):
    division_code: str
    name: str
    inspections: int
    done: int
    cases: int
    fines: int
    overdue: int


class StatsViolation(BaseModel):
    violation: str
    name: str
    cases: int
    fines: int


class StatsInspector(BaseModel):
    inspector_id: int
    name: str
    office: str
    inspections: int


class StatsOut(BaseModel):
    year: int
    divisions: list[StatsDivision]
    violations: list[StatsViolation]
    inspectors: list[StatsInspector]
