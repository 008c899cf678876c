"""Who a warning reaches: grid cells, area-weighted population, protected targets, enterprises.

Pure logic on shapely 2 / numpy arrays (the service loads the arrays): an STRtree over the grid
cells, and vectorised point-in-polygon tests (shapely.contains_xy) for targets and enterprises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon, shape
from shapely.geometry.base import BaseGeometry

from safecity.warnings.rules import WarningArea

EARTH_KM_PER_DEG = 111.32


def circle(lon: float, lat: float, radius_km: float, segments: int = 64) -> Polygon:
    """A circle of `radius_km` as a lon/lat polygon (an ellipse in degrees at that latitude)."""
    dlat = radius_km / EARTH_KM_PER_DEG
    dlon = radius_km / (EARTH_KM_PER_DEG * max(math.cos(math.radians(lat)), 1e-6))
    angles = np.linspace(0, 2 * math.pi, segments, endpoint=False)
    return Polygon(np.column_stack([lon + dlon * np.cos(angles), lat + dlat * np.sin(angles)]))


def area_geometry(
    areas: tuple[WarningArea, ...], division_shapes: dict[str, BaseGeometry]
) -> BaseGeometry:
    """The union of every polygon, circle and division of a warning."""
    parts: list[BaseGeometry] = []
    for area in areas:
        parts += [Polygon(ring) for ring in area.polygons]
        parts += [circle(*c) for c in area.circles]
        parts += [division_shapes[d] for d in area.divisions if d in division_shapes]
    parts = [shapely.make_valid(p) if not p.is_valid else p for p in parts]
    if not parts:
        return Polygon()
    return shapely.union_all(parts)


@dataclass
class GridLayer:
    ids: np.ndarray
    geoms: np.ndarray  # shapely geometries
    population: np.ndarray
    division: np.ndarray
    tree: shapely.STRtree
    area: np.ndarray

    @classmethod
    def build(
        cls,
        ids: list[int],
        geojson: list[dict[str, Any]],
        population: list[int],
        division: list[str],
    ) -> GridLayer:
        geoms = np.array([shape(g) for g in geojson], dtype=object)
        return cls(
            np.asarray(ids),
            geoms,
            np.asarray(population, dtype=float),
            np.asarray(division, dtype=object),
            shapely.STRtree(geoms),
            shapely.area(geoms),
        )


@dataclass
class PointLayer:
    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    kind: np.ndarray  # target type, or "hazchem"/"other" for enterprises
    weight: np.ndarray  # capacity of a target (people inside), 1 for an enterprise

    @classmethod
    def build(cls, rows: list[tuple[int, float, float, str, int]]) -> PointLayer:
        if not rows:
            empty = np.array([])
            return cls(empty, empty, empty, np.array([], dtype=object), empty)
        ids, lon, lat, kind, weight = zip(*rows, strict=True)
        return cls(
            np.asarray(ids),
            np.asarray(lon, dtype=float),
            np.asarray(lat, dtype=float),
            np.asarray(kind, dtype=object),
            np.asarray(weight, dtype=float),
        )


def cells_hit(geom: BaseGeometry, grid: GridLayer) -> tuple[np.ndarray, np.ndarray]:
    """Indexes of cells touching the area and the share (0-1] of each cell's area inside it."""
    if geom.is_empty or len(grid.ids) == 0:
        return np.array([], dtype=int), np.array([])
    shapely.prepare(geom)
    inside = grid.tree.query(geom, predicate="contains")
    touching = grid.tree.query(geom, predicate="intersects")
    edge = np.setdiff1d(touching, inside)
    shares = np.ones(len(inside))
    if len(edge):
        cut = shapely.area(shapely.intersection(grid.geoms[edge], geom))
        edge_share = np.divide(
            cut, grid.area[edge], out=np.zeros(len(edge)), where=grid.area[edge] > 0
        )
        keep = edge_share > 0
        inside = np.concatenate([inside, edge[keep]])
        shares = np.concatenate([shares, edge_share[keep]])
    return inside, shares


def points_inside(geom: BaseGeometry, layer: PointLayer) -> np.ndarray:
    """Boolean mask of the points inside the area (bounding box first, then exact test)."""
    if geom.is_empty or len(layer.ids) == 0:
        return np.zeros(len(layer.ids), dtype=bool)
    minx, miny, maxx, maxy = geom.bounds
    box = (layer.lon >= minx) & (layer.lon <= maxx) & (layer.lat >= miny) & (layer.lat <= maxy)
    mask = np.zeros(len(layer.ids), dtype=bool)
    idx = np.flatnonzero(box)
    if len(idx):
        shapely.prepare(geom)
        mask[idx] = shapely.contains_xy(geom, layer.lon[idx], layer.lat[idx])
    return mask


def _by_kind(layer: PointLayer, mask: np.ndarray) -> dict[str, int]:
    kinds, counts = np.unique(layer.kind[mask].astype(str), return_counts=True)
    return {str(k): int(c) for k, c in zip(kinds, counts, strict=True)}


def compute(
    geom: BaseGeometry,
    grid: GridLayer,
    targets: PointLayer,
    enterprises: PointLayer,
    sample: int = 20,
) -> dict[str, Any]:
    """The coverage summary the commander sees before issuing."""
    idx, shares = cells_hit(geom, grid)
    people = grid.population[idx] * shares
    t_mask = points_inside(geom, targets)
    e_mask = points_inside(geom, enterprises)
    divisions = sorted({str(d) for d in grid.division[idx]})
    return {
        "grid_cells": len(idx),
        "grid_cells_partial": int((shares < 0.999).sum()),
        "population": round(float(people.sum())),
        "divisions": divisions,
        "protected_targets": int(t_mask.sum()),
        "protected_by_type": _by_kind(targets, t_mask),
        "people_in_targets": int(targets.weight[t_mask].sum()),
        "enterprises": int(e_mask.sum()),
        "enterprises_by_kind": _by_kind(enterprises, e_mask),
        "target_ids": [int(i) for i in targets.ids[t_mask][:sample]],
        "enterprise_ids": [int(i) for i in enterprises.ids[e_mask][:sample]],
        "area_km2": round(area_km2(geom), 2),
    }


def area_km2(geom: BaseGeometry) -> float:
    """Approximate area of a lon/lat geometry (equirectangular at its centroid latitude)."""
    if geom.is_empty:
        return 0.0
    lat = geom.centroid.y
    return float(geom.area) * EARTH_KM_PER_DEG**2 * math.cos(math.radians(lat))


def coverage(reached: int, population: int) -> float | None:
    """预警信息公众覆盖率: people reached / people in the area, capped at 100 %."""
    if population <= 0:
        return None
    return min(1.0, reached / population)
