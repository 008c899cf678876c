"""Seeded demo city 烟台市 (370600) and its idempotent loader; demo users' password: demo1234."""

# Demo accounts, all with password DEMO_PASSWORD ("demo1234"):
#   admin (admin), commander, duty (duty_officer), analyst (risk_analyst), inspector — all 370600;
#   liaison (department_liaison, industry C, 370600); zhifu / laishan (district_officer, 370602 /
#   370613); grid (grid_member, 370602); enterprise (enterprise_officer of the first hazardous-
#   chemical enterprise in 芝罘区 370602); public (public, 370600).

from __future__ import annotations

import json
import math
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon, shape
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from safecity.core.audit import record
from safecity.core.models import User
from safecity.core.security import hash_password
from safecity.core.sql import refresh_statistics
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from safecity.registry.rules import (
    USCC_CHARS,
    USCC_WEIGHTS,
    division_level,
    industry_section,
    parent_code,
)

DEMO_PASSWORD = "demo1234"
CITY_CODE = "370600"
DEFAULT_SEED = 20260101
CHUNK = 2000

# A local equirectangular plane (km) at Yantai's latitude so distances and areas are isotropic.
_LAT0 = 37.4
_KX = 111.32 * math.cos(math.radians(_LAT0))
_KY = 110.57
_ORIGIN = np.array([120.75, 37.2])
_PRECISION = 1e-5  # GeoJSON coordinates keep 5 decimals (~1 m)

Row = dict[str, Any]
Progress = Callable[[str, int, int], None]


@dataclass
class DemoCity:
    divisions: list[Row]
    grid_cells: list[Row]
    enterprises: list[Row]
    protected_targets: list[Row]
    users: list[Row]


@dataclass
class _County:
    code: str
    name: str
    name_en: str
    population: int
    area_weight: float
    tier: str
    anchor: np.ndarray
    seat: np.ndarray
    prefixes: list[str]
    streets: list[str]
    roads: list[str]
    shape: Any = None
    street_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    cell_bounds: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    cell_pop: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cell_shapes: list[Any] = field(default_factory=list)
    cell_street: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@lru_cache
def _data() -> dict[str, Any]:
    text = resources.files("safecity.registry").joinpath("data/yantai.json").read_text("utf-8")
    return json.loads(text)


# ---------------------------------------------------------------- names, phones, numbers

_SURNAMES = (
    "王张李刘孙杨赵姜于曲宋林徐隋衣初栾鞠宫修高陈吕郭马孔邹董滕矫丛迟慕战柳吴周郝谭邵辛肖梁韩唐冯"
)
_GIVEN = (
    "建国",
    "志强",
    "海燕",
    "丽娜",
    "晓东",
    "文静",
    "洪涛",
    "明华",
    "秀英",
    "玉兰",
    "红梅",
    "立新",
    "振华",
    "春雨",
    "桂芳",
    "国庆",
    "伟",
    "军",
    "磊",
    "勇",
    "敏",
    "静",
    "杰",
    "涛",
    "超",
    "鹏",
    "婷",
    "颖",
    "浩宇",
    "欣然",
    "子涵",
    "梓轩",
    "思远",
    "雪峰",
    "海波",
    "德胜",
    "庆丰",
    "淑珍",
    "凤霞",
    "宝山",
    "福海",
    "春梅",
    "晓燕",
    "建华",
    "建军",
    "玉梅",
    "秀兰",
    "丽华",
    "志刚",
    "俊杰",
    "晓明",
    "红霞",
    "永刚",
    "海涛",
    "文博",
    "佳怡",
    "雨萱",
    "一鸣",
    "子豪",
    "宇航",
    "晨曦",
    "梦琪",
    "立军",
    "国华",
    "卫东",
    "爱民",
    "春光",
    "冬梅",
    "海英",
    "美玲",
    "雅琴",
    "晓峰",
    "志勇",
    "凯",
    "强",
    "刚",
    "亮",
    "平",
    "燕",
    "娟",
    "霞",
    "芳",
    "丹",
    "鑫",
    "博",
)
# 字号 (trade names): a curated list reads like real firms; random characters only break ties.
_ZIHAO = (
    "恒源",
    "鑫海",
    "泰和",
    "华信",
    "宏达",
    "瑞丰",
    "金港",
    "鲁东",
    "胶东",
    "海川",
    "润丰",
    "永盛",
    "东方",
    "天润",
    "正信",
    "嘉禾",
    "鸿运",
    "顺达",
    "广源",
    "联创",
    "新力",
    "成达",
    "万通",
    "亿丰",
    "合众",
    "益民",
    "宝利",
    "富源",
    "兴隆",
    "昌盛",
    "安泰",
    "康达",
    "佳和",
    "信诚",
    "德润",
    "利华",
    "和顺",
    "金盛",
    "银海",
    "远航",
    "鸿基",
    "嘉信",
    "海润",
    "蓝海",
    "港城",
    "仙境",
    "海岳",
    "泰华",
    "明远",
    "华东",
    "三环",
    "四海",
    "汇通",
    "金辰",
    "鼎盛",
    "瑞祥",
    "裕丰",
    "丰泽",
    "海阔",
    "龙腾",
    "振邦",
    "荣昌",
    "聚源",
    "博远",
    "宏图",
    "金桥",
    "海晟",
    "中嘉",
    "诚达",
    "天一",
    "恒基",
    "万隆",
    "通达",
    "瀚海",
    "华泽",
    "金岭",
    "玉龙",
    "东海",
    "北海",
    "黄海",
    "渤海",
    "齐鲁",
    "烟威",
    "登州",
)
_ZIHAO_CHARS = "恒泰鑫华瑞丰盛源海宏达润祥隆兴昌富佳康信诚德安利和永金宝东方天正远鸿嘉顺通广联晟泓浩博冠腾翔凯裕"
_MOBILE = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "177",
    "178",
    "180",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
)
_VILLAGE_ENDS = ("庄", "疃", "沟", "夼", "泊", "屯")  # 疃, 夼 and 泊 are typical of Jiaodong
_SURNAME_P = np.linspace(3.0, 0.6, len(_SURNAMES))
_SURNAME_P /= _SURNAME_P.sum()


def _names(rng: np.random.Generator, n: int) -> list[str]:
    """Random Chinese personal names, weighted towards the surnames common in Jiaodong."""
    sur = rng.choice(len(_SURNAMES), n, p=_SURNAME_P)
    given = rng.integers(0, len(_GIVEN), n)
    return [_SURNAMES[s] + _GIVEN[g] for s, g in zip(sur, given, strict=True)]


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    head = rng.integers(0, len(_MOBILE), n)
    tail = rng.integers(0, 10**8, n)
    return [f"{_MOBILE[h]}{t:08d}" for h, t in zip(head, tail, strict=True)]


def _zihao(rng: random.Random, length: int = 2) -> str:
    if length == 2:
        return rng.choice(_ZIHAO)
    return "".join(rng.choices(_ZIHAO_CHARS, k=length))


@lru_cache(maxsize=128)
def _zh_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def _stem(place: str) -> str:
    for suffix in ("街道", "大街", "镇", "路", "街"):
        if place.endswith(suffix) and len(place) > len(suffix) + 1:
            return place[: -len(suffix)]
    return place


def _unique(name: str, seen: set[str], retry: Callable[[], str]) -> str:
    """Keep names unique (searching and importing by name must be unambiguous)."""
    for _ in range(6):
        if name not in seen:
            break
        name = retry()
    base, k = name, 2
    while name in seen:
        name, k = f"{base}（{_zh_number(k)}部）" if k < 100 else f"{base}（{k}）", k + 1
    seen.add(name)
    return name


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(math.log(lo), math.log(hi), n)).astype(np.int64)


def _weighted_pick(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    return np.array(keys)[rng.choice(len(keys), n, p=p / p.sum())]


# ---------------------------------------------------------------- geometry


def _to_km(lonlat: np.ndarray) -> np.ndarray:
    return (np.asarray(lonlat, dtype=float) - _ORIGIN) * (_KX, _KY)


def _to_deg(xy: np.ndarray) -> np.ndarray:
    return np.asarray(xy, dtype=float) / (_KX, _KY) + _ORIGIN


def _area_km2(geom: Any) -> float:
    return round(float(shapely.area(geom)) * _KX * _KY, 1)


def _round_coords(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (int, float)):
            return [round(float(v), 5) for v in value]
        return [_round_coords(v) for v in value]
    return value


def _geojson(geom: Any) -> dict[str, Any]:
    raw = json.loads(shapely.to_geojson(geom))
    return {"type": raw["type"], "coordinates": _round_coords(raw["coordinates"])}


def _snapped(geom: Any) -> Any:
    """Snap to the 5-decimal GeoJSON grid, so the stored shape is exactly the one we sample in."""
    return shape(_geojson(shapely.set_precision(geom, _PRECISION)))


def _half_plane(
    a: np.ndarray, b: np.ndarray, wa: float, wb: float, reach: float = 1000.0
) -> Polygon:
    """Where site a's power distance wins over b's, |x-a|²-wa <= |x-b|²-wb, as a big rectangle."""
    normal = b - a
    length = float(np.hypot(*normal))
    unit = normal / length
    offset = ((b @ b - a @ a - wb + wa) / 2 - normal @ a) / length
    foot = a + unit * offset
    along = np.array([-unit[1], unit[0]]) * reach
    back = unit * reach
    return Polygon([foot + along, foot - along, foot - along - back, foot + along - back])


def _power_cells(sites: np.ndarray, weights: np.ndarray, region: Any) -> list[Any]:
    cells = []
    for i in range(len(sites)):
        planes = [
            _half_plane(sites[i], sites[j], weights[i], weights[j])
            for j in range(len(sites))
            if j != i
        ]
        cells.append(shapely.intersection_all([region, *planes]))
    return cells


def _fit_power_diagram(
    sites: np.ndarray,
    owner: np.ndarray,
    shares: np.ndarray,
    region: Any,
    rounds: int = 80,
    tolerance: float = 0.02,
) -> list[Any]:
    """Weighted Voronoi (power diagram) of the anchors whose county areas match the real land areas.

    A plain Voronoi (shapely.voronoi_polygons) of the anchors makes 福山/莱山 about twice their size
    and 栖霞 too small; raising each county's weight until its area fits fixes that while keeping
    the straight, shared borders of a Voronoi diagram (all weights zero gives exactly the Voronoi).
    A county may own several anchors (福山 reaches the coast at the development zone); its cell is
    the union of theirs.
    """
    counties = len(shares)
    targets = shares / shares.sum() * region.area
    gaps = np.hypot(*(sites[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    gaps[owner[:, None] == owner[None, :]] = np.inf
    nearest = np.array([gaps[owner == k].min() for k in range(counties)])
    weights = np.zeros(counties)
    for _ in range(rounds):
        cells = _power_cells(sites, weights[owner], region)
        merged = [
            shapely.union_all([c for c, o in zip(cells, owner, strict=True) if o == k])
            for k in range(counties)
        ]
        error = targets - np.array([m.area for m in merged])
        if np.abs(error / targets).max() < tolerance:
            break
        # dArea/dWeight ≈ shared border / (2·distance to neighbour); perimeter/nearest bounds it.
        gain = np.maximum(np.array([m.length for m in merged]) / (2 * nearest), 1.0)
        weights = weights + 0.9 * error / gain
        weights -= weights.mean()
    return merged


def _build_counties(data: dict[str, Any]) -> tuple[Any, list[_County]]:
    outline = _snapped(Polygon(data["outline"]))
    counties = [
        _County(
            code=c["code"],
            name=c["name"],
            name_en=c["name_en"],
            population=c["population"],
            area_weight=c["area_km2"],
            tier=c["tier"],
            anchor=np.array(c["anchor"]),
            seat=np.array(c["seat"]),
            prefixes=c["prefixes"],
            streets=c["streets"],
            roads=c["roads"],
        )
        for c in data["counties"]
    ]
    anchors = [
        (k, a)
        for k, c in enumerate(data["counties"])
        for a in [c["anchor"], *c.get("extra_anchors", [])]
    ]
    owner = np.array([k for k, _ in anchors])
    sites = _to_km(np.array([a for _, a in anchors]))
    shares = np.array([c.area_weight for c in counties], dtype=float)
    region = shapely.transform(outline, _to_km)
    cells = _fit_power_diagram(sites, owner, shares, region)
    for county, cell in zip(counties, cells, strict=True):
        county.shape = _snapped(shapely.transform(cell, _to_deg))
        shapely.prepare(county.shape)
    shapely.prepare(outline)
    return outline, counties


# ---------------------------------------------------------------- point sampling


def _rounded(values: np.ndarray) -> np.ndarray:
    # Test containment on the 5-decimal coordinates we store, so rounding never crosses a border.
    return np.round(values, 5)


def _uniform_points(geom: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform points strictly inside geom by rejection from its bounding box."""
    minx, miny, maxx, maxy = geom.bounds
    found: list[np.ndarray] = [np.zeros((0, 2))]
    have = 0
    while have < n:
        m = max(64, int((n - have) * 3))
        xs, ys = _rounded(rng.uniform(minx, maxx, m)), _rounded(rng.uniform(miny, maxy, m))
        ok = shapely.contains_xy(geom, xs, ys)
        found.append(np.column_stack([xs[ok], ys[ok]]))
        have += int(ok.sum())
    return np.concatenate(found)[:n]


def _points_near(
    geom: Any,
    centre: Sequence[float],
    sigma_km: float,
    n: int,
    rng: np.random.Generator,
    tries: int = 50,
) -> np.ndarray:
    """Gaussian cluster around a centre (a chemical park, a landmark) kept inside geom."""
    found: list[np.ndarray] = []
    have = 0
    for _ in range(tries):
        if have >= n:
            break
        m = max(32, (n - have) * 3)
        pts = _rounded(_to_deg(_to_km(np.asarray(centre)) + rng.normal(0.0, sigma_km, (m, 2))))
        ok = shapely.contains_xy(geom, pts[:, 0], pts[:, 1])
        found.append(pts[ok])
        have += int(ok.sum())
    got = np.concatenate(found)[:n] if found else np.zeros((0, 2))
    if len(got) < n:  # the centre lies outside geom: fall back to anywhere inside it
        got = np.concatenate([got, _uniform_points(geom, n - len(got), rng)])
    return got


def _people_points(county: _County, n: int, rng: np.random.Generator) -> np.ndarray:
    """Points where people live: a grid cell drawn by population, then a point inside it."""
    p = county.cell_pop / county.cell_pop.sum()
    out = np.zeros((n, 2))
    todo = np.arange(n)
    while len(todo):
        b = county.cell_bounds[rng.choice(len(p), len(todo), p=p)]
        xs, ys = _rounded(rng.uniform(b[:, 0], b[:, 2])), _rounded(rng.uniform(b[:, 1], b[:, 3]))
        ok = shapely.contains_xy(county.shape, xs, ys)
        out[todo[ok]] = np.column_stack([xs[ok], ys[ok]])
        todo = todo[~ok]
    return out


def _place(county: _County, n: int, how: str, rng: np.random.Generator) -> np.ndarray:
    if how == "people":
        return _people_points(county, n, rng)
    if how == "spread":
        return _uniform_points(county.shape, n, rng)
    crowd = rng.random(n) < 0.5  # "mixed": half in towns, half in industrial land anywhere
    pts = np.zeros((n, 2))
    pts[crowd] = _people_points(county, int(crowd.sum()), rng)
    pts[~crowd] = _uniform_points(county.shape, int((~crowd).sum()), rng)
    return pts


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d = ((_to_km(points)[:, None, :] - _to_km(centres)[None, :, :]) ** 2).sum(axis=2)
    return d.argmin(axis=1)


def _street_centres(county: _County, rng: np.random.Generator) -> np.ndarray:
    """Centres of the county's 街道/镇: 街道 crowd around the seat, 镇 spread over the rest."""
    pool = _uniform_points(county.shape, 400, rng)
    dist = np.hypot(*(_to_km(pool) - _to_km(county.seat)).T)
    urban = sum(s.endswith("街道") for s in county.streets)
    towns = len(county.streets) - urban
    near = pool[np.argsort(dist)[: max(urban * 6, 40)]] if towns else pool
    chosen = _spread(near, np.zeros((0, 2)), urban)
    return _spread(pool, chosen, towns)


def _spread(pool: np.ndarray, chosen: np.ndarray, k: int) -> np.ndarray:
    """Greedy farthest-point picks, so centres tile the area instead of clumping."""
    for _ in range(k):
        if len(chosen) == 0:
            chosen = pool[:1]
            continue
        d = ((_to_km(pool)[:, None, :] - _to_km(chosen)[None, :, :]) ** 2).sum(axis=2).min(axis=1)
        chosen = np.vstack([chosen, pool[d.argmax()]])
    return chosen


# ---------------------------------------------------------------- divisions and grid cells


def _division_rows(
    data: dict[str, Any], outline: Any, counties: list[_County], now: datetime
) -> list[Row]:
    city = data["city"]
    rows = [
        _division_row(
            city["code"],
            city["name"],
            city["name_en"],
            sum(c.population for c in counties),
            outline,
            now,
        )
    ]
    rows += [_division_row(c.code, c.name, c.name_en, c.population, c.shape, now) for c in counties]
    return rows


def _division_row(
    code: str, name: str, name_en: str, population: int, geom: Any, now: datetime
) -> Row:
    centre = geom.centroid
    return {
        "code": code,
        "name": name,
        "name_en": name_en,
        "level": division_level(code),
        "parent_code": parent_code(code),
        "population": population,
        "area_km2": _area_km2(geom),
        "lon": round(centre.x, 5),
        "lat": round(centre.y, 5),
        "geometry": _geojson(geom),
        "archived": False,
        "updated_at": now,
    }


# Cell size in degrees: about 1 km² in the old city, 2 km² in 福山, 6 km² in the countryside.
_GRID_STEP = {"core": 0.010, "urban": 0.015, "rural": 0.025}
_SLIVER = 0.3  # a clipped cell smaller than this share of a full square is a sliver and dropped


def _grid_pieces(county: _County) -> list[Any]:
    step = _GRID_STEP[county.tier]
    minx, miny, maxx, maxy = county.shape.bounds
    xs = np.arange(math.floor(minx / step), math.ceil(maxx / step)) * step
    ys = np.arange(math.floor(miny / step), math.ceil(maxy / step))[::-1] * step  # north first
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + step, gy.ravel() + step)
    pieces = shapely.set_precision(shapely.intersection(boxes, county.shape), _PRECISION)
    keep = shapely.area(pieces) >= _SLIVER * step * step
    return [_largest_polygon(p) for p in pieces[keep]]


def _largest_polygon(geom: Any) -> Any:
    polygons = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return max(polygons, key=lambda p: p.area)


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights that sum exactly to total (largest remainder)."""
    quota = weights / weights.sum() * total
    base = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - base), kind="stable")
    base[order[: total - int(base.sum())]] += 1
    return base


def _cell_population(county: _County, centres: np.ndarray, areas: np.ndarray) -> np.ndarray:
    # People crowd the seat and, less so, each 街道/镇 centre; farmland keeps a thin floor.
    reach = {"core": 5.0, "urban": 4.0, "rural": 3.0}[county.tier]
    to_seat = np.hypot(*(_to_km(centres) - _to_km(county.seat)).T)
    to_town = np.sqrt(
        ((_to_km(centres)[:, None] - _to_km(county.street_xy)[None]) ** 2).sum(axis=2)
    ).min(axis=1)
    density = 0.15 + 3.0 * np.exp(-to_seat / reach) + 1.0 * np.exp(-to_town / 2.0)
    return _apportion(county.population, areas * density)


def _grid_rows(county: _County, rng: np.random.Generator, now: datetime) -> list[Row]:
    pieces = _grid_pieces(county)
    centres = shapely.get_coordinates(shapely.centroid(pieces))
    county.cell_bounds = shapely.bounds(pieces)
    county.cell_pop = _cell_population(county, centres, shapely.area(pieces))
    street = _nearest(centres, county.street_xy)
    county.cell_shapes, county.cell_street = pieces, street
    members, phones = _names(rng, len(pieces)), _phones(rng, len(pieces))
    return [
        {
            "code": f"{county.code}-{k + 1:04d}",
            "name": f"{county.name}{county.streets[street[k]]}第{k + 1:04d}网格",
            "division_code": county.code,
            "population": int(county.cell_pop[k]),
            "grid_member": members[k],
            "grid_member_phone": phones[k],
            "lon": round(float(centres[k, 0]), 5),
            "lat": round(float(centres[k, 1]), 5),
            "geometry": _geojson(piece),
            "archived": False,
            "updated_at": now,
        }
        for k, piece in enumerate(pieces)
    ]


def _street_rows(county: _County, now: datetime) -> list[Row]:
    """街道/乡镇 (9-digit codes, serial in the county's list order) as unions of their grid cells.

    The serials are the demo's own, not the official GB/T 10114 codes of Yantai's streets.
    """
    rows = []
    for s in sorted(set(county.cell_street.tolist())):
        mine = county.cell_street == s
        shape = shapely.union_all([c for c, m in zip(county.cell_shapes, mine, strict=True) if m])
        rows.append(
            _division_row(
                f"{county.code}{s + 1:03d}",
                county.streets[s],
                "",
                int(county.cell_pop[mine].sum()),
                shape,
                now,
            )
        )
    return rows


# ---------------------------------------------------------------- enterprises


@dataclass(frozen=True)
class _Kind:
    category: str
    count: int  # at scale 1
    industries: dict[str, float]
    scales: tuple[float, float, float, float]  # large, medium, small, micro
    place: str  # "people" (follows population), "spread" (anywhere), "mixed"
    department: str = ""


_KINDS: tuple[_Kind, ...] = (
    _Kind("hazchem", 200, {"26": 0.8, "25": 0.2}, (0.08, 0.27, 0.50, 0.15), "mixed", "应急管理局"),
    _Kind(
        "mining",
        90,
        {"09": 0.7, "10": 0.25, "06": 0.0},
        (0.10, 0.30, 0.45, 0.15),
        "spread",
        "应急管理局",
    ),
    _Kind("fireworks", 40, {"51": 0.6, "52": 0.4}, (0.0, 0.05, 0.35, 0.60), "people", "应急管理局"),
    _Kind(
        "metallurgy",
        1000,
        {
            "13": 0.16,
            "17": 0.05,
            "22": 0.04,
            "27": 0.05,
            "29": 0.07,
            "30": 0.09,
            "31": 0.05,
            "32": 0.05,
            "33": 0.12,
            "34": 0.12,
            "36": 0.07,
            "37": 0.03,
            "38": 0.06,
            "39": 0.04,
        },
        (0.03, 0.12, 0.45, 0.40),
        "mixed",
        "应急管理局",
    ),
    _Kind(
        "construction",
        330,
        {"47": 0.6, "48": 0.4},
        (0.05, 0.15, 0.45, 0.35),
        "people",
        "住房城乡建设局",
    ),
    _Kind(
        "transport",
        300,
        {"54": 0.65, "55": 0.12, "59": 0.23},
        (0.02, 0.08, 0.40, 0.50),
        "mixed",
        "交通运输局",
    ),
    _Kind("gas", 60, {"45": 1.0}, (0.05, 0.25, 0.50, 0.20), "people", "住房城乡建设局"),
    _Kind(
        "special_equipment",
        100,
        {"44": 0.4, "34": 0.6},
        (0.03, 0.12, 0.45, 0.40),
        "mixed",
        "市场监督管理局",
    ),
    _Kind(
        "crowded_place",
        420,
        {"52": 0.35, "61": 0.25, "62": 0.25, "89": 0.15},
        (0.01, 0.06, 0.33, 0.60),
        "people",
    ),
    _Kind(
        "other",
        460,
        {"51": 0.35, "52": 0.25, "62": 0.15, "78": 0.10, "83": 0.08, "84": 0.07},
        (0.005, 0.045, 0.30, 0.65),
        "people",
    ),
)

# Where the category does not say which bureau supervises, the industry does.
_DEPARTMENT_BY_INDUSTRY = {
    "51": "商务局",
    "52": "商务局",
    "61": "文化和旅游局",
    "89": "文化和旅游局",
    "62": "市场监督管理局",
    "78": "城市管理局",
    "83": "教育和体育局",
    "84": "卫生健康局",
}

_WORDS: dict[str, tuple[str, ...]] = {
    "06": ("煤矿", "煤业"),
    "09": ("黄金矿业", "金矿", "矿业"),
    "10": ("矿业", "滑石矿业", "石材矿业"),
    "13": ("食品", "水产食品", "粉丝", "果蔬食品", "海洋食品"),
    "17": ("纺织", "针织", "毛衫"),
    "22": ("纸业", "包装"),
    "25": ("石化", "石油化工", "燃料油"),
    "26": ("化工", "精细化工", "化学", "新材料科技", "化学品"),
    "27": ("药业", "制药", "生物医药"),
    "29": ("塑料制品", "橡塑", "轮胎"),
    "30": ("石材", "建材", "水泥制品", "玻璃"),
    "31": ("钢铁", "特钢", "钢管"),
    "32": ("铝业", "铜业", "有色金属"),
    "33": ("金属制品", "五金", "钢结构"),
    "34": ("机械", "重工", "液压", "电梯工程", "起重机械"),
    "36": ("汽车部件", "汽车零部件"),
    "37": ("船舶重工", "船舶", "游艇"),
    "38": ("电气", "电机", "电缆"),
    "39": ("电子", "光电", "精密电子"),
    "44": ("热电", "供热", "热力"),
    "45": ("燃气", "天然气", "液化气", "能源"),
    "47": ("建筑工程", "建设集团", "建筑安装工程"),
    "48": ("路桥工程", "市政工程", "水利工程"),
    "51": ("商贸", "贸易", "进出口"),
    "52": ("商贸", "购物广场", "超市", "百货"),
    "54": ("物流", "运输", "汽车运输", "客运", "危险货物运输"),
    "55": ("海运", "航运", "轮渡"),
    "59": ("仓储", "港口装卸", "冷链物流"),
    "61": ("酒店", "宾馆", "大酒店"),
    "62": ("餐饮管理", "饭店", "海鲜酒楼"),
    "78": ("园林绿化", "环卫"),
    "83": ("职业培训学校",),
    "84": ("医疗管理", "门诊部"),
    "89": ("文化娱乐", "歌舞娱乐", "游乐"),
}
_FIREWORK_WORDS = ("烟花爆竹", "烟花爆竹经营")
_SCALE_NAMES = ("large", "medium", "small", "micro")
_EMPLOYEES = ((1000, 6000), (300, 1000), (20, 300), (3, 20))


@dataclass
class _Batch:
    """Column arrays for a group of enterprises (numpy, so 100 000 rows stay fast)."""

    kind: np.ndarray
    county: np.ndarray
    industry: np.ndarray
    xy: np.ndarray
    park: np.ndarray

    @staticmethod
    def join(parts: list[_Batch]) -> _Batch:
        return _Batch(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("kind", "county", "industry", "xy", "park")
            )
        )

    def take(self, order: np.ndarray) -> _Batch:
        return _Batch(
            self.kind[order],
            self.county[order],
            self.industry[order],
            self.xy[order],
            self.park[order],
        )


def _industry_shares(kind: _Kind, county: _County, bias: dict[str, dict[str, float]]) -> dict:
    extra = bias.get(county.code, {})
    return {code: share + extra.get(code, 0.0) for code, share in kind.industries.items()}


def _county_batch(
    k: int,
    kind: _Kind,
    county_index: int,
    county: _County,
    n: int,
    bias: dict[str, dict[str, float]],
    rng: np.random.Generator,
) -> _Batch:
    return _Batch(
        kind=np.full(n, k),
        county=np.full(n, county_index),
        industry=_weighted_pick(rng, _industry_shares(kind, county, bias), n),
        xy=_place(county, n, kind.place, rng),
        park=np.full(n, -1),
    )


def _county_counts(
    weights: np.ndarray, n: int, rng: np.random.Generator, first: int | None = None
) -> np.ndarray:
    picks = rng.choice(len(weights), n, p=weights / weights.sum())
    if first is not None and n:
        picks[0] = first  # guarantee one in a given county (the demo enterprise officer's)
    return np.bincount(picks, minlength=len(weights))


def _park_batch(
    k: int,
    kind: _Kind,
    parks: list[dict],
    counties: list[_County],
    outline: Any,
    n: int,
    rng: np.random.Generator,
) -> _Batch:
    """Hazardous-chemical plants clustered in the chemical parks, wherever the border falls."""
    sizes = _apportion(n, np.array([p["share"] for p in parks]))
    xy = np.concatenate(
        [
            _points_near(outline, p["center"], p["sigma_km"], int(m), rng)
            for p, m in zip(parks, sizes, strict=True)
        ]
    )
    owner = np.full(len(xy), -1)
    for i, county in enumerate(counties):
        owner[(owner < 0) & shapely.contains_xy(county.shape, xy[:, 0], xy[:, 1])] = i
    # A point exactly on a border belongs to no county: give it to the nearest anchor's county.
    for j in np.flatnonzero(owner < 0):
        owner[j] = int(_nearest(xy[j : j + 1], np.array([c.anchor for c in counties]))[0])
        xy[j] = _points_near(counties[owner[j]].shape, xy[j], 1.0, 1, rng)[0]
    industry = _weighted_pick(rng, kind.industries, len(xy))
    return _Batch(
        kind=np.full(len(xy), k),
        county=owner,
        industry=industry,
        xy=xy,
        park=np.repeat(np.arange(len(parks)), sizes),
    )


def _kind_batches(
    k: int,
    kind: _Kind,
    n: int,
    counties: list[_County],
    outline: Any,
    data: dict[str, Any],
    rng: np.random.Generator,
) -> list[_Batch]:
    bias = data["industry_bias"]
    population = np.array([c.population for c in counties], dtype=float)
    parts: list[_Batch] = []
    if kind.category == "hazchem":
        parks = data["chemical_parks"]
        in_parks = round(n * sum(p["share"] for p in parks))
        parts.append(_park_batch(k, kind, parks, counties, outline, in_parks, rng))
        counts = _county_counts(population, n - in_parks, rng, first=0)
    elif kind.category == "mining":
        mw = data["mining_weights"]
        counts = _county_counts(np.array([float(mw.get(c.code, 0)) for c in counties]), n, rng)
    else:
        counts = _county_counts(population, n, rng)
    for i, (county, m) in enumerate(zip(counties, counts, strict=True)):
        if m:
            parts.append(_county_batch(k, kind, i, county, int(m), bias, rng))
    return parts


def _usccs(county_codes: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Valid, unique GB 32100 codes: 91 + county + unique GB 11714 organisation code + check."""
    n = len(county_codes)
    modern = rng.random(n) < 0.7  # post-2015 registrations carry "MA…" organisation codes
    body = np.zeros((n, 8), dtype=np.int64)
    alphabet = np.frombuffer(USCC_CHARS.encode(), dtype=np.uint8)
    # i → (a·i + b) mod M is a bijection (a coprime to M): distinct ordinals, distinct codes.
    old_i = np.flatnonzero(~modern)
    old = (rng.permutation(len(old_i)).astype(np.int64) * 73_939_133 + 12_345_679) % 10**8
    body[old_i] = (old[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    new_i = np.flatnonzero(modern)
    new = (rng.permutation(len(new_i)).astype(np.int64) * 1_234_567 + 7_654_321) % 31**5
    tail = (new[:, None] // 31 ** np.arange(4, -1, -1)) % 31
    body[new_i, :3] = [USCC_CHARS.index("M"), USCC_CHARS.index("A"), 3]
    body[new_i, 3:] = tail
    org = _gb11714_check(alphabet[body])
    head = np.array([[9, 1, *map(int, code)] for code in county_codes], dtype=np.int64)
    first17 = np.column_stack([head, body, org])
    check = (31 - (first17 * np.array(USCC_WEIGHTS)).sum(axis=1) % 31) % 31
    chars = alphabet[np.column_stack([first17, check])]
    return [bytes(row).decode() for row in chars]


def _gb11714_check(chars: np.ndarray) -> np.ndarray:
    """GB 11714 organisation-code check character as an index into USCC_CHARS (0-9 or X)."""
    values = np.where(chars >= ord("A"), chars - ord("A") + 10, chars - ord("0"))
    c9 = 11 - (values * np.array([3, 7, 9, 10, 5, 8, 4, 2])).sum(axis=1) % 11
    return np.where(c9 == 10, USCC_CHARS.index("X"), np.where(c9 == 11, 0, c9))


def _enterprise_name(
    kind: _Kind, industry: str, county: _County, pyrng: random.Random, large: bool, length: int = 2
) -> str:
    words = _FIREWORK_WORDS if kind.category == "fireworks" else _WORDS[industry]
    suffix = (
        pyrng.choice(("股份有限公司", "集团有限公司"))
        if large and pyrng.random() < 0.5
        else pyrng.choice(("有限公司", "有限公司", "有限公司", "有限责任公司"))
    )
    return f"{pyrng.choice(county.prefixes)}{_zihao(pyrng, length)}{pyrng.choice(words)}{suffix}"


def _address(county: _County, street: str, pyrng: random.Random, park: str = "") -> str:
    city = _data()["city"]["name"]
    if park:
        return f"{city}{county.name}{park}{pyrng.choice(county.roads)}{pyrng.randint(1, 300)}号"
    if street.endswith("镇") and pyrng.random() < 0.6:
        village = pyrng.choice(_SURNAMES) + "家" + pyrng.choice(_VILLAGE_ENDS)
        return f"{city}{county.name}{street}{village}村"
    return f"{city}{county.name}{street}{pyrng.choice(county.roads)}{pyrng.randint(1, 999)}号"


def _stamps(now: datetime, n: int, rng: np.random.Generator) -> tuple[list, list]:
    age = rng.integers(86_400, 15 * 365 * 86_400, n)
    since = (age * rng.random(n)).astype(np.int64)
    created = [now - timedelta(seconds=int(a)) for a in age]
    updated = [now - timedelta(seconds=int(s)) for s in since]
    return created, updated


def _sizes(kinds: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scale class per enterprise (by category) and a head count within that class's band."""
    scales = np.zeros(len(kinds), dtype=np.int64)
    for k, kind in enumerate(_KINDS):
        mask = kinds == k
        scales[mask] = rng.choice(4, int(mask.sum()), p=np.array(kind.scales) / sum(kind.scales))
    lo = np.array([e[0] for e in _EMPLOYEES])[scales]
    hi = np.array([e[1] for e in _EMPLOYEES])[scales]
    return scales, np.exp(rng.uniform(np.log(lo), np.log(hi))).astype(np.int64)


def _enterprise_rows(
    counties: list[_County],
    outline: Any,
    data: dict[str, Any],
    scale: float,
    rng: np.random.Generator,
    pyrng: random.Random,
    now: datetime,
) -> list[Row]:
    parts = [
        part
        for k, kind in enumerate(_KINDS)
        for part in _kind_batches(k, kind, round(kind.count * scale), counties, outline, data, rng)
    ]
    batch = _Batch.join(parts)
    batch = batch.take(rng.permutation(len(batch.kind)))  # ids should not follow category
    n = len(batch.kind)
    codes = np.array([c.code for c in counties])[batch.county]
    usccs = _usccs(codes, rng)
    scales, employees = _sizes(batch.kind, rng)
    officers, phones = _names(rng, n), _phones(rng, n)
    created, updated = _stamps(now, n, rng)
    streets = _streets_of(batch.xy, batch.county, counties)
    parks = [p["name"] for p in data["chemical_parks"]]
    industries = batch.industry.tolist()
    sections = {code: industry_section(code) for code in set(industries)}
    lons, lats = batch.xy[:, 0].tolist(), batch.xy[:, 1].tolist()
    seen: set[str] = set()
    rows = []
    for j in range(n):
        kind, county, industry = _KINDS[batch.kind[j]], counties[batch.county[j]], industries[j]
        large = scales[j] == 0

        def fresh(
            kind: _Kind = kind,
            industry: str = industry,
            county: _County = county,
            large: bool = large,
            length: int = 3,
        ) -> str:
            return _enterprise_name(kind, industry, county, pyrng, large, length)

        park = parks[batch.park[j]] if batch.park[j] >= 0 else ""
        rows.append(
            {
                "name": _unique(fresh(length=2), seen, fresh),
                "uscc": usccs[j],
                "industry_code": industry,
                "industry_section": sections[industry],
                "scale": _SCALE_NAMES[scales[j]],
                "supervision_category": kind.category,
                "is_hazchem": kind.category == "hazchem",
                "address": _address(county, streets[j], pyrng, park),
                "division_code": county.code,
                "lon": lons[j],
                "lat": lats[j],
                "responsible_department": county.name
                + (kind.department or _DEPARTMENT_BY_INDUSTRY.get(industry, "市场监督管理局")),
                "safety_officer": officers[j],
                "safety_officer_phone": phones[j],
                "employees": int(employees[j]),
                "archived": False,
                "created_at": created[j],
                "updated_at": updated[j],
            }
        )
    return rows


def _streets_of(xy: np.ndarray, county_index: np.ndarray, counties: list[_County]) -> list[str]:
    streets = [""] * len(xy)
    for i, county in enumerate(counties):
        idx = np.flatnonzero(county_index == i)
        if len(idx):
            for j, s in zip(idx, _nearest(xy[idx], county.street_xy), strict=True):
                streets[j] = county.streets[s]
    return streets


# ---------------------------------------------------------------- protected targets

# type → (share of generic targets, capacity range, occupancy ratio range, where)
_TARGET_PLAN: dict[str, tuple[float, tuple[int, int], tuple[float, float], str]] = {
    "residential": (0.33, (600, 12000), (0.60, 0.95), "people"),
    "school": (0.20, (300, 3200), (0.70, 1.00), "people"),
    "kindergarten": (0.15, (90, 540), (0.60, 1.00), "people"),
    "hospital": (0.06, (50, 1500), (0.50, 0.95), "people"),
    "nursing_home": (0.09, (30, 500), (0.50, 0.95), "people"),
    "station": (0.03, (200, 3000), (0.10, 0.60), "people"),
    "shopping_centre": (0.08, (500, 15000), (0.10, 0.50), "people"),
    "scenic_spot": (0.04, (1000, 20000), (0.02, 0.40), "spread"),
    "stadium": (0.02, (1000, 30000), (0.00, 0.20), "people"),
}
_RESIDENTIAL_ENDS = (
    "花园",
    "家园",
    "小区",
    "苑",
    "新城",
    "名苑",
    "华府",
    "雅居",
    "山庄",
    "公寓",
    "新村",
)
_TARGET_NAMES: dict[str, tuple[str, ...]] = {
    "residential": ("{zihao}{home}", "{zihao}{home}{phase}", "{stem}{home}", "{stem}{home}{phase}"),
    "school": (
        "{county}{stem}小学",
        "{county}{stem}中学",
        "{county}第{n}中学",
        "{county}第{m}小学",
        "{county}{stem}第{n}小学",
        "{county}{street}中心小学",
        "{county}实验中学",
        "{county}实验小学",
    ),
    "kindergarten": (
        "{county}{stem}幼儿园",
        "{county}{street}中心幼儿园",
        "{prefix}{zihao}幼儿园",
        "{county}机关幼儿园",
        "{county}实验幼儿园",
    ),
    "hospital": (
        "{county}人民医院",
        "{county}中医医院",
        "{county}妇幼保健院",
        "{county}{street}{clinic}",
        "{county}{street}{clinic}",
        "{prefix}{zihao}医院",
    ),
    "nursing_home": (
        "{county}{street}敬老院",
        "{prefix}{zihao}养老院",
        "{prefix}{zihao}老年公寓",
        "{county}社会福利中心",
    ),
    "station": ("{county}{stem}汽车站", "{county}{stem}公交枢纽站", "{county}汽车总站"),
    "shopping_centre": (
        "{prefix}{zihao}购物广场",
        "{prefix}{zihao}商厦",
        "{prefix}{zihao}超市",
        "{prefix}{zihao}购物中心",
    ),
    "scenic_spot": (
        "{county}{stem}公园",
        "{county}{stem}湿地公园",
        "{county}{stem}生态园",
        "{county}{stem}森林公园",
        "{county}{stem}采摘园",
        "{county}{stem}文化广场",
    ),
    "stadium": (
        "{county}体育中心",
        "{county}全民健身中心",
        "{county}{stem}体育馆",
        "{county}{stem}游泳馆",
    ),
}


_PHASES = ("一期", "二期", "三期", "东区", "西区", "南区", "北区")
_FIELDS = {
    t: tuple(f for _, f, _, _ in string.Formatter().parse(t) if f)
    for templates in _TARGET_NAMES.values()
    for t in templates
}


def _target_name(
    kind: str, county: _County, street: str, pyrng: random.Random, length: int = 2
) -> str:
    """A plausible name; length 3 (3-character 字号, numbers to 99) when breaking a tie."""
    template = pyrng.choice(_TARGET_NAMES[kind])
    top = 40 if length == 2 else 99
    # Draw only what the template uses: 30 000+ names at bench scale make this loop hot.
    makers: dict[str, Callable[[], str]] = {
        "county": lambda: county.name,
        "street": lambda: street,
        "prefix": lambda: pyrng.choice(county.prefixes),
        "stem": lambda: _stem(street if pyrng.random() < 0.5 else pyrng.choice(county.roads)),
        "zihao": lambda: _zihao(pyrng, length),
        "home": lambda: pyrng.choice(_RESIDENTIAL_ENDS),
        "phase": lambda: pyrng.choice(_PHASES),
        "n": lambda: _zh_number(pyrng.randint(1, top - 10)),
        "m": lambda: _zh_number(pyrng.randint(1, top)),
        "clinic": lambda: "卫生院" if street.endswith("镇") else "社区卫生服务中心",
    }
    return template.format(**{f: makers[f]() for f in _FIELDS[template]})


def _landmark_rows(
    data: dict[str, Any],
    counties: list[_County],
    rng: np.random.Generator,
    pyrng: random.Random,
    now: datetime,
    seen: set[str],
) -> list[Row]:
    by_code = {c.code: c for c in counties}
    marks = data["landmarks"]
    contacts, phones = _names(rng, len(marks)), _phones(rng, len(marks))
    rows = []
    for j, mark in enumerate(marks):
        county = by_code[mark["county"]]
        at = np.array([mark["at"]], dtype=float)
        inside = shapely.contains_xy(county.shape, at[:, 0], at[:, 1])[0]
        # Our borders are approximations: a landmark beyond its county's border moves just inside.
        xy = at if inside else _points_near(county.shape, mark["at"], 1.0, 1, rng)
        street = _streets_of(xy, np.zeros(1, dtype=int), [county])[0]
        seen.add(mark["name"])
        rows.append(
            _target_row(
                mark["name"],
                mark["type"],
                mark["capacity"],
                county,
                xy[0],
                street,
                (contacts[j], phones[j]),
                pyrng,
                now,
                note="演示数据：位置与容量为近似值",
            )
        )
    return rows


def _target_row(
    name: str,
    kind: str,
    capacity: int,
    county: _County,
    xy: np.ndarray,
    street: str,
    contact: tuple[str, str],
    pyrng: random.Random,
    now: datetime,
    note: str = "",
) -> Row:
    low, high = _TARGET_PLAN[kind][2]
    landline = kind in ("school", "hospital", "station", "stadium") and pyrng.random() < 0.6
    phone = f"0535-{pyrng.randint(2_000_000, 8_999_999)}" if landline else contact[1]
    return {
        "name": name,
        "target_type": kind,
        "capacity": int(capacity),
        "occupancy": int(capacity * pyrng.uniform(low, high)),
        "address": _address(county, street, pyrng),
        "division_code": county.code,
        "lon": round(float(xy[0]), 5),
        "lat": round(float(xy[1]), 5),
        "contact": contact[0],
        "contact_phone": phone,
        "note": note,
        "archived": False,
        "updated_at": now,
    }


def _target_rows(
    counties: list[_County],
    data: dict[str, Any],
    scale: float,
    rng: np.random.Generator,
    pyrng: random.Random,
    now: datetime,
) -> list[Row]:
    seen: set[str] = set()
    rows = _landmark_rows(data, counties, rng, pyrng, now, seen)
    total = max(0, round(1000 * scale) - len(rows))
    population = np.array([c.population for c in counties], dtype=float)
    sizes = _apportion(total, np.array([plan[0] for plan in _TARGET_PLAN.values()]))
    for (kind, (_share, (lo, hi), _occ, where)), size in zip(
        _TARGET_PLAN.items(), sizes, strict=True
    ):
        for county, m in zip(counties, _county_counts(population, int(size), rng), strict=True):
            xy = _place(county, int(m), where, rng)
            caps = _log_uniform(rng, lo, hi, int(m))
            streets = _streets_of(xy, np.zeros(len(xy), dtype=int), [county])
            contacts = zip(_names(rng, int(m)), _phones(rng, int(m)), strict=True)
            for j, contact in enumerate(contacts):

                def fresh(
                    kind: str = kind,
                    street: str = streets[j],
                    county: _County = county,
                    length: int = 3,
                ) -> str:
                    return _target_name(kind, county, street, pyrng, length)

                rows.append(
                    _target_row(
                        _unique(fresh(length=2), seen, fresh),
                        kind,
                        int(caps[j]),
                        county,
                        xy[j],
                        streets[j],
                        contact,
                        pyrng,
                        now,
                    )
                )
    return rows


# ---------------------------------------------------------------- users

_USERS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("admin", "系统管理员", "admin", CITY_CODE, None),
    ("commander", "李振华", "commander", CITY_CODE, None),
    ("duty", "王海燕", "duty_officer", CITY_CODE, None),
    ("analyst", "刘晓东", "risk_analyst", CITY_CODE, None),
    ("inspector", "孙志强", "inspector", CITY_CODE, None),
    ("liaison", "姜丽娜", "department_liaison", CITY_CODE, "C"),
    ("zhifu", "于洪涛", "district_officer", "370602", None),
    ("laishan", "曲文静", "district_officer", "370613", None),
    ("grid", "林春梅", "grid_member", "370602", None),
    ("enterprise", "隋建军", "enterprise_officer", "370602", None),
    ("public", "赵明", "public", CITY_CODE, None),
)


def _user_rows(enterprises: list[Row]) -> list[Row]:
    hazchem = [e for e in enterprises if e["is_hazchem"]] or enterprises
    officer_of = next((e for e in hazchem if e["division_code"] == "370602"), hazchem[0])
    rows = []
    for username, display, role, division, industry in _USERS:
        mine = role == "enterprise_officer"
        rows.append(
            {
                "username": username,
                "display_name": display,
                "role": role,
                "division_code": officer_of["division_code"] if mine else division,
                "industry": industry,
                "enterprise_uscc": officer_of["uscc"] if mine else None,
                "password": DEMO_PASSWORD,
            }
        )
    return rows


# ---------------------------------------------------------------- public API


def generate(seed: int = DEFAULT_SEED, now: datetime | None = None, scale: float = 1.0) -> DemoCity:
    """Build the demo city in memory: no database, no clock, same seed → identical output.

    `now` (required) stamps the rows; `scale` multiplies enterprise and protected-target counts.
    """
    if now is None:
        raise TypeError("generate() needs now= (it never reads the clock)")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    rng, pyrng = np.random.default_rng(seed), random.Random(seed)
    data = _data()
    outline, counties = _build_counties(data)
    for county in counties:
        county.street_xy = _street_centres(county, rng)
    divisions = _division_rows(data, outline, counties, now)
    grid = [row for county in counties for row in _grid_rows(county, rng, now)]
    divisions += [row for county in counties for row in _street_rows(county, now)]
    enterprises = _enterprise_rows(counties, outline, data, scale, rng, pyrng, now)
    targets = _target_rows(counties, data, scale, rng, pyrng, now)
    return DemoCity(
        divisions=divisions,
        grid_cells=grid,
        enterprises=enterprises,
        protected_targets=targets,
        users=_user_rows(enterprises),
    )


def load(
    session: Session, city: DemoCity, now: datetime, progress: Progress | None = None
) -> dict[str, int]:
    """Insert the demo city unless 370600 is already there; the caller commits."""
    if session.get(Division, CITY_CODE) is not None:
        return _counts(session)
    for label, model, rows in (
        ("divisions", Division, city.divisions),
        ("grid_cells", GridCell, city.grid_cells),
        ("enterprises", Enterprise, city.enterprises),
        ("protected_targets", ProtectedTarget, city.protected_targets),
    ):
        _insert_chunks(session, model, rows, label, progress)
        refresh_statistics(session, model.__tablename__)
    _insert_users(session, city.users, now, progress)
    counts = _counts(session)
    record(
        session,
        actor="system",
        action="demo.load",
        object_type="city",
        object_id=CITY_CODE,
        before=None,
        after=counts,
        now=now,
    )
    return counts


def _insert_chunks(
    session: Session, model: Any, rows: list[Row], label: str, progress: Progress | None
) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[start : start + CHUNK])
        if progress:
            progress(label, min(start + CHUNK, len(rows)), len(rows))


def _insert_users(
    session: Session, users: list[Row], now: datetime, progress: Progress | None
) -> None:
    taken = set(
        session.scalars(
            select(User.username).where(User.username.in_([u["username"] for u in users]))
        )
    )
    todo = [u for u in users if u["username"] not in taken]  # keep e.g. an admin made at install
    if todo:
        digest = hash_password(DEMO_PASSWORD)  # argon2 is slow on purpose: hash once, share it
        rows = [_user_row(session, u, digest, now) for u in todo]
        session.execute(insert(User), rows)
    if progress:
        progress("users", len(todo), len(users))


def _user_row(session: Session, user: Row, digest: str, now: datetime) -> Row:
    enterprise_id = None
    if user["enterprise_uscc"]:  # ids exist only once the enterprises are in
        enterprise_id = session.scalar(
            select(Enterprise.id).where(Enterprise.uscc == user["enterprise_uscc"])
        )
    return {
        "username": user["username"],
        "display_name": user["display_name"],
        "password_hash": digest,
        "role": user["role"],
        "division_code": user["division_code"],
        "enterprise_id": enterprise_id,
        "industry": user["industry"],
        "phone": None,
        "lang": "zh",
        "active": True,
        "failed_logins": 0,
        "locked_until": None,
        "created_at": now,
    }


def _counts(session: Session) -> dict[str, int]:
    models = {
        "divisions": Division,
        "grid_cells": GridCell,
        "enterprises": Enterprise,
        "protected_targets": ProtectedTarget,
        "users": User,
    }
    return {
        name: int(session.scalar(select(func.count()).select_from(m)) or 0)
        for name, m in models.items()
    }
