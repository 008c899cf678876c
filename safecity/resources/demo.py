"""Demo emergency resources for the demo city (烟台市 370600): a seeded road network clipped to
the city's land, fire-rescue stations and professional teams, warehouses of every tier with
stock, ~300 shelters, experts, equipment and a few transfer requests. Offline and idempotent."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.registry.models import Division, GridCell
from safecity.resources import network, service
from safecity.resources.cli import OPERATOR
from safecity.resources.models import (
    Equipment,
    Expert,
    Item,
    MinimumStock,
    RescueTeam,
    Shelter,
    StockMovement,
    TransferRequest,
    Warehouse,
)

CITY_CODE = "370600"
SEED = 16
Progress = Callable[[str, int, int], None]

# (GB/T 38565-2020 code, name, English, unit, shelf life days or None, stock per district store)
ITEMS: list[tuple[str, str, str, str, int | None, int]] = [
    ("1010101", "单帐篷", "Single tent", "顶", None, 300),
    ("1010201", "折叠床", "Folding bed", "张", None, 500),
    ("1020101", "棉被", "Quilt", "床", None, 1200),
    ("1020201", "棉大衣", "Padded coat", "件", None, 600),
    ("1030101", "瓶装饮用水", "Bottled water", "箱", 365, 2000),
    ("1030201", "方便食品", "Ready meals", "箱", 270, 1500),
    ("1040101", "应急照明灯", "Emergency lamp", "个", None, 400),
    ("2010101", "救生衣", "Life jacket", "件", None, 800),
    ("2010201", "冲锋舟", "Assault boat", "艘", None, 6),
    ("2020101", "正压式空气呼吸器", "SCBA", "套", None, 40),
    ("2030101", "移动发电机组", "Mobile generator", "台", None, 8),
    ("2040101", "医用急救包", "First-aid kit", "个", 730, 600),
    ("3010101", "编织袋", "Sandbags", "条", None, 20000),
    ("3020101", "防汛抢险钢管", "Steel pipes", "根", None, 500),
]
PRO_TEAMS = [
    ("hazchem", "危化品应急救援队", 3, 45),
    ("mine", "矿山救护队", 2, 40),
    ("water", "水上搜救队", 3, 30),
    ("power", "电力抢修队", 4, 35),
    ("medical", "紧急医学救援队", 4, 25),
    ("forest_fire", "森林消防专业队", 6, 30),
    ("aviation", "航空救援基地", 1, 20),
    ("engineering", "工程抢险队", 3, 50),
    ("social", "蓝天救援队", 5, 40),
]
EXPERT_NAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "建国伟强敏静磊军洋勇艳杰娟涛明超秀兰霞平刚"


def load(session: Session, now: datetime, progress: Progress | None = None) -> dict[str, Any]:
    """Insert the demo resources unless present; the caller commits."""
    if session.scalar(select(func.count()).select_from(RescueTeam)):
        if not session.scalar(select(func.count()).select_from(TransferRequest)):
            _transfers(session, now)  # a demo loaded before the transfers were part of it
        return _counts(session)
    city = session.get(Division, CITY_CODE)
    if city is None:
        return {}
    counties = list(
        session.scalars(
            select(Division).where(Division.parent_code == CITY_CODE).order_by(Division.code)
        )
    )
    rng = np.random.default_rng(SEED)
    _roads(session, counties, now, progress)
    cells = {
        c.code: list(
            session.scalars(
                select(GridCell)
                .where(GridCell.division_code.startswith(c.code), GridCell.lon.is_not(None))
                .order_by(GridCell.population.desc(), GridCell.id)
            )
        )
        for c in counties
    }
    graph = network.graph(session)
    on_road = {code: _on_road(graph, rows) for code, rows in cells.items()}
    teams = _teams(session, counties, on_road, rng, now)
    warehouses = _warehouses(session, city, counties, on_road, rng, now)
    _shelters(session, counties, on_road, rng, now)
    _experts(session, counties, on_road, rng, now)
    _equipment(session, teams, rng, now)
    session.flush()
    if progress:
        progress("resources stock", 0, len(warehouses))
    _stock(session, warehouses, rng, now)
    _transfers(session, now)
    counts = _counts(session)
    audit.record(
        session,
        actor="system",
        action="demo.load",
        object_type="resources",
        object_id=CITY_CODE,
        before=None,
        after=counts,
        now=now,
    )
    return counts


def _counts(session: Session) -> dict[str, Any]:
    return {
        name: session.scalar(select(func.count()).select_from(model))
        for name, model in (
            ("rescue_teams", RescueTeam),
            ("warehouses", Warehouse),
            ("shelters", Shelter),
            ("experts", Expert),
            ("equipment", Equipment),
            ("stock_movements", StockMovement),
            ("transfer_requests", TransferRequest),
        )
    }


def _roads(
    session: Session, counties: list[Division], now: datetime, progress: Progress | None
) -> None:
    """A synthetic grid over the city's bounding square, clipped to its land (the coastline)."""
    land = shapely.union_all([shape(c.geometry) for c in counties if c.geometry])
    land = land.simplify(0.002)
    minx, miny, maxx, maxy = land.bounds
    lat0 = (miny + maxy) / 2
    width_m = (maxx - minx) * 111_320 * math.cos(math.radians(lat0))
    height_m = (maxy - miny) * 110_570
    spacing = 600.0
    side = int(max(width_m, height_m) / spacing) + 2
    params = {
        "n_nodes": side * side,
        "seed": SEED,
        "spacing_m": spacing,
        "arterial_every": 8,
        "bridges": 7,
        "centre": [(minx + maxx) / 2, lat0],
        "clip": mapping(land),
    }
    if progress:
        progress("road network", 0, 1)
    network.import_synthetic(session, OPERATOR, params, now, "烟台市演示路网（合成）")


def _on_road(graph: Any, rows: list[GridCell]) -> list[GridCell]:
    """Grid cells whose centre lies within 300 m of a road (places for resources)."""
    if not rows:
        return []
    _, dist = graph.snap_many([r.lon for r in rows], [r.lat for r in rows])
    return [r for r, d in zip(rows, dist, strict=True) if d <= 300]


def _spread(rows: list[GridCell], k: int, min_km: float) -> list[GridCell]:
    """Up to k cells, most populous first, at least ``min_km`` apart."""
    chosen: list[GridCell] = []
    for r in rows:
        if len(chosen) >= k:
            break
        if all(_km(r, c) >= min_km for c in chosen):
            chosen.append(r)
    return chosen


def _km(a: Any, b: Any) -> float:
    kx = 111.32 * math.cos(math.radians(a.lat))
    return math.hypot((a.lon - b.lon) * kx, (a.lat - b.lat) * 110.57)


def _jitter(rng: np.random.Generator, cell: GridCell) -> tuple[float, float]:
    return (
        round(float(cell.lon + rng.uniform(-0.002, 0.002)), 6),
        round(float(cell.lat + rng.uniform(-0.002, 0.002)), 6),
    )


def _phone(rng: np.random.Generator) -> str:
    return f"0535-{int(rng.integers(2000000, 8999999))}"


def _teams(
    session: Session,
    counties: list[Division],
    cells: dict[str, list[GridCell]],
    rng: np.random.Generator,
    now: datetime,
) -> list[RescueTeam]:
    total_pop = sum(c.population for c in counties) or 1
    out: list[RescueTeam] = []
    for c in counties:
        stations = max(2, round(40 * c.population / total_pop))
        for i, cell in enumerate(_spread(cells[c.code], stations, 3.0)):
            lon, lat = _jitter(rng, cell)
            out.append(
                RescueTeam(
                    name=f"{c.name}{_ordinal(i)}消防救援站",
                    team_type="fire_rescue",
                    members=int(rng.integers(18, 45)),
                    readiness="ready" if rng.random() > 0.08 else "deployed",
                    equipment="水罐消防车、抢险救援车、登高平台车",
                    division_code=cell.division_code,
                    lon=lon,
                    lat=lat,
                    department=f"{c.name}消防救援大队",
                    phone=_phone(rng),
                    updated_at=now,
                )
            )
    pool = [cell for rows in cells.values() for cell in rows[:200]]
    for team_type, label, count, members in PRO_TEAMS:
        for i in range(count):
            cell = pool[int(rng.integers(0, len(pool)))]
            county = next((c for c in counties if cell.division_code.startswith(c.code)), None)
            lon, lat = _jitter(rng, cell)
            out.append(
                RescueTeam(
                    name=f"{county.name if county else '烟台市'}{label}"
                    + (f"{_ordinal(i)}" if count > 1 else ""),
                    team_type=team_type,
                    members=int(members + rng.integers(-5, 15)),
                    readiness="ready",
                    division_code=cell.division_code,
                    lon=lon,
                    lat=lat,
                    department="烟台市应急管理局",
                    phone=_phone(rng),
                    updated_at=now,
                )
            )
    session.add_all(out)
    session.flush()
    return out


def _ordinal(i: int) -> str:
    digits = "一二三四五六七八九十"
    return digits[i] if i < 10 else f"第{i + 1}"


def _warehouses(
    session: Session,
    city: Division,
    counties: list[Division],
    cells: dict[str, list[GridCell]],
    rng: np.random.Generator,
    now: datetime,
) -> list[Warehouse]:
    out: list[Warehouse] = []
    main = cells[counties[0].code][0] if cells[counties[0].code] else None
    if main is not None:
        lon, lat = _jitter(rng, main)
        out.append(
            Warehouse(
                name="烟台市应急物资储备库",
                tier="city",
                floor_area_m2=6200.0,
                division_code=main.division_code,
                lon=lon,
                lat=lat,
                department="烟台市应急管理局",
                phone=_phone(rng),
                updated_at=now,
            )
        )
    for n, c in enumerate(counties):
        rows = cells[c.code]
        if not rows:
            continue
        picks = _spread(rows, 5, 6.0)
        for i, cell in enumerate(picks):
            tier = "district" if i == 0 else ("town" if i < 4 else "village")
            area = {
                "district": 2400.0 if n % 4 else 1600.0,  # every fourth district short of 2,000
                "town": float(rng.integers(180, 420)),
                "village": float(rng.integers(40, 90)),
            }[tier]
            lon, lat = _jitter(rng, cell)
            suffix = {
                "district": "应急物资储备库",
                "town": "乡镇应急物资储备点",
                "village": "村级储备室",
            }
            out.append(
                Warehouse(
                    name=f"{c.name}{'' if tier == 'district' else _ordinal(i - 1)}{suffix[tier]}",
                    tier=tier,
                    floor_area_m2=area,
                    division_code=cell.division_code,
                    lon=lon,
                    lat=lat,
                    department=f"{c.name}应急管理局",
                    phone=_phone(rng),
                    updated_at=now,
                )
            )
    session.add_all(out)
    session.flush()
    return out


def _shelters(
    session: Session,
    counties: list[Division],
    cells: dict[str, list[GridCell]],
    rng: np.random.Generator,
    now: datetime,
) -> None:
    total_pop = sum(c.population for c in counties) or 1
    classes = ["emergency"] * 6 + ["fixed_short"] * 3 + ["fixed_medium", "fixed_long"]
    kinds = ["公园", "广场", "学校操场", "体育场", "绿地"]
    out = []
    per_person = service.area_per_person_m2()
    for c in counties:
        k = max(8, round(300 * c.population / total_pop))
        for i, cell in enumerate(_spread(cells[c.code], k, 0.8)):
            cls = classes[int(rng.integers(0, len(classes)))] if i else "central"
            area = float(
                {
                    "emergency": rng.integers(2000, 12000),
                    "fixed_short": rng.integers(10000, 40000),
                    "fixed_medium": rng.integers(30000, 80000),
                    "fixed_long": rng.integers(50000, 120000),
                    "central": rng.integers(150000, 300000),
                }[cls]
            )
            lon, lat = _jitter(rng, cell)
            out.append(
                Shelter(
                    name=f"{cell.name.split('第')[0]}{kinds[i % len(kinds)]}应急避难场所{i + 1}号",
                    shelter_class=cls,
                    effective_area_m2=area,
                    capacity=int(area // per_person),
                    facilities="应急供水、应急厕所、应急照明、医疗救护点",
                    status="open" if rng.random() > 0.05 else "closed",
                    division_code=cell.division_code,
                    lon=lon,
                    lat=lat,
                    department=f"{c.name}应急管理局",
                    phone=_phone(rng),
                    updated_at=now,
                )
            )
    session.add_all(out)


def _experts(
    session: Session,
    counties: list[Division],
    cells: dict[str, list[GridCell]],
    rng: np.random.Generator,
    now: datetime,
) -> None:
    fields = ["hazchem", "mine", "fire", "geology", "flood", "earthquake", "medical", "structure"]
    orgs = [
        "烟台大学",
        "鲁东大学",
        "烟台市化工设计院",
        "山东黄金集团",
        "烟台毓璜顶医院",
        "烟台市地震监测中心",
    ]
    titles = ["教授", "高级工程师", "研究员", "主任医师", "正高级工程师"]
    out = []
    for i in range(60):
        c = counties[i % len(counties)]
        rows = cells[c.code] or [r for v in cells.values() for r in v]
        cell = rows[int(rng.integers(0, min(len(rows), 30)))]
        lon, lat = _jitter(rng, cell)
        out.append(
            Expert(
                name=EXPERT_NAMES[int(rng.integers(0, len(EXPERT_NAMES)))]
                + GIVEN[int(rng.integers(0, len(GIVEN)))],
                field=fields[i % len(fields)],
                organisation=orgs[int(rng.integers(0, len(orgs)))],
                title=titles[int(rng.integers(0, len(titles)))],
                division_code=cell.division_code,
                lon=lon,
                lat=lat,
                phone=f"13{int(rng.integers(100000000, 999999999))}",
                updated_at=now,
            )
        )
    session.add_all(out)


def _equipment(
    session: Session, teams: list[RescueTeam], rng: np.random.Generator, now: datetime
) -> None:
    by_type = {
        "fire_rescue": [("vehicle", "水罐消防车"), ("vehicle", "抢险救援车")],
        "water": [("boat", "冲锋舟")],
        "power": [("generator", "应急发电车")],
        "engineering": [("excavator", "挖掘机"), ("pump", "大功率排涝车")],
        "aviation": [("helicopter", "救援直升机")],
        "forest_fire": [("drone", "森林巡护无人机")],
        "social": [("comms", "卫星通信终端")],
    }
    out = []
    for t in teams:
        for kind, name in by_type.get(t.team_type, [("other", "救援装备")]):
            out.append(
                Equipment(
                    name=f"{t.name}{name}",
                    equipment_type=kind,
                    quantity=int(rng.integers(1, 4)),
                    team_id=t.id,
                    tracker_id=_tracker_id(t, kind, len(out)),
                    status="available",
                    division_code=t.division_code,
                    lon=t.lon,
                    lat=t.lat,
                    updated_at=now,
                )
            )
    session.add_all(out)
    _register_trackers(session, out, now)


def _tracker_id(team: RescueTeam, kind: str, n: int) -> str:
    # Vehicles carry the demo's live trackers (registered on the monitoring network below);
    # other equipment keeps an id with no position feed, as a terminal not yet connected would.
    if kind == "vehicle":
        return f"DEMO-TRAC-{team.id:04d}-{n:04d}"
    return f"BD-{team.id:04d}-{n:04d}" if kind != "other" else ""


def _register_trackers(session: Session, equipment: list[Equipment], now: datetime) -> None:
    """The vehicles' trackers as monitoring devices, so a dispatched fire team shows on the
    command map; skipped when the monitoring capability is not installed."""
    try:
        from safecity.monitoring.demo import add_trackers  # noqa: PLC0415 optional capability (ImportError when it is not installed)
    except ImportError:
        return
    add_trackers(
        session,
        [
            {
                "device_id": e.tracker_id,
                "name": e.name,
                "division_code": e.division_code,
                "lon": e.lon,
                "lat": e.lat,
            }
            for e in equipment
            if e.tracker_id.startswith("DEMO-TRAC-")
        ],
        now,
    )


def _stock(
    session: Session, warehouses: list[Warehouse], rng: np.random.Generator, now: datetime
) -> None:
    items = []
    for code, name, en, unit, life, _ in ITEMS:
        item = Item(code=code, name=name, name_en=en, unit=unit, shelf_life_days=life)
        session.add(item)
        items.append(item)
    session.flush()
    factor = {"city": 3.0, "district": 1.0, "town": 0.15, "village": 0.03}
    today = now.date()
    rows = []
    minimums = []
    for wh in warehouses:
        for item, (_, _, _, _, life, base) in zip(items, ITEMS, strict=True):
            if wh.tier == "village" and item.code[0] != "1":
                continue
            target = max(1, int(base * factor[wh.tier]))
            minimums.append(
                MinimumStock(warehouse_id=wh.id, item_id=item.id, minimum=int(target * 0.6))
            )
            level = float(rng.choice([1.1, 1.0, 0.9, 0.5], p=[0.4, 0.3, 0.2, 0.1]))
            qty = max(1, int(target * level))
            first = qty // 2 if life else qty
            for b, part in enumerate((first, qty - first) if life else (qty,)):
                if part <= 0:
                    continue
                expiry = None
                if life:
                    # an older batch that expires soon, and a fresh one
                    days = int(rng.integers(20, 120)) if b == 0 else life - int(rng.integers(0, 60))
                    expiry = today + timedelta(days=days)
                rows.append(
                    StockMovement(
                        warehouse_id=wh.id,
                        item_id=item.id,
                        batch=f"{today.year}-{item.code}-{b + 1}",
                        expiry=expiry,
                        kind="receive",
                        quantity=part,
                        division_code=wh.division_code,
                        note="演示期初入库",
                        actor="system",
                        at=now - timedelta(days=int(rng.integers(30, 300))),
                    )
                )
    session.add_all(rows + minimums)
    session.flush()


# (item code, from, to, quantity, the steps taken, days ago it began, reason, incident)
# "city" is the city store; a county code is that county's district store.
TRANSFERS: list[tuple[str, str, str, int, tuple[str, ...], int, str, str]] = [
    (
        "1020101",
        "city",
        "370612",
        200,
        ("approve", "commit", "dispatch", "receive"),
        24,
        "寒潮转移安置群众御寒",
        "演示-寒潮-01",
    ),
    (
        "1010201",
        "city",
        "370687",
        120,
        ("approve", "commit", "dispatch", "receive", "return"),
        40,
        "防汛综合演练借用，演练结束归还",
        "",
    ),
    (
        "3010101",
        "370681",
        "370614",
        1500,
        ("approve", "commit", "dispatch"),
        2,
        "沿河堤防加固，暴雨橙色预警",
        "演示-暴雨-03",
    ),
    ("2010201", "city", "370687", 2, ("approve", "commit"), 1, "海阳沿海风暴潮防御前置", ""),
    ("1010101", "370613", "370602", 30, ("approve",), 1, "芝罘区老旧小区排危临时安置", ""),
    ("1030201", "city", "370686", 150, (), 0, "栖霞山区道路中断，受困群众生活保障", ""),
    ("1040101", "370611", "370613", 60, ("reject",), 6, "库存可满足，驳回", ""),
    ("2010101", "city", "370683", 80, ("cancel",), 9, "申请重复，撤销", ""),
]


def _transfers(session: Session, now: datetime) -> None:
    """Transfer requests between departments in every state, made through the service so the
    stock log shows each dispatch, receipt and return."""
    whs = list(
        session.scalars(
            select(Warehouse).where(Warehouse.archived.is_(False)).order_by(Warehouse.id)
        )
    )
    city = next((w for w in whs if w.tier == "city"), None)
    district = {w.division_code[:6]: w for w in whs if w.tier == "district"}
    items = {i.code: i for i in session.scalars(select(Item))}
    if city is None or not district or not items:
        return
    names = dict(session.execute(select(Division.code, Division.name)).all())
    for code, src_key, dst_key, qty, steps, days, reason, incident in TRANSFERS:
        src = city if src_key == "city" else district.get(src_key)
        dst = district.get(dst_key)
        item = items.get(code)
        if src is None or dst is None or item is None or src.id == dst.id:
            continue
        start = now - timedelta(days=days, hours=6)
        free = service.available_quantity(session, src.id, item.id, start.date())
        qty = min(qty, free // 2)  # a demo store never lends out more than half of what it has
        if qty <= 0:
            continue
        req = service.create_request(
            session,
            OPERATOR,
            {
                "item_id": item.id,
                "quantity": qty,
                "source_warehouse_id": src.id,
                "destination_warehouse_id": dst.id,
                "requesting_department": f"{names.get(dst_key, dst_key)}应急管理局",
                "reason": reason,
                "incident_ref": incident,
            },
            start,
        )
        for n, action in enumerate(steps, start=1):
            at = start + timedelta(hours=2 * n) if action != "return" else now - timedelta(days=3)
            service.act_on_request(session, OPERATOR, req.id, action, at, note="演示")
    session.flush()
