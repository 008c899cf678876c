"""Yearly urban safety risk white paper (城市安全风险白皮书): scoped data, four-colour map, PDF and DOCX."""

# Pipeline: gather() reads everything the caller may see as it stood at the end of the year,
# compose() turns the numbers into a neutral list of blocks (headings, paragraphs, tables, the
# map), and render_pdf()/render_docx() lay the same blocks out. Fonts are subset to the characters
# the document uses, so the PDF embeds a few hundred glyphs instead of a 17 MB CJK font.

from __future__ import annotations

import hashlib
import io
import itertools
import math
import os
import re
import struct
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cached_property, lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from safecity.capabilities import modules
from safecity.core.errors import FieldError, Forbidden, Invalid, NotFound, SafeCityError
from safecity.core.scope import Principal, division_prefix, is_valid_division_code
from safecity.registry import service as registry
from safecity.registry.kinds import ENTERPRISE
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from safecity.registry.rules import (
    DIVISION_LEVELS,
    INDUSTRY_DIVISIONS,
    INDUSTRY_SECTIONS,
    SUPERVISION_CATEGORIES,
    TARGET_TYPES,
    industry_section,
)
from safecity.risk import lists, riskmap, service
from safecity.risk.models import MajorHazard, RiskAssessment, RiskPoint

BEIJING = timezone(timedelta(hours=8))
MIN_YEAR = 2000
FORMATS = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
LEVELS = ("red", "orange", "yellow", "blue")
LEVEL_ZH = {"red": "重大风险", "orange": "较大风险", "yellow": "一般风险", "blue": "低风险"}
COLOUR_ZH = {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝"}
LEVEL_HEX = {"red": "#E53935", "orange": "#FB8C00", "yellow": "#FDD835", "blue": "#1E88E5"}
GRADE_ZH = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
GRADES = (1, 2, 3, 4)
# Area colour when no area-level service is available: a GB 18218 grade lifts the area it stands
# in like a risk point of this level (一级/二级 are the ones provincial plans call red).
HAZARD_GRADE_LEVEL = {1: "red", 2: "red", 3: "orange", 4: "yellow"}
# A protected target this close to a major hazard is on the vulnerable-target list: the same
# 500 m that GB 18218-2018 §4.2.3 (Table 5) uses to count the exposed population for α.
INFLUENCE_RADIUS_M = 500.0
MAX_HAZARD_ROWS = 500
NON_ENTERPRISE = "非企业（公共场所、区域等）"
UNKNOWN_INDUSTRY = "行业未登记"
NO_BOUNDARIES = "暂无区域边界数据"

_KX = 111.32  # km per degree of longitude at the equator
_KY = 110.57  # km per degree of latitude


# =========================================================================== input and scope


class FontUnavailable(SafeCityError):
    status = 500
    code = "font_unavailable"


def parse_year(value: Any, now: datetime) -> int:
    """A four-digit year between 2000 and the current year (Beijing time)."""
    text = str(value).strip() if value is not None else ""
    this_year = now.astimezone(BEIJING).year
    if not re.fullmatch(r"\d{4}", text):
        raise Invalid(
            [
                FieldError(
                    "year",
                    f"年度：请填写四位数字年份，如 {this_year - 1}",
                    f"year: give a four-digit year such as {this_year - 1}",
                )
            ]
        )
    year = int(text)
    if not MIN_YEAR <= year <= this_year:
        raise Invalid(
            [
                FieldError(
                    "year",
                    f"年度：须在 {MIN_YEAR}–{this_year} 之间",
                    f"year: must be between {MIN_YEAR} and {this_year}",
                )
            ]
        )
    return year


def parse_format(value: Any) -> str:
    fmt = str(value or "").strip().lower()
    if fmt not in FORMATS:
        raise Invalid(
            [FieldError("format", "格式：只能是 pdf 或 docx", "format: must be pdf or docx")]
        )
    return fmt


def parse_division(value: Any) -> str:
    code = str(value or "").strip()
    if not is_valid_division_code(code):
        raise Invalid(
            [
                FieldError(
                    "division",
                    "行政区划：请填写 6 位行政区划代码，如 370600",
                    "division: give a 6-digit division code such as 370600",
                )
            ]
        )
    return code


def resolve_division(session: Session, principal: Principal, division_code: str) -> Division:
    """The division the paper covers: the one asked for, narrowed to the caller's own scope.

    A district officer asking for the whole city gets their district; asking for a division
    outside their scope altogether is not found (404, as every read outside scope).
    """
    if not principal.can_read():
        raise Forbidden("当前角色无权查看风险白皮书", "your role may not read the risk white paper")
    if principal.covers(division_code):
        target = division_code
    elif principal.division_code.startswith(division_prefix(division_code)):
        target = principal.division_code
    else:
        raise NotFound("行政区划", "division")
    division = session.get(Division, target)
    if division is None or division.archived:
        raise NotFound("行政区划", "division")
    return division


def year_cutoff(year: int, now: datetime) -> tuple[datetime, bool]:
    """The instant the year's snapshot is taken (exclusive) and whether the year is still running."""
    end = datetime(year + 1, 1, 1, tzinfo=BEIJING)
    return (now, True) if now < end else (end, False)


# =========================================================================== data sources
#
# Each loader below reads one table with the caller's scope applied by the one rule
# (safecity.core.scope, through each capability's scope clause) inside the paper's division;
# grid cells and divisions are the paper's frame. They return small records.


@dataclass
class RP:
    id: int
    name: str
    division_code: str
    industry: str | None
    enterprise_id: int | None
    grid_cell_id: int | None
    lon: float | None
    lat: float | None
    created_at: datetime | None
    review_date: date | None
    level: str | None  # current level (latest approved assessment)
    history: list[tuple[datetime, str]] = field(default_factory=list)

    def level_at(self, cutoff: datetime) -> str | None:
        """The level of the latest approved assessment before ``cutoff``.

        Points that never had an assessment recorded (imported with a level) keep their level.
        """
        if not self.history:
            return self.level
        level = None
        for when, lvl in self.history:
            if when < cutoff:
                level = lvl
        return level


@dataclass
class MH:
    id: int
    enterprise_id: int
    enterprise: str
    industry: str | None
    name: str
    unit_kind: str
    division_code: str
    lon: float | None
    lat: float | None
    r_value: float | None
    level: int | None
    substances: list[str]
    assessed_at: datetime | None


@dataclass
class Ent:
    id: int
    name: str
    industry: str
    category: str
    is_hazchem: bool
    division_code: str
    created_at: datetime | None


@dataclass
class Target:
    id: int
    name: str
    target_type: str
    capacity: int
    division_code: str
    lon: float | None
    lat: float | None


@dataclass
class Area:
    """One polygon of the four-colour map: a grid cell, or a district when there are no cells."""

    key: str
    name: str
    division_code: str
    geometry: Any  # shapely geometry in lon/lat
    level: str
    reasons: list[str] = field(default_factory=list)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _prefix_clause(column: Any, prefix: str) -> Any:
    return column.startswith(prefix, autoescape=True) if prefix else True


def _enterprise_clause(principal: Principal, prefix: str) -> Any:
    return and_(
        registry.scope_clause(ENTERPRISE, principal),
        _prefix_clause(Enterprise.division_code, prefix),
    )


def load_risk_points(session: Session, principal: Principal, prefix: str) -> list[RP]:
    clause = and_(
        _prefix_clause(RiskPoint.division_code, prefix),
        RiskPoint.archived.is_(False),
        service.point_scope(principal),
    )
    stmt = (
        select(
            RiskPoint.id,
            RiskPoint.name,
            RiskPoint.division_code,
            RiskPoint.industry_code,
            Enterprise.industry_code,
            RiskPoint.enterprise_id,
            RiskPoint.grid_cell_id,
            RiskPoint.lon,
            RiskPoint.lat,
            RiskPoint.created_at,
            RiskPoint.review_date,
            RiskPoint.level,
        )
        .outerjoin(Enterprise, Enterprise.id == RiskPoint.enterprise_id)
        .where(clause)
        .order_by(RiskPoint.id)
    )
    points = {
        r[0]: RP(
            id=r[0],
            name=r[1],
            division_code=r[2],
            industry=r[3] or r[4],
            enterprise_id=r[5],
            grid_cell_id=r[6],
            lon=r[7],
            lat=r[8],
            created_at=_aware(r[9]),
            review_date=r[10],
            level=r[11],
        )
        for r in session.execute(stmt)
    }
    history = (
        select(
            RiskAssessment.risk_point_id,
            RiskAssessment.level,
            RiskAssessment.approved_at,
            RiskAssessment.assessed_at,
        )
        .join(RiskPoint, RiskPoint.id == RiskAssessment.risk_point_id)
        .where(clause, RiskAssessment.status == "approved")
    )
    for rp_id, level, approved_at, assessed_at in session.execute(history):
        when = _aware(approved_at or assessed_at)
        if rp_id in points and when is not None:
            points[rp_id].history.append((when, level))
    for rp in points.values():
        rp.history.sort(key=lambda item: item[0])
    return list(points.values())


def _substance_names(hazard: MajorHazard) -> list[str]:
    result = hazard.result if isinstance(hazard.result, dict) else {}
    terms = result.get("terms") or []
    if terms:
        ranked = sorted(terms, key=lambda t: -(t.get("q_over_Q") or 0))
        names = [
            str(t.get("name") or t.get("input_name") or t.get("input_cas") or "") for t in ranked
        ]
    else:
        names = [
            str(s.get("name") or s.get("cas") or "")
            for s in (hazard.substances or [])
            if isinstance(s, dict)
        ]
    seen: list[str] = []
    for name in names:
        if name and name not in seen:
            seen.append(name)
    return seen


def load_major_hazards(session: Session, principal: Principal, prefix: str) -> list[MH]:
    clause = and_(
        _prefix_clause(MajorHazard.division_code, prefix),
        MajorHazard.archived.is_(False),
        MajorHazard.is_major.is_(True),
        service.hazard_scope(principal),
    )
    stmt = (
        select(MajorHazard, Enterprise.name, Enterprise.industry_code)
        .outerjoin(Enterprise, Enterprise.id == MajorHazard.enterprise_id)
        .where(clause)
        .order_by(MajorHazard.id)
    )
    return [
        MH(
            id=h.id,
            enterprise_id=h.enterprise_id,
            enterprise=ent_name or f"企业#{h.enterprise_id}",
            industry=industry,
            name=h.name,
            unit_kind=h.unit_kind,
            division_code=h.division_code,
            lon=h.lon,
            lat=h.lat,
            r_value=h.r_value,
            level=h.level,
            substances=_substance_names(h),
            assessed_at=_aware(h.assessed_at),
        )
        for h, ent_name, industry in session.execute(stmt)
    ]


def load_enterprises(session: Session, principal: Principal, prefix: str) -> list[Ent]:
    stmt = select(
        Enterprise.id,
        Enterprise.name,
        Enterprise.industry_code,
        Enterprise.supervision_category,
        Enterprise.is_hazchem,
        Enterprise.division_code,
        Enterprise.created_at,
    ).where(_enterprise_clause(principal, prefix), Enterprise.archived.is_(False))
    return [
        Ent(r[0], r[1], r[2], r[3], bool(r[4]), r[5], _aware(r[6])) for r in session.execute(stmt)
    ]


def load_targets(session: Session, principal: Principal, prefix: str) -> list[Target]:
    stmt = (
        select(
            ProtectedTarget.id,
            ProtectedTarget.name,
            ProtectedTarget.target_type,
            ProtectedTarget.capacity,
            ProtectedTarget.division_code,
            ProtectedTarget.lon,
            ProtectedTarget.lat,
        )
        .where(
            _prefix_clause(ProtectedTarget.division_code, prefix),
            *riskmap.target_filter(principal),
            ProtectedTarget.archived.is_(False),
        )
        .order_by(ProtectedTarget.id)
    )
    return [Target(*r) for r in session.execute(stmt)]


def load_grid_cells(session: Session, prefix: str) -> list[GridCell]:
    stmt = (
        select(GridCell)
        .where(_prefix_clause(GridCell.division_code, prefix), GridCell.archived.is_(False))
        .order_by(GridCell.code)
    )
    return list(session.scalars(stmt))


def load_divisions(session: Session, division: Division) -> list[Division]:
    prefix = division_prefix(division.code)
    stmt = (
        select(Division)
        .where(_prefix_clause(Division.code, prefix), Division.archived.is_(False))
        .order_by(Division.code)
    )
    return list(session.scalars(stmt))


def load_major_hidden_dangers(
    session: Session, principal: Principal, prefix: str, cutoff: datetime
) -> list[dict[str, Any]] | None:
    """Open 重大事故隐患 found by ``cutoff``, from the provider the hidden-danger capability
    registers for the four lists; None while no capability provides them."""

    modules("api")  # the CLI has no app: importing the routers registers the providers
    provider = lists._PROVIDERS.get("major-hidden-dangers")
    if provider is None:
        return None
    rows = provider(session, principal, lists.ListFilters(division=prefix or None))
    # The provider lists what is open now; a past year's paper keeps those found by its end.
    last_day = cutoff.date().isoformat()
    out = []
    for row in rows:
        if str(row.get("found_at") or "") > last_day:
            continue
        industry = str(row.get("industry") or "").split(" ")[0]
        out.append({**row, "industry_code": industry or None})
    return out


# =========================================================================== spatial helpers


def _project(lonlat: np.ndarray, lat0: float) -> np.ndarray:
    """Lon/lat → km on a local plane; good to well under 1 % across one city."""
    return np.column_stack([lonlat[:, 0] * _KX * math.cos(math.radians(lat0)), lonlat[:, 1] * _KY])


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
    the four-colour map's area rule (``safecity.risk.riskmap``, the city's ``area_rule``) fed
    with the levels at ``cutoff``, so the white paper and the live map grade alike. The
    fallback rule is used only when that module cannot be imported.
    """
    areas = fallback_area_levels(cells, units, risk_points, hazards, cutoff)
    try:
        from safecity.risk import riskmap  # noqa: PLC0415 optional capability (ImportError when it is not installed)
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
    levels, reasons = riskmap.grade_snapshot(
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


# =========================================================================== document blocks


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Para:
    text: str
    style: str = "body"  # body | note | lead


@dataclass
class Bullets:
    items: list[str]
    numbered: bool = True


@dataclass
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]
    widths: list[float]  # relative column widths
    total: bool = False  # the last row is a total row
    level_columns: dict[int, str] = field(default_factory=dict)  # header cell → level colour
    note: str = ""


@dataclass
class Figure:
    caption: str
    png: bytes = b""
    width_cm: float = 16.0


@dataclass
class PageBreak:
    pass


Block = Heading | Para | Bullets | Table | Figure | PageBreak


@dataclass
class Document:
    title: str
    subtitle: str
    cover_lines: list[str]
    blocks: list[Block]
    map_spec: MapSpec
    header: str

    def text(self) -> str:
        """Every character the document shows, for font subsetting and tests."""
        parts = [self.title, self.subtitle, self.header, *self.cover_lines, *self.map_spec.labels()]
        for b in self.blocks:
            if isinstance(b, Heading | Para):
                parts.append(b.text)
            elif isinstance(b, Bullets):
                parts.extend(b.items)
            elif isinstance(b, Table):
                parts += [b.caption, b.note, *b.header, *(c for r in b.rows for c in r)]
            elif isinstance(b, Figure):
                parts.append(b.caption)
        return "".join(parts)


def _date_zh(moment: datetime) -> str:
    d = moment.astimezone(BEIJING)
    return f"{d.year}年{d.month}月{d.day}日"


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "—"


def _wan(n: int) -> str:
    return f"{n / 10000:.1f} 万" if n >= 10000 else f"{n} "


def _industry_name(code: str | None) -> str:
    if not code:
        return UNKNOWN_INDUSTRY
    head = code.strip().upper()
    if head[:1].isalpha():
        head = head[1:]
    if head[:2] in INDUSTRY_DIVISIONS:
        return INDUSTRY_DIVISIONS[head[:2]]
    section = industry_section(code)
    return INDUSTRY_SECTIONS[section][0] if section else f"行业 {code}"


def _delta(a: int, b: int) -> str:
    d = b - a
    return f"+{d}" if d > 0 else (str(d) if d < 0 else "0")


def _level_cells(counter: Counter[Any], keys: Iterable[Any]) -> list[str]:
    return [str(counter.get(k, 0)) for k in keys]


def compose(data: PaperData) -> Document:
    """The white paper's text, tables and map as renderer-neutral blocks."""
    name = data.division.name
    year = data.year
    unit_zh = DIVISION_LEVELS.get(data.child_level, ("区县", ""))[0]
    if data.child_level == "street":
        unit_zh = "街道（乡镇）"
    title = f"{name}城市安全风险白皮书（{year}年度）"
    as_of = _date_zh(data.as_of - timedelta(microseconds=1))
    cur, prev = data.current, data.previous
    levels = cur.level_counts()
    grades = cur.grade_counts()
    n_rp = len(cur.risk_levels)
    n_mh = len(cur.hazards)
    blocks: list[Block] = []
    names = {u.code: u.name for u in data.units}
    names.setdefault(data.division.code, f"{name}（本级）")
    unit_codes = [u.code for u in data.units]

    def unit_order(counter_keys: Iterable[str]) -> list[str]:
        extra = sorted(k for k in set(counter_keys) if k not in unit_codes)
        return unit_codes + extra

    # ---------------------------------------------------------------- 一、总体情况
    blocks.append(Heading("一、总体情况"))
    ents = data.enterprises
    hazchem = sum(1 for e in ents if e.is_hazchem)
    unit_names = "、".join(u.name for u in data.units) if len(data.units) > 1 else ""
    has_children = data.units[0].code != data.division.code
    facts = (
        [f"辖 {len(data.units)} 个{unit_zh}级行政区" + (f"（{unit_names}）" if unit_names else "")]
        if has_children
        else []
    )
    if data.population:
        facts.append(f"常住人口约 {_wan(data.population)}人")
    if data.grid_cells:
        facts.append(f"划分网格 {data.grid_cells} 个")
    overview = (
        (f"{name}" + "，".join(facts) + "。" if facts else "")
        + f"截至{as_of}，纳入平台管理的企业 {len(ents)} 家，其中危险化学品企业 {hazchem} 家；"
        f"登记风险点 {n_rp} 个，其中重大风险 {levels.get('red', 0)} 个、较大风险 "
        f"{levels.get('orange', 0)} 个、一般风险 {levels.get('yellow', 0)} 个、低风险 "
        f"{levels.get('blue', 0)} 个"
        + (f"、尚未评级 {levels.get(None, 0)} 个" if levels.get(None) else "")
        + f"；构成重大危险源的单元 {n_mh} 处，其中一级 {grades.get(1, 0)} 处、二级 "
        f"{grades.get(2, 0)} 处、三级 {grades.get(3, 0)} 处、四级 {grades.get(4, 0)} 处。"
    )
    if data.partial:
        overview += f"{year}年度尚未结束，本白皮书数据截至{as_of}。"
    blocks.append(Para(overview, "lead"))

    blocks.append(Heading("（一）企业分类监管情况", 2))
    by_cat = Counter(e.category for e in ents)
    cat_rows = [
        [SUPERVISION_CATEGORIES.get(k, (k, k))[0], str(v), _pct(v, len(ents))]
        for k, v in sorted(by_cat.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    cat_rows.append(["合计", str(len(ents)), _pct(len(ents), len(ents))])
    blocks.append(
        Table(
            "表1 企业按监管类别统计",
            ["监管类别", "企业数（家）", "占比"],
            cat_rows,
            [3, 2, 2],
            total=True,
        )
    )

    blocks.append(Heading("（二）风险点分级情况", 2))
    rp_rows = [
        [f"{LEVEL_ZH[k]}（{COLOUR_ZH[k]}）", str(levels.get(k, 0)), _pct(levels.get(k, 0), n_rp)]
        for k in LEVELS
    ]
    if levels.get(None):
        rp_rows.append(["尚未评级", str(levels[None]), _pct(levels[None], n_rp)])
    rp_rows.append(["合计", str(n_rp), _pct(n_rp, n_rp)])
    blocks.append(
        Table(
            "表2 风险点按风险等级统计",
            ["风险等级", "风险点（个）", "占比"],
            rp_rows,
            [3, 2, 2],
            total=True,
        )
    )

    blocks.append(Heading("（三）重大危险源分级情况", 2))
    mh_rows = [
        [f"{GRADE_ZH[g]}重大危险源", str(grades.get(g, 0)), _pct(grades.get(g, 0), n_mh)]
        for g in GRADES
    ]
    if grades.get(None):
        mh_rows.append(["尚未分级", str(grades[None]), _pct(grades[None], n_mh)])
    mh_rows.append(["合计", str(n_mh), _pct(n_mh, n_mh)])
    blocks.append(
        Table(
            "表3 重大危险源按等级统计（GB 18218-2018）",
            ["等级", "数量（处）", "占比"],
            mh_rows,
            [3, 2, 2],
            total=True,
        )
    )

    # ---------------------------------------------------------------- 二、四张清单
    blocks.append(Heading("二、“四张清单”汇总"))
    hidden = data.hidden_dangers
    blocks.append(
        Para(
            f"按照“完善重大安全风险清单、重大隐患清单、重大危险源清单、脆弱性目标清单”的要求，"
            f"截至{as_of}，{name}重大安全风险 {len(data.major_risks)} 项，重大事故隐患 "
            + (f"{len(hidden)} 项" if hidden is not None else "暂无数据")
            + f"，重大危险源 {n_mh} 处，脆弱性目标 {len(data.vulnerable)} 个。"
        )
    )
    if hidden is None:
        blocks.append(Para("注：隐患排查治理模块尚未接入平台，重大隐患清单暂无数据。", "note"))

    major_by_unit = Counter(data.unit_of(rp.division_code) for rp in data.major_risks)
    mh_by_unit = Counter(data.unit_of(h.division_code) for h in cur.hazards)
    hd_by_unit = Counter(data.unit_of(str(h.get("division_code", ""))) for h in (hidden or []))
    vt_by_unit = Counter(data.unit_of(v.target.division_code) for v in data.vulnerable)
    rows = []
    keys = unit_order([*major_by_unit, *mh_by_unit, *hd_by_unit, *vt_by_unit])
    for code in keys:
        counts = [
            major_by_unit.get(code, 0),
            hd_by_unit.get(code, 0),
            mh_by_unit.get(code, 0),
            vt_by_unit.get(code, 0),
        ]
        if code not in unit_codes and not any(counts):
            continue
        rows.append(
            [
                names.get(code, code),
                str(counts[0]),
                str(counts[1]) if hidden is not None else "—",
                str(counts[2]),
                str(counts[3]),
            ]
        )
    rows.append(
        [
            "合计",
            str(len(data.major_risks)),
            str(len(hidden)) if hidden is not None else "—",
            str(n_mh),
            str(len(data.vulnerable)),
        ]
    )
    blocks.append(
        Table(
            f"表4 “四张清单”按{unit_zh}汇总",
            [
                unit_zh,
                "重大安全风险（项）",
                "重大隐患（项）",
                "重大危险源（处）",
                "脆弱性目标（个）",
            ],
            rows,
            [3, 2, 2, 2, 2],
            total=True,
        )
    )

    ent_industry = {e.id: e.industry for e in ents}
    major_by_ind = Counter(
        _industry_name(rp.industry) if (rp.industry or rp.enterprise_id) else NON_ENTERPRISE
        for rp in data.major_risks
    )
    mh_by_ind = Counter(
        _industry_name(h.industry or ent_industry.get(h.enterprise_id)) for h in cur.hazards
    )
    mh_ents_by_ind: dict[str, set[int]] = defaultdict(set)
    for h in cur.hazards:
        mh_ents_by_ind[_industry_name(h.industry or ent_industry.get(h.enterprise_id))].add(
            h.enterprise_id
        )
    hd_by_ind = Counter(_industry_name(h.get("industry_code")) for h in (hidden or []))
    ind_keys = sorted(
        set(major_by_ind) | set(mh_by_ind) | set(hd_by_ind),
        key=lambda k: (-(major_by_ind[k] + mh_by_ind[k] + hd_by_ind[k]), k),
    )
    ind_rows = [
        [
            k,
            str(major_by_ind.get(k, 0)),
            str(hd_by_ind.get(k, 0)) if hidden is not None else "—",
            str(mh_by_ind.get(k, 0)),
            str(len(mh_ents_by_ind.get(k, ()))),
        ]
        for k in ind_keys
    ]
    ind_rows.append(
        [
            "合计",
            str(len(data.major_risks)),
            str(len(hidden)) if hidden is not None else "—",
            str(n_mh),
            str(len({h.enterprise_id for h in cur.hazards})),
        ]
    )
    blocks.append(
        Table(
            "表5 “四张清单”按行业汇总（GB/T 4754）",
            [
                "行业",
                "重大安全风险（项）",
                "重大隐患（项）",
                "重大危险源（处）",
                "涉及重大危险源企业（家）",
            ],
            ind_rows,
            [4, 2, 2, 2, 2],
            total=True,
        )
    )

    vt_by_type: dict[str, list[Vulnerable]] = defaultdict(list)
    for v in data.vulnerable:
        vt_by_type[v.target.target_type].append(v)
    vt_rows = [
        [
            TARGET_TYPES.get(k, (k, k))[0],
            str(len(vs)),
            str(sum(1 for v in vs if v.hazard is not None)),
            str(sum(1 for v in vs if v.in_red_orange)),
        ]
        for k, vs in sorted(vt_by_type.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    vt_rows.append(
        [
            "合计",
            str(len(data.vulnerable)),
            str(sum(1 for v in data.vulnerable if v.hazard is not None)),
            str(sum(1 for v in data.vulnerable if v.in_red_orange)),
        ]
    )
    blocks.append(
        Table(
            "表6 脆弱性目标按类型汇总",
            [
                "目标类型",
                "脆弱性目标（个）",
                f"位于重大危险源{INFLUENCE_RADIUS_M:.0f}米内",
                "位于红/橙色区域",
            ],
            vt_rows,
            [3, 2, 3, 3],
            total=True,
        )
    )

    # ---------------------------------------------------------------- 三、四色图
    blocks.append(Heading("三、安全风险四色分布图"))
    area_counts = Counter(a.level for a in data.areas)
    kind = "网格" if any(a.key.startswith("cell:") for a in data.areas) else unit_zh
    map_spec = MapSpec(
        title=f"{name}安全风险四色分布图（{year}年度）",
        areas=data.areas,
        outlines=[d for d in data.divisions if d.parent_code == data.division.code and d.geometry]
        or ([data.division] if data.division.geometry else []),
        hazards=cur.hazards,
        legend=[f"{LEVEL_ZH[k]}（{COLOUR_ZH[k]}）{area_counts.get(k, 0)} 个{kind}" for k in LEVELS]
        + ["▲ 重大危险源"],
        lat0=data.lat0,
        source=f"数据截至{as_of}",
    )
    if data.areas:
        blocks.append(
            Para(
                f"以{kind}为单元绘制“红、橙、黄、蓝”四色安全风险空间分布图，共 {len(data.areas)} 个"
                f"{kind}：红色（重大风险）{area_counts.get('red', 0)} 个、橙色（较大风险）"
                f"{area_counts.get('orange', 0)} 个、黄色（一般风险）{area_counts.get('yellow', 0)} "
                f"个、蓝色（低风险）{area_counts.get('blue', 0)} 个。"
            )
        )
        blocks.append(Figure(f"图1 {map_spec.title}"))
        per_unit: dict[str, Counter[str]] = defaultdict(Counter)
        for a in data.areas:
            per_unit[data.unit_of(a.division_code)][a.level] += 1
        a_rows = [
            [names.get(c, c), *_level_cells(per_unit[c], LEVELS), str(sum(per_unit[c].values()))]
            for c in unit_order(per_unit)
            if c in per_unit or c in unit_codes
        ]
        a_rows.append(["合计", *_level_cells(area_counts, LEVELS), str(len(data.areas))])
        blocks.append(
            Table(
                f"表7 各{unit_zh}风险区域（{kind}）数量",
                [unit_zh, "红色", "橙色", "黄色", "蓝色", "合计"],
                a_rows,
                [3, 2, 2, 2, 2, 2],
                total=True,
                level_columns={i + 1: k for i, k in enumerate(LEVELS)},
            )
        )
    else:
        blocks.append(Para("平台中尚无网格或区县边界数据，无法绘制四色分布图。", "note"))

    # ---------------------------------------------------------------- 四、重大危险源
    blocks.append(Heading("四、重大危险源"))
    hazards_sorted = sorted(cur.hazards, key=lambda h: (h.level or 9, -(h.r_value or 0), h.id))
    if hazards_sorted:
        blocks.append(
            Para(
                f"依据《危险化学品重大危险源辨识》（GB 18218-2018），{name}共有重大危险源 {n_mh} 处，"
                f"分布在 {len({h.enterprise_id for h in cur.hazards})} 家企业；按 R 值从高到低列示如下。"
            )
        )
        hz_rows = [
            [
                str(i),
                h.enterprise,
                h.name,
                "储存单元" if h.unit_kind == "storage" else "生产单元",
                GRADE_ZH.get(h.level or 0, "未分级"),
                f"{h.r_value:.1f}" if h.r_value is not None else "—",
                "、".join(h.substances[:4]) + ("等" if len(h.substances) > 4 else ""),
                names.get(data.unit_of(h.division_code), h.division_code),
            ]
            for i, h in enumerate(hazards_sorted[:MAX_HAZARD_ROWS], start=1)
        ]
        note = (
            f"仅列出 R 值最高的 {MAX_HAZARD_ROWS} 处，完整清单请在平台导出。"
            if n_mh > MAX_HAZARD_ROWS
            else ""
        )
        blocks.append(
            Table(
                "表8 重大危险源清单",
                ["序号", "企业", "单元", "类型", "等级", "R值", "主要物质", unit_zh],
                hz_rows,
                [1.5, 4.2, 2.6, 1.9, 1.4, 1.4, 3.6, 1.8],
                note=note,
            )
        )
    else:
        blocks.append(Para(f"截至{as_of}，{name}未登记构成重大危险源的单元。"))

    # ---------------------------------------------------------------- 五、年度变化
    blocks.append(Heading("五、与上年度相比的变化"))
    if prev.empty:
        blocks.append(
            Para(
                f"{year - 1}年度平台中无风险点和重大危险源数据（最早的记录晚于该年度），"
                "本年度暂不进行同比分析，以本年度数据作为后续比较的基准。"
            )
        )
    else:
        plevels, pgrades = prev.level_counts(), prev.grade_counts()
        ch_rows = [
            [
                "风险点总数",
                str(len(prev.risk_levels)),
                str(n_rp),
                _delta(len(prev.risk_levels), n_rp),
            ]
        ]
        ch_rows += [
            [
                f"{LEVEL_ZH[k]}点",
                str(plevels.get(k, 0)),
                str(levels.get(k, 0)),
                _delta(plevels.get(k, 0), levels.get(k, 0)),
            ]
            for k in LEVELS
        ]
        ch_rows.append(
            ["重大危险源总数", str(len(prev.hazards)), str(n_mh), _delta(len(prev.hazards), n_mh)]
        )
        ch_rows += [
            [
                f"{GRADE_ZH[g]}重大危险源",
                str(pgrades.get(g, 0)),
                str(grades.get(g, 0)),
                _delta(pgrades.get(g, 0), grades.get(g, 0)),
            ]
            for g in GRADES
        ]
        blocks.append(Para(_change_sentence(year, prev, cur)))
        blocks.append(
            Table(
                "表9 风险点与重大危险源年度变化",
                [
                    "指标",
                    f"{year - 1}年末",
                    f"{year}年末" if not data.partial else f"截至{as_of}",
                    "增减",
                ],
                ch_rows,
                [4, 2, 2, 2],
            )
        )

    # ---------------------------------------------------------------- 六、建议
    blocks.append(Heading("六、风险防控工作建议"))
    blocks.append(Bullets(recommendations(data)))

    # ---------------------------------------------------------------- 七、说明
    blocks.append(Heading("七、数据来源与说明"))
    blocks.append(
        Bullets(
            [
                (
                    "本白皮书由 SafeCity 城市安全风险监测预警与应急管理平台根据平台登记数据自动生成，"
                    "统计范围为生成人有权查看的行政区划。"
                ),
                (
                    "风险点等级取截至年末最近一次经审核通过的评估结果（LEC 作业条件危险性分析法或风险矩阵法），"
                    "分为重大风险（红）、较大风险（橙）、一般风险（黄）、低风险（蓝）。"
                ),
                "重大危险源依据 GB 18218-2018 辨识（S = Σ q/Q ≥ 1），并按 R = α·Σ β·q/Q 分为一级至四级。",
                (
                    f"脆弱性目标指位于重大危险源周边 {INFLUENCE_RADIUS_M:.0f} 米内或位于红色、橙色风险区域内的"
                    "学校、医院、养老机构、人员密集场所等保护目标。"
                ),
                (
                    "网格风险等级按平台区域风险规则计算：综合区域内风险点、重大危险源及其影响范围内的脆弱性"
                    "目标得分，并按就高原则不低于区域内最高等级的风险点或重大危险源（一级、二级重大危险源按"
                    "红色，三级按橙色，四级按黄色）；无风险源的网格为蓝色。无网格数据时按同一规则为区县定级。"
                ),
                (
                    "四色风险图上的街道（乡镇）和区县按所含网格的颜色占比定级（默认红色网格占 10% 及以上为"
                    "红色，红、橙色合计占 25% 及以上为橙色，红、橙、黄色合计占 40% 及以上为黄色，一级重大"
                    "危险源所在单元至少为橙色，城市可调整）：就高原则适用于企业和网格，单个重大风险点不会使"
                    "整个区县成为重大风险区域。"
                ),
            ],
            numbered=False,
        )
    )

    cover = [
        f"统计范围：{data.division.code} {name}",
        f"数据截至：{as_of}",
        f"生成时间：{_date_zh(data.generated_at)}",
        "SafeCity 城市安全风险监测预警与应急管理平台",
    ]
    return Document(
        title=title,
        subtitle=f"{year}年度",
        cover_lines=cover,
        blocks=blocks,
        map_spec=map_spec,
        header=title,
    )


def _change_sentence(year: int, prev: Snapshot, cur: Snapshot) -> str:
    pl, cl = prev.level_counts(), cur.level_counts()
    pg, cg = prev.grade_counts(), cur.grade_counts()

    def change(label: str, a: int, b: int, unit: str) -> str:
        if b > a:
            return f"{label}增加 {b - a} {unit}（{a}→{b}）"
        if b < a:
            return f"{label}减少 {a - b} {unit}（{a}→{b}）"
        return f"{label}持平（{b} {unit}）"

    parts = [
        change("风险点总数", len(prev.risk_levels), len(cur.risk_levels), "个"),
        change("重大风险", pl.get("red", 0), cl.get("red", 0), "个"),
        change("较大风险", pl.get("orange", 0), cl.get("orange", 0), "个"),
        change("重大危险源", len(prev.hazards), len(cur.hazards), "处"),
        change(
            "一级、二级重大危险源", pg.get(1, 0) + pg.get(2, 0), cg.get(1, 0) + cg.get(2, 0), "处"
        ),
    ]
    return f"与{year - 1}年末相比，" + "；".join(parts) + "。"


def recommendations(data: PaperData) -> list[str]:
    """Rule-based recommendations, each drawn from a number in the paper."""
    out: list[str] = []
    names = {u.code: u.name for u in data.units}
    names.setdefault(data.division.code, data.division.name)
    cur, prev = data.current, data.previous
    multi = len(data.units) > 1

    red_areas = Counter(data.unit_of(a.division_code) for a in data.areas if a.level == "red")
    if red_areas and multi:
        code, n = red_areas.most_common(1)[0]
        out.append(
            f"{names.get(code, code)}红色（重大风险）区域最多，共 {n} 个，占全部红色区域的 "
            f"{_pct(n, sum(red_areas.values()))}，建议列为本年度重点管控区域，"
            "落实属地领导包保责任，加密巡查和监测频次。"
        )
    elif red_areas:
        out.append(
            f"辖区内有红色（重大风险）区域 {sum(red_areas.values())} 个，建议逐一落实"
            "管控责任人和管控措施，加密巡查和监测频次。"
        )

    major = data.major_risks
    if major:
        by_unit = Counter(data.unit_of(rp.division_code) for rp in major)
        code, n = by_unit.most_common(1)[0]
        where = f"，其中{names.get(code, code)} {n} 项" if multi else ""
        out.append(
            f"全{_scope_word(data)}共有重大安全风险 {len(major)} 项{where}，"
            "建议逐项明确管控层级和责任人，重大风险由政府挂牌督导，每季度复核管控措施落实情况。"
        )

    hazards = cur.hazards
    if hazards:
        ent_industry = {e.id: e.industry for e in data.enterprises}
        by_ind = Counter(
            _industry_name(h.industry or ent_industry.get(h.enterprise_id)) for h in hazards
        )
        ind, n = by_ind.most_common(1)[0]
        top = sum(
            1
            for h in hazards
            if h.level in (1, 2)
            and _industry_name(h.industry or ent_industry.get(h.enterprise_id)) == ind
        )
        out.append(
            f"{ind}集中了 {n} 处重大危险源（占 {_pct(n, len(hazards))}），其中一级、二级 "
            f"{top} 处，建议作为“两重点一重大”监管重点，推动在线监测预警全覆盖和安全包保责任落实。"
        )

    near = sorted(
        (v for v in data.vulnerable if v.hazard is not None), key=lambda v: v.distance_m or 0
    )
    if near:
        examples = "；".join(
            f"{v.target.name}距{v.hazard.enterprise}{v.hazard.name}约 {v.distance_m:.0f} 米"
            for v in near[:3]
            if v.hazard is not None and v.distance_m is not None
        )
        out.append(
            f"有 {len(near)} 个学校、医院等脆弱性目标位于重大危险源 "
            f"{INFLUENCE_RADIUS_M:.0f} 米范围内（{examples}），建议核实安全防护距离，"
            "制定联合疏散预案并组织演练。"
        )
    in_hot = [v for v in data.vulnerable if v.in_red_orange]
    if in_hot:
        out.append(
            f"有 {len(in_hot)} 个脆弱性目标位于红色或橙色风险区域内，建议在预警信息发布时优先"
            "覆盖，并纳入应急避难和转移安置方案。"
        )

    prev_red = prev.level_counts().get("red", 0)
    cur_red = cur.level_counts().get("red", 0)
    if not prev.empty and cur_red > prev_red:
        out.append(
            f"重大风险数量较上年增加 {cur_red - prev_red} 个，建议分析新增原因，"
            "对新增重大风险所在企业开展专项执法检查。"
        )

    unassessed = cur.level_counts().get(None, 0)
    if unassessed:
        out.append(
            f"尚有 {unassessed} 个风险点未完成风险评估，建议督促相关单位在一季度内完成辨识评估并审核。"
        )
    overdue = sum(
        1
        for rp, _ in cur.risk_levels
        if rp.review_date is not None and rp.review_date < data.as_of.astimezone(BEIJING).date()
    )
    if overdue:
        out.append(f"有 {overdue} 个风险点已超过复评日期，建议组织复评并更新管控措施。")
    if data.hidden_dangers is None:
        out.append(
            "尽快接入隐患排查治理数据，形成风险分级管控与隐患排查治理“双重预防”闭环，"
            "完善重大隐患清单。"
        )
    elif data.hidden_dangers:
        units = Counter(data.unit_of(str(h.get("division_code", ""))) for h in data.hidden_dangers)
        top, count = units.most_common(1)[0]
        where = {u.code: u.name for u in data.units}.get(top, top)
        out.append(
            f"尚有 {len(data.hidden_dangers)} 项重大事故隐患未完成整改销号（{where} 最多，"
            f"{count} 项），建议挂牌督办、逐项明确整改责任和时限。"
        )
    if not out:
        out.append("本年度未发现需要特别关注的集中风险，建议继续做好风险辨识评估和动态更新。")
    return out


def _scope_word(data: PaperData) -> str:
    """市 / 区 / 县 / 省 from the division's own name (海阳市 is a county-level 市)."""
    last = data.division.name[-1:]
    return last if last in "省市区县旗镇乡" else "辖区"


# =========================================================================== fonts


@dataclass(frozen=True)
class FontSource:
    path: Path
    index: int  # face number inside a .ttc collection
    origin: str


# Debian/Ubuntu, Fedora, Windows and macOS places of CJK fonts with TrueType (glyf) outlines,
# which is what reportlab can embed; Noto CJK's .ttc files are CFF and are skipped.
SYSTEM_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf", 0),
    ("C:/Windows/Fonts/simhei.ttf", 0),
    ("C:/Windows/Fonts/simsun.ttc", 0),
    ("/Library/Fonts/Arial Unicode.ttf", 0),
)
FONT_ENV = "SAFECITY_CJK_FONT"  # path[:index] of a TrueType CJK font to use instead


def _package_font() -> Path | None:
    """Noto Sans SC as shipped by the pip package justmytype-intl-cjk (OFL-1.1)."""
    try:
        base = files("justmytype_intl_cjk")
    except (ImportError, ModuleNotFoundError):
        return None
    path = Path(str(base)) / "fonts" / "ofl" / "notosanssc" / "NotoSansSC[wght].ttf"
    return path if path.is_file() else None


def _usable(path: Path, index: int) -> bool:
    from fontTools.ttLib import TTFont, TTLibError  # noqa: PLC0415 fontTools loaded only when fonts are subset

    try:
        font = TTFont(str(path), fontNumber=index, lazy=True)
        ok = "glyf" in font and ord("安") in (font.getBestCmap() or {})
        font.close()
        return ok
    except (OSError, ValueError, KeyError, AssertionError, TTLibError, struct.error):
        return False


def find_font() -> FontSource:
    """The CJK font to embed, or FontUnavailable naming what to install."""
    env = os.environ.get(FONT_ENV, "").strip()
    if env:
        raw, _, idx = env.rpartition(":") if re.search(r":\d+$", env) else (env, "", "0")
        path = Path(raw)
        if path.is_file() and _usable(path, int(idx)):
            return FontSource(path, int(idx), FONT_ENV)
    package = _package_font()
    if package is not None:
        return FontSource(package, 0, "justmytype-intl-cjk")
    for raw, index in SYSTEM_FONTS:
        path = Path(raw)
        if path.is_file() and _usable(path, index):
            return FontSource(path, index, "system")
    raise FontUnavailable(
        "未找到可嵌入的中文字体，无法生成白皮书。请安装 pip 包 justmytype-intl-cjk，"
        "或 Debian 软件包 fonts-wqy-zenhei（apt-get install fonts-wqy-zenhei），"
        f"或用环境变量 {FONT_ENV} 指定一个 TrueType 中文字体文件。",
        "No embeddable Chinese font found, so the white paper cannot be generated. Install the "
        "pip package justmytype-intl-cjk, or the Debian package fonts-wqy-zenhei "
        f"(apt-get install fonts-wqy-zenhei), or point {FONT_ENV} at a TrueType CJK font file.",
    )


@dataclass(frozen=True)
class Fonts:
    """Regular and bold faces as TrueType bytes, subset to the document's characters."""

    regular: bytes
    bold: bytes
    key: str  # distinguishes this subset when registered with reportlab
    origin: str


# Always kept, so numbers, Latin text and the page furniture never fall out of the subset.
_BASE_CHARS = "".join(chr(c) for c in range(0x20, 0x7F)) + "第页共，。、；：（）“”《》—…·•▲　%"


@lru_cache(maxsize=16)
def _subset_fonts(path: str, index: int, chars: str, origin: str) -> Fonts:
    from fontTools import subset  # noqa: PLC0415 fontTools loaded only when fonts are subset
    from fontTools.ttLib import TTFont  # noqa: PLC0415 fontTools loaded only when fonts are subset

    def faces(key: str) -> list[tuple[str, bytes]]:
        font = TTFont(path, fontNumber=index)
        options = subset.Options()
        options.layout_features = []
        options.notdef_outline = True
        options.name_IDs = ["*"]
        options.hinting = False
        options.ignore_missing_unicodes = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)
        if "fvar" not in font:
            data = _save(font, f"{key}-Regular")
            return [("Regular", data), ("Bold", data)]
        from fontTools.varLib import instancer  # noqa: PLC0415 fontTools loaded only when fonts are subset

        buf = io.BytesIO()
        font.save(buf)
        out = []
        for style, weight in (("Regular", 400), ("Bold", 700)):
            face = TTFont(io.BytesIO(buf.getvalue()))
            axes = {a.axisTag: (a.minValue, a.maxValue) for a in face["fvar"].axes}
            location = {
                tag: (min(max(weight, lo), hi) if tag == "wght" else None)
                for tag, (lo, hi) in axes.items()
            }
            face = instancer.instantiateVariableFont(face, location)
            out.append((style, _save(face, f"{key}-{style}")))
        return out

    key = hashlib.sha1(f"{path}:{index}:{chars}".encode()).hexdigest()[:10]
    got = dict(faces(key))
    return Fonts(got["Regular"], got["Bold"], key, origin)


def _save(font: Any, style: str) -> bytes:
    # A PostScript name per subset and style: PDF viewers merge embedded fonts that share one,
    # and reportlab reuses the first font registered under a face name — one name for every
    # subset made a later document draw with an earlier document's glyphs (missing characters).
    ps = f"SafeCitySans{style}"
    for record in font["name"].names:
        if record.nameID == 6:
            record.string = ps
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def load_fonts(text: str) -> Fonts:
    source = find_font()
    chars = "".join(sorted(set(text) | set(_BASE_CHARS)))
    return _subset_fonts(str(source.path), source.index, chars, source.origin)


# =========================================================================== the map image


@dataclass
class MapSpec:
    title: str
    areas: list[Area]
    outlines: list[Division]
    hazards: list[MH]
    legend: list[str]
    lat0: float
    source: str

    def labels(self) -> list[str]:
        return [
            self.title,
            self.source,
            *self.legend,
            *(d.name for d in self.outlines),
            "N",
            "0123456789 km",
            "图例",
            NO_BOUNDARIES,
        ]


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _polygons(geom: Any) -> list[Any]:
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [g for part in geom.geoms for g in _polygons(part)]
    return []


def render_map(spec: MapSpec, fonts: Fonts, width: int = 1600, height: int = 1200) -> bytes:
    """The four-colour map as a PNG: areas, district outlines and names, hazards, legend."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415 Pillow loaded only when an image is drawn

    ss = 2  # drawn at twice the size and scaled down: cheap anti-aliasing for Pillow polygons
    W, H = width * ss, height * ss
    img = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(img)

    def font(size: int, bold: bool = False) -> Any:
        return ImageFont.truetype(io.BytesIO(fonts.bold if bold else fonts.regular), size * ss)

    title_h = 90 * ss
    margin = 40 * ss
    box = (margin, title_h, W - margin, H - margin)
    geoms = [a.geometry for a in spec.areas] + [shape(d.geometry) for d in spec.outlines]
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    draw.text((W // 2, 45 * ss), spec.title, fill=(33, 33, 33), font=font(34, True), anchor="mm")
    if not geoms:
        draw.text((W // 2, H // 2), NO_BOUNDARIES, fill=(120, 120, 120), font=font(28), anchor="mm")
        return _png(img, width, height)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    kx = math.cos(math.radians(spec.lat0))
    span_x = max((maxx - minx) * kx, 1e-9)
    span_y = max(maxy - miny, 1e-9)
    scale = min((box[2] - box[0]) / span_x, (box[3] - box[1]) / span_y)
    ox = box[0] + ((box[2] - box[0]) - span_x * scale) / 2
    oy = box[1] + ((box[3] - box[1]) - span_y * scale) / 2

    def xy(coords: Any) -> list[tuple[float, float]]:
        arr = np.asarray(coords, dtype=float)[:, :2]
        px = ox + (arr[:, 0] - minx) * kx * scale
        py = oy + (maxy - arr[:, 1]) * scale
        return list(zip(px.tolist(), py.tolist(), strict=True))

    cell_edge = (255, 255, 255) if len(spec.areas) > 200 else (90, 90, 90)
    for area in spec.areas:
        fill = _rgb(LEVEL_HEX.get(area.level, "#BDBDBD"))
        for poly in _polygons(area.geometry):
            ring = xy(poly.exterior.coords)
            # A separate line: Pillow draws wide polygon outlines through a full-image mask.
            draw.polygon(ring, fill=fill)
            draw.line(ring, fill=cell_edge, width=ss)
            for hole in poly.interiors:
                draw.polygon(xy(hole.coords), fill="white")
    label_font = font(20, True)
    for d in spec.outlines:
        for poly in _polygons(shape(d.geometry)):
            draw.line(xy(poly.exterior.coords), fill=(40, 40, 40), width=3 * ss, joint="curve")
    for d in spec.outlines:
        geom = shape(d.geometry)
        pt = (
            geom.representative_point()
            if d.lon is None or d.lat is None or not geom.contains(shapely.Point(d.lon, d.lat))
            else shapely.Point(d.lon, d.lat)
        )
        ((px, py),) = xy([(pt.x, pt.y)])
        draw.text(
            (px, py),
            d.name,
            fill=(20, 20, 20),
            font=label_font,
            anchor="mm",
            stroke_width=3 * ss,
            stroke_fill="white",
        )
    r = 7 * ss
    for h in spec.hazards:
        if h.lon is None or h.lat is None:
            continue
        ((px, py),) = xy([(h.lon, h.lat)])
        draw.polygon(
            [(px, py - r), (px - r, py + r * 0.8), (px + r, py + r * 0.8)],
            fill=(74, 20, 140),
            outline="white",
            width=ss,
        )

    # legend, bottom left
    lf = font(20)
    line = 34 * ss
    lw = 330 * ss
    lh = line * len(spec.legend) + 70 * ss
    lx, ly = margin, H - margin - lh
    draw.rectangle((lx, ly, lx + lw, ly + lh), fill="white", outline=(120, 120, 120), width=ss)
    draw.text((lx + 16 * ss, ly + 14 * ss), "图例", fill=(33, 33, 33), font=font(22, True))
    for i, text in enumerate(spec.legend):
        y = ly + 52 * ss + i * line
        if i < len(LEVELS):
            draw.rectangle(
                (lx + 16 * ss, y, lx + 50 * ss, y + 22 * ss),
                fill=_rgb(LEVEL_HEX[LEVELS[i]]),
                outline=(90, 90, 90),
                width=ss,
            )
            draw.text((lx + 62 * ss, y + 11 * ss), text, fill=(33, 33, 33), font=lf, anchor="lm")
        else:
            cx, cy = lx + 33 * ss, y + 11 * ss
            draw.polygon(
                [(cx, cy - r), (cx - r, cy + r * 0.8), (cx + r, cy + r * 0.8)], fill=(74, 20, 140)
            )
            draw.text(
                (lx + 62 * ss, cy), text.lstrip("▲ "), fill=(33, 33, 33), font=lf, anchor="lm"
            )

    # north arrow and scale bar, right
    nx, ny = W - margin - 30 * ss, title_h + 20 * ss
    draw.polygon([(nx, ny), (nx - 14 * ss, ny + 44 * ss), (nx, ny + 34 * ss)], fill=(33, 33, 33))
    draw.polygon(
        [(nx, ny), (nx + 14 * ss, ny + 44 * ss), (nx, ny + 34 * ss)],
        fill="white",
        outline=(33, 33, 33),
    )
    draw.text((nx, ny + 62 * ss), "N", fill=(33, 33, 33), font=font(22, True), anchor="mm")
    px_per_km = scale / _KY
    nice = _nice_km(220 * ss / px_per_km)
    bar = nice * px_per_km
    bx, by = W - margin - bar, H - margin - 20 * ss
    draw.rectangle((bx, by, bx + bar, by + 8 * ss), fill=(33, 33, 33))
    draw.text(
        (bx + bar / 2, by - 6 * ss), f"{nice:g} km", fill=(33, 33, 33), font=font(18), anchor="mb"
    )
    draw.text(
        (W - margin, H - 8 * ss), spec.source, fill=(110, 110, 110), font=font(16), anchor="rd"
    )
    return _png(img, width, height)


def _nice_km(target: float) -> float:
    if target <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * exp <= target:
            return float(m * exp)
    return float(exp)


def _png(img: Any, width: int, height: int) -> bytes:
    from PIL import Image  # noqa: PLC0415 Pillow loaded only when an image is drawn

    out = io.BytesIO()
    img.resize((width, height), Image.Resampling.LANCZOS).save(out, "PNG", optimize=True)
    return out.getvalue()


# =========================================================================== PDF (reportlab)


def _register(fonts: Fonts) -> tuple[str, str]:
    from reportlab.lib.fonts import addMapping  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase.ttfonts import TTFont  # noqa: PLC0415 reportlab loaded only when a PDF is rendered

    # A fresh font object per document: reportlab keeps subset state on the font object, and a
    # font shared between two documents was seen to lose a glyph (code 0) in the second one.
    serial = next(_FONT_SERIAL)
    regular, bold = f"WP{fonts.key}-{serial}", f"WP{fonts.key}-{serial}-B"
    pdfmetrics.registerFont(TTFont(regular, io.BytesIO(fonts.regular)))
    pdfmetrics.registerFont(TTFont(bold, io.BytesIO(fonts.bold)))
    addMapping(regular, 0, 0, regular)
    addMapping(regular, 1, 0, bold)
    addMapping(regular, 0, 1, regular)
    addMapping(regular, 1, 1, bold)
    return regular, bold


def _unregister(*names: str) -> None:
    # reportlab has no public unregister; dropping our names keeps a long-running server small.
    from reportlab.lib import fonts as rl_fonts  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415 reportlab loaded only when a PDF is rendered

    for name in names:
        font = pdfmetrics._fonts.pop(name, None)
        if font is not None:
            pdfmetrics._dynFaceNames.pop(font.face.name, None)
    for key in [k for k, v in rl_fonts._tt2ps_map.items() if v in names]:
        rl_fonts._tt2ps_map.pop(key, None)
    for name in names:
        rl_fonts._ps2tt_map.pop(name.lower(), None)


_FONT_SERIAL = itertools.count(1)


def render_pdf(doc: Document, fonts: Fonts | None = None, map_png: bytes | None = None) -> bytes:
    from reportlab.lib import colors  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.enums import TA_CENTER  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.styles import ParagraphStyle  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.units import cm  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.platypus import (  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )
    from reportlab.platypus import PageBreak as RLPageBreak  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.platypus import Table as RLTable  # noqa: PLC0415 reportlab loaded only when a PDF is rendered

    fonts = fonts or load_fonts(doc.text())
    png = map_png if map_png is not None else render_map(doc.map_spec, fonts)
    regular, bold = _register(fonts)
    base: dict[str, Any] = {
        "fontName": regular,
        "bulletFontName": regular,
        "wordWrap": "CJK",
        "leading": 20,
        "fontSize": 11,
    }
    styles = {
        "body": ParagraphStyle("body", firstLineIndent=22, spaceAfter=6, **base),
        "lead": ParagraphStyle("lead", firstLineIndent=22, spaceAfter=8, **base),
        "note": ParagraphStyle(
            "note",
            **{**base, "fontSize": 9.5, "leading": 15},
            textColor=colors.HexColor("#555555"),
            spaceAfter=6,
        ),
        "h1": ParagraphStyle(
            "h1",
            **{**base, "fontName": bold, "fontSize": 16, "leading": 24},
            spaceBefore=14,
            spaceAfter=8,
            textColor=colors.HexColor("#0D2B5E"),
            keepWithNext=1,
        ),
        "h2": ParagraphStyle(
            "h2",
            **{**base, "fontName": bold, "fontSize": 12.5, "leading": 20},
            spaceBefore=8,
            spaceAfter=4,
            keepWithNext=1,
        ),
        "caption": ParagraphStyle(
            "caption",
            **{**base, "fontName": bold, "fontSize": 10, "leading": 16},
            alignment=TA_CENTER,
            spaceBefore=6,
            spaceAfter=4,
            keepWithNext=1,
        ),
        "item": ParagraphStyle("item", **base, leftIndent=20, bulletIndent=2, spaceAfter=4),
        "note_item": ParagraphStyle(
            "note_item",
            **{**base, "fontSize": 9.5, "leading": 15},
            leftIndent=14,
            bulletIndent=2,
            spaceAfter=3,
            textColor=colors.HexColor("#444444"),
        ),
        "cell": ParagraphStyle("cell", **{**base, "fontSize": 9, "leading": 12}),
        "cell_b": ParagraphStyle(
            "cell_b", **{**base, "fontName": bold, "fontSize": 9, "leading": 12}
        ),
        "head": ParagraphStyle(
            "head",
            **{**base, "fontName": bold, "fontSize": 9, "leading": 12},
            textColor=colors.white,
        ),
        "title": ParagraphStyle(
            "title",
            **{**base, "fontName": bold, "fontSize": 22, "leading": 34},
            alignment=TA_CENTER,
        ),
        "sub": ParagraphStyle(
            "sub",
            **{**base, "fontSize": 13, "leading": 24},
            alignment=TA_CENTER,
            textColor=colors.HexColor("#333333"),
        ),
    }
    width = A4[0] - 4.4 * cm
    story: list[Any] = [
        Spacer(1, 6 * cm),
        Paragraph(escape(doc.title), styles["title"]),
        Spacer(1, 1.2 * cm),
    ]
    story += [Paragraph(escape(line), styles["sub"]) for line in doc.cover_lines]
    story.append(RLPageBreak())

    for block in doc.blocks:
        if isinstance(block, Heading):
            story.append(Paragraph(escape(block.text), styles["h1" if block.level == 1 else "h2"]))
        elif isinstance(block, Para):
            story.append(Paragraph(escape(block.text), styles[block.style]))
        elif isinstance(block, Bullets):
            # One paragraph per item (not a ListFlowable) so a heading keeps with the first item.
            style = styles["item" if block.numbered else "note_item"]
            for i, item in enumerate(block.items, start=1):
                story.append(
                    Paragraph(escape(item), style, bulletText=f"{i}." if block.numbered else "•")
                )
        elif isinstance(block, Figure):
            from PIL import Image as PILImage  # noqa: PLC0415 Pillow loaded only when a figure is drawn

            with PILImage.open(io.BytesIO(png)) as im:
                ratio = im.height / im.width
            story.append(
                KeepTogether(
                    [
                        Image(io.BytesIO(png), width=width, height=width * ratio),
                        Paragraph(escape(block.caption), styles["caption"]),
                    ]
                )
            )
        elif isinstance(block, Table):
            story += _pdf_table(block, styles, width, colors, RLTable, TableStyle, Paragraph)
        elif isinstance(block, PageBreak):
            story.append(RLPageBreak())

    def furniture(canvas: Any, document: Any) -> None:
        if document.page == 1:
            return
        canvas.saveState()
        canvas.setFont(regular, 8.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(2.2 * cm, A4[1] - 1.3 * cm, doc.header)
        canvas.setStrokeColor(colors.HexColor("#BBBBBB"))
        canvas.line(2.2 * cm, A4[1] - 1.45 * cm, A4[0] - 2.2 * cm, A4[1] - 1.45 * cm)
        canvas.drawCentredString(A4[0] / 2, 1.2 * cm, f"第 {document.page} 页")
        canvas.restoreState()

    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=2.2 * cm,
        rightMargin=2.2 * cm,
        topMargin=2.0 * cm,
        bottomMargin=2.0 * cm,
        title=doc.title,
        author="SafeCity",
        subject="城市安全风险白皮书",
        creator="SafeCity",
    )
    try:
        template.build(story, onFirstPage=furniture, onLaterPages=furniture)
    finally:
        _unregister(regular, bold)
    return out.getvalue()


def _pdf_table(
    block: Table,
    styles: dict[str, Any],
    width: float,
    colors: Any,
    RLTable: Any,
    TableStyle: Any,
    Paragraph: Any,
) -> list[Any]:
    total_w = sum(block.widths)
    col_w = [width * w / total_w for w in block.widths]
    head = []
    for i, h in enumerate(block.header):
        style = styles["head"]
        if block.level_columns.get(i) == "yellow":
            style = styles["cell_b"]
        head.append(Paragraph(escape(h), style))
    body = []
    for r, row in enumerate(block.rows):
        last = block.total and r == len(block.rows) - 1
        body.append([Paragraph(escape(c), styles["cell_b" if last else "cell"]) for c in row])
    table = RLTable([head, *body], colWidths=col_w, repeatRows=1, hAlign="CENTER")
    commands: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1F3A68")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9AA5B1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    for i, level in block.level_columns.items():
        commands.append(("BACKGROUND", (i, 0), (i, 0), colors.HexColor(LEVEL_HEX[level])))
    for r in range(1, len(block.rows) + 1):
        if r % 2 == 0:
            commands.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#F3F5F8")))
    if block.total and block.rows:
        commands.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#E3E8EF")))
    table.setStyle(TableStyle(commands))
    out = [Paragraph(escape(block.caption), styles["caption"]), table]
    if block.note:
        out.append(Paragraph(escape(block.note), styles["note"]))
    return out


# =========================================================================== DOCX (python-docx)

DOCX_BODY_FONT = ("Times New Roman", "宋体")  # (Latin, East Asian): what Word users have
DOCX_HEAD_FONT = ("Arial", "黑体")


def _set_fonts(element_owner: Any, latin: str, east_asian: str) -> None:
    """Set Latin and East Asian fonts: Word picks w:eastAsia for Chinese characters."""

    rpr = element_owner.get_or_add_rPr()
    _set_rfonts(rpr.get_or_add_rFonts(), latin, east_asian)


def _set_rfonts(rfonts: Any, latin: str, east_asian: str) -> None:
    from docx.oxml.ns import qn  # noqa: PLC0415 python-docx loaded only when a Word file is written

    # Theme attributes (w:eastAsiaTheme…) win over named fonts, so they have to go.
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        rfonts.set(qn(attr), latin)
    rfonts.set(qn("w:eastAsia"), east_asian)


def _shade(cell: Any, hex_colour: str) -> None:
    from docx.oxml import OxmlElement  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.oxml.ns import qn  # noqa: PLC0415 python-docx loaded only when a Word file is written

    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), hex_colour.lstrip("#"))
    tc_pr.append(shd)


def render_docx(doc: Document, fonts: Fonts | None = None, map_png: bytes | None = None) -> bytes:
    import docx  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.enum.table import WD_TABLE_ALIGNMENT  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.oxml import OxmlElement  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.oxml.ns import qn  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.shared import Cm, Pt, RGBColor  # noqa: PLC0415 python-docx loaded only when a Word file is written

    png = map_png
    if png is None:
        png = render_map(doc.map_spec, fonts or load_fonts(doc.text()))
    d = docx.Document()
    d.core_properties.title = doc.title
    d.core_properties.author = "SafeCity"
    d.core_properties.subject = "城市安全风险白皮书"
    d.core_properties.language = "zh-CN"
    section = d.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.2))
    section.top_margin = section.bottom_margin = Cm(2.0)

    styles = d.styles
    for rfonts in styles.element.findall(
        qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr") + "/" + qn("w:rFonts")
    ):
        _set_rfonts(rfonts, *DOCX_BODY_FONT)
    normal = styles["Normal"]
    normal.font.size = Pt(11)
    _set_fonts(normal.element, *DOCX_BODY_FONT)
    # w:lang eastAsia tells Word to lay out the text as Chinese (line breaking, punctuation).
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal.element.get_or_add_rPr().append(lang)
    for name, size in (("Title", 24), ("Heading 1", 16), ("Heading 2", 13), ("Caption", 10)):
        style = styles[name]
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.italic = False
        style.font.color.rgb = (
            RGBColor(0x0D, 0x2B, 0x5E) if name != "Caption" else RGBColor(0x33, 0x33, 0x33)
        )
        _set_fonts(style.element, *DOCX_HEAD_FONT)

    # cover
    for _ in range(6):
        d.add_paragraph()
    title = d.add_paragraph(doc.title, style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    d.add_paragraph()
    for line in doc.cover_lines:
        p = d.add_paragraph(line)
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    # The cover page has no header or footer; every later page has both.
    section.different_first_page_header_footer = True
    hp = section.header.paragraphs[0]
    hp.text = doc.header
    hp.runs[0].font.size = Pt(8.5)
    fp = section.footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fp.add_run("第 ")
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    fp._p.append(fld)
    fp.add_run(" 页")

    for block in doc.blocks:
        if isinstance(block, Heading):
            d.add_heading(block.text, level=block.level)
        elif isinstance(block, Para):
            p = d.add_paragraph(block.text)
            if block.style == "note":
                for r in p.runs:
                    r.font.size = Pt(9.5)
                    r.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
            else:
                p.paragraph_format.first_line_indent = Pt(22)
        elif isinstance(block, Bullets):
            style = "List Number" if block.numbered else "List Bullet"
            for item in block.items:
                d.add_paragraph(item, style=style)
        elif isinstance(block, Figure):
            d.add_picture(io.BytesIO(png), width=Cm(block.width_cm))
            d.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            cap = d.add_paragraph(block.caption, style="Caption")
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif isinstance(block, Table):
            cap = d.add_paragraph(block.caption, style="Caption")
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
            cap.paragraph_format.keep_with_next = True
            table = d.add_table(rows=1 + len(block.rows), cols=len(block.header))
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            total_w = sum(block.widths)
            widths = [Cm(16.6 * w / total_w) for w in block.widths]
            for i, h in enumerate(block.header):
                cell = table.rows[0].cells[i]
                cell.text = h
                level = block.level_columns.get(i)
                _shade(cell, LEVEL_HEX[level] if level else "#1F3A68")
                for r in cell.paragraphs[0].runs:
                    r.font.bold = True
                    r.font.size = Pt(9)
                    r.font.color.rgb = (
                        RGBColor(0x21, 0x21, 0x21)
                        if level == "yellow"
                        else RGBColor(0xFF, 0xFF, 0xFF)
                    )
            # Repeat the header row on every page the table runs onto.
            tr_pr = table.rows[0]._tr.get_or_add_trPr()
            tbl_header = OxmlElement("w:tblHeader")
            tbl_header.set(qn("w:val"), "true")
            tr_pr.append(tbl_header)
            for r, row in enumerate(block.rows, start=1):
                last = block.total and r == len(block.rows)
                cells = table.rows[r].cells
                for i, value in enumerate(row):
                    cells[i].text = value
                    for run_ in cells[i].paragraphs[0].runs:
                        run_.font.size = Pt(9)
                        run_.font.bold = last
                    if last:
                        _shade(cells[i], "#E3E8EF")
            for row in table.rows:
                for i, cell in enumerate(row.cells):
                    cell.width = widths[i]
            if block.note:
                p = d.add_paragraph(block.note)
                for r in p.runs:
                    r.font.size = Pt(9)
        elif isinstance(block, PageBreak):
            d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


# =========================================================================== entry point


def filename_for(division: Division, year: int, fmt: str) -> str:
    return f"{division.name}城市安全风险白皮书-{year}.{fmt}"


def build(
    session: Session,
    principal: Principal,
    year: int | str,
    division_code: str,
    fmt: str,
    now: datetime,
) -> tuple[bytes, str, str]:
    """The white paper for ``year`` and ``division_code`` as (content, media type, file name).

    Scoped to ``principal``: a caller whose scope is narrower than the division gets a paper
    of their own division. Raises Invalid (bad year/format/division), Forbidden, NotFound,
    FontUnavailable.
    """
    errors: list[FieldError] = []
    parsed_year = parsed_fmt = code = None
    for parse in ("year", "format", "division"):
        try:
            if parse == "year":
                parsed_year = parse_year(year, now)
            elif parse == "format":
                parsed_fmt = parse_format(fmt)
            else:
                code = parse_division(division_code)
        except Invalid as exc:
            errors += exc.errors
    if errors:
        raise Invalid(errors)
    assert parsed_year is not None and parsed_fmt is not None and code is not None
    data = gather(session, principal, parsed_year, code, now)
    doc = compose(data)
    fonts = load_fonts(doc.text())
    png = render_map(doc.map_spec, fonts)
    content = render_pdf(doc, fonts, png) if parsed_fmt == "pdf" else render_docx(doc, fonts, png)
    return content, FORMATS[parsed_fmt], filename_for(data.division, parsed_year, parsed_fmt)
