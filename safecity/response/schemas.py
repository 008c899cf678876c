"""Typed request and response bodies of the emergency-command API (and the form check)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from safecity.core.errors import Invalid
from safecity.core.validation import SafeInput, translate
from safecity.response import classes
from safecity.response.workflow import SOURCES

LABELS: dict[str, tuple[str, str]] = {
    "title": ("事件名称", "title"),
    "description": ("事件描述", "description"),
    "type_key": ("事件类型", "incident type"),
    "production_safety": ("生产安全事故", "production-safety accident"),
    "source": ("接报来源", "source"),
    "source_ref": ("来源编号", "source reference"),
    "occurred_at": ("发生时间", "time of occurrence"),
    "reporter_name": ("报告人", "reporter"),
    "reporter_phone": ("联系电话", "phone"),
    "reporter_org": ("报告单位", "reporting organisation"),
    "division_code": ("行政区划代码", "division code"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "address": ("地址", "address"),
    "enterprise_id": ("涉事企业", "enterprise"),
    "alarm_id": ("报警编号", "alarm"),
    "deaths": ("死亡人数", "deaths"),
    "missing": ("失踪人数", "missing"),
    "serious_injuries": ("重伤人数（含急性工业中毒）", "serious injuries"),
    "trapped": ("被困人数", "trapped"),
    "affected_population": ("受影响人口", "affected population"),
    "relocated": ("转移安置人数", "people relocated"),
    "direct_loss_yuan": ("直接经济损失（元）", "direct economic loss (yuan)"),
    "is_drill": ("演练", "drill"),
    "note": ("说明", "note"),
    "level": ("响应级别", "response level"),
    "plan_id": ("预案", "plan"),
    "summary": ("总结", "summary"),
    "review": ("总结评估", "after-action review"),
    "kind": ("类别", "kind"),
    "resource_name": ("力量名称", "resource"),
    "name": ("名称", "name"),
}

COUNT = Field(default=0, ge=0, le=10_000_000)


class CountsIn(SafeInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    deaths: int = COUNT
    missing: int = COUNT
    serious_injuries: int = COUNT
    trapped: int = COUNT
    affected_population: int = COUNT
    relocated: int = COUNT
    direct_loss_yuan: Decimal = Field(default=Decimal(0), ge=0, le=Decimal("1e15"))
    quantities: dict[str, int] | None = None


class IncidentIn(CountsIn):
    """A new incident as the duty officer receives it (接报)."""

    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=8000)
    type_key: str
    production_safety: bool = False
    is_drill: bool = False
    source: str = "phone"
    source_ref: str = Field(default="", max_length=200)
    alarm_id: int | None = None
    occurred_at: datetime
    reporter_name: str = Field(default="", max_length=100)
    reporter_phone: str = Field(default="", max_length=32)
    reporter_org: str = Field(default="", max_length=200)
    division_code: str | None = Field(default=None, max_length=12)
    lon: float | None = Field(default=None, ge=73, le=136)
    lat: float | None = Field(default=None, ge=3, le=54)
    address: str = Field(default="", max_length=300)
    enterprise_id: int | None = None

    @field_validator("type_key")
    @classmethod
    def _type(cls, v: str) -> str:
        if classes.get(v) is None:
            raise ValueError(
                "未知的突发事件类型（GB/T 35561-2017）|unknown incident type (GB/T 35561-2017)"
            )
        return v

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        if v not in SOURCES:
            raise ValueError(f"取值应为：{', '.join(SOURCES)}|must be one of {', '.join(SOURCES)}")
        return v

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("时间须带时区|time must carry its time zone")
        return v


class FollowupIn(CountsIn):
    """A follow-up report (续报): the counts as now known, and what changed."""

    note: str = Field(default="", max_length=4000)


class GradeIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000)


class ReportUpIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["first", "followup", "final"]
    level: Literal["county", "city", "province", "national"]
    at: datetime | None = None
    note: str = Field(default="", max_length=2000)


class MergeIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    into_id: int
    note: str = Field(default="", max_length=2000)


class StartResponseIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    plan_id: int
    level: Literal["I", "II", "III", "IV"]
    note: str = Field(default="", max_length=2000)


class LevelIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    level: Literal["I", "II", "III", "IV"]
    note: str = Field(default="", max_length=2000)


class NoteIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=4000)


class CloseIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    summary: str = Field(min_length=2, max_length=8000)
    review: str = Field(default="", max_length=8000)


class TaskProgressIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=4000)
    done: bool = False


class DispatchIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    resource_kind: Literal["team", "equipment", "supply"] = "team"
    resource_ref: str = Field(default="", max_length=64)
    resource_name: str = Field(min_length=1, max_length=200)
    quantity: float | None = Field(default=None, gt=0, le=1e9)
    unit: str = Field(default="", max_length=16)
    eta_minutes: float | None = Field(default=None, ge=0, le=10_000)
    distance_m: float | None = Field(default=None, ge=0, le=1e7)
    tracker_device_id: str = Field(
        default="",
        max_length=64,
        description="the force's tracker terminal (a monitoring device id), when the resources "
        "register does not name one; its last position is shown on the command map",
    )


class DispatchStatusIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    status: Literal["dispatched", "en_route", "on_scene", "returned"]


class PlanGroup(SafeInput):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=100)
    department: str = Field(default="", max_length=100)
    contact: str = Field(default="", max_length=100)
    members: list[str] = Field(default_factory=list, max_length=50)


class PlanTask(SafeInput):
    model_config = ConfigDict(extra="forbid")
    group: str = Field(min_length=1, max_length=40)
    levels: list[Literal["I", "II", "III", "IV"]] = Field(min_length=1)
    title: str = Field(min_length=2, max_length=300)
    due_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30)


class PlanIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=200)
    tier: Literal["comprehensive", "special", "onsite"]
    owner_kind: Literal["department", "enterprise"] = "department"
    owner_name: str = Field(min_length=1, max_length=200)
    enterprise_id: int | None = None
    division_code: str = Field(min_length=6, max_length=12)
    types: list[str] = Field(min_length=1, max_length=50)
    triggers: dict[str, Any]
    groups: list[PlanGroup] = Field(default_factory=list, max_length=50)
    tasks: list[PlanTask] = Field(default_factory=list, max_length=500)
    effective_at: datetime | None = None
    last_drill_at: datetime | None = None
    last_review_at: datetime | None = None

    @field_validator("types")
    @classmethod
    def _types(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if classes.get(t) is None]
        if bad:
            raise ValueError(
                f"未知的突发事件类型：{', '.join(bad)}|unknown incident types: {', '.join(bad)}"
            )
        return v


class ShiftIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    division_code: str = Field(min_length=6, max_length=12)
    starts_at: datetime
    ends_at: datetime
    shift: Literal["day", "night"] = "day"
    leader: str = Field(default="", max_length=64)
    officer_username: str = Field(min_length=1, max_length=64)
    phone: str = Field(default="", max_length=32)


class HandoverIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    to_username: str = Field(min_length=1, max_length=64)
    notes: str = Field(default="", max_length=8000)


# ---------------------------------------------------------------- responses


class Explained(BaseModel):
    """A rule's outcome with its explanation in both languages."""

    model_config = ConfigDict(extra="allow")
    explanation_zh: str = ""
    explanation_en: str = ""


class GradeOut(BaseModel):
    key: str
    zh: str
    en: str
    rank: int


class IncidentOut(BaseModel):
    id: int
    title: str
    description: str
    type_key: str
    type_zh: str
    type_en: str
    class_key: str
    production_safety: bool
    is_drill: bool
    source: str
    source_ref: str
    alarm_id: int | None
    sensor_id: int | None
    status: str
    status_zh: str
    merged_into_id: int | None
    occurred_at: datetime
    received_at: datetime
    received_by: str
    reporter_name: str
    reporter_phone: str
    reporter_org: str
    division_code: str
    lon: float | None
    lat: float | None
    address: str
    enterprise_id: int | None
    deaths: int
    missing: int
    serious_injuries: int
    trapped: int
    affected_population: int
    relocated: int
    direct_loss_yuan: str
    grade: GradeOut | None
    grade_explanation: dict[str, Any] | None
    plan_id: int | None
    response_level: str | None
    response_started_at: datetime | None
    response_ended_at: datetime | None
    closed_at: datetime | None
    summary: str
    review: str
    overdue_reports: int = 0


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int
    page: int
    size: int


class DuplicateOut(Explained):
    existing_id: int
    distance_m: float
    minutes: float
    same_type: bool
    score: float


class ReceiveOut(BaseModel):
    incident: IncidentOut
    duplicates: list[DuplicateOut]


class RegradeOut(BaseModel):
    incident: IncidentOut
    changed: bool
    direction: str
    explanation_zh: str
    explanation_en: str


class GradeHistoryOut(BaseModel):
    at: datetime
    actor: str
    reason: str
    previous: str | None
    grade: str
    counts: dict[str, Any]
    explanation_zh: str
    explanation_en: str


class TimelineOut(BaseModel):
    at: datetime
    action: str
    action_zh: str
    actor: str
    actor_role: str
    note: str
    data: dict[str, Any] | None


class ClockOut(Explained):
    step: str
    to_level: str
    deadline: str | None
    reported_at: str | None
    status: str
    status_zh: str


class FollowupClockOut(Explained):
    change_at: str | None
    deadline: str | None
    reported_at: str | None
    status: str
    status_zh: str


class ClocksOut(BaseModel):
    applicable: bool
    note_zh: str
    note_en: str
    steps: list[ClockOut]
    followups: list[FollowupClockOut]
    overdue: int
    due_soon: list[str]


class TaskOut(BaseModel):
    id: int
    group_key: str
    group_name: str
    title: str
    level: str
    status: str
    status_zh: str
    deadline: datetime | None
    received_at: datetime | None
    received_by: str | None
    progress: str
    done_at: datetime | None
    overdue: bool


class DispatchOut(BaseModel):
    id: int
    resource_kind: str
    resource_ref: str
    resource_name: str
    quantity: float | None
    unit: str
    status: str
    status_zh: str
    eta_minutes: float | None
    distance_m: float | None
    requested_at: datetime
    updated_at: datetime
    history: list[dict[str, Any]]
    tracker_sensor_id: int | None = None
    position: dict[str, Any] | None = Field(
        default=None,
        description="last known position of the force's tracker (lon, lat, at, age_s, "
        "distance_m to the incident) — only where one reports and the caller may see it",
    )


class ProposalOut(Explained):
    plan_id: int
    plan_name: str
    tier: str
    level: str | None
    level_zh: str | None
    proposal_only: bool = True


class IncidentDetailOut(BaseModel):
    incident: IncidentOut
    grade_history: list[GradeHistoryOut]
    timeline: list[TimelineOut]
    clocks: ClocksOut
    tasks: list[TaskOut]
    dispatches: list[DispatchOut]
    proposals: list[ProposalOut]
    duplicates: list[DuplicateOut]


class PlanOut(BaseModel):
    id: int
    name: str
    tier: str
    tier_zh: str
    owner_kind: str
    owner_name: str
    enterprise_id: int | None
    division_code: str
    types: list[str]
    triggers: dict[str, Any]
    groups: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    version: int
    previous_id: int | None = None
    status: str
    status_zh: str
    effective_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    filed_at: datetime | None
    last_review_at: datetime | None
    last_drill_at: datetime | None
    drill: dict[str, Any] | None
    review_due: dict[str, Any] | None
    trigger_words: list[dict[str, str]] = []


class ShiftOut(BaseModel):
    id: int
    division_code: str
    day: str
    shift: str
    starts_at: datetime
    ends_at: datetime
    leader: str
    officer_username: str
    officer_name: str
    phone: str
    on_duty: bool


class HandoverOut(BaseModel):
    id: int
    division_code: str
    at: datetime
    from_username: str
    to_username: str
    notes: str
    open_incidents: list[dict[str, Any]]


class ForceOut(BaseModel):
    kind: str
    ref: str
    name: str
    eta_minutes: float | None
    distance_m: float | None
    by_road: bool
    detail: str = ""


class SurroundingItemOut(BaseModel):
    """One object around an incident: protected_target, major_hazard, enterprise, grid_cell,
    sensor (latest value and state), alarm (open, with level) or warning (in force, covering the
    incident; with its area as GeoJSON). What `detail` holds depends on the kind."""

    kind: str
    id: int
    name: str
    lon: float | None
    lat: float | None
    distance_m: int
    detail: dict[str, Any]
    href: str
    geometry: dict[str, Any] | None = None


class SurroundingsOut(BaseModel):
    radius_m: int
    people: int
    counts: dict[str, int]
    items: list[SurroundingItemOut]


class AccidentRecordOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    incident_id: int
    type_key: str
    deaths: int
    serious_injuries: int
    direct_loss_yuan: str


class GradingTableIn(BaseModel):
    name: str = "city"
    source: str = "城市自定义分级表"
    types: dict[str, Any]


class GradingTableOut(BaseModel):
    name: str
    source: str
    rules: dict[str, Any]


class WarningDraftOut(BaseModel):
    warning_id: int


class HiddenDangerIn(SafeInput):
    """A hidden danger the incident brought to light. Every field is optional: what is left out
    comes from the incident (title, enterprise, coordinates, address, a description naming the
    incident); the hazards capability validates the whole as it does every report."""

    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    category: str | None = None
    enterprise_id: int | None = None
    lon: float | None = None
    lat: float | None = None
    address: str | None = Field(default=None, max_length=300)


class HiddenDangerOut(BaseModel):
    hidden_danger_id: int


PLAN_LABELS: dict[str, tuple[str, str]] = {
    **LABELS,
    "name": ("预案名称", "plan name"),
    "tier": ("预案层级", "tier"),
    "owner_kind": ("编制主体", "owner kind"),
    "owner_name": ("编制单位", "owner"),
    "types": ("适用事件类型", "incident types"),
    "triggers": ("启动条件", "trigger rules"),
    "key": ("工作组标识", "group key"),
    "department": ("牵头部门", "department"),
    "contact": ("联系方式", "contact"),
    "members": ("成员账号", "member accounts"),
    "group": ("工作组", "group"),
    "levels": ("响应级别", "response levels"),
    "title": ("任务内容", "task"),
    "due_minutes": ("完成时限（分钟）", "deadline (minutes)"),
}


def validate(
    model: type[BaseModel], data: dict[str, Any], labels: dict[str, tuple[str, str]] = LABELS
) -> Any:
    """Form or JSON input through ``model``; 422 with labelled zh+en field messages."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(translate(exc.errors(), labels)) from None
