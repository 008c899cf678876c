"""Bodies of the four-colour risk map API: the map layers (GeoJSON), why an area has its colour,
and the city's area rule (as answered and as a city overrides it)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from safecity.core.schemas import Feature, FeatureCollection, IsoTime, Out

# A number as the rule wrote it: a weight entered as 10 stays 10, 0.3 stays 0.3.
Number = int | float
Level = Literal["red", "orange", "yellow", "blue"]


# ---------------------------------------------------------------- the area rule


class AggregateRule(Out):
    """How streets and districts are graded from their grid cells."""

    method: Literal["cells", "points"]
    red_share: Number
    orange_share: Number
    yellow_share: Number
    hazard_floors: dict[str, Level | None] = Field(
        description="GB 18218 grade 1–4 → the least level it imposes on a street or district"
    )


class RuleFloors(Out):
    points: dict[str, int] = Field(
        description="red/orange/yellow → points of that level (or worse) that impose it; 0 none"
    )
    hazards: dict[str, Level | None] = Field(description="grade 1–4 → the least level it imposes")


class AreaRuleOut(Out):
    """The rule in force (SafeCity's default, or the city's override merged over it)."""

    point_weights: dict[str, Number] = Field(description="red/orange/yellow/blue → weight")
    hazard_weights: dict[str, Number] = Field(description="GB 18218 grade 1–4 → weight")
    vulnerable_weight: Number
    thresholds: dict[str, Number] = Field(description="red/orange/yellow → minimum score")
    floors: RuleFloors
    influence_radius_m: dict[str, Number] = Field(description="grade 1–4 → metres")
    signal_steps: dict[str, dict[str, int]] = Field(
        description="signal source → severity → levels raised"
    )
    signal_combine: Literal["max", "sum"]
    max_raise: int
    aggregate: AggregateRule
    source: str


class AggregateRuleIn(BaseModel):
    method: Literal["cells", "points"] | None = None
    red_share: float | None = None
    orange_share: float | None = None
    yellow_share: float | None = None
    hazard_floors: dict[str, Level | None] | None = None


class RuleFloorsIn(BaseModel):
    points: dict[str, int] | None = None
    hazards: dict[str, Level | None] | None = None


class AreaRuleIn(BaseModel):
    """A city's override: any subset of the rule, levels and grades by name; an empty object
    returns the city to the default rule. The whole rule is checked before anything is saved."""

    model_config = {"extra": "forbid"}

    point_weights: dict[str, float] | None = None
    hazard_weights: dict[str, float] | None = None
    vulnerable_weight: float | None = None
    thresholds: dict[str, float] | None = None
    floors: RuleFloorsIn | None = None
    influence_radius_m: dict[str, float] | None = None
    signal_steps: dict[str, dict[str, int]] | None = None
    signal_combine: Literal["max", "sum"] | None = None
    max_raise: int | None = None
    aggregate: AggregateRuleIn | None = None
    source: str | None = None


class AreaRuleSetting(Out):
    division_code: str = Field(description="the city the rule is set for")
    custom: bool = Field(description="true when the city has its own rule")
    rule: AreaRuleOut
    default: AreaRuleOut
    updated_by: str | None
    updated_at: IsoTime | None


# ---------------------------------------------------------------- map layers


class AreaProperties(Out):
    id: str
    name: str
    division_code: str
    level: Level
    colour: str
    score: float
    base_level: Level = Field(description="before live signals raise it")
    raise_steps: int
    risk_points: list[int] = Field(description="points by level red, orange, yellow, blue")
    major_hazards: list[int] = Field(description="major hazards by grade 1–4")
    vulnerable_targets: int
    signals: int


class AreaFeature(Feature):
    id: str
    properties: AreaProperties


class LayerSummary(Out):
    areas: dict[str, int] = Field(description="areas by level")
    total_areas: int
    risk_points: dict[str, int]
    major_hazards: dict[str, int]
    vulnerable_targets: int
    active_signals: int


class RiskMapOut(FeatureCollection):
    """The areas of one unit (grid, street, district, H3 hexagon) coloured by the area rule."""

    unit: str
    resolution: int | None
    colours: dict[str, str]
    summary: LayerSummary
    rule: AreaRuleOut
    features: list[AreaFeature]  # type: ignore[assignment]


class HazardMarkerProperties(Out):
    id: int
    name: str
    level: int | None
    r_value: float | None
    unit_kind: str
    division_code: str
    enterprise_id: int
    enterprise: str | None


class HazardMarker(Feature):
    id: int
    properties: HazardMarkerProperties


class HazardMarkersOut(FeatureCollection):
    layer: str
    features: list[HazardMarker]  # type: ignore[assignment]


# ---------------------------------------------------------------- explanation


class Contribution(Out):
    kind: str = Field(description="risk_points, major_hazards, vulnerable_targets, grid_cells")
    count: int
    label_zh: str
    label_en: str


class FloorNote(Out):
    floor: Level
    applied: bool
    source: str
    text_zh: str
    text_en: str


class SignalRow(Out):
    id: int
    source: str
    source_ref: str | None
    severity: str | None
    raise_steps: int
    created_at: IsoTime


class ExplainPoint(Out):
    id: int
    name: str
    level: str | None
    enterprise_id: int | None
    division_code: str | None


class ExplainHazard(Out):
    id: int
    name: str
    level: int | None
    r_value: float | None
    enterprise_id: int | None
    enterprise: str | None


class ExplainTarget(Out):
    id: int
    name: str
    hazard_id: int
    hazard: str | None
    hazard_level: int | None
    distance_m: float


class ExplainOut(Out):
    """Why one area has its colour: score and floors (grid cells, H3) or cell shares (streets
    and districts), the live raise, and the items behind each contribution."""

    unit: str
    resolution: int | None
    id: str
    name: str
    division_code: str
    geometry: dict[str, Any] | None
    method: Literal["points", "cells"]
    score: float
    score_level: Level
    floor_level: Level
    base_level: Level
    raise_steps: int
    level: Level
    colour: str
    contributions: list[Contribution]
    hard_rules: list[FloorNote]
    signals: list[SignalRow]
    summary_zh: str
    summary_en: str
    thresholds: dict[str, Number]
    rule: AreaRuleOut
    risk_points: list[ExplainPoint]
    major_hazards: list[ExplainHazard]
    vulnerable_targets: list[ExplainTarget]
