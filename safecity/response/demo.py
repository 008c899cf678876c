"""Demo data of emergency command: city and district plans, a duty roster, four months of
incidents across types and grades (most closed), and one incident in progress."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.errors import Conflict
from safecity.core.models import User
from safecity.core.scope import SYSTEM, Principal
from safecity.registry.models import Enterprise, GridCell
from safecity.response import clocks, command, duty, plan_io, service
from safecity.response.models import Incident, Plan
from safecity.response.schemas import (
    DispatchIn,
    FollowupIn,
    IncidentIn,
    PlanGroup,
    PlanIn,
    PlanTask,
    ShiftIn,
)

CITY = "370600"
ALL = ["natural_disaster", "accident_disaster", "public_health", "social_security"]


def _groups(members: dict[str, list[str]]) -> list[PlanGroup]:
    names = {
        "coord": ("综合协调组", "市应急管理局", "值班室 0535-6000110"),
        "rescue": ("抢险救援组", "市消防救援支队", "指挥中心 119"),
        "monitor": ("监测预警组", "市应急管理局", "监测中心 0535-6000120"),
        "medical": ("医疗救护组", "市卫生健康委", "120 调度"),
        "security": ("治安交通组", "市公安局", "110 指挥中心"),
    }
    return [
        PlanGroup(key=k, name=names[k][0], department=names[k][1], contact=names[k][2], members=m)
        for k, m in members.items()
    ]


def _tasks(prefix: str) -> list[PlanTask]:
    return [
        PlanTask(
            group="coord",
            levels=["I", "II", "III", "IV"],
            title="成立现场指挥部，统一调度",
            due_minutes=30,
        ),
        PlanTask(
            group="rescue",
            levels=["I", "II", "III"],
            title=f"{prefix}：组织抢险救援、搜救被困人员",
            due_minutes=30,
        ),
        PlanTask(
            group="monitor",
            levels=["I", "II", "III", "IV"],
            title="加密监测，研判次生风险",
            due_minutes=60,
        ),
        PlanTask(
            group="medical", levels=["I", "II", "III"], title="伤员救治和转运", due_minutes=60
        ),
        PlanTask(
            group="security",
            levels=["I", "II"],
            title="现场警戒、交通管制和人员疏散",
            due_minutes=45,
        ),
    ]


def _triggers(kind: str) -> dict[str, Any]:
    people = {"field": "deaths", "op": "gte"}
    return {
        "levels": [
            {
                "level": "I",
                "when": {
                    "any": [
                        {**people, "value": 30},
                        {"field": "grade", "op": "eq", "value": "extraordinary"},
                    ]
                },
            },
            {
                "level": "II",
                "when": {
                    "any": [
                        {**people, "value": 10},
                        {"field": "grade", "op": "eq", "value": "serious"},
                    ]
                },
            },
            {
                "level": "III",
                "when": {
                    "any": [
                        {**people, "value": 3},
                        {"field": "grade", "op": "eq", "value": "relatively_serious"},
                        {"field": "alarm_level", "op": "gte", "value": "red"},
                    ]
                },
            },
            {"level": "IV", "when": {"all": [{"field": "type", "op": "within", "value": kind}]}},
        ]
    }


PLANS = [
    ("烟台市突发事件总体应急预案", "comprehensive", ALL, "accident_disaster"),
    (
        "烟台市危险化学品事故应急预案",
        "special",
        ["accident_disaster.production_safety"],
        "accident_disaster",
    ),
    (
        "烟台市城市燃气和公共设施事故应急预案",
        "special",
        ["accident_disaster.public_facility"],
        "accident_disaster",
    ),
    (
        "烟台市防汛应急预案",
        "special",
        ["natural_disaster.flood_drought", "natural_disaster.meteorological"],
        "natural_disaster",
    ),
    ("烟台市火灾事故应急预案", "special", ["accident_disaster.fire"], "accident_disaster"),
    ("烟台市道路交通事故应急预案", "special", ["accident_disaster.transport"], "accident_disaster"),
]

# (title, type, production safety, counts, final grade path)
SCENARIOS: list[tuple[str, str, bool, dict[str, int], int]] = [
    (
        "化工企业反应釜爆炸",
        "accident_disaster.production_safety",
        True,
        {"deaths": 3, "serious_injuries": 6},
        0,
    ),
    ("危化品仓库泄漏", "accident_disaster.production_safety", True, {"serious_injuries": 2}, 0),
    ("建筑工地高处坠落", "accident_disaster.production_safety", True, {"deaths": 1}, 0),
    (
        "有限空间作业中毒",
        "accident_disaster.production_safety",
        True,
        {"deaths": 2, "serious_injuries": 3},
        0,
    ),
    (
        "燃气管道泄漏",
        "accident_disaster.public_facility",
        False,
        {"affected_population": 800, "relocated": 300},
        0,
    ),
    ("供水主管爆裂", "accident_disaster.public_facility", False, {"affected_population": 5000}, 0),
    ("居民楼火灾", "accident_disaster.fire", True, {"deaths": 1, "serious_injuries": 2}, 0),
    ("商场电气火灾", "accident_disaster.fire", True, {"serious_injuries": 1}, 0),
    (
        "多车追尾事故",
        "accident_disaster.transport.road_traffic",
        True,
        {"deaths": 2, "serious_injuries": 4},
        0,
    ),
    (
        "危化品运输车侧翻",
        "accident_disaster.transport.road_traffic",
        True,
        {"serious_injuries": 1},
        0,
    ),
    (
        "城区内涝",
        "natural_disaster.flood_drought.flood",
        False,
        {"relocated": 1200, "affected_population": 20000},
        0,
    ),
    (
        "台风过境",
        "natural_disaster.meteorological.typhoon",
        False,
        {"relocated": 15000, "missing": 1},
        0,
    ),
    (
        "山体滑坡",
        "natural_disaster.geological.landslide",
        False,
        {"deaths": 1, "relocated": 200},
        0,
    ),
    ("森林火情", "natural_disaster.forest_grassland_fire", False, {"relocated": 80}, 0),
    ("食物中毒", "public_health.food_occupational", False, {"quantities_cases": 18}, 0),
    ("景区人员拥挤", "social_security", False, {"quantities_participants": 300}, 0),
]


def _user(session: Session, username: str) -> Principal | None:
    u = session.scalar(select(User).where(User.username == username))
    if u is None:
        return None
    return Principal(
        u.id, u.username, u.role, u.division_code, u.enterprise_id, u.industry, u.display_name
    )


def load(
    session: Session, now: datetime, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, Any]:
    """Load the demo once; a second call does nothing (idempotent)."""
    if session.scalar(select(Plan.id).limit(1)) is not None:
        return {}
    rng = random.Random(15)
    who = _user(session, "commander") or SYSTEM
    duty_who = _user(session, "duty") or who
    known = set(session.scalars(select(User.username)))

    def members(*names: str) -> list[str]:
        return [n for n in names if n in known]

    groups = _groups(
        {
            "coord": members("duty", "commander"),
            "rescue": members("inspector", "zhifu"),
            "monitor": members("duty", "analyst"),
            "medical": members("analyst", "laishan"),
            "security": members("commander", "zhifu"),
        }
    )
    start = now - timedelta(days=130)
    plans = []
    for name, tier, types, kind in PLANS:
        plan = command.create_plan(
            session,
            who,
            PlanIn(
                name=name,
                tier=tier,
                owner_name="烟台市人民政府" if tier == "comprehensive" else "烟台市应急管理局",
                division_code=CITY,
                types=types,
                triggers=_triggers(kind),
                groups=groups,
                tasks=_tasks(name.removeprefix("烟台市").removesuffix("应急预案")),
                effective_at=start - timedelta(days=400),
                last_drill_at=start - timedelta(days=rng.choice([100, 200, 300, 420])),
            ),
            start,
        )
        command.plan_step(session, who, plan.id, "approve", start)
        command.plan_step(session, who, plan.id, "file", start)
        plans.append(plan)
    onsite = command.create_plan(
        session,
        who,
        PlanIn(
            name="芝罘区燃气泄漏现场处置方案",
            tier="onsite",
            owner_name="芝罘区应急管理局",
            division_code="370602",
            types=["accident_disaster.public_facility"],
            triggers=_triggers("accident_disaster"),
            groups=groups,
            tasks=_tasks("燃气泄漏"),
            effective_at=start - timedelta(days=200),
            last_drill_at=start - timedelta(days=150),
        ),
        start,
    )
    command.plan_step(session, who, onsite.id, "approve", start)

    places = _places(session, rng)
    if not places:
        return {"plans": len(plans) + 1}
    made = 0
    total = 70
    for k in range(total):
        title, type_key, ps, counts, _ = SCENARIOS[k % len(SCENARIOS)]
        at = start + timedelta(minutes=rng.randrange(0, 125 * 24 * 60))
        inc = _incident(session, duty_who, rng, places, title, type_key, ps, counts, at)
        _run(session, who, duty_who, inc, at, rng, closed=True)
        made += 1
        if progress and k % 10 == 0:
            progress("response incidents", k, total)
    # the one in progress: a gas leak near a school, response running, tasks partly received
    live_at = now - timedelta(minutes=50)
    live = _incident(
        session,
        duty_who,
        rng,
        places,
        "芝罘区燃气管道泄漏（进行中）",
        "accident_disaster.public_facility",
        False,
        {"affected_population": 3000, "relocated": 450, "trapped": 2},
        live_at,
        division="370602",
    )
    live.description = "接群众报警，燃气管道破裂泄漏，周边居民楼和学校已开始疏散。"
    service.confirm_grade(session, who, live.id, "", live_at + timedelta(minutes=8))
    plan = next(p for p in command.proposals(session, live) if p["level"])
    command.start_response(
        session, who, live.id, plan["plan_id"], plan["level"], "", live_at + timedelta(minutes=12)
    )
    for t in command.tasks_of(session, live)[:2]:
        signer = _signer(session, t.members, live)
        if signer:
            command.receive_task(session, signer, t.id, live_at + timedelta(minutes=18))
    d = command.request_dispatch(
        session,
        who,
        live.id,
        _nearest_fire_team(session, who, live),
        live_at + timedelta(minutes=14),
    )
    command.advance_dispatch(session, who, d.id, "dispatched", live_at + timedelta(minutes=15))
    command.advance_dispatch(session, who, d.id, "en_route", live_at + timedelta(minutes=16))
    _drive_to_scene(session, who, d, live)
    # one just received, waiting for the commander
    _incident(
        session,
        duty_who,
        rng,
        places,
        "莱山区化工企业火情",
        "accident_disaster.production_safety",
        True,
        {"serious_injuries": 1},
        now - timedelta(minutes=20),
        division="370613",
    )
    # a revision of the comprehensive plan being drafted (v2): the approved v1 stays in force
    first = plans[0]
    revised = [
        t.model_copy(update={"due_minutes": 20}) if t.group == "coord" else t
        for t in _tasks(first.name.removeprefix("烟台市").removesuffix("应急预案"))
    ]
    command.update_plan(
        session,
        who,
        first.id,
        PlanIn(**{**plan_io.payload(command.plan_dict(first)), "tasks": revised}),
        now - timedelta(days=3),
    )
    session.flush()
    _roster(session, who, now)
    return {
        "plans": len(plans) + 1,
        "incidents": made + 2,
    }


def _signer(session: Session, names: list[str], inc: Incident) -> Principal | None:
    """The first member of the group who can see the incident."""
    for name in names:
        p = _user(session, name)
        if p is not None and service.visible(p, inc):
            return p
    return None


def _places(session: Session, rng: random.Random) -> list[tuple[str, float, float, int | None]]:
    out: list[tuple[str, float, float, int | None]] = []
    for e in session.scalars(
        select(Enterprise)
        .where(Enterprise.lon.is_not(None), Enterprise.archived.is_(False))
        .limit(400)
    ):
        out.append((e.division_code, e.lon, e.lat, e.id))
    for c in session.scalars(select(GridCell).where(GridCell.lon.is_not(None)).limit(400)):
        out.append((c.division_code, c.lon, c.lat, None))
    rng.shuffle(out)
    return out


def _incident(
    session: Session,
    who: Principal,
    rng: random.Random,
    places: list[tuple[str, float, float, int | None]],
    title: str,
    type_key: str,
    ps: bool,
    counts: dict[str, int],
    at: datetime,
    division: str | None = None,
) -> Incident:
    pool = [p for p in places if division is None or p[0].startswith(division)] or places
    code, lon, lat, ent = rng.choice(pool)
    q = {k.removeprefix("quantities_"): v for k, v in counts.items() if k.startswith("quantities_")}
    plain = {k: v for k, v in counts.items() if not k.startswith("quantities_")}
    loss = Decimal(rng.choice([0, 50_000, 300_000, 2_000_000, 12_000_000]))
    data = IncidentIn(
        title=title,
        description=f"{title}，现场情况正在核实。",
        type_key=type_key,
        production_safety=ps,
        source=rng.choice(["phone", "phone", "phone", "alarm", "report", "agency"]),
        occurred_at=at - timedelta(minutes=rng.randrange(5, 50)),
        reporter_name=rng.choice(["张先生", "李女士", "网格员林春梅", "企业安全员", "110 转警"]),
        reporter_phone=f"13{rng.randrange(100000000, 999999999)}",
        division_code=code,
        lon=lon + rng.uniform(-0.002, 0.002),
        lat=lat + rng.uniform(-0.002, 0.002),
        enterprise_id=ent if ps and ent else None,
        direct_loss_yuan=loss if ps else Decimal(0),
        quantities=q or None,
        **plain,
    )
    inc, _ = service.receive(session, who, data, at)
    return inc


def _run(
    session: Session,
    who: Principal,
    duty_who: Principal,
    inc: Incident,
    at: datetime,
    rng: random.Random,
    closed: bool,
) -> None:
    t = at + timedelta(minutes=rng.randrange(5, 30))
    if inc.production_safety:  # up the chain as far as art. 10 asks, each step in time
        chain = ["city", "province", "national"]
        top = chain.index(clocks.top_level(inc.grade or "ordinary"))
        for step, level in enumerate(chain[: top + 1]):
            at_level = t + timedelta(minutes=40 * step)
            service.report_up(session, duty_who, inc.id, "first", level, at_level, "", at_level)
    service.confirm_grade(session, who, inc.id, "", t)
    proposals = [p for p in command.proposals(session, inc) if p["level"]]
    if proposals and rng.random() < 0.6:
        p = proposals[0]
        command.start_response(session, who, inc.id, p["plan_id"], p["level"], "", t)
        for task in command.tasks_of(session, inc):
            signer = _signer(session, task.members, inc)
            if signer:
                command.receive_task(session, signer, task.id, t + timedelta(minutes=10))
                command.report_task(
                    session, signer, task.id, "已完成", True, t + timedelta(hours=3)
                )
        if rng.random() < 0.3:  # casualties rose during the response
            counts = service.counts_of(inc)
            counts["deaths"] += 1
            counts.pop("quantities", None)
            service.followup(
                session, duty_who, inc.id, FollowupIn(**counts), t + timedelta(hours=2)
            )
            if inc.production_safety:
                chain = ["city", "province", "national"]
                top = chain.index(clocks.top_level(inc.grade or "ordinary"))
                at = t + timedelta(hours=2)  # with the 续报 that changed the grade
                for level in chain[: top + 1]:
                    service.report_up(session, duty_who, inc.id, "followup", level, at, "", at)
        command.end_response(
            session, who, inc.id, "险情已排除，现场处置完毕", t + timedelta(hours=6)
        )
    if closed:
        service.close(
            session,
            who,
            inc.id,
            "处置完毕，现场恢复正常。",
            "响应及时，信息报送规范。",
            t + timedelta(hours=8),
        )


def _roster(session: Session, who: Principal, now: datetime) -> None:
    # Beijing midnight today, in the clock's own zone (UTC)
    day0 = (
        now.astimezone(BEIJING)
        .replace(hour=0, minute=0, second=0, microsecond=0)
        .astimezone(now.tzinfo)
    )
    officers = [u for u in ("duty", "commander") if _user(session, u)]
    if not officers:
        return
    for d in range(-1, 7):
        for i, shift in enumerate(("day", "night")):
            begin = day0 + timedelta(days=d, hours=8 + 12 * i)
            officer = officers[(d + i) % len(officers)]
            duty.add_shift(
                session,
                who,
                ShiftIn(
                    division_code=CITY,
                    starts_at=begin,
                    ends_at=begin + timedelta(hours=12),
                    shift=shift,
                    leader="李振华" if i == 0 and officer != "commander" else "张建国",
                    officer_username=officer,
                    phone="0535-6000110",
                ),
                now,
            )


def _nearest_fire_team(session: Session, who: Principal, inc: Incident) -> DispatchIn:
    """The fire-rescue team first at the scene by road, as the dispatch panel proposes it (its
    vehicles' trackers then follow the dispatch); a named team when resources is absent."""
    fallback = DispatchIn(resource_name="芝罘区消防救援大队一中队", eta_minutes=9.5)
    if inc.lon is None or inc.lat is None:
        return fallback
    try:
        from safecity.resources.service import nearest_teams  # noqa: PLC0415 optional capability (ImportError when it is not installed)
    except ImportError:
        return fallback
    try:
        found = nearest_teams(session, who, inc.lon, inc.lat, n=1, team_types=["fire_rescue"])
    except Conflict:  # no road network loaded: no ETA to rank by
        return fallback
    if not found["results"]:
        return fallback
    best = found["results"][0]
    return DispatchIn(
        resource_kind="team",
        resource_ref=str(best["id"]),
        resource_name=best["name"],
        eta_minutes=round(best["eta_s"] / 60, 1),
        distance_m=best.get("distance_m"),
    )


def _drive_to_scene(session: Session, who: Principal, dispatch: Any, inc: Incident) -> None:
    """The simulator drives the dispatched team's tracker from where it stands to the scene."""
    if dispatch.tracker_sensor_id is None or inc.lon is None or inc.lat is None:
        return
    try:
        from safecity.monitoring.demo import route_tracker  # noqa: PLC0415 optional capability (ImportError when it is not installed)
        from safecity.monitoring.service import last_positions  # noqa: PLC0415 optional capability
    except ImportError:
        return
    seen = last_positions(session, who, [dispatch.tracker_sensor_id], dispatch.updated_at)
    here = seen.get(dispatch.tracker_sensor_id)
    if here is not None:
        route_tracker(
            session, dispatch.tracker_sensor_id, (here["lon"], here["lat"]), (inc.lon, inc.lat)
        )
