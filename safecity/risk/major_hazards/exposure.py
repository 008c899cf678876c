"""People exposed within 500 m of a major hazard unit (GB 18218-2018 §4.3, Table 5 α input).

Pure logic (shapely only): no database, no clock.

The rule SafeCity uses
----------------------
* The unit is its location point, or its boundary polygon when one is given (the standard
  measures from the boundary: 厂区边界向外扩展 500 m).  The zone is that geometry grown by
  ``radius_m`` (500 m) in a local metric projection, minus the polygon itself (people inside
  the boundary are not the exposed public).
* Residents: every grid cell contributes ``population × area(cell ∩ buffer) / area(cell)`` —
  people are assumed evenly spread over their cell.  A cell without geometry counts wholly when
  its centre lies in the buffer.  The resident sum is rounded half up once, at the end.
* Protected targets (schools, hospitals, …) whose point lies in the buffer add their occupancy,
  or their capacity when no occupancy is recorded: they hold people the census puts elsewhere
  (pupils, patients, visitors).
* The local projection is equirectangular about the unit (x = Δlon·111 320·cos φ₀,
  y = Δlat·110 574 m); over a few kilometres its scale error is far below 0.1 %.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

RADIUS_M = 500.0
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0
_BUFFER_SEGMENTS = 64  # quarter-circle segments: the polygon area is within 0.01 % of πr²


@dataclass(frozen=True)
class Cell:
    id: int
    population: int | None
    geometry: dict[str, Any] | None
    lon: float | None = None
    lat: float | None = None
    name: str = ""


@dataclass(frozen=True)
class Target:
    id: int
    name: str
    lon: float
    lat: float
    people: int
    target_type: str = ""


@dataclass
class Exposure:
    total: int
    residents: int
    target_people: int
    radius_m: float
    cells: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "residents": self.residents,
            "target_people": self.target_people,
            "radius_m": self.radius_m,
            "rule": RULE_ZH,
            "rule_en": RULE_EN,
            "cells": self.cells,
            "targets": self.targets,
        }


RULE_ZH = (
    "单元边界（无边界时为位置点）向外扩展500 m范围内（边界以内不计）：网格人口按网格与该范围"
    "相交面积占比计入，加上范围内脆弱性目标的在场人数（无在场人数时按容量）"
)
RULE_EN = (
    "within 500 m outside the unit boundary (or its point): each grid cell's population "
    "times the share of its area inside that zone, plus the occupancy (else capacity) of "
    "protected targets in it"
)


class _Local:
    """Equirectangular projection about (lon0, lat0), in metres."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))

    def forward(self, geom: BaseGeometry) -> BaseGeometry:
        scale = (self.kx, M_PER_DEG_LAT)
        return shapely.transform(geom, lambda xy: (xy - (self.lon0, self.lat0)) * scale)

    def point(self, lon: float, lat: float) -> Point:
        return Point((lon - self.lon0) * self.kx, (lat - self.lat0) * M_PER_DEG_LAT)


def unit_geometry(
    lon: float | None, lat: float | None, boundary: dict[str, Any] | None
) -> BaseGeometry | None:
    """The unit as a lon/lat geometry: its boundary polygon if valid, else its point."""
    if boundary:
        geom = shape(boundary)
        if not geom.is_empty:
            return geom if geom.is_valid else shapely.make_valid(geom)
    if lon is None or lat is None:
        return None
    return Point(lon, lat)


def search_bounds(
    unit: BaseGeometry, radius_m: float = RADIUS_M, margin_deg: float = 0.03
) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) for a database pre-filter on cell/target centres.

    The margin covers cells whose centre lies outside the buffer while part of them is inside
    (demo cells are squares of at most 0.025°, so a half-diagonal < 0.02°).
    """
    minx, miny, maxx, maxy = unit.bounds
    dlat = radius_m / M_PER_DEG_LAT
    dlon = radius_m / (M_PER_DEG_LON_EQUATOR * math.cos(math.radians((miny + maxy) / 2)))
    return (
        minx - dlon - margin_deg,
        miny - dlat - margin_deg,
        maxx + dlon + margin_deg,
        maxy + dlat + margin_deg,
    )


def _round(value: float) -> int:
    return int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def compute(
    unit: BaseGeometry, cells: Iterable[Cell], targets: Iterable[Target], radius_m: float = RADIUS_M
) -> Exposure:
    """People within ``radius_m`` of ``unit`` (lon/lat geometry) by the rule in the docstring."""
    centre = unit.centroid
    local = _Local(centre.x, centre.y)
    here = local.forward(unit)
    buffer = here.buffer(radius_m, quad_segs=_BUFFER_SEGMENTS)
    if here.area > 0:
        # GB 18218 §4.3 counts people *outside* the boundary (边界向外扩展500 m)
        buffer = buffer.difference(here)
    shapely.prepare(buffer)
    residents = 0.0
    cell_rows: list[dict[str, Any]] = []
    for cell in cells:
        share = _cell_share(cell, buffer, local)
        if share <= 0:
            continue
        people = (cell.population or 0) * share
        residents += people
        cell_rows.append(
            {
                "id": cell.id,
                "name": cell.name,
                "population": cell.population,
                "share": round(share, 6),
                "people": round(people, 2),
            }
        )
    target_rows: list[dict[str, Any]] = []
    for target in targets:
        where = local.point(target.lon, target.lat)
        if not buffer.covers(where):
            continue
        distance = here.distance(where)
        target_rows.append(
            {
                "id": target.id,
                "name": target.name,
                "people": target.people,
                "target_type": target.target_type,
                "distance_m": round(distance, 1),
            }
        )
    resident_total = _round(residents)
    target_total = sum(t["people"] for t in target_rows)
    return Exposure(
        resident_total + target_total,
        resident_total,
        target_total,
        radius_m,
        cell_rows,
        target_rows,
    )


def _cell_share(cell: Cell, buffer: BaseGeometry, local: _Local) -> float:
    if cell.geometry:
        geom = local.forward(shape(cell.geometry))
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        area = geom.area
        if area <= 0:
            return 0.0
        return float(min(1.0, geom.intersection(buffer).area / area))
    if cell.lon is None or cell.lat is None:
        return 0.0
    return 1.0 if buffer.covers(local.point(cell.lon, cell.lat)) else 0.0


def local_offset(lon0: float, lat0: float, dx_m: float, dy_m: float) -> tuple[float, float]:
    """The lon/lat dx_m east and dy_m north of (lon0, lat0) in the same local projection."""
    kx = M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
    return lon0 + dx_m / kx, lat0 + dy_m / M_PER_DEG_LAT


def rectangle(
    lon0: float,
    lat0: float,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
) -> dict[str, Any]:
    """GeoJSON rectangle given in metres about (lon0, lat0) (tests and demo data use it)."""
    corners: Sequence[tuple[float, float]] = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    ring = [list(local_offset(lon0, lat0, x, y)) for x, y in corners]
    return {"type": "Polygon", "coordinates": [ring]}
