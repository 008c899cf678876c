"""Area risk levels (区域风险等级): the documented rule that colours a grid cell, street, district or
H3 hexagon from the risk points, major hazards and protected targets in it (a street or
district from the colours of its grid cells), and explains why.

Pure domain logic: numpy and shapely only, no database, no HTTP, no clock.

The rule (SafeCity default; a city overrides any part in RiskSetting key ``area_rule``)
=====================================================================================

1. **Score.**  S = Σ w(level) over the area's risk points
                + Σ g(grade) over the major hazard installations (重大危险源) located in it
                + v × N, N = protected targets (脆弱性目标) in the area that lie within the
                  influence radius of a major hazard (the hazard may stand in a neighbouring area)

   ======================  ==========================================
   w(level)                red 10 · orange 4 · yellow 1.5 · blue 0.3
   g(grade) GB 18218       一级 12 · 二级 8 · 三级 5 · 四级 3
   v                       2 per vulnerable protected target
   influence radius        一级/二级 1,000 m · 三级/四级 500 m
   ======================  ==========================================

   S is rounded to 1e-6 so that sums such as 10 × 0.3 meet a threshold of 3 exactly.

2. **Score level.**  S ≥ 30 red (重大), S ≥ 10 orange (较大), S ≥ 3 yellow (一般), otherwise blue
   (低; an area with nothing in it is blue).

3. **Floors — the highest-level principle (就高原则).**  An area is never less severe than the
   most severe single source in it: a red (重大) risk point makes the area at least red, an
   orange one at least orange, a yellow one at least yellow; a 一级 or 二级 major hazard at
   least red, a 三级 one orange, a 四级 one yellow.  A city may require *n* points of a level
   (counting more severe points too) before the floor applies, or map a grade to another level
   or to none.  The *base level* is the more severe of 2 and 3.

   Enterprises' inherent levels (the most severe of their risk points and major hazards,
   ``safecity.risk.points.enterprise``) enter through those same points and hazards; a risk point
   without coordinates is placed at its enterprise, so an area is never less severe than the
   inherent level of an enterprise located in it.

4. **Dynamic adjustment.**  Active risk signals located in the area (monitoring alarms, overdue
   hidden dangers; see ``safecity.risk.areas.dynamic``) raise the base level by their ``raise_steps``:
   a red alarm +1, an overdue major hidden danger (重大事故隐患) +1, other signals 0 (they are
   shown in the explanation but do not change the colour).  Several signals count once, by the
   largest step ("max"), because alarms arrive in bursts for one underlying fault; a city may
   choose "sum".  The raise is capped at ``max_raise`` steps and the level at red.

5. **Streets and districts (units made of grid cells).**  Steps 1–4 fit a grid cell; applied to a
   street or district they paint nearly everything red (one red point among thousands makes a
   whole district 重大).  So by default (``aggregate.method`` "cells") a street or district is
   graded from its grid cells, each graded by steps 1–3 first (its *base* level, so that a
   live signal is not counted twice):

   ==========================================================  =======
   red cells ≥ 10 % of the unit's cells                         red
   else red + orange cells ≥ 25 %                               orange
   else red + orange + yellow cells ≥ 40 %                      yellow
   otherwise                                                    blue
   ==========================================================  =======

   Boundaries count (≥; shares are rounded to 1e-9, so 1 red cell of 10 is red).  A cell
   belongs to the street holding its centre and to the district of its division code, as risk
   points do.  Floor: a 一级 major hazard located in the unit makes it at least orange — not
   red, and no point floors: the highest-level principle (就高原则) is applied where it belongs,
   to enterprises and grid cells, not to whole districts.  Live signals then raise the unit as
   in step 4.  A unit with no grid cells is graded by steps 1–4.  A city may change the shares
   and floors, or choose "points" to grade streets and districts by steps 1–4 as before.
   Grid cells and H3 hexagons (resolution 7 is about a grid cell) always use steps 1–4.

Why these numbers: no national standard prescribes how point risks add up to an area level.
The floors follow the highest-level principle (就高原则) that provincial dual-prevention
guidelines use for an enterprise's level (the level of its most severe risk point), and the
GB 18218 grade → colour mapping the white paper uses.  The score is a SafeCity convention that
only ever raises an area above its floor, calibrated on anchors a risk analyst expects: three
orange points stay orange, eight make the area red; seven yellow points make it orange; ten
low (blue) points make it yellow.  Major hazards weigh slightly more than a risk point of the
same colour because GB 18218 grades already account for the exposed population.  The
1,000 m / 500 m radii are the default influence ranges of the four lists; 500 m is also the
range GB 18218-2018 uses for the exposed population (α).

Nor does any national standard prescribe how the levels of grid cells add up to a street or
district.  Step 5 is a SafeCity convention resting on one idea: a district is as severe as the
share of its area that is severe, the area counted in grid cells.  Against the demo city (about 4 % red, 13 % orange, 26 %
yellow grid cells) a street needs several times the city's share of red cells to be red, and
a quarter of red or orange cells to be orange, so the colours single out the units a commander
should look at first.  A 一级 major hazard keeps its unit at least orange because the
consequences of the most severe installations reach beyond one cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely

__all__ = [
    "DEFAULT_RULE",
    "GRADES",
    "LEVELS",
    "AreaRule",
    "AreaRuleError",
    "Grades",
    "assign_by_key",
    "combine_raise",
    "count_matrix",
    "explain_area",
    "grade_aggregates",
    "grade_areas",
    "haversine_m",
    "nearest_within",
    "share_levels",
]

LEVELS: tuple[str, ...] = ("red", "orange", "yellow", "blue")  # index = RiskLevel.order - 1
GRADES: tuple[int, ...] = (1, 2, 3, 4)
LEVEL_ZH = {
    "red": "红色（重大风险）",
    "orange": "橙色（较大风险）",
    "yellow": "黄色（一般风险）",
    "blue": "蓝色（低风险）",
}
LEVEL_EN = {
    "red": "red (major)",
    "orange": "orange (significant)",
    "yellow": "yellow (general)",
    "blue": "blue (low)",
}
GRADE_ZH = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius: the sphere the distances are measured on


class AreaRuleError(ValueError):
    """A city's area_rule configuration is invalid; ``errors`` holds (field, zh, en)."""

    def __init__(self, errors: Sequence[tuple[str, str, str]]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{f}: {en}" for f, _zh, en in self.errors))


DEFAULT_POINT_FLOORS = (1, 1, 1)
DEFAULT_HAZARD_FLOORS = (0, 0, 1, 2)
DEFAULT_SHARES = (0.10, 0.25, 0.40)
DEFAULT_AGGREGATE_HAZARD_FLOORS = (1, 3, 3, 3)
AGGREGATE_METHODS = ("cells", "points")
SHARE_KEYS = ("red_share", "orange_share", "yellow_share")


def _default_signal_steps() -> dict[str, dict[str, int]]:
    return {
        "alarm": {"red": 1, "orange": 0, "yellow": 0, "blue": 0},
        "hidden_danger_overdue": {"major": 1, "general": 0},
    }


@dataclass(frozen=True)
class AreaRule:
    """Weights, thresholds, floors and signal steps of the area rule (see the module docstring)."""

    point_weights: tuple[float, float, float, float] = (10.0, 4.0, 1.5, 0.3)
    hazard_weights: tuple[float, float, float, float] = (12.0, 8.0, 5.0, 3.0)
    vulnerable_weight: float = 2.0
    # minimum score of red, orange, yellow
    thresholds: tuple[float, float, float] = (30.0, 10.0, 3.0)
    # points of a level (or more severe) needed for the floor red, orange, yellow; 0 = no floor
    point_floors: tuple[int, int, int] = (1, 1, 1)
    # level index (0 red … 3 blue = no floor) a major hazard of grade 一级…四级 imposes
    hazard_floors: tuple[int, int, int, int] = (0, 0, 1, 2)
    influence_radius_m: tuple[float, float, float, float] = (1000.0, 1000.0, 500.0, 500.0)
    signal_steps: Mapping[str, Mapping[str, int]] = field(default_factory=_default_signal_steps)
    signal_combine: str = "max"
    max_raise: int = 3
    # streets and districts (units made of grid cells): "cells" grades them by the shares of
    # their cells by colour, "points" by the point rule above, as grid cells are
    aggregate_method: str = "cells"
    # cumulative shares of cells: red; red + orange; red + orange + yellow
    aggregate_shares: tuple[float, float, float] = DEFAULT_SHARES
    # level index a major hazard of grade 一级…四级 imposes on a street or district (3 = none)
    aggregate_hazard_floors: tuple[int, int, int, int] = DEFAULT_AGGREGATE_HAZARD_FLOORS
    source: str = "SafeCity 默认区域风险规则"

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any] | None) -> AreaRule:
        """A city's override: any subset of the fields, levels and grades by name.

        ``{"point_weights": {"red": 10, ...}, "hazard_weights": {"1": 12, ...},
        "vulnerable_weight": 2, "thresholds": {"red": 30, "orange": 10, "yellow": 3},
        "hard_rules": {"orange_red_points": 1, "orange_grades": [1, 2], "red_red_points": 3,
        "red_grades": [1]}, "influence_radius_m": {"1": 1000, ...},
        "signal_steps": {"alarm": {"red": 1}}, "signal_combine": "max", "max_raise": 3,
        "aggregate": {"method": "cells", "red_share": 0.1, "orange_share": 0.25,
        "yellow_share": 0.4, "hazard_floors": {"1": "orange", "2": None}}}``
        """
        if not cfg:
            return DEFAULT_RULE
        if not isinstance(cfg, Mapping):
            raise AreaRuleError([("area_rule", "配置必须是对象", "config must be an object")])
        errors: list[tuple[str, str, str]] = []
        base = DEFAULT_RULE
        changes: dict[str, Any] = {}
        if "point_weights" in cfg:
            changes["point_weights"] = _by_key(
                cfg["point_weights"], LEVELS, base.point_weights, "point_weights", errors
            )
        if "hazard_weights" in cfg:
            changes["hazard_weights"] = _by_key(
                cfg["hazard_weights"], GRADES, base.hazard_weights, "hazard_weights", errors
            )
        if "influence_radius_m" in cfg:
            changes["influence_radius_m"] = _by_key(
                cfg["influence_radius_m"],
                GRADES,
                base.influence_radius_m,
                "influence_radius_m",
                errors,
            )
        if "vulnerable_weight" in cfg:
            changes["vulnerable_weight"] = _number(
                cfg["vulnerable_weight"], "vulnerable_weight", errors
            )
        if "thresholds" in cfg:
            th = _by_key(cfg["thresholds"], LEVELS[:3], base.thresholds, "thresholds", errors)
            if len(th) == 3 and not th[0] >= th[1] >= th[2]:
                errors.append(
                    (
                        "thresholds",
                        "阈值须满足 红 ≥ 橙 ≥ 黄",
                        "thresholds must satisfy red ≥ orange ≥ yellow",
                    )
                )
            changes["thresholds"] = th
        changes |= _floors(cfg.get("floors"), errors)
        unknown = set(map(str, cfg)) - RULE_KEYS
        if unknown:
            errors.append(
                (
                    "area_rule",
                    f"含未知配置项 {sorted(unknown)}",
                    f"unknown settings {sorted(unknown)}",
                )
            )
        if "signal_steps" in cfg:
            changes["signal_steps"] = _signal_steps(cfg["signal_steps"], errors)
        if "signal_combine" in cfg:
            if cfg["signal_combine"] not in ("max", "sum"):
                errors.append(("signal_combine", "应为 max 或 sum", "must be max or sum"))
            changes["signal_combine"] = cfg["signal_combine"]
        if "max_raise" in cfg:
            changes["max_raise"] = _count(cfg["max_raise"], "max_raise", errors)
        if "aggregate" in cfg:
            changes |= _aggregate(cfg["aggregate"], errors)
        if errors:
            raise AreaRuleError(errors)
        return replace(base, source=str(cfg.get("source") or "城市自定义区域风险规则"), **changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "point_weights": dict(zip(LEVELS, self.point_weights, strict=True)),
            "hazard_weights": {str(g): w for g, w in zip(GRADES, self.hazard_weights, strict=True)},
            "vulnerable_weight": self.vulnerable_weight,
            "thresholds": dict(zip(LEVELS[:3], self.thresholds, strict=True)),
            "floors": {
                "points": dict(zip(LEVELS[:3], self.point_floors, strict=True)),
                "hazards": {
                    str(g): (LEVELS[lv] if lv < 3 else None)
                    for g, lv in zip(GRADES, self.hazard_floors, strict=True)
                },
            },
            "influence_radius_m": {
                str(g): r for g, r in zip(GRADES, self.influence_radius_m, strict=True)
            },
            "signal_steps": {k: dict(v) for k, v in self.signal_steps.items()},
            "signal_combine": self.signal_combine,
            "max_raise": self.max_raise,
            "aggregate": {
                "method": self.aggregate_method,
                **dict(zip(SHARE_KEYS, self.aggregate_shares, strict=True)),
                "hazard_floors": {
                    str(g): (LEVELS[lv] if lv < 3 else None)
                    for g, lv in zip(GRADES, self.aggregate_hazard_floors, strict=True)
                },
            },
            "source": self.source,
        }

    def signal_raise(self, source: str, key: str) -> int:
        """Steps a signal of this source and severity/grade raises an area by (0 if unlisted)."""
        return int(self.signal_steps.get(source, {}).get(key, 0))

    def radius_of(self, grade: int) -> float:
        return self.influence_radius_m[grade - 1] if grade in GRADES else 0.0


def _number(value: Any, name: str, errors: list[tuple[str, str, str]]) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        errors.append((name, f"{name} 必须是非负数", f"{name} must be a non-negative number"))
        return 0.0
    return float(value)


def _count(value: Any, name: str, errors: list[tuple[str, str, str]]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        errors.append((name, f"{name} 必须是非负整数", f"{name} must be a non-negative integer"))
        return 0
    return value


def _by_key(
    raw: Any,
    keys: Sequence[Any],
    default: Sequence[float],
    name: str,
    errors: list[tuple[str, str, str]],
) -> tuple[float, ...]:
    if not isinstance(raw, Mapping):
        errors.append((name, f"{name} 必须是对象", f"{name} must be an object"))
        return tuple(default)
    unknown = set(map(str, raw)) - set(map(str, keys))
    if unknown:
        errors.append(
            (name, f"{name} 含未知键 {sorted(unknown)}", f"{name}: unknown keys {sorted(unknown)}")
        )
    values = {str(k): v for k, v in raw.items()}
    return tuple(
        _number(values[str(k)], f"{name}.{k}", errors) if str(k) in values else d
        for k, d in zip(keys, default, strict=True)
    )


RULE_KEYS = frozenset(
    {
        "point_weights",
        "hazard_weights",
        "vulnerable_weight",
        "thresholds",
        "floors",
        "influence_radius_m",
        "signal_steps",
        "signal_combine",
        "max_raise",
        "aggregate",
        "source",
    }
)


def _floors(raw: Any, errors: list[tuple[str, str, str]]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or set(map(str, raw)) - {"points", "hazards"}:
        errors.append(
            (
                "floors",
                "floors 必须是 {points: …, hazards: …}",
                "floors must be {points: …, hazards: …}",
            )
        )
        return {}
    out: dict[str, Any] = {}
    points = raw.get("points")
    if points is not None:
        if not isinstance(points, Mapping) or set(map(str, points)) - set(LEVELS[:3]):
            errors.append(
                (
                    "floors.points",
                    "floors.points 的键应为 red/orange/yellow",
                    "floors.points keys must be red/orange/yellow",
                )
            )
        else:
            out["point_floors"] = tuple(
                _count(points[lv], f"floors.points.{lv}", errors) if lv in points else d
                for lv, d in zip(LEVELS[:3], DEFAULT_POINT_FLOORS, strict=True)
            )
    hazards = raw.get("hazards")
    if hazards is not None:
        if not isinstance(hazards, Mapping) or set(map(str, hazards)) - {"1", "2", "3", "4"}:
            errors.append(
                (
                    "floors.hazards",
                    "floors.hazards 的键应为 1–4",
                    "floors.hazards keys must be grades 1–4",
                )
            )
        else:
            values = {str(k): v for k, v in hazards.items()}
            out["hazard_floors"] = tuple(
                _floor_level(values[str(g)], f"floors.hazards.{g}", errors)
                if str(g) in values
                else d
                for g, d in zip(GRADES, DEFAULT_HAZARD_FLOORS, strict=True)
            )
    return out


def _floor_level(value: Any, name: str, errors: list[tuple[str, str, str]]) -> int:
    if value is None:
        return 3
    if value not in LEVELS:
        errors.append(
            (
                name,
                f"{name} 应为 red/orange/yellow/blue 或 null",
                f"{name} must be red/orange/yellow/blue or null",
            )
        )
        return 3
    return LEVELS.index(value)


def _aggregate(raw: Any, errors: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The ``aggregate`` object: method, cumulative cell shares and hazard floors of streets
    and districts; keys left out keep their defaults."""
    allowed = {"method", *SHARE_KEYS, "hazard_floors"}
    if not isinstance(raw, Mapping) or set(map(str, raw)) - allowed:
        errors.append(
            (
                "aggregate",
                f"aggregate 必须是对象，键为 {sorted(allowed)}",
                f"aggregate must be an object with keys {sorted(allowed)}",
            )
        )
        return {}
    out: dict[str, Any] = {}
    if "method" in raw:
        if raw["method"] not in AGGREGATE_METHODS:
            errors.append(
                (
                    "aggregate.method",
                    "应为 cells（按网格占比）或 points（按风险点）",
                    "must be cells (by cell shares) or points (by risk points)",
                )
            )
        out["aggregate_method"] = raw["method"]
    shares = tuple(
        _share(raw[k], f"aggregate.{k}", errors) if k in raw else d
        for k, d in zip(SHARE_KEYS, DEFAULT_SHARES, strict=True)
    )
    if all(shares) and not shares[0] <= shares[1] <= shares[2]:
        errors.append(
            (
                "aggregate",
                "网格占比阈值须满足 红 ≤ 橙 ≤ 黄（累计占比）",
                "cell shares must satisfy red ≤ orange ≤ yellow (cumulative shares)",
            )
        )
    out["aggregate_shares"] = shares
    floors = raw.get("hazard_floors")
    if floors is not None:
        if not isinstance(floors, Mapping) or set(map(str, floors)) - {"1", "2", "3", "4"}:
            errors.append(
                (
                    "aggregate.hazard_floors",
                    "aggregate.hazard_floors 的键应为 1–4",
                    "aggregate.hazard_floors keys must be grades 1–4",
                )
            )
        else:
            values = {str(k): v for k, v in floors.items()}
            out["aggregate_hazard_floors"] = tuple(
                _floor_level(values[str(g)], f"aggregate.hazard_floors.{g}", errors)
                if str(g) in values
                else d
                for g, d in zip(GRADES, DEFAULT_AGGREGATE_HAZARD_FLOORS, strict=True)
            )
    return out


def _share(value: Any, name: str, errors: list[tuple[str, str, str]]) -> float:
    """A share of cells in (0, 1]; 0 for an invalid one (the error is recorded)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= 1
    ):
        errors.append(
            (
                name,
                f"{name} 必须大于 0 且不超过 1（如 0.1 表示 10%）",
                f"{name} must be in (0, 1] (e.g. 0.1 for 10 %)",
            )
        )
        return 0.0
    return float(value)


def _signal_steps(raw: Any, errors: list[tuple[str, str, str]]) -> dict[str, dict[str, int]]:
    steps = _default_signal_steps()
    if not isinstance(raw, Mapping) or any(not isinstance(v, Mapping) for v in raw.values()):
        errors.append(
            (
                "signal_steps",
                "signal_steps 必须是 {来源: {级别: 步数}}",
                "signal_steps must be {source: {severity: steps}}",
            )
        )
        return steps
    for source, table in raw.items():
        for key, value in table.items():
            steps.setdefault(str(source), {})[str(key)] = _count(
                value, f"signal_steps.{source}.{key}", errors
            )
    return steps


DEFAULT_RULE = AreaRule()


# ---------------------------------------------------------------- vectorised aggregation


def count_matrix(
    area_idx: np.ndarray, class_idx: np.ndarray, n_areas: int, n_classes: int = 4
) -> np.ndarray:
    """(n_areas, n_classes) counts of items by area and class; items with area −1 are dropped.

    One bincount over area × class replaces a Python loop over 10⁵ items.
    """
    area_idx = np.asarray(area_idx, dtype=np.int64)
    class_idx = np.asarray(class_idx, dtype=np.int64)
    keep = (area_idx >= 0) & (class_idx >= 0) & (class_idx < n_classes)
    flat = area_idx[keep] * n_classes + class_idx[keep]
    return np.bincount(flat, minlength=n_areas * n_classes).reshape(n_areas, n_classes)


def combine_raise(
    area_idx: np.ndarray, steps: np.ndarray, n_areas: int, rule: AreaRule
) -> np.ndarray:
    """Raise steps per area from the active signals located in it (max or sum, then capped)."""
    out = np.zeros(n_areas, dtype=np.int64)
    area_idx = np.asarray(area_idx, dtype=np.int64)
    steps = np.asarray(steps, dtype=np.int64)
    keep = area_idx >= 0
    if rule.signal_combine == "sum":
        np.add.at(out, area_idx[keep], steps[keep])
    else:
        np.maximum.at(out, area_idx[keep], steps[keep])
    return np.minimum(out, rule.max_raise)


def assign_by_key(
    keys: np.ndarray, area_keys_sorted: np.ndarray, area_pos: np.ndarray
) -> np.ndarray:
    """Area index of each item by an integer key (grid cell id, division code); −1 if unknown."""
    keys = np.asarray(keys, dtype=np.int64)
    if len(area_keys_sorted) == 0 or len(keys) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    at = np.clip(np.searchsorted(area_keys_sorted, keys), 0, len(area_keys_sorted) - 1)
    hit = area_keys_sorted[at] == keys
    return np.where(hit, area_pos[at], -1)


@dataclass
class Grades:
    """Per-area results; levels are indexes into LEVELS (0 red … 3 blue)."""

    score: np.ndarray
    score_level: np.ndarray
    floor_level: np.ndarray
    base_level: np.ndarray
    raise_steps: np.ndarray
    level: np.ndarray
    # streets and districts graded by their cells: the cell counts by colour (n, 4), the level
    # the shares give, and which units were graded so (the others have no cells: point rule)
    cells: np.ndarray | None = None
    share_level: np.ndarray | None = None
    by_cells: np.ndarray | None = None

    def graded_by_cells(self, i: int) -> bool:
        return self.by_cells is not None and bool(self.by_cells[i])


def grade_areas(
    points: np.ndarray,
    hazards: np.ndarray,
    vulnerable: np.ndarray,
    raise_steps: np.ndarray,
    rule: AreaRule = DEFAULT_RULE,
) -> Grades:
    """Apply the rule to n areas at once.

    ``points`` (n, 4) risk point counts by level red…blue; ``hazards`` (n, 4) major hazard
    counts by grade 一级…四级; ``vulnerable`` (n,) vulnerable target counts; ``raise_steps``
    (n,) signal raise per area (see :func:`combine_raise`).
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 4)
    hazards = np.asarray(hazards, dtype=np.float64).reshape(-1, 4)
    score = (
        points @ np.asarray(rule.point_weights)
        + hazards @ np.asarray(rule.hazard_weights)
        + np.asarray(vulnerable, dtype=np.float64) * rule.vulnerable_weight
    )
    score = np.round(score, 6)
    t_red, t_orange, t_yellow = rule.thresholds
    score_level = np.select([score >= t_red, score >= t_orange, score >= t_yellow], [0, 1, 2], 3)
    floor = floor_levels(points, hazards, rule)
    base = np.minimum(score_level, floor)
    steps = np.asarray(raise_steps, dtype=np.int64)
    return Grades(
        score=score,
        score_level=score_level,
        floor_level=floor,
        base_level=base,
        raise_steps=steps,
        level=np.maximum(base - steps, 0),
    )


def floor_levels(points: np.ndarray, hazards: np.ndarray, rule: AreaRule) -> np.ndarray:
    """Per area the most severe floor (level index; 3 = blue, no floor) of step 3."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 4)
    hazards = np.asarray(hazards, dtype=np.float64).reshape(-1, 4)
    floor = np.full(len(points), 3, dtype=np.int64)
    at_least = np.cumsum(points[:, :3], axis=1)  # points of each level or more severe
    for lv in (2, 1, 0):  # least severe first, so a more severe floor overwrites
        need = rule.point_floors[lv]
        if need > 0:
            floor[at_least[:, lv] >= need] = np.minimum(floor[at_least[:, lv] >= need], lv)
    return _hazard_floor(hazards, rule.hazard_floors, floor)


def _hazard_floor(hazards: np.ndarray, floors: Sequence[int], floor: np.ndarray) -> np.ndarray:
    for g, lv in zip(GRADES, floors, strict=True):
        if lv < 3:
            hit = hazards[:, g - 1] > 0
            floor[hit] = np.minimum(floor[hit], lv)
    return floor


def share_levels(cells: np.ndarray, rule: AreaRule) -> np.ndarray:
    """Level index per unit from its grid cells' counts by colour (n, 4: red…blue).

    Red when red cells make up at least ``red_share`` of the cells, else orange when red +
    orange reach ``orange_share``, else yellow when red + orange + yellow reach
    ``yellow_share``, else blue (also a unit with no cells).  Shares are rounded to 1e-9 so
    that 1 of 10 meets 0.10 exactly.
    """
    cells = np.asarray(cells, dtype=np.float64).reshape(-1, 4)
    total = np.maximum(cells.sum(axis=1), 1.0)
    cum = np.round(np.cumsum(cells[:, :3], axis=1) / total[:, None], 9)
    red, orange, yellow = (round(x, 9) for x in rule.aggregate_shares)
    has = cells.sum(axis=1) > 0
    return np.select(
        [has & (cum[:, 0] >= red), has & (cum[:, 1] >= orange), has & (cum[:, 2] >= yellow)],
        [0, 1, 2],
        3,
    )


def grade_aggregates(
    cells: np.ndarray,
    points: np.ndarray,
    hazards: np.ndarray,
    vulnerable: np.ndarray,
    raise_steps: np.ndarray,
    rule: AreaRule = DEFAULT_RULE,
) -> Grades:
    """Grade n streets or districts: by their cells' shares (see the module docstring, 5).

    ``cells`` (n, 4) counts of the unit's grid cells by their base level red…blue; the other
    arguments are those of :func:`grade_areas`, which grades units without cells and every
    unit when the city's method is "points".
    """
    by_points = grade_areas(points, hazards, vulnerable, raise_steps, rule)
    if rule.aggregate_method != "cells":
        return by_points
    cells = np.asarray(cells, dtype=np.int64).reshape(-1, 4)
    hazards = np.asarray(hazards, dtype=np.float64).reshape(-1, 4)
    by_cells = cells.sum(axis=1) > 0
    share = share_levels(cells, rule)
    floor = _hazard_floor(
        hazards, rule.aggregate_hazard_floors, np.full(len(cells), 3, dtype=np.int64)
    )
    base = np.where(by_cells, np.minimum(share, floor), by_points.base_level)
    steps = by_points.raise_steps
    return replace(
        by_points,
        floor_level=np.where(by_cells, floor, by_points.floor_level),
        base_level=base,
        level=np.maximum(base - steps, 0),
        cells=cells,
        share_level=share,
        by_cells=by_cells,
    )


# ---------------------------------------------------------------- explanation


def explain_area(
    points: Sequence[int],
    hazards: Sequence[int],
    vulnerable: int,
    signals: Sequence[Mapping[str, Any]] = (),
    rule: AreaRule = DEFAULT_RULE,
    cells: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Why one area has its colour: each contribution, the floor applied and the dynamic raise.

    ``signals`` are the active signals in the area as mappings with at least ``raise_steps``
    (and whatever else the caller wants echoed, e.g. source, source_ref, severity).
    ``cells`` (street and district only) counts the unit's grid cells by colour red…blue; with
    the "cells" method and at least one cell the unit is explained by its cell shares.
    """
    steps = [int(s.get("raise_steps", 0)) for s in signals]
    raise_ = (
        int(
            combine_raise(
                np.zeros(len(steps), dtype=np.int64), np.array(steps, dtype=np.int64), 1, rule
            )[0]
        )
        if steps
        else 0
    )
    if cells is not None and rule.aggregate_method == "cells" and sum(cells):
        return _explain_by_cells(cells, points, hazards, vulnerable, signals, raise_, rule)
    g = grade_areas(
        np.array([points]), np.array([hazards]), np.array([vulnerable]), np.array([raise_]), rule
    )
    contributions = _contributions(points, hazards, vulnerable, rule)
    level = LEVELS[int(g.level[0])]
    fallback = cells is not None and rule.aggregate_method == "cells"
    return {
        "method": "points",
        "score": float(g.score[0]),
        "score_level": LEVELS[int(g.score_level[0])],
        "floor_level": LEVELS[int(g.floor_level[0])],
        "base_level": LEVELS[int(g.base_level[0])],
        "raise_steps": raise_,
        "level": level,
        "contributions": contributions,
        "hard_rules": _hard_rule_notes(points, hazards, rule),
        "signals": [dict(s) for s in signals],
        "summary_zh": ("单元内无网格，按风险点规则定级：" if fallback else "")
        + _summary_zh(g, contributions, raise_),
        "summary_en": ("No grid cells in this unit, graded by the point rule: " if fallback else "")
        + _summary_en(g, contributions, raise_),
        "thresholds": dict(zip(LEVELS[:3], rule.thresholds, strict=True)),
        "rule": rule.as_dict(),
    }


def _explain_by_cells(
    cells: Sequence[int],
    points: Sequence[int],
    hazards: Sequence[int],
    vulnerable: int,
    signals: Sequence[Mapping[str, Any]],
    raise_: int,
    rule: AreaRule,
) -> dict[str, Any]:
    """A street or district graded by its cells: counts and shares, thresholds, floor, raise."""
    g = grade_aggregates(
        np.array([cells]),
        np.array([points]),
        np.array([hazards]),
        np.array([vulnerable]),
        np.array([raise_]),
        rule,
    )
    assert g.share_level is not None
    total = int(sum(cells))
    shares = [int(n) / total for n in cells]
    tests = _share_tests(shares, rule)
    floors = _aggregate_floor_notes(hazards, rule)
    lv = {
        k: LEVELS[int(getattr(g, k)[0])]
        for k in ("share_level", "floor_level", "base_level", "level")
    }
    return {
        "method": "cells",
        "score": float(g.score[0]),
        "score_level": LEVELS[int(g.score_level[0])],
        **lv,
        "raise_steps": raise_,
        "cells": {
            "total": total,
            "counts": dict(zip(LEVELS, map(int, cells), strict=True)),
            "shares": dict(zip(LEVELS, (round(x, 6) for x in shares), strict=True)),
        },
        "share_tests": tests,
        "contributions": [
            {
                "kind": "grid_cells",
                "class": k,
                "count": int(n),
                "share": round(x, 6),
                "label_zh": f"{LEVEL_ZH[k][:2]}网格",
                "label_en": f"{k} grid cells",
            }
            for k, n, x in zip(LEVELS, cells, shares, strict=True)
            if n
        ],
        "hard_rules": floors,
        "signals": [dict(s) for s in signals],
        "summary_zh": _cells_summary_zh(cells, shares, tests, lv, floors, raise_),
        "summary_en": _cells_summary_en(cells, shares, tests, lv, floors, raise_),
        "thresholds": dict(zip(SHARE_KEYS, rule.aggregate_shares, strict=True)),
        "rule": rule.as_dict(),
    }


_SHARE_LABELS = (
    ("红色网格", "red cells"),
    ("红、橙色网格", "red + orange cells"),
    ("红、橙、黄色网格", "red + orange + yellow cells"),
)


def _share_tests(shares: Sequence[float], rule: AreaRule) -> list[dict[str, Any]]:
    """The three cumulative share tests in order, each with whether it is met."""
    out = []
    for i, need in enumerate(rule.aggregate_shares):
        got = round(sum(shares[: i + 1]), 9)
        met = got >= round(need, 9)
        zh, en = _SHARE_LABELS[i]
        sign = "≥" if met else "<"
        out.append(
            {
                "level": LEVELS[i],
                "share": round(got, 6),
                "threshold": need,
                "met": met,
                "text_zh": f"{zh}占 {_pct(got)}（{sign} {_pct(need)}）",
                "text_en": f"{en} {_pct(got)} ({sign} {_pct(need)})",
            }
        )
    return out


def _deciding(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tests read to reach the level: up to the first one met (all three for blue)."""
    met = [i for i, t in enumerate(tests) if t["met"]]
    return tests[: met[0] + 1] if met else tests


def _floor_raised(lv: dict[str, str], floors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The most severe hazard floor note when it, not the shares, sets the base level."""
    if not floors or LEVELS.index(lv["floor_level"]) >= LEVELS.index(lv["share_level"]):
        return None
    return min(floors, key=lambda n: LEVELS.index(n["floor"]))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%".replace(".0%", "%")


def _aggregate_floor_notes(hazards: Sequence[int], rule: AreaRule) -> list[dict[str, Any]]:
    notes = []
    for g, lv in zip(GRADES, rule.aggregate_hazard_floors, strict=True):
        if lv < 3 and hazards[g - 1]:
            level = LEVELS[lv]
            notes.append(
                {
                    "floor": level,
                    "applied": True,
                    "source": "major_hazards",
                    "text_zh": f"{GRADE_ZH[g]}重大危险源 {int(hazards[g - 1])} 处"
                    f" → 街道/区县至少{LEVEL_ZH[level]}",
                    "text_en": f"{int(hazards[g - 1])} grade {g} major hazards → the "
                    f"unit is at least {level}",
                }
            )
    return notes


def _cells_summary_zh(
    cells: Sequence[int],
    shares: Sequence[float],
    tests: list[dict[str, Any]],
    lv: dict[str, str],
    floors: list[dict[str, Any]],
    raise_: int,
) -> str:
    counts = "、".join(
        f"{LEVEL_ZH[k][:2]} {int(n)} 个（{_pct(x)}）"
        for k, n, x in zip(LEVELS, cells, shares, strict=True)
    )
    why = "，".join(t["text_zh"] for t in _deciding(tests))
    text = (
        f"共 {int(sum(cells))} 个网格：{counts}。{why}，按网格占比为{LEVEL_ZH[lv['share_level']]}"
    )
    floor = _floor_raised(lv, floors)
    if floor:
        text += f"；{floor['text_zh']}，提升为{LEVEL_ZH[lv['base_level']]}"
    if raise_:
        text += f"，动态信号上调 {raise_} 级"
    return text + f"，最终为{LEVEL_ZH[lv['level']]}。"


def _cells_summary_en(
    cells: Sequence[int],
    shares: Sequence[float],
    tests: list[dict[str, Any]],
    lv: dict[str, str],
    floors: list[dict[str, Any]],
    raise_: int,
) -> str:
    counts = ", ".join(
        f"{int(n)} {k} ({_pct(x)})" for k, n, x in zip(LEVELS, cells, shares, strict=True)
    )
    why = ", ".join(t["text_en"] for t in _deciding(tests))
    text = (
        f"{int(sum(cells))} grid cells: {counts}. {why}: by cell shares "
        f"{LEVEL_EN[lv['share_level']]}"
    )
    floor = _floor_raised(lv, floors)
    if floor:
        text += f"; {floor['text_en']}, raised to {LEVEL_EN[lv['base_level']]}"
    if raise_:
        text += f", raised {raise_} step(s) by live signals"
    return text + f"; final level {LEVEL_EN[lv['level']]}."


def _contributions(
    points: Sequence[int], hazards: Sequence[int], vulnerable: int, rule: AreaRule
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for level, n, w in zip(LEVELS, points, rule.point_weights, strict=True):
        if n:
            out.append(
                {
                    "kind": "risk_points",
                    "class": level,
                    "count": int(n),
                    "weight": w,
                    "score": round(n * w, 6),
                    "label_zh": f"{LEVEL_ZH[level][:2]}风险点",
                    "label_en": f"{level} risk points",
                }
            )
    for grade, n, w in zip(GRADES, hazards, rule.hazard_weights, strict=True):
        if n:
            out.append(
                {
                    "kind": "major_hazards",
                    "class": grade,
                    "count": int(n),
                    "weight": w,
                    "score": round(n * w, 6),
                    "label_zh": f"{GRADE_ZH[grade]}重大危险源",
                    "label_en": f"grade {grade} major hazards",
                }
            )
    if vulnerable:
        out.append(
            {
                "kind": "vulnerable_targets",
                "class": None,
                "count": int(vulnerable),
                "weight": rule.vulnerable_weight,
                "score": round(vulnerable * rule.vulnerable_weight, 6),
                "label_zh": "重大危险源影响范围内的脆弱性目标",
                "label_en": "protected targets within a major hazard's influence range",
            }
        )
    return out


def _hard_rule_notes(
    points: Sequence[int], hazards: Sequence[int], rule: AreaRule
) -> list[dict[str, Any]]:
    """The floors of step 3 that apply to this area (the ones that set or confirm its level)."""
    at_least = np.cumsum(np.asarray(points[:3], dtype=np.int64))
    notes = []
    for lv in range(3):  # the most severe point floor reached is the one that matters
        need = rule.point_floors[lv]
        if need > 0 and at_least[lv] >= need:
            level = LEVELS[lv]
            notes.append(
                {
                    "floor": level,
                    "applied": True,
                    "source": "risk_points",
                    "text_zh": f"{LEVEL_ZH[level][:2]}及以上风险点 {int(at_least[lv])} 个"
                    f"（≥ {need}）→ 至少{LEVEL_ZH[level]}",
                    "text_en": f"{int(at_least[lv])} risk points {level} or above "
                    f"(≥ {need}) → at least {level}",
                }
            )
            break
    for g, lv in zip(GRADES, rule.hazard_floors, strict=True):
        if lv < 3 and hazards[g - 1]:
            level = LEVELS[lv]
            notes.append(
                {
                    "floor": level,
                    "applied": True,
                    "source": "major_hazards",
                    "text_zh": f"{GRADE_ZH[g]}重大危险源 {int(hazards[g - 1])} 处"
                    f" → 至少{LEVEL_ZH[level]}",
                    "text_en": f"{int(hazards[g - 1])} grade {g} major hazards → at least {level}",
                }
            )
    return notes


def _summary_zh(g: Grades, contributions: list[dict[str, Any]], raise_: int) -> str:
    parts = "＋".join(f"{c['label_zh']}{c['count']}×{c['weight']:g}" for c in contributions)
    text = f"综合得分 {g.score[0]:g}" + (f"（{parts}）" if parts else "（区域内无风险源）")
    text += f"，按得分为{LEVEL_ZH[LEVELS[int(g.score_level[0])]]}"
    if g.floor_level[0] < g.score_level[0]:
        text += f"，按就高原则提升为{LEVEL_ZH[LEVELS[int(g.floor_level[0])]]}"
    if raise_:
        text += f"，动态信号上调 {raise_} 级"
    return text + f"，最终为{LEVEL_ZH[LEVELS[int(g.level[0])]]}。"


def _summary_en(g: Grades, contributions: list[dict[str, Any]], raise_: int) -> str:
    parts = " + ".join(f"{c['count']} {c['label_en']} × {c['weight']:g}" for c in contributions)
    text = f"Score {g.score[0]:g}" + (f" ({parts})" if parts else " (nothing in the area)")
    text += f", by score {LEVEL_EN[LEVELS[int(g.score_level[0])]]}"
    if g.floor_level[0] < g.score_level[0]:
        text += f", raised to {LEVEL_EN[LEVELS[int(g.floor_level[0])]]} by the highest-level floor"
    if raise_:
        text += f", raised {raise_} step(s) by live signals"
    return text + f"; final level {LEVEL_EN[LEVELS[int(g.level[0])]]}."


# ---------------------------------------------------------------- distances


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    """Great-circle distance in metres on the IUGG mean sphere (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def nearest_within(
    target_lonlat: np.ndarray, source_lonlat: np.ndarray, radius_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each target, the nearest source whose own radius reaches it (distance ≤ radius).

    Returns (source index or −1, distance in m or NaN).  Candidates come from an STRtree of
    boxes in degrees with a 1 % margin; the decision uses the exact great-circle distance, so a
    target at 499 m of a 500 m source is in and one at 501 m is out.
    """
    targets = np.asarray(target_lonlat, dtype=np.float64).reshape(-1, 2)
    sources = np.asarray(source_lonlat, dtype=np.float64).reshape(-1, 2)
    radius = np.asarray(radius_m, dtype=np.float64).reshape(-1)
    best = np.full(len(targets), -1, dtype=np.int64)
    dist = np.full(len(targets), np.nan)
    if not len(targets) or not len(sources) or not (radius > 0).any():
        return best, dist
    # A box in degrees around each source, sized at the source's own latitude with a 1 %
    # margin: a cheap envelope that the exact great-circle check below then filters.
    pad_m = radius * 1.01 + 1.0
    dlat = np.degrees(pad_m / EARTH_RADIUS_M)
    dlon = dlat / np.maximum(np.cos(np.radians(np.abs(sources[:, 1]) + dlat)), 1e-6)
    boxes = shapely.box(
        sources[:, 0] - dlon, sources[:, 1] - dlat, sources[:, 0] + dlon, sources[:, 1] + dlat
    )
    ti, si = shapely.STRtree(boxes).query(shapely.points(targets), predicate="intersects")
    if not len(ti):
        return best, dist
    d = haversine_m(targets[ti, 0], targets[ti, 1], sources[si, 0], sources[si, 1])
    ok = d <= radius[si]
    ti, si, d = ti[ok], si[ok], d[ok]
    order = np.lexsort((si, d, ti))  # per target: nearest first, ties to the lower index
    ti, si, d = ti[order], si[order], d[order]
    first = np.unique(ti, return_index=True)[1]
    best[ti[first]] = si[first]
    dist[ti[first]] = d[first]
    return best, dist
