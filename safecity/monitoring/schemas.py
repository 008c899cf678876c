"""Monitoring bodies: a sensor (the kind's form, import columns and API body), its alarm
settings (per-sensor rule override, a vehicle's route), and the answers of the monitoring API
(readings, rules, alarms, dead letters, telemetry)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from safecity.core.kinds import Located, one_of
from safecity.core.schemas import Feature, FeatureCollection, IsoTime, Out
from safecity.hazards.schemas import HiddenDangerOut
from safecity.monitoring.catalog import TYPES

SENSOR_TYPES: dict[str, tuple[str, str]] = {code: (t.zh, t.en) for code, t in TYPES.items()}
STATUSES: dict[str, tuple[str, str]] = {
    "active": ("在用", "active"),
    "maintenance": ("维护中", "maintenance"),
    "disabled": ("停用", "disabled"),
}


class SensorIn(Located):
    """A sensor as registered: its device identity, type, place and state (the device token is
    issued on creation, never sent in)."""

    device_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1, max_length=200)
    sensor_type: str
    division_code: str = Field(min_length=6, max_length=12)
    grid_cell_id: int | None = None
    enterprise_id: int | None = None
    facility: str = Field(default="", max_length=200)
    lon: float | None = Field(default=None, ge=73, le=136)  # China's extent
    lat: float | None = Field(default=None, ge=3, le=54)
    install_date: date | None = None
    status: str = "active"

    @field_validator("sensor_type")
    @classmethod
    def _type(cls, value: str) -> str:
        return one_of(value, SENSOR_TYPES)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        return one_of(value, STATUSES)


class SensorAlarmSettingsIn(BaseModel):
    """Only the keys sent change; null removes the override or route."""

    model_config = ConfigDict(extra="forbid")

    rule_override: dict[str, Any] | None = Field(
        default=None,
        description="This sensor's thresholds over its type's rule, e.g. {\"red\": 30}",
    )
    route: dict[str, Any] | None = Field(
        default=None, description="GeoJSON LineString a vehicle must keep to (off-route alarm)"
    )


# ---------------------------------------------------------------- answers and documented bodies

# A number as it was written: a threshold entered as 30 stays 30, 0.15 stays 0.15.
Number = int | float
AlarmLevel = Literal["blue", "yellow", "orange", "red"]


class SensorTypeOut(Out):
    code: str
    name: str
    name_en: str
    quantity: str
    unit: str
    range: list[Number] = Field(description="[low, high]: outside it the instrument is faulty")


class ReadingPoint(BaseModel):
    """A raw reading {ts, value}, or a 1-minute / 1-hour bucket {ts, value (the mean), min,
    max, n (readings in it)}."""

    model_config = ConfigDict(extra="allow")

    ts: int = Field(description="epoch ms (a bucket: its start)")
    value: float


class ReadingsOut(Out):
    sensor_id: int
    resolution: Literal["raw", "1m", "1h"]
    from_: int = Field(alias="from", description="epoch ms")
    to: int = Field(description="epoch ms, exclusive")
    points: list[ReadingPoint]


class RateRule(Out):
    per_min: Number = Field(description="change per minute that raises the alarm")
    direction: Literal["up", "down", "both"] | None = None
    level: AlarmLevel | None = None


class AlarmRule(Out):
    """One sensor type's rule (or one sensor's override of it); keys left out do not apply."""

    direction: Literal["high", "low", "abs"] | None = Field(
        None, description="which way is worse (abs: either sign)"
    )
    blue: Number | None = None
    yellow: Number | None = None
    orange: Number | None = None
    red: Number | None = None
    hysteresis: Number | None = None
    sustain_s: Number | None = None
    offline_s: Number | None = None
    stuck_s: Number | None = None
    rate: RateRule | None = None
    speed_limit: Number | None = None
    corridor_m: Number | None = None
    range: list[Number] | None = Field(None, description="[low, high]")


class RuleVersionOut(Out):
    version: int
    author: str
    note: str
    created_at: IsoTime


class RulesOut(Out):
    version: int = Field(description="0: the built-in defaults, never saved")
    rules: dict[str, AlarmRule] = Field(description="sensor type → its rule")
    versions: list[RuleVersionOut] = Field(description="the 50 newest versions, newest first")


class RulesIn(BaseModel):
    """A new version of the rule set (sensor type → rule); types left out keep the defaults."""

    rules: dict[str, AlarmRule]
    note: str = Field("", max_length=1000)


class RuleSavedOut(Out):
    version: int


class AlarmOut(Out):
    id: int
    sensor_id: int | None
    grid_cell_id: int | None
    enterprise_id: int | None
    division_code: str
    rule: str
    level: AlarmLevel
    peak_level: AlarmLevel
    status: str
    condition_active: bool
    value: float | None
    message: str
    message_en: str
    lon: float | None
    lat: float | None
    first_ts: int = Field(description="epoch ms")
    last_ts: int = Field(description="epoch ms")
    occurrences: int
    raised_at: IsoTime
    updated_at: IsoTime
    cleared_at: IsoTime | None
    closed_at: IsoTime | None
    closed_by: str | None
    hidden_danger_id: int | None
    sensor_type: str


class AlarmPage(Out):
    total: int
    page: int
    size: int
    items: list[AlarmOut]


class AlarmStep(Out):
    at: IsoTime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    level: str | None
    note: str


class AlarmDetail(AlarmOut):
    history: list[AlarmStep]


class AcknowledgedOut(Out):
    acknowledged: int
    items: list[AlarmOut]


class AlarmNoteIn(BaseModel):
    note: str = Field("", description="what was seen or done (kept in the alarm's history)")


class ReasonLabel(Out):
    zh: str
    en: str


class DeadLetterOut(Out):
    id: int
    received_at: IsoTime
    source: str
    device_id: str | None
    reason: str
    detail: str
    payload: str


class DeadLettersOut(Out):
    counts: dict[str, int] = Field(description="rejections by reason (all of them)")
    reasons: dict[str, ReasonLabel]
    items: list[DeadLetterOut]


class AlarmProperties(Out):
    id: int
    name: str
    level: AlarmLevel
    status: str
    division_code: str
    enterprise_id: int | None
    url: str


class AlarmFeature(Feature):
    properties: AlarmProperties


class AlarmLayerOut(FeatureCollection):
    features: list[AlarmFeature]  # type: ignore[assignment]


class ReadingIn(BaseModel):
    ts: int | str = Field(description="epoch ms, or ISO 8601 with a time zone")
    value: float
    quantity: str | None = None
    lon: float | None = None
    lat: float | None = None


class TelemetryIn(BaseModel):
    """One reading, or {"readings": [...]} for a batch; NDJSON (one reading a line) too. The
    device is the one of the request's token."""

    ts: int | str | None = Field(None, description="epoch ms, or ISO 8601 with a time zone")
    value: float | None = None
    quantity: str | None = None
    lon: float | None = None
    lat: float | None = None
    readings: list[ReadingIn] | None = Field(None, max_length=10_000)


class TelemetryOut(BaseModel):
    accepted: int
    stored: int
    duplicates: int
    rejected: dict[str, int] = Field(description="rejected readings by reason")


class QueuedOut(BaseModel):
    queued: int = Field(description="messages stored in the stream for the ingestion workers")


class AlarmHiddenDangerOut(Out):
    alarm_id: int
    hidden_danger_id: int
    alarm: AlarmOut
    hidden_danger: HiddenDangerOut
