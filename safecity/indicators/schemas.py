"""Typed request and response bodies of the indicators API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from safecity.core.validation import SafeInput
from safecity.indicators import service
from safecity.indicators.models import IndicatorRow, IndicatorSetRow, Statistic

# ---------------------------------------------------------------- sets


class IndicatorOut(BaseModel):
    key: str
    name_zh: str
    name_en: str
    unit: str
    source: str
    formula: str
    inputs: list[str]
    direction: str
    period_start: int
    period_end: int
    base_year: int | None
    base_value: str | None = Field(description="exact decimal text; null: computed for base_year")
    target_value: str | None
    target_change_percent: str | None = Field(description="signed, -33 is 'down 33 %'")
    target_strict: bool
    binding: str | None
    divisions: list[str]
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, r: IndicatorRow) -> IndicatorOut:
        from safecity.indicators.definitions import INPUTS  # noqa: PLC0415 kept beside its use
        from safecity.indicators.formula import Formula  # noqa: PLC0415 kept beside its use

        return cls(
            **{k: getattr(r, k) for k in service.EDITABLE},
            key=r.key,
            inputs=sorted(Formula.parse(r.formula, INPUTS).inputs),
            updated_at=r.updated_at,
            updated_by=r.updated_by,
        )


class SetSummary(BaseModel):
    id: int
    city: str
    name_zh: str
    name_en: str
    division_code: str
    divisions: list[str]
    imported_at: datetime
    imported_by: str

    @classmethod
    def of(cls, r: IndicatorSetRow) -> SetSummary:
        return cls(
            id=r.id,
            city=r.city,
            name_zh=r.name_zh,
            name_en=r.name_en,
            division_code=r.division_code,
            divisions=list(r.divisions),
            imported_at=r.imported_at,
            imported_by=r.imported_by,
        )


class SetOut(SetSummary):
    indicators: list[IndicatorOut]


class SetImportIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    toml: str = Field(min_length=1, max_length=200_000, description="an indicator set file")


class SetImportOut(BaseModel):
    set_id: int
    city: str
    created: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: list[str]


class IndicatorPatch(SafeInput):
    """Fields to change; the edited indicator is validated like the TOML file."""

    model_config = ConfigDict(extra="forbid")
    name_zh: str | None = Field(default=None, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    unit: str | None = Field(default=None, max_length=32)
    source: str | None = Field(default=None, max_length=2000)
    formula: str | None = Field(default=None, max_length=500)
    direction: str | None = None
    period_start: int | None = None
    period_end: int | None = None
    base_year: int | None = None
    base_value: str | None = Field(default=None, max_length=40)
    target_value: str | None = Field(default=None, max_length=40)
    target_change_percent: str | None = Field(default=None, max_length=40)
    target_strict: bool | None = None
    binding: str | None = None
    divisions: list[str] | None = None


# ---------------------------------------------------------------- values


class FlagOut(BaseModel):
    input: str
    year: int
    reason_zh: str
    reason_en: str


class InputUseOut(BaseModel):
    name: str
    label_zh: str
    label_en: str
    unit: str
    value: float | None
    origin: str = Field(description="statistic | records | missing")
    note_zh: str
    note_en: str
    version: int | None


class CellOut(BaseModel):
    key: str
    division: str
    year: int
    value: float | None
    reference: float | None = Field(description="the trajectory's value this year (or target)")
    target: float | None
    base_value: float | None
    status: str = Field(description="on_track | at_risk | off_track | unknown")
    status_zh: str
    status_en: str
    explanation_zh: str
    explanation_en: str
    inputs: list[InputUseOut]
    missing: list[str]
    flags: list[FlagOut]


class DivisionOut(BaseModel):
    code: str
    name: str


class EvaluationOut(BaseModel):
    set_id: int
    city: str
    years: list[int]
    divisions: list[DivisionOut]
    cells: list[CellOut]

    @classmethod
    def of(cls, ev: service.Evaluation) -> EvaluationOut:
        return cls(
            set_id=ev.set.id,
            city=ev.set.city,
            years=ev.years,
            divisions=[
                DivisionOut(code=d, name=ev.division_names.get(d, "")) for d in ev.divisions
            ],
            cells=[CellOut(**c.as_dict()) for c in ev.cells.values()],
        )


class RecordOut(BaseModel):
    kind: str
    id: str
    title: str
    at: str | None
    division_code: str
    amount: float | None
    detail: str
    link: str


class StatisticOut(BaseModel):
    id: int
    division_code: str
    year: int
    input: str
    value: str
    version: int
    source: str
    note: str
    demo: bool
    recorded_at: datetime
    recorded_by: str
    superseded_at: datetime | None
    superseded_by: str | None

    @classmethod
    def of(cls, s: Statistic) -> StatisticOut:
        return cls(**{k: getattr(s, k) for k in cls.model_fields})


class StatisticPage(BaseModel):
    total: int
    page: int
    size: int
    items: list[StatisticOut]


class DrillOut(BaseModel):
    cell: CellOut
    records: dict[str, list[RecordOut]]
    history: dict[str, list[StatisticOut]]

    @classmethod
    def of(cls, d: service.Drill) -> DrillOut:
        return cls(
            cell=CellOut(**d.cell.as_dict()),
            records={k: [RecordOut(**r.as_dict()) for r in v] for k, v in d.records.items()},
            history={k: [StatisticOut.of(s) for s in v] for k, v in d.history.items()},
        )


# ---------------------------------------------------------------- statistics


class StatisticIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    division_code: str = Field(min_length=6, max_length=12)
    year: int
    input: str = Field(max_length=64)
    value: str | float | int
    source: str = Field(min_length=1, max_length=300)
    note: str = Field(default="", max_length=2000)


class StatisticsIn(SafeInput):
    model_config = ConfigDict(extra="forbid")
    items: list[StatisticIn] = Field(min_length=1, max_length=20_000)


class StatImportOut(BaseModel):
    created: int
    corrected: int
    unchanged: int
    flags: list[FlagOut]


# ---------------------------------------------------------------- vital signs


class SensorDomain(BaseModel):
    type: str
    zh: str
    en: str
    total: int
    online: int


class AlarmSummary(BaseModel):
    last_24h: dict[str, int]
    total_24h: int
    open: int


class HiddenDangerSummary(BaseModel):
    open: int
    open_major: int
    overdue: int
    overdue_major: int


class WarningItem(BaseModel):
    id: int
    level: str
    headline: str
    event_zh: str
    expires: str | None


class WarningSummary(BaseModel):
    count: int
    by_level: dict[str, int]
    items: list[WarningItem]


class IncidentItem(BaseModel):
    id: int
    title: str
    grade: str | None
    grade_zh: str | None = None
    grade_en: str | None = None
    status: str
    status_zh: str | None = None
    response_level: str | None = Field(None, description="I | II | III | IV, or none yet")
    level_zh: str | None = None
    level_en: str | None = None
    deaths: int
    occurred_at: str | None


class IncidentSummary(BaseModel):
    count: int = Field(description="open incidents in scope, drills left out")
    responding: int = Field(0, description="of them under a response")
    by_level: dict[str, int] = Field(default_factory=dict, description="per response level")
    items: list[IncidentItem]


class IndicatorAlert(BaseModel):
    key: str
    name_zh: str
    name_en: str
    unit: str
    status: str
    value: float | None
    target: float | None


class IndicatorSummary(BaseModel):
    set: str | None
    set_id: int | None = None
    division: str | None = None
    year: int | None = None
    counts: dict[str, int]
    items: list[IndicatorAlert]


class VitalsOut(BaseModel):
    at: str
    division: str
    sensors: list[SensorDomain] | None
    alarms: AlarmSummary | None
    hidden_dangers: HiddenDangerSummary | None
    warnings: WarningSummary | None
    incidents: IncidentSummary | None
    indicators: IndicatorSummary | None
    missing: dict[str, str] = Field(description="parts left out: capability not installed")

    @classmethod
    def of(cls, data: dict[str, Any]) -> VitalsOut:
        return cls(**data)
