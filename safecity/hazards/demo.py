"""Demo-city data of the hazards capability, loaded by `safecity demo` after the registry: a year
of hidden dangers in every state of the loop, some overdue, some major under supervision."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core.audit import record
from safecity.core.scope import Principal
from safecity.core.sql import refresh_statistics
from safecity.hazards import bulk, checks, final_counts, rules
from safecity.hazards import workflow as wf
from safecity.hazards.models import HiddenDanger, HiddenDangerEvent
from safecity.registry.models import Division, Enterprise, GridCell

Progress = Callable[[str, int, int], None]
SEED = 20261123
PER_DAY = 16  # ≈ 5,800 a year for a city of 7 million with ~10⁴ enterprises on the register

TITLES: dict[str, list[str]] = {
    "fire": [
        "消防通道被杂物占用",
        "灭火器过期未更换",
        "应急照明灯损坏",
        "防火门常开未闭合",
        "消防栓无水或压力不足",
        "疏散指示标志缺失",
        "自动喷淋系统阀门关闭",
    ],
    "electrical": [
        "配电箱未上锁且无警示标识",
        "电缆老化破损",
        "私拉乱接临时用电",
        "防爆区域使用非防爆电器",
        "接地线松动",
    ],
    "hazchem": [
        "危化品仓库超量储存",
        "储罐区可燃气体报警器失效",
        "化学品安全技术说明书缺失",
        "危化品混存禁配物",
        "装卸区静电接地装置损坏",
    ],
    "equipment": [
        "压力容器超期未检验",
        "起重机械限位器失灵",
        "特种设备操作人员无证上岗",
        "机械传动部位防护罩缺失",
        "安全阀未定期校验",
    ],
    "structure": ["厂房墙体开裂", "临边防护栏杆缺失", "钢平台腐蚀严重", "围墙倾斜有倒塌风险"],
    "gas": [
        "餐饮场所燃气软管老化",
        "燃气报警器未安装",
        "燃气管道被违章占压",
        "液化石油气瓶与灶具间距不足",
    ],
    "management": [
        "安全生产责任制未落实",
        "未开展安全教育培训",
        "应急预案未演练",
        "隐患排查记录不全",
        "外包作业未签订安全协议",
    ],
    "traffic": ["校园周边减速带缺失", "道路护栏损坏", "交叉路口信号灯故障"],
    "other": ["井盖缺失", "广告牌松动", "树木倾斜压线"],
}
PUBLIC_CATEGORIES = ["fire", "gas", "structure", "traffic", "other", "electrical"]
ENTERPRISE_CATEGORIES = [
    "fire",
    "electrical",
    "hazchem",
    "equipment",
    "structure",
    "gas",
    "management",
]
MAJOR_BASIS = "《化工和危险化学品生产经营单位重大生产安全事故隐患判定标准（试行）》第{n}项"


@dataclass
class Story:
    """One hidden danger's history: row values plus its timeline, cut at `now`."""

    row: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)


def load(session: Session, now: datetime, progress: Progress | None = None) -> dict[str, Any]:
    """Load this capability's demo data; a second call does nothing (idempotent)."""
    if session.scalar(select(func.count()).select_from(HiddenDanger)):
        return {}
    enterprises = list(
        session.execute(
            select(
                Enterprise.id,
                Enterprise.name,
                Enterprise.division_code,
                Enterprise.industry_section,
                Enterprise.industry_code,
                Enterprise.is_hazchem,
                Enterprise.lon,
                Enterprise.lat,
                Enterprise.address,
            ).where(Enterprise.archived.is_(False))
        )
    )
    cells = list(
        session.execute(
            select(
                GridCell.id, GridCell.name, GridCell.division_code, GridCell.lon, GridCell.lat
            ).where(GridCell.archived.is_(False))
        )
    )
    if not enterprises or not cells:
        return {}
    names = {d.code: d.name for d in session.scalars(select(Division))}
    stories = generate(enterprises, cells, names, now, SEED)
    count = insert_stories(session, stories, progress)
    refresh_statistics(session, HiddenDanger.__tablename__)
    final_counts.rebuild_final(session)
    tasks = _plans(session, now)
    summary = summarise(stories, now)
    record(
        session,
        actor="system",
        action="demo.load",
        object_type="hidden_danger",
        object_id="demo",
        before=None,
        after=summary,
        now=now,
    )
    return {"hidden_dangers": count, "inspection_tasks": tasks}


CHECKLISTS = (
    (
        "危险化学品企业安全检查表",
        "C",
        "危化品生产储存",
        [
            (
                "重大危险源安全监控系统正常投用",
                "GB 18218-2018；原国家安监总局令第40号",
                "hazchem",
                "major",
            ),
            ("储罐区可燃/有毒气体报警器有效并联网", "GB/T 50493-2019", "hazchem", "major"),
            ("特种作业人员持证上岗", "《安全生产法》第三十条", "management", "general"),
            ("动火作业票证审批齐全", "GB 30871-2022", "management", "general"),
            ("防雷防静电设施检测合格", "GB 50057-2010", "electrical", "general"),
        ],
    ),
    (
        "人员密集场所消防安全检查表",
        None,
        "人员密集场所",
        [
            ("疏散通道、安全出口畅通", "GB 50016-2014", "fire", "general"),
            ("应急照明和疏散指示标志完好", "GB 51309-2018", "fire", "general"),
            ("消防设施器材完好有效", "《消防法》第十六条", "fire", "general"),
            ("燃气管道及报警装置正常", "GB 50028-2006", "gas", "major"),
        ],
    ),
    (
        "网格员日常巡查表",
        None,
        "网格",
        [
            ("井盖、护栏等公共设施完好", "", "structure", "general"),
            ("沿街商铺无违规使用液化气瓶", "", "gas", "general"),
            ("无私拉乱接电线", "", "electrical", "general"),
        ],
    ),
)


def _plans(session: Session, now: datetime) -> int:
    """Checklists and two recurring plans; tasks of the current period."""

    city = Principal(0, "system", "admin", "370600")
    made = []
    for name, section, place, items in CHECKLISTS:
        made.append(
            checks.create_checklist(
                session,
                city,
                {
                    "name": name,
                    "industry_section": section,
                    "place_kind": place,
                    "items": [
                        {"text": t, "clause": c, "category": cat, "suggested_grade": g}
                        for t, c, cat, g in items
                    ],
                },
                now,
            )
        )
    start = rules.beijing_day(now).replace(day=1).isoformat()
    checks.create_plan(
        session,
        city,
        {
            "name": "危化品企业月度自查（高风险企业加密）",
            "checklist_id": made[0].id,
            "division_code": "370602",
            "industry_section": "C",
            "frequency": "monthly",
            "assignee_kind": "enterprise",
            "start_date": start,
            "risk_rule": rules.DEFAULT_RISK_RULE,
        },
        now,
    )
    checks.create_plan(
        session,
        city,
        {
            "name": "芝罘区人员密集场所季度执法检查",
            "checklist_id": made[1].id,
            "division_code": "370602",
            "industry_section": "F",
            "frequency": "quarterly",
            "assignee_kind": "inspector",
            "assignee_username": "inspector",
            "start_date": start,
            "risk_rule": rules.DEFAULT_RISK_RULE,
        },
        now,
    )
    checks.create_plan(  # the grid member's own round: the street shops of the grid
        session,
        city,
        {
            "name": "芝罘区网格员每周巡查（沿街餐饮商铺）",
            "checklist_id": made[2].id,
            "division_code": "370602",
            "industry_section": "H",
            "frequency": "weekly",
            "assignee_kind": "grid_member",
            "assignee_username": "grid",
            "start_date": start,
            "risk_rule": rules.DEFAULT_RISK_RULE,
        },
        now,
    )
    return checks.generate_tasks(session, now)


def summarise(stories: list[Story], now: datetime) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in stories:
        out[s.row["status"]] = out.get(s.row["status"], 0) + 1
    out["overdue"] = sum(
        1
        for s in stories
        if s.row["status"] in wf.ON_THE_CLOCK and s.row["deadline"] and s.row["deadline"] < now
    )
    out["major"] = sum(1 for s in stories if s.row["grade"] == wf.MAJOR)
    return out


def insert_stories(session: Session, stories: list[Story], progress: Progress | None) -> int:
    chunk = 5000
    for start in range(0, len(stories), chunk):
        part = stories[start : start + chunk]
        ids = bulk.insert_with_ids(session, HiddenDanger.__table__, [s.row for s in part])
        events = [
            {**e, "hidden_danger_id": hd_id}
            for s, hd_id in zip(part, ids, strict=True)
            for e in s.events
        ]
        bulk.insert_rows(session, HiddenDangerEvent.__table__, events)
        if progress:
            progress("hidden_dangers", min(start + chunk, len(stories)), len(stories))
    return len(stories)


# ---------------------------------------------------------------- generation (no database)


def generate(
    enterprises: list[Any], cells: list[Any], names: dict[str, str], now: datetime, seed: int
) -> list[Story]:
    rng = random.Random(seed)
    cum: list[float] = []
    total = 0.0
    for e in enterprises:
        total += 4 if e.is_hazchem else 1
        cum.append(total)
    days = 365
    stories = []
    for day in range(days):
        for _ in range(_poisson(rng, PER_DAY * (0.8 + 0.4 * day / days))):
            # working hours, Beijing time
            midnight = (now.astimezone(rules.BEIJING) - timedelta(days=days - day)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            at = (midnight + timedelta(minutes=rng.randint(8 * 60, 18 * 60))).astimezone(UTC)
            if at >= now:
                continue
            if rng.random() < 0.72:
                ent = rng.choices(enterprises, cum_weights=cum)[0]
                story = _enterprise_story(rng, ent, at)
            else:
                story = _public_story(rng, rng.choice(cells), at)
            _play(rng, story, names, now)
            stories.append(story)
    return stories


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method is fine for λ ≈ 16.
    limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _base(rng: random.Random, category: str, at: datetime, source: str) -> dict[str, Any]:
    return {
        "title": rng.choice(TITLES[category]),
        "description": "",
        "category": category,
        "grade": None,
        "grade_basis": "",
        "source": source,
        "status": wf.REPORTED,
        "risk_point_id": None,
        "photos": None,
        "reporter_user_id": None,
        "reporter_name": "",
        "reporter_phone": "",
        "reporter_ip": None,
        "reported_at": at,
        "month": rules.month_of(at),
        "confirmed_at": None,
        "rejected_reason": "",
        "registered_at": None,
        "responsible_party": "",
        "responsible_username": None,
        "responsible_person": "",
        "measures": "",
        "funds": None,
        "interim_measures": "",
        "deadline": None,
        "plan_approved_at": None,
        "supervisor_division_code": None,
        "supervisor_name": "",
        "submitted_at": None,
        "closed_at": None,
        "closed_late": None,
        "days_to_close": None,
        "escalation_level": 0,
        "next_escalation_at": None,
        "task_id": None,
        "updated_at": at,
    }


def _enterprise_story(rng: random.Random, ent: Any, at: datetime) -> Story:
    source = rng.choices(
        ["self_inspection", "enforcement", "grid_patrol", "monitoring_alarm", "public_report"],
        [45, 30, 15, 5, 5],
    )[0]
    cats = (
        ENTERPRISE_CATEGORIES
        if ent.is_hazchem
        else [c for c in ENTERPRISE_CATEGORIES if c != "hazchem"]
    )
    row = _base(rng, rng.choice(cats), at, source)
    row.update(
        division_code=ent.division_code,
        enterprise_id=ent.id,
        grid_cell_id=None,
        industry_section=ent.industry_section,
        industry_code=ent.industry_code,
        lon=ent.lon,
        lat=ent.lat,
        address=ent.address or "",
        responsible_party=ent.name,
    )
    row["description"] = f"{ent.name}：{row['title']}"
    return Story(row)


def _public_story(rng: random.Random, cell: Any, at: datetime) -> Story:
    source = rng.choices(["grid_patrol", "public_report"], [70, 30])[0]
    row = _base(rng, rng.choice(PUBLIC_CATEGORIES), at, source)
    lon = (cell.lon or 121.4) + rng.uniform(-0.003, 0.003)
    lat = (cell.lat or 37.5) + rng.uniform(-0.003, 0.003)
    row.update(
        division_code=cell.division_code,
        enterprise_id=None,
        grid_cell_id=cell.id,
        industry_section=None,
        industry_code=None,
        lon=round(lon, 6),
        lat=round(lat, 6),
        address=cell.name,
        responsible_party=f"{cell.name}网格",
    )
    row["description"] = f"{cell.name}：{row['title']}"
    if source == "public_report":
        row["reporter_name"] = "群众"
    return Story(row)


def _play(rng: random.Random, story: Story, names: dict[str, str], now: datetime) -> None:
    """Walk the loop with realistic delays; stop at `now`."""
    row = story.row
    county = row["division_code"][:6]
    officer = {"370602": "zhifu", "370613": "laishan"}.get(county, "inspector")
    reporter = {
        "self_inspection": "enterprise",
        "enforcement": "inspector",
        "grid_patrol": "grid",
        "monitoring_alarm": "system",
        "public_report": "anonymous",
    }[row["source"]]
    t = row["reported_at"]
    step = _stepper(story, now)
    if not step("report", None, wf.REPORTED, t, reporter, row["description"]):
        return
    t += timedelta(hours=rng.uniform(4, 72))
    if rng.random() < 0.06:
        step(
            "reject",
            wf.REPORTED,
            wf.REJECTED,
            t,
            officer,
            "经核实不属于事故隐患",
            rejected_reason="经核实不属于事故隐患",
        )
        return
    major = row["enterprise_id"] is not None and rng.random() < 0.035
    grade = wf.MAJOR if major else wf.GENERAL
    basis = MAJOR_BASIS.format(n=rng.randint(1, 20)) if major else ""
    if not step(
        "confirm",
        wf.REPORTED,
        wf.CONFIRMED,
        t,
        officer,
        "",
        grade=grade,
        grade_basis=basis,
        confirmed_at=t,
    ):
        return
    t += timedelta(hours=rng.uniform(2, 48))
    span = timedelta(days=rng.randint(60, 120) if major else rng.choice([7, 15, 15, 30, 30]))
    deadline = t + span
    extra: dict[str, Any] = {"deadline": deadline, "registered_at": t}
    if major:
        city_level = rng.random() < 0.3
        code = "370600" if city_level else county
        extra.update(
            supervisor_division_code=code, supervisor_name=f"{names.get(code, code)}应急管理局"
        )
    if not step(
        "register", wf.CONFIRMED, wf.REGISTERED, t, officer, "已登记，责令限期整改", **extra
    ):
        return
    rectifier = "enterprise" if row["enterprise_id"] else "grid"
    t += timedelta(days=rng.uniform(0.5, 4))
    plan = {
        "measures": "制定整改方案，落实整改措施",
        "responsible_person": "张伟",
        "funds": round(rng.uniform(0.2, 80 if major else 5), 1),
        "interim_measures": "设置警戒隔离，专人值守" if major else "",
    }
    if not step(
        "submit_plan",
        wf.REGISTERED,
        wf.PLAN_SUBMITTED if major else wf.RECTIFYING,
        t,
        rectifier,
        "",
        **plan,
    ):
        return
    if major:
        t += timedelta(days=rng.uniform(1, 6))
        approver = "inspector" if row["supervisor_division_code"] == "370600" else officer
        if not step(
            "approve_plan",
            wf.PLAN_SUBMITTED,
            wf.RECTIFYING,
            t,
            approver,
            "同意",
            plan_approved_at=t,
        ):
            return
    # Most finish in time; about one in seven runs late, and a few stall for months.
    late = rng.random() < 0.14
    stall = rng.random() < 0.03
    share = rng.uniform(1.05, 1.8) if late else rng.uniform(0.3, 0.95)
    if stall:
        share = 50.0
    acceptor = (
        row.get("supervisor_division_code")
        and ("inspector" if row["supervisor_division_code"] == "370600" else officer)
        or officer
    )
    for attempt in range(2):
        if attempt == 0:
            t = max(t + timedelta(hours=12), row["registered_at"] + span * share)
        else:
            t += timedelta(days=rng.uniform(2, 10))
        if not step(
            "submit_acceptance",
            wf.RECTIFYING,
            wf.SUBMITTED,
            t,
            rectifier,
            "已按方案完成整改",
            submitted_at=t,
        ):
            return
        t += timedelta(days=rng.uniform(0.5, 5))
        if attempt == 0 and rng.random() < 0.08:
            if not step(
                "return",
                wf.SUBMITTED,
                wf.RECTIFYING,
                t,
                acceptor,
                "整改不彻底，退回",
                submitted_at=None,
            ):
                return
            continue
        days = round((t - row["reported_at"]).total_seconds() / 86400, 2)
        step(
            "accept",
            wf.SUBMITTED,
            wf.CLOSED,
            t,
            acceptor,
            "验收合格，予以销号",
            closed_at=t,
            closed_late=row["submitted_at"] > deadline,
            days_to_close=days,
        )
        return


def _stepper(story: Story, now: datetime) -> Callable[..., bool]:
    row = story.row

    def step(
        action: str, frm: str | None, to: str, at: datetime, actor: str, note: str, **changes: Any
    ) -> bool:
        if at >= now:
            row["next_escalation_at"] = rules.next_escalation(row["deadline"], 0, row["status"])
            return False
        row.update(changes)
        row["status"], row["updated_at"] = to, at
        role = {
            "zhifu": "district_officer",
            "laishan": "district_officer",
            "inspector": "inspector",
            "enterprise": "enterprise_officer",
            "grid": "grid_member",
            "anonymous": "public",
        }.get(actor, "admin")
        story.events.append(
            {
                "action": action,
                "from_status": frm,
                "to_status": to,
                "actor": actor,
                "actor_role": role,
                "at": at,
                "note": note,
                "attachments": None,
                "data": None,
            }
        )
        row["next_escalation_at"] = rules.next_escalation(row["deadline"], 0, to)
        return True

    return step
