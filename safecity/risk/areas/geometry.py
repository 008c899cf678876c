"""Area geometry for the four-colour map: registry areas (grid cells, streets, districts) parsed
once and cached by a fingerprint of their rows, and H3 hexagons."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import h3
import numpy as np
import shapely
from sqlalchemy import (
    BigInteger,
    Text,
    cast,
    func,
    select,
)
from sqlalchemy.orm import Session

from safecity.core.scope import Principal, Shape
from safecity.registry.models import Division, GridCell
from safecity.risk.areas.service import scoped

H3_RESOLUTIONS = range(4, 11)  # res 4 ≈ 1,770 km², res 10 ≈ 0.015 km²
DEFAULT_H3_RES = 7  # ≈ 5 km², close to a rural grid cell


# ---------------------------------------------------------------- area sets


@dataclass
class AreaSet:
    """The areas of one unit in the caller's scope, in a fixed order."""

    unit: str
    resolution: int | None
    keys: list[str]
    names: list[str]
    division_codes: list[str]
    geometry: list[dict[str, Any] | None]
    shapes: np.ndarray  # shapely geometries (None where missing)
    int_keys: np.ndarray  # grid id / division code / h3 int, aligned with keys
    tree: shapely.STRtree | None = None
    # streets only: (grid cell ids sorted, code of the street holding each cell's centre)
    cell_street: tuple[np.ndarray, np.ndarray] | None = None
    _sorted: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.keys)

    def sorted_keys(self) -> tuple[np.ndarray, np.ndarray]:
        if self._sorted is None:
            order = np.argsort(self.int_keys, kind="stable")
            self._sorted = (self.int_keys[order], order)
        return self._sorted

    def index_of(self, key: str) -> int | None:
        try:
            return self.keys.index(key)
        except ValueError:
            return None


_GEOMETRY_CACHE: dict[tuple[str, str], tuple[Any, AreaSet]] = {}
_CACHE_LOCK = threading.Lock()


def _cache_key(session: Session, unit: str) -> str:
    return f"{session.get_bind().engine.url.render_as_string(hide_password=True)}|{unit}"


def registry_areas(
    session: Session, principal: Principal, unit: str, division: str | None = None
) -> AreaSet:
    """Grid cells, streets or districts in scope with parsed geometry (cached per fingerprint)."""
    model = GridCell if unit == "grid" else Division
    column = GridCell.division_code if unit == "grid" else Division.code
    # Areas are the map's frame (reference): each is graded from the caller's own scoped
    # points, hazards and targets, so an enterprise officer sees their enterprise's risk by area.
    where = [
        model.archived.is_(False),
        *scoped(principal, Shape(division=column, reference=True), division),
    ]
    if unit != "grid":
        where.append(Division.level == ("street" if unit == "street" else "county"))
    full = _all_areas(session, model, unit)
    # Scope is applied to the cached full set by key, so one cache entry serves every user.
    wanted = set(
        session.scalars(select(GridCell.id if unit == "grid" else Division.code).where(*where))
    )
    keep = [i for i, k in enumerate(full.keys) if _typed(unit, k) in wanted]
    return _subset(full, keep)


def _typed(unit: str, key: str) -> Any:
    return int(key) if unit == "grid" else key


def _all_areas(session: Session, model: Any, unit: str) -> AreaSet:
    level = {"street": "street", "district": "county"}.get(unit)
    where = [model.archived.is_(False)] + ([Division.level == level] if level else [])
    pk = GridCell.id if unit == "grid" else Division.code
    stamp = session.execute(
        select(
            func.count(),
            func.max(model.updated_at),
            func.sum(func.length(cast(model.geometry, Text()))),
        ).where(*where)
    ).one()
    fingerprint = (tuple(stamp), _text_key(session, pk, where))
    if unit == "street":
        fingerprint += (
            tuple(
                session.execute(
                    select(
                        func.count(),
                        func.sum(GridCell.id),
                        func.max(GridCell.updated_at),
                        func.sum(GridCell.lon),
                        func.sum(GridCell.lat),
                    ).where(GridCell.archived.is_(False))
                ).one()
            ),
        )
    key = _cache_key(session, unit)
    with _CACHE_LOCK:
        hit = _GEOMETRY_CACHE.get(key)
    if hit is not None and hit[0] == fingerprint:
        return hit[1]
    built = _build_areas(session, model, unit, where)
    if unit == "street":
        built.cell_street = _cell_streets(session, built)
    with _CACHE_LOCK:
        _GEOMETRY_CACHE[key] = (fingerprint, built)
    return built


def _cell_streets(session: Session, streets: AreaSet) -> tuple[np.ndarray, np.ndarray]:
    """Which street holds each grid cell's centre.

    Grid cells (网格) are drawn inside one street or town in grid management, so a point that
    carries its grid cell id counts in that street without a point-in-polygon test — which
    is what keeps the street layer of 10⁵ points fast.
    """
    rows = session.execute(
        select(GridCell.id, GridCell.lon, GridCell.lat)
        .where(GridCell.archived.is_(False), GridCell.lon.is_not(None), GridCell.lat.is_not(None))
        .order_by(GridCell.id)
    ).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    codes = np.full(len(rows), -1, dtype=np.int64)
    if rows and streets.tree is not None:
        pts = shapely.points([(r[1], r[2]) for r in rows])
        hit_pt, hit_area = streets.tree.query(pts, predicate="intersects")
        first = np.unique(hit_pt, return_index=True)[1]
        codes[hit_pt[first]] = streets.int_keys[hit_area[first]]
    return ids, codes


def _text_key(session: Session, pk: Any, where: list[Any]) -> Any:
    # Sum of ids (or code hashes) catches a swap of rows with equal counts and timestamps.
    if pk is GridCell.id:
        return session.scalar(select(func.sum(GridCell.id)).where(*where))
    return session.scalar(select(func.sum(cast(Division.code, BigInteger))).where(*where))


def _build_areas(session: Session, model: Any, unit: str, where: list[Any]) -> AreaSet:
    if unit == "grid":
        rows = session.execute(
            select(GridCell.id, GridCell.name, GridCell.division_code, GridCell.geometry)
            .where(*where)
            .order_by(GridCell.id)
        ).all()
        keys = [str(r[0]) for r in rows]
        ints = np.array([r[0] for r in rows], dtype=np.int64)
    else:
        rows = session.execute(
            select(Division.code, Division.name, Division.code, Division.geometry)
            .where(*where)
            .order_by(Division.code)
        ).all()
        keys = [r[0] for r in rows]
        ints = np.array([int(r[0]) for r in rows], dtype=np.int64)
    geometry = [r[3] or None for r in rows]
    shapes = _shapes(geometry)
    return finish_areas(
        AreaSet(
            unit=unit,
            resolution=None,
            keys=keys,
            names=[r[1] for r in rows],
            division_codes=[r[2] for r in rows],
            geometry=geometry,
            shapes=shapes,
            int_keys=ints,
        )
    )


def _shapes(geometry: Sequence[dict[str, Any] | None]) -> np.ndarray:
    texts = [json.dumps(g) if g else None for g in geometry]
    out = np.empty(len(texts), dtype=object)
    if texts:
        valid = [i for i, t in enumerate(texts) if t]
        parsed = shapely.from_geojson([texts[i] for i in valid], on_invalid="ignore")
        out[:] = None
        for i, g in zip(valid, parsed, strict=True):
            out[i] = g
    return out


def finish_areas(area_set: AreaSet) -> AreaSet:
    present = [g for g in area_set.shapes if g is not None]
    if present:
        # The tree indexes every slot (None stays empty) so its indexes are area indexes.
        area_set.tree = shapely.STRtree(area_set.shapes)
    return area_set


def _subset(full: AreaSet, keep: list[int]) -> AreaSet:
    if len(keep) == len(full.keys):
        return full
    idx = np.array(keep, dtype=np.int64)
    return finish_areas(
        AreaSet(
            unit=full.unit,
            resolution=full.resolution,
            keys=[full.keys[i] for i in keep],
            names=[full.names[i] for i in keep],
            division_codes=[full.division_codes[i] for i in keep],
            geometry=[full.geometry[i] for i in keep],
            shapes=full.shapes[idx] if keep else np.empty(0, dtype=object),
            int_keys=full.int_keys[idx] if keep else np.empty(0, dtype=np.int64),
            cell_street=full.cell_street,
        )
    )


def h3_areas(cells: np.ndarray, resolution: int) -> AreaSet:
    """Hexagons for the given H3 cell integers (the cells that hold something)."""
    uniq = np.unique(cells[cells > 0])
    keys = [h3.int_to_str(int(c)) for c in uniq]
    geometry = [_h3_polygon(k) for k in keys]
    return AreaSet(
        unit="h3",
        resolution=resolution,
        keys=keys,
        names=keys,
        division_codes=["" for _ in keys],
        geometry=geometry,
        shapes=np.empty(0, dtype=object),
        int_keys=uniq.astype(np.int64),
    )


@lru_cache(maxsize=1 << 17)
def _h3_polygon(cell: str) -> dict[str, Any]:
    # Geometry only (never the level), so caching it is safe; callers must not mutate it.
    ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


_H3_MEMO: dict[tuple[int, bytes], np.ndarray] = {}
_H3_MEMO_SIZE = 8


def h3_cells(lon: np.ndarray, lat: np.ndarray, resolution: int) -> np.ndarray:
    """H3 cell integers for coordinates (0 where a coordinate is missing).

    H3 has no vectorised Python call, so 10⁵ points cost ~100 ms; the result is memoised by
    a digest of the coordinates, which rarely change between two requests for the layer.
    """
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    key = (resolution, hashlib.blake2b(lon.tobytes() + lat.tobytes(), digest_size=20).digest())
    with _CACHE_LOCK:
        hit = _H3_MEMO.get(key)
    if hit is not None:
        return hit.copy()
    from h3.api import basic_int  # noqa: PLC0415 h3 loaded only when hexagons are computed

    out = np.zeros(len(lon), dtype=np.uint64)
    ok = ~(np.isnan(lon) | np.isnan(lat))
    to_cell = basic_int.latlng_to_cell
    out[ok] = [
        to_cell(a, b, resolution) for a, b in zip(lat[ok].tolist(), lon[ok].tolist(), strict=True)
    ]
    cells = out.astype(np.int64)  # H3 indexes fit in 63 bits
    with _CACHE_LOCK:
        if len(_H3_MEMO) >= _H3_MEMO_SIZE:
            _H3_MEMO.pop(next(iter(_H3_MEMO)))
        _H3_MEMO[key] = cells
    return cells.copy()
