"""Why an area has its colour: the rule's explanation with the risk points, major hazards,
vulnerable targets and live signals that decided it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import h3
import numpy as np
import shapely
from sqlalchemy import (
    and_,
    false,
    or_,
    select,
)
from sqlalchemy.orm import Session

from safecity.core.errors import NotFound
from safecity.core.scope import Principal
from safecity.core.sql import code_within
from safecity.registry.models import Enterprise, ProtectedTarget
from safecity.risk.areas import rules as areas
from safecity.risk.areas.geometry import AreaSet, h3_areas, registry_areas
from safecity.risk.areas.layers import Layer, assign, parse_unit, unit_cells
from safecity.risk.areas.rules import LEVELS, AreaRule
from safecity.risk.areas.service import (
    AGGREGATE_UNITS,
    COLOURS,
    POINT_LAT,
    POINT_LON,
    Items,
    check_reader,
    load_hazards,
    load_points,
    load_rule,
    load_signals,
    load_targets,
    vulnerable_flags,
)
from safecity.risk.models import MajorHazard, RiskPoint, RiskSignal

MAX_EXPLAIN_ITEMS = 50


# ---------------------------------------------------------------- explanation


def explain(
    session: Session, principal: Principal, unit: str, area_id: str, resolution: int | None = None
) -> dict[str, Any]:
    """Why one area has its colour, with the items behind each contribution.

    Only candidate items (matching key or inside the area's bounding box) are loaded, then run
    through the same assignment as the layer, so the explanation always agrees with the map.
    """
    check_reader(principal)
    unit, _res = parse_unit(unit, resolution)  # an H3 id carries its own resolution
    rule = load_rule(session, principal.division_code)
    if unit == "h3":
        area_set, i = _h3_area(area_id)
    else:
        area_set = registry_areas(session, principal, unit)
        found = area_set.index_of(str(area_id))
        if found is None:
            raise NotFound("区域", "area")  # also outside scope: existence is not revealed
        i = found
    bbox = _bbox(area_set, i)
    key = area_set.int_keys[i]
    cells: list[int] = []
    if area_set.cell_street is not None:
        cell_ids, street_codes = area_set.cell_street
        cells = cell_ids[street_codes == key].tolist()
    points = load_points(
        session,
        principal,
        unit,
        extra=[_candidate(RiskPoint, unit, key, bbox, (POINT_LON, POINT_LAT), cells)],
    )
    hazards_all = load_hazards(session, principal, unit)
    targets = load_targets(
        session, principal, unit, extra=[_candidate(ProtectedTarget, unit, key, bbox)]
    )
    signals = load_signals(
        session, principal, unit, extra=[_candidate(RiskSignal, unit, key, bbox, None, cells)]
    )
    near, dist = vulnerable_flags(targets, hazards_all, rule)
    mine = {
        name: assign(area_set, x) == i
        for name, x in (
            ("points", points),
            ("hazards", hazards_all),
            ("targets", targets),
            ("signals", signals),
        )
    }
    vuln_mask = mine["targets"] & (near >= 0)
    if unit == "h3" and not any(
        m.any() for m in (mine["points"], mine["hazards"], vuln_mask, mine["signals"])
    ):
        raise NotFound("区域", "area")
    cells = None
    if unit in AGGREGATE_UNITS and rule.aggregate_method == "cells":
        cell_idx, grid = unit_cells(session, principal, area_set)
        cells = _cells_of(grid, cell_idx == i)
    return _explanation(
        session,
        area_set,
        i,
        rule,
        points.take(mine["points"]),
        hazards_all,
        mine["hazards"],
        targets,
        vuln_mask,
        near,
        dist,
        signals.take(mine["signals"]),
        cells,
    )


def _cells_of(grid: Layer, mask: np.ndarray) -> tuple[list[int], list[dict[str, Any]]]:
    """Counts by colour of a unit's grid cells and its red and orange cells, most severe first.

    A cell's colour here is its base level (before live signals), the one the shares count.
    """
    pos = np.flatnonzero(mask)
    base = grid.grades.base_level[pos]
    counts = np.bincount(base, minlength=4)[:4].tolist()
    severe = pos[np.lexsort((pos, base))][:MAX_EXPLAIN_ITEMS]
    rows = [
        {
            "id": grid.areas.keys[p],
            "name": grid.areas.names[p],
            "level": LEVELS[int(grid.grades.base_level[p])],
        }
        for p in severe
        if grid.grades.base_level[p] <= 1
    ]
    return counts, rows


def _h3_area(area_id: str) -> tuple[AreaSet, int]:
    cell = str(area_id).strip().lower()
    if not h3.is_valid_cell(cell):
        raise NotFound("区域", "area")
    res = h3.get_resolution(cell)
    return h3_areas(np.array([h3.str_to_int(cell)], dtype=np.int64), res), 0


def _bbox(area_set: AreaSet, i: int) -> tuple[float, float, float, float] | None:
    if area_set.unit == "h3":
        ring = np.array(area_set.geometry[i]["coordinates"][0])  # type: ignore[index]
        return (
            float(ring[:, 0].min()),
            float(ring[:, 1].min()),
            float(ring[:, 0].max()),
            float(ring[:, 1].max()),
        )
    shape_ = area_set.shapes[i] if len(area_set.shapes) else None
    return tuple(shapely.bounds(shape_).tolist()) if shape_ is not None else None  # type: ignore


def _candidate(
    model: Any,
    unit: str,
    key: int,
    bbox: tuple[float, ...] | None,
    lonlat: tuple[Any, Any] | None = None,
    cells: Sequence[int] = (),
) -> Any:
    # A point's key picks its area first; the bbox catches the ones placed by location.
    lon, lat = lonlat or (model.lon, model.lat)
    parts = []
    if cells:  # the grid cells of a street
        parts.append(model.grid_cell_id.in_(list(cells)))
    if unit == "grid" and hasattr(model, "grid_cell_id"):
        parts.append(model.grid_cell_id == int(key))
    elif unit in ("district", "street"):
        parts.append(code_within(model.division_code, str(key)))
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        parts.append(and_(lon >= x0, lon <= x1, lat >= y0, lat <= y1))
    return or_(*parts) if parts else false()


def _explanation(
    session: Session,
    area_set: AreaSet,
    i: int,
    rule: AreaRule,
    points: Items,
    hazards: Items,
    hazard_mask: np.ndarray,
    targets: Items,
    vuln_mask: np.ndarray,
    near: np.ndarray,
    dist: np.ndarray,
    signals: Items,
    cells: tuple[list[int], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    p_counts = np.bincount(points.cls, minlength=4)[:4]
    h_counts = np.bincount(hazards.cls[hazard_mask], minlength=4)[:4]
    sig_rows = _signal_rows(session, signals)
    result = areas.explain_area(
        p_counts.tolist(),
        h_counts.tolist(),
        int(vuln_mask.sum()),
        sig_rows,
        rule,
        cells[0] if cells else None,
    )
    if cells:
        result["grid_cells"] = cells[1]
    hazard_rows = _hazard_rows(session, hazards.ids[hazard_mask])
    by_id = {r["id"]: r for r in hazard_rows}
    result.update(
        {
            "unit": area_set.unit,
            "resolution": area_set.resolution,
            "id": area_set.keys[i],
            "name": area_set.names[i],
            "division_code": area_set.division_codes[i],
            "colour": COLOURS[result["level"]],
            "geometry": area_set.geometry[i],
            "risk_points": _point_rows(session, points),
            "major_hazards": [by_id[int(h)] for h in hazards.ids[hazard_mask] if int(h) in by_id],
            "vulnerable_targets": _target_rows(
                session, targets, vuln_mask, near, dist, hazards, by_id
            ),
        }
    )
    return result


def _point_rows(session: Session, points: Items) -> list[dict[str, Any]]:
    # The most severe first: they are the ones that explain the colour.
    order = np.lexsort((points.ids, points.cls))[:MAX_EXPLAIN_ITEMS]
    ids = [int(x) for x in points.ids[order]]
    rows = (
        {
            r.id: r
            for r in session.execute(
                select(
                    RiskPoint.id,
                    RiskPoint.name,
                    RiskPoint.level,
                    RiskPoint.enterprise_id,
                    RiskPoint.division_code,
                ).where(RiskPoint.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    return [
        {
            "id": r.id,
            "name": r.name,
            "level": r.level,
            "enterprise_id": r.enterprise_id,
            "division_code": r.division_code,
        }
        for r in (rows[x] for x in ids if x in rows)
    ]


def _hazard_rows(session: Session, ids: np.ndarray) -> list[dict[str, Any]]:
    wanted = [int(x) for x in ids]
    if not wanted:
        return []
    stmt = (
        select(
            MajorHazard.id,
            MajorHazard.name,
            MajorHazard.level,
            MajorHazard.r_value,
            MajorHazard.enterprise_id,
            Enterprise.name.label("enterprise"),
        )
        .outerjoin(Enterprise, Enterprise.id == MajorHazard.enterprise_id)
        .where(MajorHazard.id.in_(wanted))
    )
    return [
        {
            "id": r.id,
            "name": r.name,
            "level": r.level,
            "r_value": r.r_value,
            "enterprise_id": r.enterprise_id,
            "enterprise": r.enterprise,
        }
        for r in session.execute(stmt)
    ]


def _target_rows(
    session: Session,
    targets: Items,
    mask: np.ndarray,
    near: np.ndarray,
    dist: np.ndarray,
    hazards: Items,
    by_id: dict[int, dict[str, Any]],
) -> list[dict[str, Any]]:
    pos = np.flatnonzero(mask)[:MAX_EXPLAIN_ITEMS]
    ids = [int(targets.ids[p]) for p in pos]
    names = (
        dict(
            session.execute(
                select(ProtectedTarget.id, ProtectedTarget.name).where(ProtectedTarget.id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    missing = [int(hazards.ids[near[p]]) for p in pos if int(hazards.ids[near[p]]) not in by_id]
    extra = {r["id"]: r for r in _hazard_rows(session, np.array(missing, dtype=np.int64))}
    out = []
    for p in pos:
        hid = int(hazards.ids[near[p]])
        hz = by_id.get(hid) or extra.get(hid) or {}
        out.append(
            {
                "id": int(targets.ids[p]),
                "name": names.get(int(targets.ids[p]), ""),
                "hazard_id": hid,
                "hazard": hz.get("name"),
                "hazard_level": hz.get("level"),
                "distance_m": round(float(dist[p]), 1),
            }
        )
    return out


def _signal_rows(session: Session, signals: Items) -> list[dict[str, Any]]:
    ids = [int(x) for x in signals.ids]
    if not ids:
        return []
    stmt = select(RiskSignal).where(RiskSignal.id.in_(ids)).order_by(RiskSignal.id)
    return [
        {
            "id": s.id,
            "source": s.source,
            "source_ref": s.source_ref,
            "severity": s.severity,
            "raise_steps": s.raise_steps,
            "created_at": s.created_at.isoformat(),
        }
        for s in session.scalars(stmt)
    ]
