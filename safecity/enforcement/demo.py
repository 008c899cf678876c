"""Demo enforcement year in the demo city: inspector pool, classes, approved plans, published
draws, inspections (most done, some open), findings into hidden dangers and cases at every stage.

Everything goes through the service, so the audit log, documents and proofs are the real ones.
Demo accounts (password demo1234): inspector (city inspector), zfinsp (芝罘), lsinsp (莱山),
reviewer (法制审核), head (负责人). Idempotent: a second call does nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.core.config import get_settings
from safecity.core.errors import SafeCityError
from safecity.core.models import User
from safecity.core.scope import Principal
from safecity.core.security import hash_password
from safecity.enforcement import cases as rules
from safecity.enforcement import (
    casework,
    common,
    documents,
    fieldwork,
    planning,
    roster,
    selection,
    signatures,
    supervision,
)
from safecity.enforcement.models import Case, Document, Inspection, Inspector
from safecity.hazards import checks as hd_checks
from safecity.registry.models import Division, Enterprise

SEED = 18
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭"
GIVEN = "建国志强海涛丽娜文静晓东春梅明华振宇国庆红霞永刚玉兰立新秀英德胜桂芝伟民"
ACCOUNTS = (  # username, name, role, division, duty
    ("inspector", "孙志强", "inspector", None, "inspector"),
    ("zfinsp", "于海波", "inspector", "370602", "inspector"),
    ("lsinsp", "曲晓梅", "inspector", "370613", "inspector"),
    ("reviewer", "姜文华", "inspector", None, "legal_reviewer"),
    ("head", "刘建国", "inspector", None, "office_head"),
)


_HANDS: dict[str, bytes] = {}


def hand(name: str) -> bytes:
    """A person's demo signature: a few pen strokes as a transparent PNG, the same for the same
    name (each inspector signs alike on every record; the images are stored once)."""
    if name not in _HANDS:
        rnd = random.Random(hashlib.sha256(name.encode()).digest())
        img = Image.new("RGBA", (480, 160), (0, 0, 0, 0))
        pen = ImageDraw.Draw(img)
        x = 20.0
        for _ in range(max(2, len(name))):  # one flourish per character
            points = []
            for _ in range(rnd.randrange(4, 8)):
                x += rnd.uniform(8, 22)
                points.append((x, rnd.uniform(30, 130)))
            pen.line(points, fill=(20, 24, 40, 255), width=4, joint="curve")
            x += rnd.uniform(10, 25)
        buf = io.BytesIO()
        img.save(buf, "PNG", optimize=True)
        _HANDS[name] = buf.getvalue()
    return _HANDS[name]


def _hand_url(name: str) -> str:
    return signatures.PREFIX + base64.b64encode(hand(name)).decode()


def _principal(session: Session, username: str) -> Principal:
    u = session.scalar(select(User).where(User.username == username))
    assert u is not None
    return Principal(
        u.id, u.username, u.role, u.division_code, u.enterprise_id, u.industry, u.display_name
    )


def load(
    session: Session, now: datetime, progress: Callable[[str, int, int], None] | None = None
) -> dict[str, Any]:
    if session.scalar(select(func.count()).select_from(Inspector)):
        return {}
    city = get_settings().city_code
    counties = [
        d.code
        for d in session.scalars(
            select(Division)
            .where(Division.parent_code == city, Division.archived.is_(False))
            .order_by(Division.code)
        )
    ]
    if not counties or not session.scalar(select(func.count()).select_from(Enterprise)):
        return {}
    rnd = random.Random(SEED)
    digest = hash_password("demo1234")
    for username, name, role, division, _ in ACCOUNTS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            session.add(
                User(
                    username=username,
                    display_name=name,
                    password_hash=digest,
                    role=role,
                    division_code=division or city,
                    created_at=now,
                )
            )
    session.flush()
    admin = Principal(0, "admin", "admin", city, display_name="系统管理员")
    today = common.local_date(now)
    # the pool: the accounts above plus four officers a county, one certificate long expired
    for username, name, _, division, duty in ACCOUNTS:
        roster.save_inspector(
            session,
            admin,
            {
                "name": name,
                "username": username,
                "office": "执法监察支队",
                "division_code": division or city,
                "duty": duty,
                "certificate_no": f"37060{rnd.randrange(10**6):06d}",
                "certificate_expires": date(today.year + 2, 12, 31),
            },
            now,
        )
    for county in counties:
        for k in range(4):
            roster.save_inspector(
                session,
                admin,
                {
                    "name": rnd.choice(SURNAMES) + "".join(rnd.sample(GIVEN, 2)),
                    "office": f"执法{'一二三四'[k % 4]}中队",
                    "division_code": county,
                    "certificate_no": f"{county}{rnd.randrange(10**4):04d}",
                    "certificate_expires": date(today.year - 1, 6, 30)
                    if k == 3
                    else date(today.year + 1 + k % 2, 12, 31),
                },
                now,
            )
    if progress:
        progress("enforcement: classes", 0, 1)
    supervision.classify(session, admin, now - timedelta(days=330), city)
    checklist = next(iter(hd_checks.list_checklists(session, admin)), None)
    start = now - timedelta(days=300)
    counts = {"draws": 0, "inspections": 0, "cases": 0}
    violations = list(common.table().violations)
    for n, county in enumerate(counties):
        if progress:
            progress("enforcement: plans and draws", n, len(counties))
        officer = admin
        plan = planning.create_plan(
            session,
            officer,
            {
                "division_code": county,
                "year": today.year,
                "title": f"{today.year}年度安全生产监督检查计划",
                "rows": [
                    {
                        "item": "重点监管企业全覆盖检查",
                        "legal_basis": "《安全生产法》第六十五条",
                        "scope_kind": "key_units",
                        "method": "现场检查",
                        "frequency": 4,
                        "timing": "每季度",
                        "office": "执法一中队",
                    },
                    {
                        "item": "工贸行业双随机抽查",
                        "legal_basis": "《安全生产法》第六十五条",
                        "scope_kind": "random",
                        "random_share": "1/20",
                        "method": "双随机",
                        "frequency": 1,
                        "timing": "上半年",
                        "office": "执法二中队",
                    },
                    {
                        "item": "危险化学品企业专项抽查",
                        "legal_basis": "《危险化学品安全管理条例》",
                        "scope_kind": "random",
                        "random_share": "1/10",
                        "industry_section": "C",
                        "method": "双随机",
                        "frequency": 1,
                        "timing": "下半年",
                        "office": "执法三中队",
                    },
                ],
            },
            start,
        )
        planning.approve_plan(session, officer, plan.id, start + timedelta(days=3))
        rows = planning.plan_rows(session, plan)
        for r, when in ((rows[1], start + timedelta(days=40)), (rows[2], now - timedelta(days=20))):
            try:
                d = selection.create_draw(
                    session,
                    officer,
                    {
                        "plan_row_id": r.id,
                        "title": f"{r.item}（{county}）",
                        "draw_date": common.local_date(when).isoformat(),
                    },
                    when,
                )
                d = selection.run_draw(session, officer, d.id, when + timedelta(minutes=5))
                selection.publish_draw(session, officer, d.id, when + timedelta(hours=2))
                counts["draws"] += 1
            except SafeCityError:  # an empty pool (no such industry in the county) is skipped
                continue
    inspector, reviewer, head = (_principal(session, u) for u in ("inspector", "reviewer", "head"))
    spring = list(
        session.scalars(
            select(Inspection)
            .where(
                Inspection.draw_id.is_not(None),
                Inspection.scheduled_on < today - timedelta(days=60),
            )
            .order_by(Inspection.id)
        )
    )
    items = hd_checks.items_of(session, checklist.id) if checklist is not None else []
    plain: list[tuple[Inspection, datetime, dict[str, Any]]] = []
    eventful: list[tuple[Inspection, datetime, dict[str, Any], str]] = []
    for i in spring:
        if rnd.random() < 0.15:
            continue  # still open
        t = datetime.combine(i.scheduled_on, datetime.min.time(), tzinfo=now.tzinfo) + timedelta(
            days=rnd.randrange(5, 40), hours=2
        )
        results = {
            str(it.id): {"result": "failed" if rnd.random() < 0.1 else "passed", "note": ""}
            for it in items
        }
        roll = rnd.random()
        if roll < 0.06:
            eventful.append((i, t, results, "hidden_danger"))
        elif roll < 0.16:
            eventful.append((i, t, results, "violation"))
        else:
            plain.append((i, t, results))
    if progress:
        progress("enforcement: inspections", 0, len(plain) + len(eventful))
    # Most inspections find nothing: their records and 现场检查记录 are written in bulk, with
    # the same content, numbers and audit entries the service writes one at a time.
    _finish_plain(session, admin, plain, checklist, items, now, rnd)
    counts["inspections"] += len(plain)
    # The ones with findings go through the service: hidden dangers into the hazards loop,
    # violations into cases taken as far as their age allows.
    for k, (i, t, results, kind) in enumerate(eventful):
        if progress and k % 50 == 0:
            progress("enforcement: inspections", len(plain) + k, len(plain) + len(eventful))
        fieldwork.save_results(
            session,
            admin,
            i.id,
            {"checklist_id": checklist.id if checklist else None, "results": results},
            t,
        )
        if kind == "hidden_danger":
            fieldwork.add_finding(
                session,
                admin,
                i.id,
                {
                    "kind": "hidden_danger",
                    "description": rnd.choice(
                        [
                            "储罐区静电接地线断开",
                            "安全出口被杂物堵塞",
                            "有限空间作业未设置警示标识",
                            "配电箱未上锁且无漏电保护",
                        ]
                    ),
                },
                [],
                t,
            )
        else:
            v = rnd.choice(violations)
            circ = rnd.choice(list(common.table().violations[v][3]))
            f = fieldwork.add_finding(
                session,
                admin,
                i.id,
                {
                    "kind": "violation",
                    "violation": v,
                    "circumstance": circ,
                    "description": common.table().violations[v][0],
                },
                [],
                t,
            )
            counts["cases"] += 1
            _advance(session, f.case_id, (inspector, reviewer, head), t, now, rnd)
        party = rnd.choice(SURNAMES) + "经理"
        team = [session.get(Inspector, x) for x in i.inspector_ids]
        drawn = {str(m.id): _hand_url(m.name) for m in team if m is not None}
        fieldwork.finish_inspection(
            session,
            admin,
            i.id,
            {"party_present": party, "signatures": {**drawn, "party": _hand_url(party)}},
            t + timedelta(hours=2),
        )
        counts["inspections"] += 1
    session.flush()
    counts["open_cases"] = (
        session.scalar(
            select(func.count()).select_from(Case).where(Case.state.not_in(sorted(rules.FINAL)))
        )
        or 0
    )
    return {"enforcement": counts}


def _finish_plain(
    session: Session,
    who: Principal,
    rows: list[tuple[Inspection, datetime, dict[str, Any]]],
    checklist: Any,
    items: list[Any],
    now: datetime,
    rnd: random.Random,
) -> None:
    """Finish inspections that found nothing, in bulk: the record, signatures, the 现场检查记录
    (numbered per division and year as the service numbers them) and the audit entries, stamped
    with the day they happened."""
    if not rows:
        return
    pool = {i.id: i for i in session.scalars(select(Inspector))}
    ents = common.names_of(session, {i.enterprise_id for i, _, _ in rows})
    by_id = {it.id: it for it in items}
    numbers: dict[tuple[str, int], int] = {}
    docs: list[tuple[Inspection, Document]] = []
    kept: dict[str, tuple[str, str]] = {}

    def saved(name: str) -> tuple[str, str]:  # each person's signature file written once
        if name not in kept:
            kept[name] = signatures.save(hand(name))
        return kept[name]

    for i, t, results in sorted(rows, key=lambda r: (r[1], r[0].id)):
        finish = t + timedelta(hours=2)
        team = [pool[x] for x in i.inspector_ids if x in pool]
        party = rnd.choice(SURNAMES) + "经理"
        i.checklist_id = checklist.id if checklist is not None else None
        i.results = results
        i.status, i.started_at, i.finished_at, i.party_present = "done", t, finish, party
        signers = [*((str(m.id), m.name) for m in team), ("party", party)]
        stored = {key: saved(name) for key, name in signers}
        i.signatures = {
            "inspectors": [m.name for m in team],
            "party": party,
            "at": common.iso(finish),
            "images": [
                {"key": key, "name": name, "png": stored[key][0], "sha256": stored[key][1]}
                for key, name in signers
            ],
        }
        i.updated_at = finish
        ent = ents[i.enterprise_id]
        year = common.local_date(finish).year
        key = (ent.division_code, year)
        if key not in numbers:
            numbers[key] = (
                session.scalar(
                    select(func.count()).where(
                        Document.kind == "inspection_record",
                        Document.division_code == ent.division_code,
                        Document.issued_at >= common.year_start(year),
                    )
                )
                or 0
            )
        numbers[key] += 1
        number = f"应急检记〔{year}〕{ent.division_code[:6]}-{numbers[key]:04d}号"
        values = fieldwork.inspection_values(session, i, ent, team, [], by_id, finish, 30)
        signed = [
            ["检查人员" if x["key"] != "party" else "被检查单位现场负责人", x["name"], x["png"]]
            for x in i.signatures["images"]
        ]
        content = documents.fill("inspection_record", values, number, signed)
        docs.append(
            (
                i,
                Document(
                    inspection_id=i.id,
                    enterprise_id=ent.id,
                    division_code=ent.division_code,
                    kind="inspection_record",
                    number=number,
                    title=content["title"],
                    content=content,
                    issued_by=who.username,
                    issued_at=finish,
                ),
            )
        )
    session.add_all([d for _, d in docs])
    session.flush()
    by_day: dict[Any, list[audit.Change]] = {}
    last: dict[Any, datetime] = {}
    for i, d in docs:
        day = common.local_date(d.issued_at)
        last[day] = max(last.get(day, d.issued_at), d.issued_at)
        by_day.setdefault(day, []).extend(
            [
                audit.Change(
                    "enf_inspection",
                    i.id,
                    "finish",
                    {"status": "planned"},
                    {
                        "status": "done",
                        "finished_at": common.iso(i.finished_at),
                        "party_present": i.party_present,
                        "results": len(i.results or {}),
                    },
                ),
                audit.Change(
                    "enf_document",
                    d.id,
                    "issue",
                    None,
                    {
                        "kind": d.kind,
                        "number": d.number,
                        "case_id": None,
                        "inspection_id": i.id,
                        "sha256": hashlib.sha256(documents.text_of(d.content).encode()).hexdigest(),
                    },
                ),
            ]
        )
    for day in sorted(by_day):
        audit.record_many(session, who.username, by_day[day], last[day])


def _advance(
    session: Session,
    case_id: int | None,
    who: tuple[Principal, Principal, Principal],
    t: datetime,
    now: datetime,
    rnd: random.Random,
) -> None:
    """Take the case as far as its age allows, stopping at random: some close, some stay open
    (a few past the 90-day decision deadline)."""
    if case_id is None:
        return
    inspector, reviewer, head = who
    c = session.get(Case, case_id)
    assert c is not None
    stop = rnd.choice(
        [
            "clue",
            "investigating",
            "reviewing",
            "notified",
            "decided",
            "executing",
            "closed",
            "closed",
            "closed",
        ]
    )
    plan = [
        ("file", head, 1),
        ("investigate", inspector, 2),
        ("submit", inspector, 20),
        ("notify", reviewer, 10),
        ("decide", head, 8),
        ("serve", inspector, 2),
        ("execute", inspector, 5),
        ("close", head, 10),
    ]
    reached = "clue"
    for step, actor, days in plan:
        if reached == stop:
            return
        t = t + timedelta(days=days)
        if t > now:
            return
        data: dict[str, Any] = {}
        if step == "notify":
            data["fine"] = int(
                (c.fine_min or 0)
                + ((c.fine_max or 0) - (c.fine_min or 0)) * rnd.choice([0.2, 0.5, 0.8])
            )
        if step == "decide":
            data["waived"] = True
        if step == "execute":
            data["reason"] = "当事人已缴纳罚款"
        casework.take_step(session, actor, case_id, step, data, t)
        reached = c.state
