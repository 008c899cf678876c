"""Bodies of the warnings API: inputs (validated into bilingual 422 errors by the service) and
answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from safecity.core.schemas import FeatureCollection, IsoTime, Out  # noqa: F401 FeatureCollection: for the api
from safecity.core.validation import SafeInput
from safecity.warnings.rules import EVENT_TYPES

EventType = Literal[tuple(EVENT_TYPES)]  # type: ignore[valid-type]
Level = Literal["blue", "yellow", "orange", "red"]

LABELS: dict[str, tuple[str, str]] = {
    "event_type": ("事件类型", "event type"),
    "level": ("预警级别", "level"),
    "headline": ("标题", "headline"),
    "description": ("预警内容", "description"),
    "instruction": ("防御指引", "instruction"),
    "headline_en": ("英文标题", "English headline"),
    "description_en": ("英文内容", "English description"),
    "instruction_en": ("英文防御指引", "English instruction"),
    "areas": ("预警区域", "areas"),
    "division_code": ("发布区划", "division"),
    "effective": ("生效时间", "effective"),
    "onset": ("开始时间", "onset"),
    "expires": ("失效时间", "expires"),
    "alarm_id": ("关联报警", "alarm"),
    "incident_id": ("关联事件", "incident"),
    "risk_id": ("关联风险", "risk"),
}


class WarningIn(SafeInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_type: EventType
    level: Level
    headline: str = Field(min_length=2, max_length=300)
    description: str = Field(min_length=2, max_length=4000)
    instruction: str = Field(default="", max_length=2000)
    headline_en: str = Field(default="", max_length=300)
    description_en: str = Field(default="", max_length=4000)
    instruction_en: str = Field(default="", max_length=2000)
    areas: list[dict[str, Any]]
    division_code: str = Field(pattern=r"^\d{6}(\d{3}){0,2}$")
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    alarm_id: str | None = Field(default=None, max_length=64)
    incident_id: str | None = Field(default=None, max_length=64)
    risk_id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _times(self) -> WarningIn:
        for name in ("effective", "onset", "expires"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(
                    "时间须带时区，例如 2026-11-23T17:00:00+08:00|"
                    "times need a time zone, e.g. 2026-11-23T17:00:00+08:00"
                )
        start = self.onset or self.effective
        if self.expires and start and self.expires <= start:
            raise ValueError("失效时间必须晚于生效/开始时间|expires must be after effective/onset")
        return self


class WarningDraft(WarningIn):
    """The body of POST /api/v1/warnings: ``WarningIn`` whose division defaults to the
    drafter's own (the service fills it in, then validates the whole as ``WarningIn``)."""

    division_code: str | None = Field(  # type: ignore[assignment]
        default=None,
        pattern=r"^\d{6}(\d{3}){0,2}$",
        description="issuing division; default: your own",
    )


class WarningPatch(SafeInput):
    """Edit a draft, or start an update from an issued warning: any content field of
    ``WarningIn``; the rest is kept (the merged whole is validated as ``WarningIn``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_type: EventType | None = None
    level: Level | None = None
    headline: str | None = Field(default=None, min_length=2, max_length=300)
    description: str | None = Field(default=None, min_length=2, max_length=4000)
    instruction: str | None = Field(default=None, max_length=2000)
    headline_en: str | None = Field(default=None, max_length=300)
    description_en: str | None = Field(default=None, max_length=4000)
    instruction_en: str | None = Field(default=None, max_length=2000)
    areas: list[dict[str, Any]] | None = None
    division_code: str | None = Field(default=None, pattern=r"^\d{6}(\d{3}){0,2}$")
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None


class CancelIn(SafeInput):
    note: str = Field(default="", max_length=2000, description="why it is lifted (kept in audit)")


# ---------------------------------------------------------------- answers


class WarningOut(Out):
    id: int
    kind: str = Field(description="local | external")
    status: str
    msg_type: str
    identifier: str | None
    sender: str | None
    sender_name: str | None
    sent: IsoTime | None
    references: str | None
    previous_id: int | None
    event_type: str
    level: str
    headline: str
    description: str
    instruction: str | None
    headline_en: str | None
    description_en: str | None
    instruction_en: str | None
    areas: list[dict[str, Any]]
    division_code: str
    effective: IsoTime | None
    onset: IsoTime | None
    expires: IsoTime | None
    alarm_id: str | None
    incident_id: str | None
    risk_id: str | None
    auto: bool | None
    created_by: str | None
    created_at: IsoTime | None
    updated_at: IsoTime | None
    submitted_by: str | None
    approved_by: str | None
    approved_at: IsoTime | None
    issued_by: str | None
    issued_at: IsoTime | None
    closed_at: IsoTime | None
    targeting: dict[str, Any] | None
    cap_url: str | None
    already_issued: bool | None = Field(None, description="issue: it had been issued before")


class TargetingOut(Out):
    grid_cells: int
    grid_cells_partial: int
    population: int
    divisions: Any
    protected_targets: int
    protected_by_type: dict[str, Any]
    people_in_targets: int
    enterprises: int
    enterprises_by_kind: dict[str, Any]
    target_ids: list[int]
    enterprise_ids: list[int]
    area_km2: float


class DeliveryOut(Out):
    id: int
    channel: str
    target: str
    status: str
    attempts: int
    next_attempt_at: IsoTime | None
    last_error: str | None
    reached: int | None
    sent_at: IsoTime | None
    updated_at: IsoTime | None


class CoverageOut(Out):
    population: int
    reached: dict[str, int] = Field(description="people reached per channel, logged ones too")
    confirmed: dict[str, int] = Field(description="people reached per channel, gateways only")
    best_reached: int
    coverage: float | None
    best_simulated: int
    coverage_simulated: float | None
    deliveries: list[DeliveryOut]


class MonthCoverage(Out):
    month: str = Field(description="YYYY-MM, Beijing calendar")
    warnings: int
    major: int
    population: int
    reached: int
    simulated: int
    coverage: float | None
    coverage_simulated: float | None


class CoverageMonths(Out):
    months: list[MonthCoverage]


class CapImportOut(Out):
    created: list[int]
    unchanged: list[str]
    referenced: list[int]
    cancelled: list[int]
    superseded: list[int]
    recorded: list[int]
    unknown_references: list[str]
    not_applied: list[dict[str, str]]


class RequeuedOut(Out):
    requeued: int
