"""Four-colour risk map (四色图): area layers (grid, street, district, H3) and their explanations.

Every layer is computed fresh from the caller's scoped risk points, major hazards, protected
targets and active risk signals by the rule in ``safecity.risk.areas``; only the parsed area
geometry is cached, keyed by a fingerprint of the registry rows, because parsing thousands of
GeoJSON polygons costs more than grading 100,000 points.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import h3
import numpy as np
import shapely
from sqlalchemy import (
    BigInteger,
    Integer,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from safecity.core import audit, scope
from safecity.core.errors import FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal, Shape, division_prefix
from safecity.core.sql import code_within
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from safecity.risk import areas, service
from safecity.risk.areas import LEVELS, AreaRule
from safecity.risk.models import MajorHazard, RiskPoint, RiskSetting, RiskSignal

UNITS = ("grid", "street", "district", "h3")
AGGREGATE_UNITS = ("street", "district")  # graded from their grid cells (areas rule, step 5)
UNIT_ZH = {"grid": "网格", "street": "街道（乡镇）", "district": "区县", "h3": "H3 六边形"}
COLOURS = {"red": "#d7191c", "orange": "#fd8d3c", "yellow": "#fed976", "blue": "#2c7bb6"}
H3_RESOLUTIONS = range(4, 11)  # res 4 ≈ 1,770 km², res 10 ≈ 0.015 km²
DEFAULT_H3_RES = 7  # ≈ 5 km², close to a rural grid cell
SETTING_KEY = "area_rule"
MAX_EXPLAIN_ITEMS = 50


# ---------------------------------------------------------------- per-city rule


def load_rule(session: Session, division_code: str | None) -> AreaRule:
    """The area rule of the city the code belongs to (then its province), else the default.

    The city's setting wins over a district's so that a district officer and the city analyst
    see the same colour for the same area.
    """
    code = (division_code or "").ljust(6, "0")[:6]
    candidates = [code[:4] + "00", code[:2] + "0000"]
    rows = {
        r.division_code: r.value
        for r in session.scalars(
            select(RiskSetting).where(
                RiskSetting.key == SETTING_KEY, RiskSetting.division_code.in_(candidates)
            )
        )
    }
    for c in candidates:
        if c in rows:
            try:
                return AreaRule.from_dict(rows[c])
            except areas.AreaRuleError as exc:
                raise Invalid([FieldError(f, zh, en) for f, zh, en in exc.errors]) from None
    return areas.DEFAULT_RULE


RULE_WRITERS = frozenset({"admin", "risk_analyst"})


def city_of(division_code: str) -> str:
    """The city (地级市) a division code belongs to: the level the area rule is kept at."""
    code = (division_code or "").ljust(6, "0")[:6]
    return code[:4] + "00"


def rule_setting(
    session: Session, principal: Principal, division: str | None = None
) -> dict[str, Any]:
    """The area rule in force for a city, whether it is the city's own, and the default."""
    check_reader(principal)
    city = _rule_city(principal, division)
    row = session.get(RiskSetting, (city, SETTING_KEY))
    rule = load_rule(session, city)
    return {
        "division_code": city,
        "custom": row is not None,
        "rule": rule.as_dict(),
        "default": areas.DEFAULT_RULE.as_dict(),
        "updated_by": row.updated_by if row else None,
        "updated_at": row.updated_at.isoformat() if row and row.updated_at else None,
    }


def save_rule(
    session: Session, principal: Principal, value: Any, now: Any, division: str | None = None
) -> dict[str, Any]:
    """Replace a city's area rule (admin and risk analyst of that city); audited.

    ``value`` is validated whole before anything is written; an empty object returns the
    city to the default rule.
    """

    if principal.role not in RULE_WRITERS:
        raise Forbidden(
            "仅系统管理员和风险管理员可修改区域风险规则",
            "only administrators and risk analysts may change the area rule",
        )
    city = _rule_city(principal, division)
    if not principal.covers(city) or len(principal.prefix) > 4:
        raise Forbidden(
            "区域风险规则按城市设置，超出您的管辖范围",
            "the area rule is set per city, outside your jurisdiction",
        )
    try:
        rule = AreaRule.from_dict(value)
    except areas.AreaRuleError as exc:
        raise Invalid([FieldError(f, zh, en) for f, zh, en in exc.errors]) from None
    row = session.get(RiskSetting, (city, SETTING_KEY))
    before = dict(row.value) if row else None
    stored = rule.as_dict() if value else None
    if stored is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(
            RiskSetting(
                division_code=city,
                key=SETTING_KEY,
                value=stored,
                updated_by=principal.username,
                updated_at=now,
            )
        )
    else:
        row.value, row.updated_by, row.updated_at = stored, principal.username, now
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="update",
        object_type="risk_setting",
        object_id=f"{city}:{SETTING_KEY}",
        before=before,
        after=stored,
        now=now,
    )
    return rule_setting(session, principal, city)


def _rule_city(principal: Principal, division: str | None) -> str:
    code = (division or principal.division_code or "").strip()
    if not code.isdigit() or len(code) not in (6, 9, 12):
        raise Invalid(
            [
                FieldError(
                    "division", "行政区划：应为 6 位数字代码", "division: a 6-digit division code"
                )
            ]
        )
    city = city_of(code)
    # A district user reads the rule of their own city; a foreign city is not revealed.
    if not (principal.covers(city) or city_of(principal.division_code) == city):
        raise NotFound("行政区划", "division")
    return city


# ---------------------------------------------------------------- scope


def check_reader(principal: Principal) -> None:
    if not principal.can_read():
        raise Forbidden("当前角色无权查看风险数据", "your role may not view risk data")


def _scan_column(column: Any, principal: Principal, division: str | None) -> Any:
    """The division column, wrapped when the range is city-wide.

    A city-wide range selects nearly every row, yet SQLite would still walk the division
    index row by row (twice as slow as a scan); wrapping the column leaves the scan as the
    only plan. Narrower (district) ranges keep the index.
    """
    prefixes = [principal.prefix] + ([division_prefix(division)] if division else [])
    return column.concat("") if len(max(prefixes, key=len)) <= 4 else column


def _scoped(principal: Principal, shape: Shape, division: str | None) -> list[Any]:
    """The one scope rule on ``shape``, then the division the caller picked."""
    column = _scan_column(shape.division, principal, division)
    clauses = [scope.clause(principal, replace(shape, division=column))]
    if division:
        clauses.append(code_within(column, division_prefix(division)))
    return clauses


def point_filter(
    principal: Principal, division: str | None = None, industry: str | None = None
) -> tuple[list[Any], bool]:
    """WHERE clauses for the risk points the caller may see; True when Enterprise is joined."""
    clauses = [
        RiskPoint.archived.is_(False),
        RiskPoint.level.is_not(None),
        *_scoped(principal, service.POINT_SHAPE, division),
    ]
    if not industry:
        return clauses, False
    # The industry picked as a filter: a point without its own code takes its enterprise's.
    column = func.coalesce(RiskPoint.industry_code, Enterprise.industry_code)
    return [*clauses, scope.industry_clause(column, industry)], True


def hazard_filter(
    principal: Principal, division: str | None = None, industry: str | None = None
) -> list[Any]:
    """WHERE clauses for the graded major hazards visible to the caller (Enterprise joined)."""
    clauses = [
        MajorHazard.archived.is_(False),
        MajorHazard.is_major.is_(True),
        MajorHazard.level.is_not(None),
        *_scoped(principal, service.HAZARD_SHAPE, division),
    ]
    if industry:
        clauses.append(scope.industry_clause(Enterprise.industry_code, industry))
    return clauses


# Targets are counted and listed beside the caller's own hazards and graded areas (an
# enterprise officer sees the school near their tank farm), so the map reads them as frame.
TARGET_SHAPE = Shape(division=ProtectedTarget.division_code, reference=True)
# A signal's industry is its enterprise's (signals without one are no liaison's).
SIGNAL_SHAPE = Shape(
    division=RiskSignal.division_code,
    enterprise=RiskSignal.enterprise_id,
    industry=Enterprise.industry_code,
    industry_via=Enterprise.id,
)


def target_filter(principal: Principal, division: str | None = None) -> list[Any]:
    return [ProtectedTarget.archived.is_(False), *_scoped(principal, TARGET_SHAPE, division)]


def signal_filter(principal: Principal, division: str | None = None) -> list[Any]:
    return [RiskSignal.active.is_(True), *_scoped(principal, SIGNAL_SHAPE, division)]


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
        *_scoped(principal, Shape(division=column, reference=True), division),
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
    return _finish(
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


def _finish(area_set: AreaSet) -> AreaSet:
    present = [g for g in area_set.shapes if g is not None]
    if present:
        # The tree indexes every slot (None stays empty) so its indexes are area indexes.
        area_set.tree = shapely.STRtree(area_set.shapes)
    return area_set


def _subset(full: AreaSet, keep: list[int]) -> AreaSet:
    if len(keep) == len(full.keys):
        return full
    idx = np.array(keep, dtype=np.int64)
    return _finish(
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


# ---------------------------------------------------------------- items


@dataclass
class Items:
    """One kind of located thing as columns: id, class (level / grade−1), key, lon, lat."""

    ids: np.ndarray
    cls: np.ndarray
    key: np.ndarray  # grid cell id / division code as int / −1
    lon: np.ndarray
    lat: np.ndarray
    extra: np.ndarray  # raise steps for signals, zeros otherwise

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, mask: np.ndarray) -> Items:
        return Items(
            self.ids[mask],
            self.cls[mask],
            self.key[mask],
            self.lon[mask],
            self.lat[mask],
            self.extra[mask],
        )


def _key_column(unit: str, division_col: Any, grid_col: Any | None) -> Any:
    if unit == "grid":
        return func.coalesce(grid_col, -1) if grid_col is not None else literal_column("-1")
    if unit == "district":
        return cast(func.substr(division_col, 1, 6), Integer)
    if unit == "street":
        # A street code when the row has one; else its grid cell as −(id + 2), which
        # assign() resolves through the street holding the cell (see _cell_streets).
        by_cell = -(grid_col + 2) if grid_col is not None else -1
        return case(
            (func.length(division_col) >= 9, cast(func.substr(division_col, 1, 9), Integer)),
            else_=func.coalesce(by_cell, -1) if grid_col is not None else -1,
        )
    return literal_column("-1")


def _to_items(rows: Sequence[Any]) -> Items:
    # All six columns are numeric, so one float array holds them (None → NaN) and is split.
    data = np.array(rows, dtype=np.float64).reshape(-1, 6)
    ints = np.nan_to_num(data[:, [0, 1, 2, 5]], nan=-1).astype(np.int64)
    return Items(ints[:, 0], ints[:, 1], ints[:, 2], data[:, 3], data[:, 4], ints[:, 3])


def _fetch(session: Session, stmt: Any) -> list[Any]:
    """Rows as plain DBAPI tuples, inside the session's transaction.

    Building SQLAlchemy Row objects for 10⁵ numeric rows costs more than the query itself, and
    these statements bind only strings and integers, which need no type processing.
    """
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args: Any = (
        tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional else params
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


POINT_LON = func.coalesce(RiskPoint.lon, Enterprise.lon)
POINT_LAT = func.coalesce(RiskPoint.lat, Enterprise.lat)
LEVEL_INDEX = case({lv: i for i, lv in enumerate(LEVELS)}, value=RiskPoint.level, else_=3)


def load_points(
    session: Session,
    principal: Principal,
    unit: str,
    division: str | None = None,
    industry: str | None = None,
    extra: Sequence[Any] = (),
) -> Items:
    clauses, _joined = point_filter(principal, division, industry)
    # Enterprise is always joined: a point without coordinates stands where its enterprise
    # does, so an area is never less severe than the enterprises located in it.
    stmt = (
        select(
            RiskPoint.id,
            LEVEL_INDEX,
            _key_column(unit, RiskPoint.division_code, RiskPoint.grid_cell_id),
            POINT_LON,
            POINT_LAT,
            literal_column("0"),
        )
        .select_from(RiskPoint)
        .outerjoin(Enterprise, Enterprise.id == RiskPoint.enterprise_id)
        .where(*clauses, *extra)
    )
    return _to_items(_fetch(session, stmt))


def load_hazards(
    session: Session,
    principal: Principal,
    unit: str,
    division: str | None = None,
    industry: str | None = None,
    extra: Sequence[Any] = (),
) -> Items:
    stmt = (
        select(
            MajorHazard.id,
            MajorHazard.level - 1,
            _key_column(unit, MajorHazard.division_code, None),
            MajorHazard.lon,
            MajorHazard.lat,
            literal_column("0"),
        )
        .select_from(MajorHazard)
        .outerjoin(Enterprise, Enterprise.id == MajorHazard.enterprise_id)
        .where(*hazard_filter(principal, division, industry), *extra)
    )
    return _to_items(_fetch(session, stmt))


def load_targets(
    session: Session,
    principal: Principal,
    unit: str,
    division: str | None = None,
    extra: Sequence[Any] = (),
) -> Items:
    stmt = select(
        ProtectedTarget.id,
        literal_column("0"),
        _key_column(unit, ProtectedTarget.division_code, None),
        ProtectedTarget.lon,
        ProtectedTarget.lat,
        literal_column("0"),
    ).where(*target_filter(principal, division), *extra)
    return _to_items(_fetch(session, stmt))


def load_signals(
    session: Session,
    principal: Principal,
    unit: str,
    division: str | None = None,
    extra: Sequence[Any] = (),
) -> Items:
    stmt = select(
        RiskSignal.id,
        literal_column("0"),
        _key_column(unit, RiskSignal.division_code, RiskSignal.grid_cell_id),
        RiskSignal.lon,
        RiskSignal.lat,
        RiskSignal.raise_steps,
    ).where(*signal_filter(principal, division), *extra)
    return _to_items(_fetch(session, stmt))


def vulnerable_flags(
    targets: Items, hazards: Items, rule: AreaRule
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest major hazard (index into ``hazards``) whose influence radius reaches each target."""
    if not len(targets) or not len(hazards):
        return np.full(len(targets), -1, dtype=np.int64), np.full(len(targets), np.nan)
    t_ok = ~(np.isnan(targets.lon) | np.isnan(targets.lat))
    h_ok = np.flatnonzero(~(np.isnan(hazards.lon) | np.isnan(hazards.lat)))
    radius = np.array([rule.radius_of(int(c) + 1) for c in hazards.cls[h_ok]])
    best = np.full(len(targets), -1, dtype=np.int64)
    dist = np.full(len(targets), np.nan)
    b, d = areas.nearest_within(
        np.column_stack([targets.lon[t_ok], targets.lat[t_ok]]),
        np.column_stack([hazards.lon[h_ok], hazards.lat[h_ok]]),
        radius,
    )
    best[t_ok] = np.where(b >= 0, h_ok[np.maximum(b, 0)], -1) if len(h_ok) else -1
    dist[t_ok] = d
    return best, dist


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
    key = _key_column(unit, RiskPoint.division_code, RiskPoint.grid_cell_id)
    # Positional GROUP BY: PostgreSQL would not match the bound CASE expressions otherwise.
    stmt = (
        select(key, LEVEL_INDEX, func.count())
        .select_from(RiskPoint)
        .where(*clauses)
        .group_by(literal_column("1"), literal_column("2"))
    )
    if joined:
        stmt = stmt.outerjoin(Enterprise, Enterprise.id == RiskPoint.enterprise_id)
    groups = np.array(_fetch(session, stmt), dtype=np.int64).reshape(-1, 3)
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
    area_set = _finish(
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
