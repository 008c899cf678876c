"""Input models of the warnings API (validated into bilingual 422 errors by the service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

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
