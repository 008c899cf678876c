"""Everything the white paper reports, as it stood at the end of the year: area levels,
vulnerable targets near major hazards, this year's and last year's snapshots."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.scope import Principal, division_prefix
from safecity.registry.models import Division, GridCell
from safecity.risk.whitepaper.data import (
    GRADE_ZH,
    HAZARD_GRADE_LEVEL,
    INFLUENCE_RADIUS_M,
    KM_PER_DEG_LAT,
    KM_PER_DEG_LON,
    LEVEL_ZH,
    LEVELS,
    MH,
    RP,
    Area,
    Ent,
    Target,
    load_divisions,
    load_enterprises,
    load_grid_cells,
    load_major_hazards,
    load_major_hidden_dangers,
    load_risk_points,
    load_targets,
    resolve_division,
    year_cutoff,
)

# =========================================================================== spatial helpers


def _project(lonlat: np.ndarray, lat0: float) -> np.ndarray:
    """Lon/lat → km on a local plane; good to well under 1 % across one city."""
    return np.column_stack(
        [
            lonlat[:, 0] * KM_PER_DEG_LON * math.cos(math.radians(lat0)),
            lonlat[:, 1] * KM_PER_DEG_LAT,
        ]
    )


def _points(items: Sequence[Any]) -> tuple[list[int], np.ndarray]:
    idx = [i for i, it in enumerate(items) if it.lon is not None and it.lat is not None]
    xy = np.array([[items[i].lon, items[i].lat] for i in idx], dtype=float).reshape(-1, 2)
    return idx, xy


def _shape(geojson: Any) -> Any:
    """A shapely geometry, or None: a malformed geometry must not stop the yearly report."""
    try:
        geom = shape(geojson)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException):
        return None
    return None if geom.is_empty else geom


def _rank(level: str | None) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def fallback_area_levels(
    cells: Sequence[GridCell],
    units: Sequence[Division],
    risk_points: Sequence[RP],
    hazards: Sequence[MH],
    cutoff: datetime,
) -> list[Area]:
    """Four-colour areas by the simple documented rule used until an area-level service exists.

    An area (grid cell; a district when no cell has a geometry) takes the highest level of the
    risk points in it (by grid_cell_id, else by location) and of the major hazards located in it
    (GB 18218 grade 一级/二级 → red, 三级 → orange, 四级 → yellow); an area with none is blue.
    """
    areas: list[Area] = []
    for cell in cells:
        if cell.geometry:
            geom = _shape(cell.geometry)
            if geom is None:
                continue
            areas.append(Area(f"cell:{cell.id}", cell.name, cell.division_code, geom, "blue"))
    by_cell = {a.key: a for a in areas}
    if not areas:
        for unit in units:
            if unit.geometry:
                geom = _shape(unit.geometry)
                if geom is None:
                    continue
                areas.append(Area(f"division:{unit.code}", unit.name, unit.code, geom, "blue"))
        if not areas:
            return []

    def lift(area: Area, level: str, reason: str) -> None:
        if _rank(level) < _rank(area.level):
            area.level = level
        if _rank(level) <= 1 and len(area.reasons) < 5:
            area.reasons.append(reason)

    tree = shapely.STRtree([a.geometry for a in areas])

    def locate(items: Sequence[Any]) -> dict[int, int]:
        idx, xy = _points(items)
        if not idx:
            return {}
        hits = tree.query(shapely.points(xy), predicate="within")
        return {idx[int(i)]: int(j) for i, j in zip(hits[0], hits[1], strict=True)}

    unplaced = []
    for i, rp in enumerate(risk_points):
        level = rp.level_at(cutoff)
        if level is None:
            continue
        area = by_cell.get(f"cell:{rp.grid_cell_id}") if rp.grid_cell_id else None
        if area is not None:
            lift(area, level, f"风险点“{rp.name}”为{LEVEL_ZH[level]}")
        else:
            unplaced.append(i)
    spots = locate([risk_points[i] for i in unplaced])
    for k, j in spots.items():
        rp = risk_points[unplaced[k]]
        level = rp.level_at(cutoff)
        assert level is not None
        lift(areas[j], level, f"风险点“{rp.name}”为{LEVEL_ZH[level]}")
    for k, j in locate(hazards).items():
        hz = hazards[k]
        if hz.level in HAZARD_GRADE_LEVEL:
            lift(
                areas[j],
                HAZARD_GRADE_LEVEL[hz.level],
                f"{hz.enterprise}{hz.name}为{GRADE_ZH[hz.level]}重大危险源",
            )
    return areas


def area_levels(
    session: Session,
    principal: Principal,
    prefix: str,
    cells: Sequence[GridCell],
    units: Sequence[Division],
    risk_points: Sequence[RP],
    hazards: Sequence[MH],
    cutoff: datetime,
) -> list[Area]:
    """The areas of the four-colour map with their level at ``cutoff``.

    The areas are those of the fallback (grid cells, else districts); their levels come from
    the four-colour map's area rule (``safecity.risk.areas``, the city's ``area_rule``) fed
    with the levels at ``cutoff``, so the white paper and the live map grade alike. The
    fallback rule is used only when that module cannot be imported.
    """
    areas = fallback_area_levels(cells, units, risk_points, hazards, cutoff)
    try:
        from safecity.risk.areas import layers  # noqa: PLC0415 optional capability (ImportError when it is not installed)
    except ImportError:
        return areas
    if not areas:
        return areas
    points = [
        (rp.grid_cell_id, rp.lon, rp.lat, lv)
        for rp in risk_points
        if (lv := rp.level_at(cutoff)) is not None
    ]
    graded = [(hz.lon, hz.lat, hz.level) for hz in hazards if hz.level in GRADE_ZH]
    cell_ids = [int(a.key[5:]) if a.key.startswith("cell:") else None for a in areas]
    levels, reasons = layers.grade_snapshot(
        session, principal, prefix, [a.geometry for a in areas], cell_ids, points, graded
    )
    for area, level, reason in zip(areas, levels, reasons, strict=True):
        area.level, area.reasons = level, [reason]
    return areas


@dataclass
class Vulnerable:
    target: Target
    in_red_orange: bool
    hazard: MH | None  # the nearest major hazard within the influence radius
    distance_m: float | None


def vulnerable_targets(
    targets: Sequence[Target], hazards: Sequence[MH], areas: Sequence[Area], lat0: float
) -> list[Vulnerable]:
    """Protected targets within INFLUENCE_RADIUS_M of a major hazard or inside a red/orange area."""
    t_idx, t_xy = _points(targets)
    if not t_idx:
        return []
    near: dict[int, tuple[MH, float]] = {}
    h_idx, h_xy = _points(hazards)
    if h_idx:
        t_km, h_km = _project(t_xy, lat0), _project(h_xy, lat0)
        tree = shapely.STRtree(shapely.points(h_km))
        pairs = tree.query(
            shapely.points(t_km), predicate="dwithin", distance=INFLUENCE_RADIUS_M / 1000
        )
        for i, j in zip(pairs[0], pairs[1], strict=True):
            d = float(np.hypot(*(t_km[i] - h_km[j]))) * 1000
            ti = t_idx[int(i)]
            if ti not in near or d < near[ti][1]:
                near[ti] = (hazards[h_idx[int(j)]], d)
    hot: set[int] = set()
    danger = [a.geometry for a in areas if a.level in ("red", "orange")]
    if danger:
        tree = shapely.STRtree(danger)
        hits = tree.query(shapely.points(t_xy), predicate="within")
        hot = {t_idx[int(i)] for i in hits[0]}
    out = []
    for ti in sorted(set(near) | hot):
        hz, d = near.get(ti, (None, None))
        out.append(Vulnerable(targets[ti], ti in hot, hz, d))
    return out


# =========================================================================== the numbers


@dataclass
class Snapshot:
    """Risk points (with their level then) and major hazards on record at one instant."""

    cutoff: datetime
    risk_levels: list[tuple[RP, str | None]]
    hazards: list[MH]

    def level_counts(self) -> Counter[str | None]:
        return Counter(level for _, level in self.risk_levels)

    def grade_counts(self) -> Counter[int | None]:
        return Counter(h.level for h in self.hazards)

    @property
    def empty(self) -> bool:
        return not self.risk_levels and not self.hazards


def snapshot(risk_points: Sequence[RP], hazards: Sequence[MH], cutoff: datetime) -> Snapshot:
    rps = [
        (rp, rp.level_at(cutoff))
        for rp in risk_points
        if rp.created_at is None or rp.created_at < cutoff
    ]
    hzs = [h for h in hazards if h.assessed_at is None or h.assessed_at < cutoff]
    return Snapshot(cutoff, rps, hzs)


@dataclass
class Unit:
    code: str
    name: str
    prefix: str


@dataclass
class PaperData:
    year: int
    division: Division
    child_level: str
    units: list[Unit]
    as_of: datetime
    partial: bool
    generated_at: datetime
    population: int
    grid_cells: int
    enterprises: list[Ent]
    current: Snapshot
    previous: Snapshot
    areas: list[Area]
    vulnerable: list[Vulnerable]
    hidden_dangers: list[dict[str, Any]] | None
    lat0: float
    divisions: list[Division]

    @cached_property
    def _lookup(self) -> list[Unit]:
        return sorted(self.units, key=lambda u: -len(u.prefix))

    def unit_of(self, code: str) -> str:
        """The row (child division) a division code falls in; the paper's own division if none."""
        for unit in self._lookup:
            if code.startswith(unit.prefix):
                return unit.code
        return self.division.code

    @property
    def major_risks(self) -> list[RP]:
        """重大安全风险清单: risk points graded 重大风险 (red) at the end of the year."""
        return [rp for rp, level in self.current.risk_levels if level == "red"]


def gather(
    session: Session, principal: Principal, year: int, division_code: str, now: datetime
) -> PaperData:
    division = resolve_division(session, principal, division_code)
    prefix = division_prefix(division.code)
    cutoff, partial = year_cutoff(year, now)
    previous_cutoff = datetime(year, 1, 1, tzinfo=BEIJING)

    divisions = load_divisions(session, division)
    children = [d for d in divisions if d.parent_code == division.code]
    child_level = children[0].level if children else division.level
    units = [Unit(d.code, d.name, division_prefix(d.code)) for d in children] or [
        Unit(division.code, division.name, prefix)
    ]

    enterprises = [
        e
        for e in load_enterprises(session, principal, prefix)
        if e.created_at is None or e.created_at < cutoff
    ]
    risk_points = load_risk_points(session, principal, prefix)
    hazards = load_major_hazards(session, principal, prefix)
    current = snapshot(risk_points, hazards, cutoff)
    previous = snapshot(risk_points, hazards, previous_cutoff)
    cells = load_grid_cells(session, prefix)
    areas = area_levels(
        session,
        principal,
        prefix,
        cells,
        children,
        [rp for rp, _ in current.risk_levels],
        current.hazards,
        cutoff,
    )
    lat0 = division.lat if division.lat is not None else _lat_centre(areas) or 35.0
    vulnerable = vulnerable_targets(
        load_targets(session, principal, prefix), current.hazards, areas, lat0
    )
    population = division.population or sum(d.population or 0 for d in children)
    return PaperData(
        year=year,
        division=division,
        child_level=child_level,
        units=units,
        as_of=cutoff,
        partial=partial,
        generated_at=now,
        population=population,
        grid_cells=len(cells),
        enterprises=enterprises,
        current=current,
        previous=previous,
        areas=areas,
        vulnerable=vulnerable,
        hidden_dangers=load_major_hidden_dangers(session, principal, prefix, cutoff),
        lat0=lat0,
        divisions=divisions,
    )


def _lat_centre(areas: Sequence[Area]) -> float | None:
    if not areas:
        return None
    bounds = shapely.total_bounds([a.geometry for a in areas])
    return float((bounds[1] + bounds[3]) / 2)
