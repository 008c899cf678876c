"""Four-colour map layers (grid, street, district, H3): the caller's scoped items assigned to
areas and graded by the area rule, as GeoJSON, with the major hazard markers.

Every layer is computed fresh; only the parsed area geometry is cached (geometry.py), because
parsing thousands of GeoJSON polygons costs more than grading 100,000 points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import (
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from safecity.core.errors import FieldError, Invalid
from safecity.core.scope import Principal
from safecity.registry.models import Enterprise
from safecity.risk.areas import rules as areas
from safecity.risk.areas.geometry import (
    DEFAULT_H3_RES,
    H3_RESOLUTIONS,
    AreaSet,
    finish_areas,
    h3_areas,
    h3_cells,
    registry_areas,
)
from safecity.risk.areas.rules import LEVELS, AreaRule
from safecity.risk.areas.service import (
    AGGREGATE_UNITS,
    COLOURS,
    LEVEL_INDEX,
    UNITS,
    Items,
    check_reader,
    fetch_rows,
    hazard_filter,
    key_column,
    load_hazards,
    load_points,
    load_rule,
    load_signals,
    load_targets,
    point_filter,
    vulnerable_flags,
)
from safecity.risk.models import MajorHazard, RiskPoint

# ---------------------------------------------------------------- assignment


def assign(area_set: AreaSet, items: Items) -> np.ndarray:
    """Area index of each item: by key (grid cell id, division code), else by location."""
    if not len(items):
        return np.empty(0, dtype=np.int64)
    if area_set.unit == "h3":
        assert area_set.resolution is not None
        cells = h3_cells(items.lon, items.lat, area_set.resolution)
        return areas.assign_by_key(cells, *area_set.sorted_keys())
    idx = areas.assign_by_key(items.key, *area_set.sorted_keys())
    if area_set.cell_street is not None:
        by_cell = np.flatnonzero((idx < 0) & (items.key <= -2))
        if len(by_cell):
            cell_ids, street_codes = area_set.cell_street
            at = areas.assign_by_key(-(items.key[by_cell] + 2), cell_ids, np.arange(len(cell_ids)))
            codes = np.where(at >= 0, street_codes[np.maximum(at, 0)], -1)
            idx[by_cell] = areas.assign_by_key(codes, *area_set.sorted_keys())
    todo = np.flatnonzero((idx < 0) & ~np.isnan(items.lon) & ~np.isnan(items.lat))
    if len(todo) and area_set.tree is not None:
        pts = shapely.points(items.lon[todo], items.lat[todo])
        # "intersects" rather than "within": a point on a shared edge still finds an area.
        hit_pt, hit_area = area_set.tree.query(pts, predicate="intersects")
        if len(hit_pt):
            first = np.unique(hit_pt, return_index=True)[1]  # lowest area index per point
            idx[todo[hit_pt[first]]] = hit_area[first]
    return idx


# ---------------------------------------------------------------- layers


@dataclass
class Layer:
    areas: AreaSet
    rule: AreaRule
    points: np.ndarray  # (n, 4)
    hazards: np.ndarray  # (n, 4)
    vulnerable: np.ndarray  # (n,)
    signals: np.ndarray  # (n,) active signal count
    grades: areas.Grades

    def level_of(self, i: int) -> str:
        return LEVELS[int(self.grades.level[i])]

    def summary(self) -> dict[str, Any]:
        counts = np.bincount(self.grades.level, minlength=4)
        return {
            "areas": {lv: int(n) for lv, n in zip(LEVELS, counts, strict=True)},
            "total_areas": len(self.areas),
            "risk_points": {
                lv: int(n) for lv, n in zip(LEVELS, self.points.sum(axis=0), strict=True)
            },
            "major_hazards": {
                str(g): int(n) for g, n in zip(areas.GRADES, self.hazards.sum(axis=0), strict=True)
            },
            "vulnerable_targets": int(self.vulnerable.sum()),
            "active_signals": int(self.signals.sum()),
        }


def parse_unit(unit: str, resolution: int | None) -> tuple[str, int | None]:
    if unit not in UNITS:
        raise Invalid(
            [
                FieldError(
                    "unit",
                    "单元：应为 grid、street、district 或 h3",
                    "unit: must be grid, street, district or h3",
                )
            ]
        )
    if unit != "h3":
        return unit, None
    res = DEFAULT_H3_RES if resolution is None else resolution
    if res not in H3_RESOLUTIONS:
        raise Invalid(
            [FieldError("resolution", "H3 分辨率：应为 4–10", "resolution: must be 4–10")]
        )
    return unit, res


def compute_layer(
    session: Session,
    principal: Principal,
    unit: str = "grid",
    resolution: int | None = None,
    division: str | None = None,
) -> Layer:
    """Grade every area of the unit in the caller's scope from the current data."""
    check_reader(principal)
    unit, res = parse_unit(unit, resolution)
    rule = load_rule(session, principal.division_code)
    hazards = load_hazards(session, principal, unit, division)
    targets = load_targets(session, principal, unit, division)
    signals = load_signals(session, principal, unit, division)
    near, _dist = vulnerable_flags(targets, hazards, rule)
    vulnerable = targets.take(near >= 0)
    if unit == "h3":
        assert res is not None
        points = load_points(session, principal, unit, division)
        cells = [h3_cells(x.lon, x.lat, res) for x in (points, hazards, vulnerable, signals)]
        area_set = h3_areas(np.concatenate(cells), res)
        sk = area_set.sorted_keys()
        idx = [areas.assign_by_key(c, *sk) for c in cells]
        return _grade(area_set, rule, points, hazards, signals, idx)
    area_set = registry_areas(session, principal, unit, division)
    counts = count_points(session, principal, unit, area_set, division)
    idx = [np.empty(0, dtype=np.int64)] + [
        assign(area_set, x) for x in (hazards, vulnerable, signals)
    ]
    cells = None
    if unit in AGGREGATE_UNITS and rule.aggregate_method == "cells":
        cell_idx, grid = unit_cells(session, principal, area_set, division)
        cells = areas.count_matrix(cell_idx, grid.grades.base_level, len(area_set))
    return _grade(area_set, rule, empty_items(), hazards, signals, idx, counts, cells)


def unit_cells(
    session: Session, principal: Principal, area_set: AreaSet, division: str | None = None
) -> tuple[np.ndarray, Layer]:
    """The grid layer in scope and, per grid cell, the index of its street or district (−1).

    A street or district is graded from the levels of its grid cells (``areas`` rule, step 5);
    the cells are graded first, by the same call that draws the grid layer.
    """
    grid = compute_layer(session, principal, "grid", division=division)
    return cell_units(area_set, grid.areas), grid


def cell_units(area_set: AreaSet, cells: AreaSet) -> np.ndarray:
    """Index into ``area_set`` (streets or districts) of each grid cell of ``cells``, or −1.

    A cell counts in the district of its division code, and in the street holding its centre
    (as a risk point known by its cell does, see :func:`_cell_streets`), else in the street of
    its division code.
    """
    digits = 6 if area_set.unit == "district" else 9
    codes = np.array([_code_int(c, digits) for c in cells.division_codes], dtype=np.int64)
    if (
        area_set.unit == "street"
        and area_set.cell_street is not None
        and len(area_set.cell_street[0])
    ):
        cell_ids, street_codes = area_set.cell_street
        at = areas.assign_by_key(cells.int_keys, cell_ids, np.arange(len(cell_ids)))
        by_centre = np.where(at >= 0, street_codes[np.maximum(at, 0)], -1)
        codes = np.where(by_centre >= 0, by_centre, codes)
    return areas.assign_by_key(codes, *area_set.sorted_keys())


def _code_int(code: str | None, digits: int) -> int:
    head = (code or "").strip()[:digits]
    return int(head) if len(head) == digits and head.isdigit() else -1


def count_points(
    session: Session,
    principal: Principal,
    unit: str,
    area_set: AreaSet,
    division: str | None = None,
) -> np.ndarray:
    """(areas, 4) risk point counts by level, aggregated in the database where possible.

    Points are grouped by their key (grid cell id, street or district code) and level in SQL,
    so 10⁵ points travel as a few thousand groups; only the groups whose key names no area
    (no grid cell, a cell outside the set, …) are fetched point by point and placed by
    location. The result equals assigning every point with :func:`assign`.
    """
    clauses, joined = point_filter(principal, division)
    key = key_column(unit, RiskPoint.division_code, RiskPoint.grid_cell_id)
    # Positional GROUP BY: PostgreSQL would not match the bound CASE expressions otherwise.
    stmt = (
        select(key, LEVEL_INDEX, func.count())
        .select_from(RiskPoint)
        .where(*clauses)
        .group_by(literal_column("1"), literal_column("2"))
    )
    if joined:
        stmt = stmt.outerjoin(Enterprise, Enterprise.id == RiskPoint.enterprise_id)
    groups = np.array(fetch_rows(session, stmt), dtype=np.int64).reshape(-1, 3)
    n = len(area_set)
    counts = np.zeros((n, 4), dtype=np.int64)
    if not len(groups):
        return counts
    none = np.zeros(len(groups), dtype=np.int64)
    nan = np.full(len(groups), np.nan)
    idx = assign(area_set, Items(none, groups[:, 1], groups[:, 0], nan, nan, none))
    ok = idx >= 0
    np.add.at(counts, (idx[ok], groups[ok, 1]), groups[ok, 2])
    unresolved = sorted(set(groups[~ok, 0].tolist()))
    if unresolved:
        items = load_points(session, principal, unit, division, extra=[key.in_(unresolved)])
        counts += areas.count_matrix(assign(area_set, items), items.cls, n)
    return counts


def _grade(
    area_set: AreaSet,
    rule: AreaRule,
    points: Items,
    hazards: Items,
    signals: Items,
    idx: list[np.ndarray],
    p_counts: np.ndarray | None = None,
    cells: np.ndarray | None = None,
) -> Layer:
    n = len(area_set)
    if p_counts is None:
        p_counts = areas.count_matrix(idx[0], points.cls, n)
    h_counts = areas.count_matrix(idx[1], hazards.cls, n)
    v_counts = np.bincount(idx[2][idx[2] >= 0], minlength=n)
    s_counts = np.bincount(idx[3][idx[3] >= 0], minlength=n)
    raise_ = areas.combine_raise(idx[3], signals.extra, n, rule)
    if cells is not None:
        grades = areas.grade_aggregates(cells, p_counts, h_counts, v_counts, raise_, rule)
    else:
        grades = areas.grade_areas(p_counts, h_counts, v_counts, raise_, rule)
    return Layer(area_set, rule, p_counts, h_counts, v_counts, s_counts, grades)


def layer_geojson(layer: Layer) -> dict[str, Any]:
    a, g = layer.areas, layer.grades
    features = []
    for i, key in enumerate(a.keys):
        if a.geometry[i] is None:
            continue
        level = LEVELS[int(g.level[i])]
        features.append(
            {
                "type": "Feature",
                "id": key,
                "geometry": a.geometry[i],
                "properties": {
                    "id": key,
                    "name": a.names[i],
                    "division_code": a.division_codes[i],
                    "level": level,
                    "colour": COLOURS[level],
                    "score": float(g.score[i]),
                    "base_level": LEVELS[int(g.base_level[i])],
                    "raise_steps": int(g.raise_steps[i]),
                    "risk_points": [int(x) for x in layer.points[i]],
                    "major_hazards": [int(x) for x in layer.hazards[i]],
                    "vulnerable_targets": int(layer.vulnerable[i]),
                    "signals": int(layer.signals[i]),
                    **_cell_properties(g, i),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "unit": a.unit,
        "resolution": a.resolution,
        "colours": COLOURS,
        "summary": layer.summary(),
        "rule": layer.rule.as_dict(),
        "features": features,
    }


def _cell_properties(g: areas.Grades, i: int) -> dict[str, Any]:
    """How a street or district was graded: by its cells (with their counts) or by points."""
    if g.cells is None:
        return {}
    return {
        "method": "cells" if g.graded_by_cells(i) else "points",
        "grid_cells": [int(x) for x in g.cells[i]],
    }


def map_layer(
    session: Session,
    principal: Principal,
    unit: str = "grid",
    resolution: int | None = None,
    division: str | None = None,
) -> dict[str, Any]:
    return layer_geojson(compute_layer(session, principal, unit, resolution, division))


def empty_items() -> Items:
    z = np.empty(0, dtype=np.int64)
    return Items(z, z, z, np.empty(0), np.empty(0), z)


def _items(cls: Sequence[int], key: Sequence[int], lonlat: Sequence[tuple[Any, Any]]) -> Items:
    xy = np.array(
        [[np.nan if v is None else v for v in p] for p in lonlat], dtype=np.float64
    ).reshape(-1, 2)
    n = len(cls)
    return Items(
        np.arange(n, dtype=np.int64),
        np.asarray(cls, dtype=np.int64).reshape(-1),
        np.asarray(key, dtype=np.int64).reshape(-1),
        xy[:, 0],
        xy[:, 1],
        np.zeros(n, dtype=np.int64),
    )


def grade_snapshot(
    session: Session,
    principal: Principal,
    division: str,
    shapes: Sequence[Any],
    cell_ids: Sequence[int | None],
    points: Sequence[tuple[int | None, float | None, float | None, str]],
    hazards: Sequence[tuple[float | None, float | None, int]],
) -> tuple[list[str], list[str]]:
    """Levels (and one-line reasons) of given areas from given points and hazards.

    For callers that grade another moment than now (the white paper grades the levels at the
    end of a year): areas are shapely geometries with an optional grid cell id, points are
    (grid_cell_id, lon, lat, level), hazards (lon, lat, grade). Protected targets are the
    current ones in ``division``; live signals are not included (a snapshot has none).
    """
    n = len(shapes)
    geoms = np.empty(n, dtype=object)
    geoms[:] = list(shapes)
    # Areas without a cell id get distinct negative keys so no item matches them by key.
    keys = np.array(
        [c if c is not None else -(i + 2) for i, c in enumerate(cell_ids)], dtype=np.int64
    )
    area_set = finish_areas(
        AreaSet(
            unit="grid",
            resolution=None,
            keys=[str(i) for i in range(n)],
            names=[""] * n,
            division_codes=[""] * n,
            geometry=[None] * n,
            shapes=geoms,
            int_keys=keys,
        )
    )
    rule = load_rule(session, division)
    p_items = _items(
        [LEVELS.index(lv) for *_x, lv in points],
        [c if c is not None else -1 for c, *_x in points],
        [(lon, lat) for _c, lon, lat, _lv in points],
    )
    h_items = _items(
        [g - 1 for *_x, g in hazards], [-1] * len(hazards), [(lon, lat) for lon, lat, _g in hazards]
    )
    targets = load_targets(session, principal, "grid", division)
    near, _dist = vulnerable_flags(targets, h_items, rule)
    vulnerable = targets.take(near >= 0)
    signals = empty_items()
    idx = [assign(area_set, x) for x in (p_items, h_items, vulnerable, signals)]
    layer = _grade(area_set, rule, p_items, h_items, signals, idx)
    return ([layer.level_of(i) for i in range(n)], [area_basis(layer, i) for i in range(n)])


# ---------------------------------------------------------------- major hazard markers


def hazard_markers(
    session: Session, principal: Principal, division: str | None = None
) -> dict[str, Any]:
    """Point layer of graded major hazard installations (重大危险源) in scope."""
    check_reader(principal)
    stmt = (
        select(
            MajorHazard.id,
            MajorHazard.name,
            MajorHazard.level,
            MajorHazard.r_value,
            MajorHazard.unit_kind,
            MajorHazard.division_code,
            MajorHazard.lon,
            MajorHazard.lat,
            MajorHazard.enterprise_id,
            Enterprise.name.label("enterprise"),
        )
        .select_from(MajorHazard)
        .outerjoin(Enterprise, Enterprise.id == MajorHazard.enterprise_id)
        .where(
            *hazard_filter(principal, division),
            MajorHazard.lon.is_not(None),
            MajorHazard.lat.is_not(None),
        )
        .order_by(MajorHazard.level, MajorHazard.id)
    )
    features = [
        {
            "type": "Feature",
            "id": r.id,
            "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
            "properties": {
                "id": r.id,
                "name": r.name,
                "level": r.level,
                "r_value": r.r_value,
                "unit_kind": r.unit_kind,
                "division_code": r.division_code,
                "enterprise_id": r.enterprise_id,
                "enterprise": r.enterprise,
            },
        }
        for r in session.execute(stmt)
    ]
    return {"type": "FeatureCollection", "layer": "major-hazards", "features": features}


def area_basis(layer: Layer, i: int) -> str:
    """One line in Chinese: what the area holds and its score (lists and the white paper)."""
    if layer.grades.graded_by_cells(i):
        return _cells_basis(layer, i)
    p, h = layer.points[i], layer.hazards[i]
    parts = [
        f"{areas.LEVEL_ZH[lv][:2]}风险点{int(k)}个" for lv, k in zip(LEVELS, p, strict=True) if k
    ]
    parts += [
        f"{areas.GRADE_ZH[g]}重大危险源{int(k)}处"
        for g, k in zip(areas.GRADES, h, strict=True)
        if k
    ]
    if layer.vulnerable[i]:
        parts.append(f"危险源影响范围内脆弱性目标{int(layer.vulnerable[i])}个")
    text = f"综合得分{layer.grades.score[i]:g}：" + ("、".join(parts) or "无风险源")
    if layer.grades.raise_steps[i]:
        text += f"；动态信号上调{int(layer.grades.raise_steps[i])}级"
    return text


def _cells_basis(layer: Layer, i: int) -> str:
    g = layer.grades
    assert g.cells is not None
    cells = g.cells[i]
    total = int(cells.sum())
    parts = [
        f"{areas.LEVEL_ZH[lv][:2]}网格{int(k)}个（{100 * k / total:.1f}%）"
        for lv, k in zip(LEVELS, cells, strict=True)
        if k
    ]
    text = f"按网格占比：共{total}个网格，" + "、".join(parts)
    share = int(g.share_level[i]) if g.share_level is not None else 3
    if g.floor_level[i] < share:
        text += f"；重大危险源提升为{areas.LEVEL_ZH[LEVELS[int(g.floor_level[i])]]}"
    if g.raise_steps[i]:
        text += f"；动态信号上调{int(g.raise_steps[i])}级"
    return text
