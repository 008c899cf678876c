"""Bodies of the hazards API: input validated with bilingual field messages, and answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from safecity.core.errors import Invalid
from safecity.core.schemas import IsoTime, Out
from safecity.core.validation import SafeInput, translate
from safecity.hazards.workflow import CATEGORIES, GRADES, SOURCES

LABELS = {
    "title": ("隐患名称", "title"),
    "description": ("隐患描述", "description"),
    "category": ("隐患类别", "category"),
    "source": ("发现方式", "source"),
    "enterprise_id": ("企业", "enterprise"),
    "grid_cell_id": ("网格", "grid cell"),
    "division_code": ("行政区划代码", "division code"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "address": ("地址", "address"),
    "reporter_name": ("上报人", "reporter"),
    "reporter_phone": ("联系电话", "phone"),
    "suggested_grade": ("建议等级", "suggested grade"),
    "risk_point_id": ("风险点", "risk point"),
}


class ReportIn(SafeInput):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)
    category: str | None = None
    source: str | None = None
    enterprise_id: int | None = None
    grid_cell_id: int | None = None
    risk_point_id: int | None = None
    division_code: str | None = Field(default=None, max_length=12)
    lon: float | None = Field(default=None, ge=73, le=136)
    lat: float | None = Field(default=None, ge=3, le=54)
    address: str = Field(default="", max_length=300)
    reporter_name: str = Field(default="", max_length=64)
    reporter_phone: str = Field(default="", max_length=32)
    suggested_grade: str | None = None

    @field_validator("category")
    @classmethod
    def _category(cls, v: str | None) -> str | None:
        if v and v not in CATEGORIES:
            raise ValueError("取值无效|unknown value")
        return v or None

    @field_validator("source")
    @classmethod
    def _source(cls, v: str | None) -> str | None:
        if v and v not in SOURCES:
            raise ValueError("取值无效|unknown value")
        return v or None

    @field_validator("suggested_grade")
    @classmethod
    def _grade(cls, v: str | None) -> str | None:
        if v and v not in GRADES:
            raise ValueError("取值应为 general 或 major|must be general or major")
        return v or None


def blank_to_none(data: dict[str, Any]) -> dict[str, Any]:
    """Empty form fields mean "not given" for optional numbers and codes; text stays text."""
    fields = ReportIn.model_fields
    return {
        k: (None if v == "" and k in fields and fields[k].default is None else v)
        for k, v in data.items()
    }


def validate_report(data: dict[str, Any]) -> dict[str, Any]:
    try:
        return ReportIn.model_validate(blank_to_none(data)).model_dump()
    except ValidationError as exc:
        raise Invalid(translate(exc.errors(), LABELS)) from None


# ---------------------------------------------------------------- answers


class NotificationOut(Out):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: IsoTime
    read: bool


class InboxOut(Out):
    unread: int
    items: list[NotificationOut]


class UnreadOut(Out):
    unread: int


class MarkReadIn(SafeInput):
    ids: list[int] | None = Field(None, description="messages to mark read; none: all of them")


class MarkedOut(Out):
    marked: int


class StepIn(BaseModel):
    """The fields a step of the closed loop reads (each step only its own; the rest are ignored):
    confirm — grade, grade_basis (required for major), category; reject, reject_plan,
    return — note (the reason); register — responsible_party, responsible_username, deadline,
    supervisor_division_code and supervisor_name (major); submit_plan — measures,
    responsible_person, interim_measures, funds, deadline; submit_acceptance — note (what was
    done; a major hidden danger needs attachments); approve_plan, accept — nothing."""

    grade: Literal["general", "major"] | None = None
    grade_basis: str | None = None
    category: str | None = None
    note: str | None = None
    responsible_party: str | None = None
    responsible_username: str | None = None
    deadline: str | None = Field(
        None, description="ISO date (the end of that day, Beijing time) or date-time"
    )
    supervisor_division_code: str | None = None
    supervisor_name: str | None = None
    measures: str | None = None
    responsible_person: str | None = None
    interim_measures: str | None = None
    funds: float | None = Field(None, ge=0, description="整改资金（万元）/ funds, 10⁴ yuan")


class HiddenDangerOut(Out):
    id: int
    title: str
    description: str
    category: str
    grade: str | None = Field(description="general | major, once assessed")
    source: str
    status: str
    status_label: str
    division_code: str
    enterprise_id: int | None
    grid_cell_id: int | None
    risk_point_id: int | None
    industry_code: str | None
    lon: float | None
    lat: float | None
    address: str
    photos: list[str] | None
    reported_at: IsoTime
    deadline: IsoTime | None
    responsible_party: str
    supervisor_division_code: str | None
    escalation_level: int
    closed_at: IsoTime | None
    updated_at: IsoTime
    overdue: bool


class HiddenDangerPage(Out):
    total: int
    page: int
    size: int
    items: list[HiddenDangerOut]


class EventOut(Out):
    action: str
    from_status: str | None
    to_status: str | None
    actor: str
    actor_role: str | None
    at: IsoTime
    note: str | None
    attachments: list[str]
    data: dict[str, Any] | None


class HiddenDangerDetail(HiddenDangerOut):
    timeline: list[EventOut]
    actions: list[str] = Field(description="steps the caller may take now")


class PublicReportOut(Out):
    id: int
    status: str
    message: str
    message_en: str
    tracking_token: str = Field(description="keep it: the only way to follow the report")
    tracking_url: str


class TrackStep(Out):
    key: str
    label: str
    done: bool
    at: str | None


class TrackOut(Out):
    id: int
    title: str
    reported_at: str | None
    stage: str
    stage_label: str
    note: str | None
    steps: list[TrackStep]


# ---------------------------------------------------------------- checklists, plans, tasks


class ChecklistItemOut(Out):
    id: int
    seq: int
    text: str
    clause: str | None
    category: str | None
    suggested_grade: str | None


class ChecklistOut(Out):
    id: int
    name: str
    industry_section: str | None
    place_kind: str | None
    division_code: str
    items: list[ChecklistItemOut]


class PlanOut(Out):
    id: int
    name: str
    checklist_id: int
    division_code: str
    industry_section: str | None
    frequency: str
    assignee_kind: str
    assignee_username: str | None
    risk_rule: dict[str, Any] | None
    start_date: str = Field(description="YYYY-MM-DD")
    active: bool


class PlanCreated(Out):
    id: int
    tasks_generated: int


class TaskOut(Out):
    id: int
    plan_id: int | None
    checklist_id: int
    enterprise_id: int | None
    division_code: str
    assignee_kind: str | None
    assignee_username: str | None
    period: str
    due_date: str = Field(description="YYYY-MM-DD")
    status: str
    completed_by: str | None


class TaskDetail(TaskOut):
    items: list[ChecklistItemOut]


class ItemResult(SafeInput):
    result: str = Field(description="passed | failed | na")
    note: str = ""


class TaskResultsIn(SafeInput):
    results: dict[str, ItemResult] = Field(description="checklist item id → its result")


class TaskCompleted(Out):
    task_id: int
    status: str
    hidden_dangers: list[int] = Field(description="hidden dangers the failed items opened")


# ---------------------------------------------------------------- statistics


class Tally(Out):
    total: int
    counted: int
    closed: int
    open: int
    overdue: int
    major: int
    supervised: int
    by_status: dict[str, int]
    rectification_rate: float | None
    on_time_rate: float | None
    avg_days_to_close: float | None


class GroupTally(Tally):
    key: str
    label: str


class StatsOut(Out):
    generated_at: IsoTime
    filters: dict[str, Any]
    totals: Tally
    by_division: list[GroupTally] = []
    by_industry: list[GroupTally] = []
    by_grade: list[GroupTally] = []
    by_month: list[GroupTally] = []
