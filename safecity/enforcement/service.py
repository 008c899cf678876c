"""Enforcement use cases: supervision classes, yearly plans, the inspector pool, 双随机 draws with
their proof, inspections and findings, penalty cases, documents — scoped, audited, all-or-nothing.

The pure rules (classes, draw, cases, discretion) decide; this module loads, applies, saves and
writes the audit log. Their errors map once here: input 422, state 409, role 403.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import Text, and_, cast, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from safecity.core import audit, scope
from safecity.core.clock import BEIJING
from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from safecity.core.models import AuditEntry, User
from safecity.core.scope import Principal, Shape, division_prefix, is_valid_division_code
from safecity.core.sql import code_within
from safecity.enforcement import cases as rules
from safecity.enforcement import classes, discretion, documents, notices, signatures
from safecity.enforcement import draw as drawing
from safecity.enforcement import settings as enf_settings
from safecity.enforcement.errors import EnforcementInputError, RoleError, StateError
from safecity.enforcement.models import (
    Case,
    Document,
    Draw,
    Finding,
    Inspection,
    Inspector,
    Plan,
    PlanRow,
    SupervisionClass,
)
from safecity.hazards import checks as hd_checks
from safecity.hazards import service as hd_service
from safecity.hazards import uploads
from safecity.registry.models import Division, Enterprise
from safecity.risk.points.enterprise import enterprise_risks

# Who does what (scope is checked separately, through core.scope).
PLANNERS = frozenset({"admin", "inspector", "district_officer"})
APPROVERS = frozenset({"admin", "district_officer"})
FIELD = frozenset({"admin", "inspector"})
# Staff who read plans, draws and the pool (enterprise officers and grid members do not).
GOVERNMENT = frozenset(scope.READ_ROLES - {"enterprise_officer", "grid_member"})
MAX_PAGE_SIZE = 200
INSPECTION_STATES = {
    "planned": ("待检查", "planned"),
    "in_progress": ("检查中", "in progress"),
    "done": ("已完成", "done"),
}
FINDING_KINDS = {
    "hidden_danger": ("事故隐患（转隐患闭环）", "hidden danger (into the closed loop)"),
    "violation": ("违法行为（转立案）", "violation (starts a case)"),
}
RESULTS = {"passed": ("合格", "passed"), "failed": ("不合格", "failed"), "na": ("不适用", "n/a")}
MEASURES = {
    "suspend_business": ("责令停产停业整顿", "suspend business"),
    "revoke_licence": ("吊销许可证件", "revoke licence"),
    "close_down": ("责令关闭", "close down"),
    "confiscate_large": ("没收较大数额违法所得", "confiscate large gains"),
}
OPEN_BEFORE_DECISION = ("filed", "investigating", "reviewing", "notified", "hearing")
OFFICE = "应急管理局"

INSPECTION_SHAPE = Shape(
    division=Inspection.division_code,
    enterprise=Inspection.enterprise_id,
    industry=Inspection.industry_code,
)
CASE_SHAPE = Shape(
    division=Case.division_code, enterprise=Case.enterprise_id, industry=Case.industry_code
)
CLASS_SHAPE = Shape(
    division=SupervisionClass.division_code,
    enterprise=SupervisionClass.enterprise_id,
    industry=SupervisionClass.industry_code,
)
# Plans, draws and the pool are the division's programme: read by its government staff.
PROGRAMME_SHAPE = Shape(division=Draw.division_code, reference=True)


def table() -> discretion.Table:
    """The discretion table in force: the city's own (enforcement.settings), else the example."""
    return enf_settings.loaded().table


def scheme() -> classes.Scheme:
    """The supervision class scheme in force: the city's own, else the A–D example."""
    return enf_settings.loaded().scheme


def violation_name(code: str) -> tuple[str, str, str]:
    """A violation's names and legal basis; a code a later table dropped keeps its code."""
    v = table().violations.get(code)
    return (v[0], v[1], v[2]) if v else (code, code, "")


# ---------------------------------------------------------------- errors and helpers


@contextmanager
def rules_errors() -> Iterator[None]:
    """The pure rules' errors as the platform's: input 422, role 403, state 409."""
    try:
        yield
    except EnforcementInputError as exc:
        raise Invalid(
            [FieldError(e.field, e.message_zh, e.message_en) for e in exc.errors]
        ) from None
    except RoleError as exc:
        raise Forbidden(exc.message_zh, exc.message_en) from None
    except StateError as exc:
        raise Conflict(exc.message_zh, exc.message_en) from None


def bad(field: str, zh: str, en: str) -> Invalid:
    return Invalid([FieldError(field, zh, en)])


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()  # type: ignore[union-attr]
    if isinstance(value, date):
        return value.isoformat()
    return value


def row_dict(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {c.name: iso(getattr(obj, c.name)) for c in obj.__table__.columns if c.name not in skip}


def _audit(
    session: Session,
    who: Principal,
    action: str,
    kind: str,
    obj_id: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
) -> AuditEntry:
    return audit.record(
        session,
        actor=who.username,
        action=action,
        object_type=f"enf_{kind}",
        object_id=obj_id,
        before=before,
        after=after,
        now=now,
    )


def _require(who: Principal, allowed: frozenset[str], zh: str, en: str) -> None:
    if who.role not in allowed:
        raise Forbidden(zh, en)


def _government(who: Principal) -> None:
    _require(who, GOVERNMENT, "当前角色无权查看执法计划与抽查", "your role may not read this")


def _division(session: Session, who: Principal, code: Any, field: str = "division_code") -> str:
    code = str(code or who.division_code).strip()
    if not is_valid_division_code(code) or session.get(Division, code) is None:
        raise bad(field, "行政区划：不存在", "division: not found")
    if not who.covers(code):
        raise NotFound("行政区划", "division")
    return code


def enterprise_for(session: Session, who: Principal, enterprise_id: Any) -> Enterprise:
    try:
        ent = session.get(Enterprise, int(enterprise_id))
    except (TypeError, ValueError):
        raise bad("enterprise_id", "企业：应为编号", "enterprise: must be an id") from None
    if ent is None or ent.archived:
        raise bad("enterprise_id", "企业：不存在", "enterprise: not found")
    if not who.can_see_enterprise(ent.id, ent.division_code, ent.industry_code):
        raise NotFound("企业", "enterprise")
    return ent


def names_of(session: Session, ids: set[int]) -> dict[int, Enterprise]:
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)))}


def people(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """Display names of user accounts by username (a name the users table lacks stays as is)."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    rows = session.execute(
        select(User.username, User.display_name).where(User.username.in_(sorted(wanted)))
    )
    found = {u: n for u, n in rows if n}
    return {u: found.get(u, u) for u in wanted}


def display_name(session: Session, who: Principal) -> str:
    return who.display_name or people(session, [who.username]).get(who.username, who.username)


def _clean(value: Any, field: str, limit: int, zh: str, en: str, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise bad(field, f"{zh}：为必填项", f"{en}: is required")
    if len(text) > limit:
        raise bad(field, f"{zh}：长度不能超过{limit}", f"{en}: at most {limit} characters")
    if any(ch in text for ch in "\x00\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"):
        raise bad(field, f"{zh}：含有不允许的字符", f"{en}: contains a forbidden character")
    return text


def _int(value: Any, field: str, zh: str, en: str, lo: int = 0, hi: int = 10**9) -> int:
    if isinstance(value, bool):
        raise bad(field, f"{zh}：应为整数", f"{en}: must be an integer")
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        raise bad(field, f"{zh}：应为整数", f"{en}: must be an integer") from None
    if not lo <= n <= hi:
        raise bad(field, f"{zh}：应在 {lo}–{hi} 之间", f"{en}: must be {lo} to {hi}")
    return n


def _date(value: Any, field: str, zh: str, en: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise bad(field, f"{zh}：应为日期 YYYY-MM-DD", f"{en}: must be a date YYYY-MM-DD") from None


def local_date(now: datetime) -> date:
    return as_utc(now).astimezone(BEIJING).date()  # type: ignore[union-attr]


def year_start(year: int) -> datetime:
    """1 January 00:00 Beijing time, in UTC (how times are stored and compared)."""
    return datetime(year, 1, 1, tzinfo=BEIJING).astimezone(UTC)


# ---------------------------------------------------------------- supervision classes


def enterprise_facts(
    session: Session, enterprises: list[Enterprise], now: datetime
) -> dict[int, dict[str, Any]]:
    """Each enterprise's facts for the class rules, read in a few grouped queries."""
    ids = [e.id for e in enterprises]
    out: dict[int, dict[str, Any]] = {}
    risks = enterprise_risks(session, ids)
    hidden_dangers = hd_service.enterprise_counts(session, ids, now)  # (open major, overdue)
    penalised: set[int] = set()
    for chunk in (ids[i : i + 900] for i in range(0, len(ids), 900)):
        penalised.update(
            session.scalars(
                select(Case.enterprise_id).where(
                    Case.enterprise_id.in_(chunk),
                    Case.decided_at >= now - timedelta(days=365),
                    Case.decided_fine > 0,
                )
            )
        )
    grade_name = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
    for e in enterprises:
        risk = risks[e.id]
        code = (e.industry_code or "").lstrip("ABCDEFGHIJKLMNOPQRST")
        out[e.id] = {
            "industry_section": e.industry_section or None,
            "industry_division": code[:2] if len(code) >= 2 and code[:2].isdigit() else None,
            "risk_level": risk.level,
            "mhi_count": risk.major_hazards,
            "mhi_top_grade": grade_name[risk.top_grade] if risk.top_grade is not None else None,
            "open_major_hazards": hidden_dangers.get(e.id, (0, 0))[0],
            "overdue_hazards": hidden_dangers.get(e.id, (0, 0))[1],
            # A penalty decided in the last year marks the enterprise C until a credit feed
            # (信用等级) is connected; unknown credit is left out of the rules.
            "credit": "C" if e.id in penalised else None,
        }
    return out


def classify(
    session: Session, who: Principal, now: datetime, division: str | None = None
) -> dict[str, int]:
    """(Re)compute the class of every enterprise in the caller's scope; overrides are kept."""
    _require(who, PLANNERS, "当前角色无权评定监管类别", "your role may not classify")
    prefix = division_prefix(_division(session, who, division))
    ents = list(
        session.scalars(
            select(Enterprise).where(
                code_within(Enterprise.division_code, prefix), Enterprise.archived.is_(False)
            )
        )
    )
    facts = enterprise_facts(session, ents, now)
    existing = {
        s.enterprise_id: s
        for s in session.scalars(
            select(SupervisionClass).where(code_within(SupervisionClass.division_code, prefix))
        )
    }
    sch = scheme()
    changes: list[audit.Change] = []
    counts: dict[str, int] = {}
    for e in ents:
        fact = {k: v for k, v in facts[e.id].items() if v is not None}
        with rules_errors():
            result = sch.classify(fact)
        row = existing.get(e.id)
        before = None if row is None else {"class": row.class_key, "computed": row.computed_class}
        if row is None:
            row = SupervisionClass(enterprise_id=e.id)
            session.add(row)
        row.division_code, row.industry_code = e.division_code, e.industry_code
        row.facts = fact
        row.computed_class = result.class_key
        if not row.override_reason:
            row.class_key = result.class_key
            row.inspections_per_year = result.inspections_per_year
            row.explanation_zh, row.explanation_en = result.explanation_zh, result.explanation_en
        row.updated_at = now
        counts[row.class_key] = counts.get(row.class_key, 0) + 1
        after = {"class": row.class_key, "computed": row.computed_class}
        if before != after:
            changes.append(audit.Change("enf_class", e.id, "classify", before, after))
    session.flush()
    audit.record_many(session, who.username, changes, now)
    return dict(sorted(counts.items()))


def override_class(
    session: Session, who: Principal, enterprise_id: Any, to_class: str, reason: str, now: datetime
) -> SupervisionClass:
    """An inspector's override: the new class and its frequency, with the reason kept."""
    ent = enterprise_for(session, who, enterprise_id)
    _require(who, PLANNERS, "当前角色无权调整监管类别", "your role may not override a class")
    row = session.scalar(select(SupervisionClass).where(SupervisionClass.enterprise_id == ent.id))
    if row is None:
        raise Conflict("该企业尚未评定监管类别，请先评定", "classify the enterprise first")
    sch = scheme()
    computed = classes.Classification(
        row.computed_class, sch.classes[row.computed_class][2], None, (), "", ""
    )
    with rules_errors():
        result = classes.override(computed, sch, str(to_class or ""), str(reason or ""))
    before = {"class": row.class_key, "override_reason": row.override_reason}
    row.class_key, row.inspections_per_year = result.class_key, result.inspections_per_year
    row.override_reason, row.overridden_by = result.override_reason, who.username
    row.explanation_zh, row.explanation_en = result.explanation_zh, result.explanation_en
    row.updated_at = now
    session.flush()
    _audit(
        session,
        who,
        "override",
        "class",
        ent.id,
        before,
        {"class": row.class_key, "override_reason": row.override_reason},
        now,
    )
    return row


def list_classes(
    session: Session, who: Principal, class_key: str | None = None, page: int = 1, size: int = 50
) -> tuple[list[SupervisionClass], int]:
    stmt = select(SupervisionClass).where(scope.clause(who, CLASS_SHAPE))
    if class_key:
        stmt = stmt.where(SupervisionClass.class_key == class_key)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    size = max(1, min(size, MAX_PAGE_SIZE))
    rows = session.scalars(
        stmt.order_by(SupervisionClass.class_key, SupervisionClass.enterprise_id)
        .limit(size)
        .offset((max(1, page) - 1) * size)
    )
    return list(rows), total


def class_counts(session: Session, who: Principal) -> dict[str, int]:
    rows = session.execute(
        select(SupervisionClass.class_key, func.count())
        .where(scope.clause(who, CLASS_SHAPE))
        .group_by(SupervisionClass.class_key)
    )
    return {k: n for k, n in rows}


def class_of(session: Session, enterprise_id: int) -> SupervisionClass | None:
    return session.scalar(
        select(SupervisionClass).where(SupervisionClass.enterprise_id == enterprise_id)
    )


# ---------------------------------------------------------------- yearly plans


def _share(value: Any, field: str) -> str:
    raw = str(value or "1/20").strip()
    try:
        frac = Fraction(raw.rstrip("%")) / (100 if raw.endswith("%") else 1)
    except (ValueError, ZeroDivisionError):
        raise bad(
            field, "抽查比例：应为分数或百分数", "share: a fraction or a percentage"
        ) from None
    if not drawing.DEFAULT_MIN_SHARE <= frac <= 1:
        raise bad(field, "抽查比例：应在 5%–100% 之间", "share: between 5% and 100%")
    return f"{frac.numerator}/{frac.denominator}"


def _rows(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not data:
        raise bad("rows", "计划行：至少一行", "rows: at least one row")
    out = []
    for i, r in enumerate(data):
        p = f"rows[{i}]"
        if not isinstance(r, dict):
            raise bad(p, "计划行：格式应为对象", "row: must be an object")
        kind = r.get("scope_kind") or "random"
        if kind not in ("key_units", "random"):
            raise bad(f"{p}.scope_kind", "对象范围：应为 key_units 或 random", "scope_kind")
        section = str(r.get("industry_section") or "").strip().upper() or None
        if section and not (len(section) == 1 and "A" <= section <= "T"):
            raise bad(f"{p}.industry_section", "行业门类：应为 A–T", "industry section: A–T")
        out.append(
            {
                "item": _clean(r.get("item"), f"{p}.item", 200, "检查事项", "item", True),
                "legal_basis": _clean(
                    r.get("legal_basis"), f"{p}.legal_basis", 300, "依据", "basis"
                ),
                "scope_kind": kind,
                "random_share": _share(r.get("random_share"), f"{p}.random_share"),
                "industry_section": section,
                "content": _clean(r.get("content"), f"{p}.content", 2000, "检查内容", "content"),
                "method": _clean(r.get("method"), f"{p}.method", 100, "检查方式", "method"),
                "frequency": _int(
                    r.get("frequency", 1), f"{p}.frequency", "频次", "frequency", 1, 12
                ),
                "per_enterprise_cap": _int(
                    r.get("per_enterprise_cap", 2),
                    f"{p}.per_enterprise_cap",
                    "同一企业年度上限",
                    "yearly cap per enterprise",
                    1,
                    12,
                ),
                "timing": _clean(r.get("timing"), f"{p}.timing", 100, "时间安排", "timing"),
                "office": _clean(r.get("office"), f"{p}.office", 100, "责任科室", "office"),
                "planned_count": _int(
                    r.get("planned_count", 0), f"{p}.planned_count", "计划户次", "planned", 0, 10**6
                ),
            }
        )
    return out


def create_plan(session: Session, who: Principal, data: dict[str, Any], now: datetime) -> Plan:
    _require(who, PLANNERS, "当前角色无权编制检查计划", "your role may not plan inspections")
    division = _division(session, who, data.get("division_code"))
    year = _int(data.get("year"), "year", "年度", "year", 2000, 2100)
    title = (
        _clean(data.get("title"), "title", 200, "计划名称", "title") or f"{year}年度监督检查计划"
    )
    rows = _rows(data.get("rows"))
    exists = session.scalar(
        select(Plan.id).where(Plan.division_code == division, Plan.year == year)
    )
    if exists:
        raise Conflict(
            f"该区划 {year} 年度计划已存在（#{exists}）", f"a {year} plan exists (#{exists})"
        )
    plan = Plan(
        division_code=division,
        year=year,
        title=title,
        status="draft",
        created_by=who.username,
        created_at=now,
    )
    session.add(plan)
    session.flush()
    session.add_all([PlanRow(plan_id=plan.id, seq=i, **r) for i, r in enumerate(rows, 1)])
    session.flush()
    _audit(session, who, "create", "plan", plan.id, None, {**row_dict(plan), "rows": rows}, now)
    return plan


def get_plan(session: Session, who: Principal, plan_id: int) -> Plan:
    _government(who)
    plan = session.get(Plan, plan_id)
    if plan is None or not who.covers(plan.division_code):
        raise NotFound("检查计划", "plan")
    return plan


def plan_rows(session: Session, plan: Plan) -> list[PlanRow]:
    return list(
        session.scalars(select(PlanRow).where(PlanRow.plan_id == plan.id).order_by(PlanRow.seq))
    )


def list_plans(session: Session, who: Principal) -> list[Plan]:
    _government(who)
    return list(
        session.scalars(
            select(Plan)
            .where(code_within(Plan.division_code, who.prefix))
            .order_by(Plan.year.desc(), Plan.division_code)
        )
    )


def approve_plan(session: Session, who: Principal, plan_id: int, now: datetime) -> Plan:
    plan = get_plan(session, who, plan_id)
    _require(who, APPROVERS, "只有负责人可以批准计划", "only an office head approves a plan")
    if plan.status != "draft":
        raise Conflict("计划已批准，不能重复批准", "the plan is already approved")
    plan.status, plan.approved_by, plan.approved_at = "approved", who.username, now
    session.flush()
    _audit(
        session, who, "approve", "plan", plan.id, {"status": "draft"}, {"status": "approved"}, now
    )
    return plan


def plan_progress(session: Session, plan: Plan) -> list[dict[str, Any]]:
    """Per row: planned (entered, or the draws' selections), done and in progress."""
    rows = plan_rows(session, plan)
    ids = [r.id for r in rows]
    done: dict[tuple[int, str], int] = {}
    drawn: dict[int, int] = {}
    if ids:
        for row_id, status, n in session.execute(
            select(Inspection.plan_row_id, Inspection.status, func.count())
            .where(Inspection.plan_row_id.in_(ids))
            .group_by(Inspection.plan_row_id, Inspection.status)
        ):
            done[(row_id, status)] = n
        for row_id, n in session.execute(
            select(Draw.plan_row_id, func.sum(Draw.n_selected))
            .where(Draw.plan_row_id.in_(ids), Draw.status == "drawn")
            .group_by(Draw.plan_row_id)
        ):
            drawn[row_id] = int(n or 0)
    out = []
    for r in rows:
        planned = r.planned_count or drawn.get(r.id, 0)
        finished = done.get((r.id, "done"), 0)
        out.append(
            {
                "row_id": r.id,
                "seq": r.seq,
                "item": r.item,
                "planned": planned,
                "drawn": drawn.get(r.id, 0),
                "done": finished,
                "in_progress": done.get((r.id, "in_progress"), 0) + done.get((r.id, "planned"), 0),
                "percent": round(100 * finished / planned, 1) if planned else 0.0,
            }
        )
    return out


# ---------------------------------------------------------------- inspector pool


def _ids(value: Any, field: str) -> list[int]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list) else str(value).replace("，", ",").split(",")
    try:
        return sorted({int(str(v).strip()) for v in items if str(v).strip()})
    except ValueError:
        raise bad(field, "企业编号：应为整数列表", "enterprise ids: a list of integers") from None


def save_inspector(
    session: Session,
    who: Principal,
    data: dict[str, Any],
    now: datetime,
    inspector_id: int | None = None,
) -> Inspector:
    _require(who, PLANNERS, "当前角色无权维护执法人员库", "your role may not edit the pool")
    row = None
    if inspector_id is not None:
        row = get_inspector(session, who, inspector_id)
    division = _division(
        session, who, data.get("division_code") or (row.division_code if row else None)
    )
    username = _clean(data.get("username"), "username", 64, "账号", "username") or None
    if username and session.scalar(select(User.id).where(User.username == username)) is None:
        raise bad("username", "账号：不存在", "username: no such user")
    duty = data.get("duty") or "inspector"
    if duty not in rules.ROLES:
        raise bad("duty", "职责：应为 inspector/legal_reviewer/office_head", "duty: unknown")
    values = {
        "name": _clean(data.get("name"), "name", 64, "姓名", "name", True),
        "username": username,
        "office": _clean(data.get("office"), "office", 100, "科室", "office"),
        "division_code": division,
        "duty": duty,
        "certificate_no": _clean(
            data.get("certificate_no"), "certificate_no", 32, "执法证号", "certificate number", True
        ),
        "certificate_expires": _date(
            data.get("certificate_expires"),
            "certificate_expires",
            "证件有效期",
            "certificate expiry",
        ),
        "related_enterprise_ids": _ids(
            data.get("related_enterprise_ids"), "related_enterprise_ids"
        ),
        "former_employer_ids": _ids(data.get("former_employer_ids"), "former_employer_ids"),
        "active": data.get("active", True) not in (False, "false", "0", 0),
    }
    other = (
        session.scalar(
            select(Inspector.id).where(
                Inspector.username == username, Inspector.id != (inspector_id or -1)
            )
        )
        if username
        else None
    )
    if other:
        raise Conflict("该账号已在执法人员库中", "this account is already in the pool")
    before = row_dict(row) if row else None
    if row is None:
        row = Inspector(**values, updated_at=now)
        session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = now
    session.flush()
    _audit(
        session,
        who,
        "update" if before else "create",
        "inspector",
        row.id,
        before,
        row_dict(row),
        now,
    )
    return row


def get_inspector(session: Session, who: Principal, inspector_id: int) -> Inspector:
    _government(who)
    row = session.get(Inspector, inspector_id)
    if row is None or not who.covers(row.division_code):
        raise NotFound("执法人员", "inspector")
    return row


def list_inspectors(session: Session, who: Principal) -> list[Inspector]:
    _government(who)
    return list(
        session.scalars(
            select(Inspector)
            .where(code_within(Inspector.division_code, who.prefix))
            .order_by(Inspector.division_code, Inspector.name)
        )
    )


def inspector_of(session: Session, who: Principal) -> Inspector | None:
    return session.scalar(
        select(Inspector).where(Inspector.username == who.username, Inspector.active.is_(True))
    )


def _pool_for(session: Session, division: str) -> list[Inspector]:
    """Active law-enforcement officers who may serve in ``division``: its own and above."""
    rows = session.scalars(
        select(Inspector).where(Inspector.active.is_(True), Inspector.duty == "inspector")
    )
    return [
        i
        for i in rows
        if division.startswith(division_prefix(i.division_code))
        or i.division_code.startswith(division_prefix(division))
    ]


# ---------------------------------------------------------------- 双随机 draws


def _pools(
    session: Session, division: str, section: str | None, on: date
) -> tuple[list[drawing.Target], list[drawing.Inspector], dict[str, list[str]]]:
    stmt = select(Enterprise.id, Enterprise.division_code, Enterprise.industry_code).where(
        code_within(Enterprise.division_code, division_prefix(division)),
        Enterprise.archived.is_(False),
    )
    if section:
        stmt = stmt.where(Enterprise.industry_section == section)
    cls = dict(
        session.execute(
            select(SupervisionClass.enterprise_id, SupervisionClass.class_key).where(
                code_within(SupervisionClass.division_code, division_prefix(division))
            )
        ).all()
    )
    targets = [
        drawing.Target(str(i), d, ind or "", cls.get(i, "D"), cls.get(i) == "A")
        for i, d, ind in session.execute(stmt)
    ]
    inspectors = [
        drawing.Inspector(
            str(i.id),
            i.office,
            i.certificate_expires,
            frozenset(str(x) for x in i.related_enterprise_ids or []),
            frozenset(str(x) for x in i.former_employer_ids or []),
        )
        for i in _pool_for(session, division)
    ]
    last = session.scalar(
        select(Draw)
        .where(Draw.division_code == division, Draw.status == "drawn")
        .order_by(Draw.drawn_at.desc(), Draw.id.desc())
        .limit(1)
    )
    previous = {
        t: list(ids)
        for t, ids in ((last.result or {}).get("assignments", {}) if last else {}).items()
    }
    return targets, inspectors, previous


def pools_json(
    targets: list[drawing.Target],
    inspectors: list[drawing.Inspector],
    previous: dict[str, list[str]],
) -> dict[str, Any]:
    return {
        "targets": [
            [t.id, t.division, t.industry, t.supervision_class, t.key_unit] for t in targets
        ],
        "inspectors": [
            [
                i.id,
                i.office,
                i.certificate_expires.isoformat(),
                sorted(i.related_ids),
                sorted(i.former_employer_ids),
            ]
            for i in inspectors
        ],
        "previous": previous,
    }


def pools_from(
    data: dict[str, Any],
) -> tuple[list[drawing.Target], list[drawing.Inspector], dict[str, list[str]]]:
    targets = [
        drawing.Target(str(a), str(b), str(c), str(d), bool(e)) for a, b, c, d, e in data["targets"]
    ]
    inspectors = [
        drawing.Inspector(str(a), str(b), date.fromisoformat(c), frozenset(r), frozenset(f))
        for a, b, c, r, f in data["inspectors"]
    ]
    return targets, inspectors, {k: list(v) for k, v in (data.get("previous") or {}).items()}


def create_draw(session: Session, who: Principal, data: dict[str, Any], now: datetime) -> Draw:
    """Fix the pools and commit to a fresh seed: the commitment goes into the audit log now,
    before anyone (the server included) has run the draw."""
    _require(who, PLANNERS, "当前角色无权组织抽查", "your role may not organise a draw")
    division = _division(session, who, data.get("division_code"))
    row_id = data.get("plan_row_id") or None
    share = data.get("share")
    section = str(data.get("industry_section") or "").strip().upper() or None
    if row_id is not None:
        row = session.get(PlanRow, _int(row_id, "plan_row_id", "计划行", "plan row", 1))
        plan = session.get(Plan, row.plan_id) if row else None
        if row is None or plan is None or not who.covers(plan.division_code):
            raise bad("plan_row_id", "计划行：不存在", "plan row: not found")
        if plan.status != "approved":
            raise Conflict("计划尚未批准，不能据此抽查", "the plan is not approved yet")
        row_id, share, section = row.id, share or row.random_share, section or row.industry_section
    share_s = _share(share, "share")
    per_target = _int(
        data.get("per_target", 2), "per_target", "每户执法人员", "inspectors per target", 2, 10
    )
    on = _date(data.get("draw_date") or local_date(now), "draw_date", "抽查日期", "draw date")
    title = _clean(data.get("title"), "title", 200, "抽查名称", "title") or f"{on.year}年双随机抽查"
    targets, inspectors, previous = _pools(session, division, section, on)
    errors = []
    if not targets:
        errors.append(FieldError("targets", "检查对象库为空", "the target pool is empty"))
    valid = [i for i in inspectors if i.certificate_expires >= on]
    if len(valid) < per_target:
        errors.append(
            FieldError(
                "inspectors",
                f"持有效执法证的执法人员仅 {len(valid)} 名，少于每户 {per_target} 名",
                f"only {len(valid)} inspectors hold a valid certificate (< {per_target})",
            )
        )
    if errors:
        raise Invalid(errors)
    seed = drawing.new_seed()
    frac = Fraction(share_s)
    fp = drawing.fingerprint(targets, inspectors, previous, on, frac, per_target)
    d = Draw(
        division_code=division,
        title=title,
        plan_row_id=row_id,
        industry_section=section,
        draw_date=on,
        share=share_s,
        per_target=per_target,
        status="committed",
        commitment=drawing.commitment(seed),
        fingerprint=fp,
        seed_hex=seed.hex(),
        pools=pools_json(targets, inspectors, previous),
        n_targets=len(targets),
        created_by=who.username,
        committed_at=now,
    )
    session.add(d)
    session.flush()
    _audit(session, who, "commit", "draw", d.id, None, committed_dict(d), now)
    return d


def committed_dict(d: Draw) -> dict[str, Any]:
    return {
        "division_code": d.division_code,
        "title": d.title,
        "draw_date": d.draw_date.isoformat(),
        "share": d.share,
        "per_target": d.per_target,
        "commitment": d.commitment,
        "fingerprint": d.fingerprint,
        "n_targets": d.n_targets,
        "n_inspectors": len(d.pools.get("inspectors", [])),
    }


def get_draw(session: Session, who: Principal, draw_id: int, for_update: bool = False) -> Draw:
    _government(who)
    d = session.get(Draw, draw_id, with_for_update=for_update or None)
    if d is None or not who.covers(d.division_code):
        raise NotFound("抽查", "draw")
    return d


def run_draw(session: Session, who: Principal, draw_id: int, now: datetime) -> Draw:
    """Run a committed draw once; the result, the revealed seed and the new inspections are
    recorded together. A second run is refused: the result is fixed by the commitment."""
    d = get_draw(session, who, draw_id, for_update=True)
    _require(who, PLANNERS, "当前角色无权组织抽查", "your role may not organise a draw")
    if d.status != "committed":
        raise Conflict("该抽查已执行，结果不可重抽", "the draw has run; it cannot be re-run")
    targets, inspectors, previous = pools_from(d.pools)
    with rules_errors():
        result = drawing.draw(
            targets,
            inspectors,
            bytes.fromhex(d.seed_hex),
            d.draw_date,
            Fraction(d.share),
            d.per_target,
            previous,
        )
    if result.fingerprint != d.fingerprint:  # the stored pools were edited after the commit
        raise Conflict("对象库与承诺时不一致，不能抽取", "the pools differ from those committed")
    d.result = result.as_dict()
    d.status, d.drawn_at, d.n_selected = "drawn", now, len(result.assignments)
    ents = names_of(session, {int(t) for t, _ in result.assignments})
    row = session.get(PlanRow, d.plan_row_id) if d.plan_row_id else None
    created: list[Inspection] = []
    for t, ids in result.assignments:
        e = ents[int(t)]
        created.append(
            Inspection(
                draw_id=d.id,
                plan_row_id=d.plan_row_id,
                enterprise_id=e.id,
                division_code=e.division_code,
                industry_code=e.industry_code,
                inspector_ids=[int(i) for i in ids],
                status="planned",
                scheduled_on=d.draw_date,
                created_by=who.username,
                created_at=now,
                updated_at=now,
                summary=row.item if row else "",
            )
        )
    session.add_all(created)
    session.flush()
    notices.inspections_assigned(
        session, created, now, draw=d, names={k: e.name for k, e in ents.items()}
    )
    _audit(
        session,
        who,
        "draw",
        "draw",
        d.id,
        {"status": "committed"},
        {
            "status": "drawn",
            "seed": d.seed_hex,
            "commitment": d.commitment,
            "fingerprint": d.fingerprint,
            "selected": d.n_selected,
            "key_targets": list(result.key_targets),
            "random_targets": list(result.random_targets),
        },
        now,
    )
    return d


def publish_draw(session: Session, who: Principal, draw_id: int, now: datetime) -> Draw:
    d = get_draw(session, who, draw_id, for_update=True)
    _require(who, APPROVERS | {"inspector"}, "当前角色无权公示", "your role may not publish")
    if d.status != "drawn":
        raise Conflict("抽查尚未执行，不能公示", "the draw has not run yet")
    if d.published:
        raise Conflict("已公示", "already published")
    d.published, d.published_at = True, now
    session.flush()
    _audit(session, who, "publish", "draw", d.id, {"published": False}, {"published": True}, now)
    return d


def list_draws(session: Session, who: Principal | None, published_only: bool = False) -> list[Draw]:
    return list(session.scalars(_draws(select(Draw), who, published_only)))


# What a list of draws shows: not the pools and results (JSON of every target and inspector).
DRAW_LIST_COLUMNS = (Draw.id, Draw.title, Draw.division_code, Draw.draw_date, Draw.share)
DRAW_LIST_COLUMNS += (Draw.n_targets, Draw.n_selected, Draw.status, Draw.published)


def draw_rows(session: Session, who: Principal | None, published_only: bool = False) -> list[Any]:
    """`list_draws` as plain rows of DRAW_LIST_COLUMNS, for pages that list them."""
    return list(session.execute(_draws(select(*DRAW_LIST_COLUMNS), who, published_only)))


def _draws(stmt: Any, who: Principal | None, published_only: bool) -> Any:
    stmt = stmt.order_by(Draw.committed_at.desc(), Draw.id.desc()).limit(200)
    if published_only or who is None:
        return stmt.where(Draw.published.is_(True))
    _government(who)
    return stmt.where(code_within(Draw.division_code, who.prefix))


def public_draw(session: Session, draw_id: int) -> Draw:
    d = session.get(Draw, draw_id)
    if d is None or not d.published:
        raise NotFound("抽查结果", "draw result")
    return d


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    zh: str
    en: str


def verify_draw(session: Session, draw_id: int) -> tuple[bool, list[Check]]:
    """Anyone's check of a draw: the commitment was in the audit log before the result, the
    revealed seed matches it, and re-running the recorded pools gives exactly the result."""
    d = session.get(Draw, draw_id)
    if d is None or d.status != "drawn" or d.result is None:
        raise NotFound("已执行的抽查", "drawn draw")
    entries = {
        e.action: e
        for e in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == "enf_draw", AuditEntry.object_id == str(d.id))
            .order_by(AuditEntry.seq)
        )
    }
    commit, ran = entries.get("commit"), entries.get("draw")
    out: list[Check] = []
    ok_order = bool(commit and ran and commit.seq < ran.seq)
    out.append(
        Check(
            "order",
            ok_order,
            f"承诺值记入审计日志（第 {commit.seq if commit else '—'} 条）早于抽取（第 {ran.seq if ran else '—'} 条）",
            f"commitment logged (entry {commit.seq if commit else '—'}) before the draw "
            f"(entry {ran.seq if ran else '—'})",
        )
    )
    logged = (commit.after or {}).get("commitment") if commit else None
    out.append(
        Check(
            "logged_commitment",
            logged == d.commitment,
            "审计日志中的承诺值与公示的一致"
            if logged == d.commitment
            else "审计日志中的承诺值与公示的不同",
            "the logged commitment is the published one"
            if logged == d.commitment
            else "the logged commitment differs from the published one",
        )
    )
    try:
        seed = bytes.fromhex(d.seed_hex)
    except ValueError:
        seed = b""
    result = drawing.DrawResult(
        d.result["commitment"],
        d.result["fingerprint"],
        date.fromisoformat(d.result["on"]),
        d.result["share"],
        d.result["per_target"],
        tuple(d.result["key_targets"]),
        tuple(d.result["random_targets"]),
        tuple((t, tuple(ids)) for t, ids in sorted(d.result["assignments"].items())),
        d.result["expired_excluded"],
    )
    targets, inspectors, previous = pools_from(d.pools)
    v = drawing.verify(result, seed, targets, inspectors, previous)
    out.append(Check("rerun", v.ok, v.explanation_zh, v.explanation_en))
    same = result.commitment == d.commitment and result.fingerprint == d.fingerprint
    out.append(
        Check(
            "published",
            same,
            "结果中的承诺值与指纹与公示的一致" if same else "结果中的承诺值或指纹与公示的不同",
            "the result carries the published commitment and fingerprint"
            if same
            else "the result's commitment or fingerprint differs",
        )
    )
    return all(c.ok for c in out), out


# ---------------------------------------------------------------- inspections


def inspection_clause(who: Principal) -> Any:
    return scope.clause(who, INSPECTION_SHAPE)


def inspection_visible(who: Principal, i: Inspection) -> bool:
    return scope.sees(
        who,
        INSPECTION_SHAPE,
        i.division_code,
        enterprise_id=i.enterprise_id,
        industry_code=i.industry_code,
    )


def get_inspection(
    session: Session, who: Principal, inspection_id: int, for_update: bool = False
) -> Inspection:
    i = session.get(Inspection, inspection_id, with_for_update=for_update or None)
    if i is None or not inspection_visible(who, i):
        raise NotFound("检查记录", "inspection")
    return i


def list_inspections(
    session: Session,
    who: Principal,
    status: str | None = None,
    enterprise_id: int | None = None,
    draw_id: int | None = None,
    page: int = 1,
    size: int = 50,
) -> tuple[list[Inspection], int]:
    stmt = select(Inspection).where(inspection_clause(who))
    if status:
        stmt = stmt.where(Inspection.status == status)
    if enterprise_id:
        stmt = stmt.where(Inspection.enterprise_id == enterprise_id)
    if draw_id:
        stmt = stmt.where(Inspection.draw_id == draw_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    size = max(1, min(size, MAX_PAGE_SIZE))
    items = session.scalars(
        stmt.order_by(Inspection.scheduled_on.desc(), Inspection.id.desc())
        .limit(size)
        .offset((max(1, page) - 1) * size)
    )
    return list(items), total


def my_inspections(session: Session, who: Principal, limit: int = 200) -> list[Inspection]:
    """The open inspections the caller is on (the phone's start list)."""
    me = inspector_of(session, who)
    if me is None:
        return []
    stmt = (
        select(Inspection)
        .where(inspection_clause(who), Inspection.status != "done")
        .order_by(Inspection.scheduled_on, Inspection.id)
    )
    # inspector_ids is a JSON list: filtered here, not in SQL, so SQLite and PostgreSQL agree.
    return [i for i in session.scalars(stmt) if me.id in (i.inspector_ids or [])][:limit]


def _check_team(session: Session, ids: list[int], ent: Enterprise, on: date) -> list[Inspector]:
    """At least two inspectors, each with a valid certificate and no conflict with the target."""
    if len(set(ids)) < drawing.MIN_PER_TARGET:
        raise bad("inspector_ids", "执法人员：至少两名", "inspectors: at least two")
    team = []
    errors = []
    for n, i in enumerate(sorted(set(ids))):
        ins = session.get(Inspector, i)
        if ins is None or not ins.active:
            errors.append(
                FieldError(
                    f"inspector_ids[{n}]", f"执法人员 {i}：不存在", f"inspector {i}: not found"
                )
            )
            continue
        if ins.certificate_expires < on:
            errors.append(
                FieldError(
                    f"inspector_ids[{n}]",
                    f"{ins.name} 的执法证已于 {ins.certificate_expires} 过期",
                    f"{ins.name}'s certificate expired on {ins.certificate_expires}",
                )
            )
        if ent.id in (ins.related_enterprise_ids or []) or ent.id in (
            ins.former_employer_ids or []
        ):
            errors.append(
                FieldError(
                    f"inspector_ids[{n}]",
                    f"{ins.name} 与 {ent.name} 存在利害关系，应当回避",
                    f"{ins.name} has a conflict of interest with {ent.name}",
                )
            )
        team.append(ins)
    if errors:
        raise Invalid(errors)
    return team


def create_inspection(
    session: Session, who: Principal, data: dict[str, Any], now: datetime
) -> Inspection:
    """A planned inspection outside a draw (key units, complaints, follow-ups)."""
    _require(who, PLANNERS, "当前角色无权安排检查", "your role may not schedule an inspection")
    ent = enterprise_for(session, who, data.get("enterprise_id"))
    on = _date(data.get("scheduled_on") or local_date(now), "scheduled_on", "检查日期", "date")
    ids = _ids(data.get("inspector_ids"), "inspector_ids")
    _check_team(session, ids, ent, on)
    checklist_id = data.get("checklist_id") or None
    if checklist_id is not None:
        checklist_id = hd_checks.get_checklist(
            session, who, _int(checklist_id, "checklist_id", "检查表", "checklist", 1)
        ).id
    row_id = data.get("plan_row_id") or None
    i = Inspection(
        enterprise_id=ent.id,
        division_code=ent.division_code,
        industry_code=ent.industry_code,
        inspector_ids=ids,
        checklist_id=checklist_id,
        status="planned",
        scheduled_on=on,
        plan_row_id=int(row_id) if row_id else None,
        summary=_clean(data.get("summary"), "summary", 2000, "检查事项", "subject"),
        created_by=who.username,
        created_at=now,
        updated_at=now,
    )
    session.add(i)
    session.flush()
    _audit(session, who, "create", "inspection", i.id, None, row_dict(i), now)
    notices.inspections_assigned(session, [i], now, names={ent.id: ent.name})
    return i


def _field_member(session: Session, who: Principal, i: Inspection) -> None:
    """Only the assigned inspectors (or an administrator) fill in the record."""
    if who.role == "admin":
        return
    me = inspector_of(session, who) if who.role in FIELD else None
    if me is None or me.id not in (i.inspector_ids or []):
        raise Forbidden(
            "只有本次检查的执法人员可以填写记录", "only the assigned inspectors record it"
        )


def _open_inspection(session: Session, who: Principal, inspection_id: int) -> Inspection:
    i = get_inspection(session, who, inspection_id, for_update=True)
    _field_member(session, who, i)
    if i.status == "done":
        raise Conflict("检查已完成，记录不能再修改", "the inspection is finished; it cannot change")
    return i


def _point(data: dict[str, Any]) -> tuple[float | None, float | None]:
    lon, lat = data.get("lon"), data.get("lat")
    if lon in (None, "") or lat in (None, ""):
        return None, None
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise bad("lon", "位置：经纬度应为数字", "location: numbers expected") from None
    if not (73 <= x <= 136 and 3 <= y <= 54):
        raise bad("lon", "位置：不在中国境内", "location: outside China")
    return x, y


def save_results(
    session: Session, who: Principal, inspection_id: int, data: dict[str, Any], now: datetime
) -> Inspection:
    """Checklist answers (partial saves allowed) and where the inspectors stand."""
    i = _open_inspection(session, who, inspection_id)
    before = row_dict(i)
    if data.get("checklist_id"):
        i.checklist_id = hd_checks.get_checklist(
            session, who, _int(data["checklist_id"], "checklist_id", "检查表", "checklist", 1)
        ).id
    items = (
        {it.id: it for it in hd_checks.items_of(session, i.checklist_id)} if i.checklist_id else {}
    )
    results = dict(i.results or {})
    raw = data.get("results") or {}
    if not isinstance(raw, dict):
        raise bad("results", "检查结果：格式应为对象", "results: must be an object")
    errors = []
    for key, value in raw.items():
        try:
            item_id = int(key)
        except ValueError:
            item_id = -1
        value = value if isinstance(value, dict) else {"result": value}
        if item_id not in items:
            errors.append(
                FieldError(
                    f"results.{key}", "检查项：不在本检查表中", "item: not on this checklist"
                )
            )
        elif value.get("result") not in RESULTS:
            errors.append(
                FieldError(
                    f"results.{key}",
                    f"第{items[item_id].seq}项：请选择合格/不合格/不适用",
                    "choose passed/failed/n/a",
                )
            )
        else:
            results[str(item_id)] = {
                "result": value["result"],
                "note": _clean(value.get("note"), f"results.{key}.note", 500, "说明", "note"),
            }
    if errors:
        raise Invalid(errors)
    lon, lat = _point(data)
    if lon is not None:
        i.lon, i.lat = lon, lat
    i.results = results
    if i.status == "planned":
        i.status, i.started_at = "in_progress", now
    i.updated_at = now
    session.flush()
    _audit(session, who, "record", "inspection", i.id, before, row_dict(i), now)
    return i


def add_finding(
    session: Session,
    who: Principal,
    inspection_id: int,
    data: dict[str, Any],
    photos: list[bytes],
    now: datetime,
) -> Finding:
    """A finding with photos and place: a hidden danger goes into the hazards loop, a
    violation opens a case (clue); both link back here."""
    i = _open_inspection(session, who, inspection_id)
    kind = data.get("kind")
    if kind not in FINDING_KINDS:
        raise bad("kind", "问题性质：应为事故隐患或违法行为", "kind: hidden_danger or violation")
    text = _clean(data.get("description"), "description", 2000, "问题描述", "description", True)
    if len(text) < 2:
        raise bad("description", "问题描述：长度不能少于2", "description: at least 2 characters")
    violation = circumstance = None
    if kind == "violation":
        violation, circumstance = (
            str(data.get("violation") or ""),
            str(data.get("circumstance") or ""),
        )
        with rules_errors():
            table().propose(violation, circumstance)
    item_id = data.get("item_id") or None
    if item_id is not None:
        item_id = _int(item_id, "item_id", "检查项", "item", 1)
    lon, lat = _point(data)
    if lon is None:
        lon, lat = i.lon, i.lat
    names = uploads.save_all(photos, "photos") if photos else []
    f = Finding(
        inspection_id=i.id,
        item_id=item_id,
        kind=kind,
        description=text,
        violation=violation,
        circumstance=circumstance,
        photos=names,
        lon=lon,
        lat=lat,
        created_by=who.username,
        created_at=now,
    )
    session.add(f)
    session.flush()
    ent = session.get(Enterprise, i.enterprise_id)
    assert ent is not None
    if kind == "hidden_danger":
        hd = hd_service.report(
            session,
            who,
            {
                "title": text[:200],
                "description": text,
                "source": "enforcement",
                "enterprise_id": ent.id,
                "lon": lon,
                "lat": lat,
                "suggested_grade": data.get("suggested_grade") or None,
            },
            names,
            now,
        )
        f.hidden_danger_id = hd.id
    else:
        case = _new_case(
            session,
            who,
            ent,
            violation or "",
            circumstance or "",
            text,
            now,
            inspection_id=i.id,
            finding_id=f.id,
        )
        f.case_id = case.id
    if i.status == "planned":
        i.status, i.started_at = "in_progress", now
    i.updated_at = now
    session.flush()
    _audit(session, who, "finding", "inspection", i.id, None, row_dict(f), now)
    return f


def findings_of(session: Session, inspection_id: int) -> list[Finding]:
    return list(
        session.scalars(
            select(Finding).where(Finding.inspection_id == inspection_id).order_by(Finding.id)
        )
    )


def finding_with_photo(session: Session, who: Principal, name: str) -> Finding | None:
    """The finding a stored photo belongs to, if the caller may see its inspection."""
    if uploads.path_of(name) is None:  # only our generated names (hex + extension)
        return None
    for f in session.scalars(select(Finding).where(cast(Finding.photos, Text).contains(name))):
        i = session.get(Inspection, f.inspection_id)
        if i is not None and inspection_visible(who, i):
            return f
    return None


def _inspector_names(session: Session, ids: list[int]) -> list[Inspector]:
    if not ids:
        return []
    return list(
        session.scalars(select(Inspector).where(Inspector.id.in_(ids)).order_by(Inspector.id))
    )


def finish_inspection(
    session: Session, who: Principal, inspection_id: int, data: dict[str, Any], now: datetime
) -> Inspection:
    """Sign and close the record; the 现场检查记录 is issued, and a 责令限期整改指令书 when
    hidden dangers were found."""
    i = _open_inspection(session, who, inspection_id)
    before = row_dict(i)
    party = _clean(
        data.get("party_present"), "party_present", 64, "现场负责人", "party present", True
    )
    summary = _clean(data.get("summary"), "summary", 2000, "检查情况", "summary") or i.summary
    days = _int(
        data.get("rectify_days", 30), "rectify_days", "整改期限天数", "days to rectify", 1, 180
    )
    items = (
        {it.id: it for it in hd_checks.items_of(session, i.checklist_id)} if i.checklist_id else {}
    )
    missing = [it.seq for it in items.values() if str(it.id) not in (i.results or {})]
    if missing:
        raise bad(
            "results",
            f"检查表第 {missing[0]} 项尚未填写",
            f"checklist item {missing[0]} is not answered",
        )
    team = _inspector_names(session, i.inspector_ids)
    drawn = _signatures(data.get("signatures"), team, party)
    i.status, i.finished_at, i.party_present, i.summary = "done", now, party, summary
    i.started_at = i.started_at or now
    i.signatures = {"inspectors": [t.name for t in team], "party": party, "at": iso(now)}
    if drawn is not None:
        stored = {key: signatures.save(png) for key, png in drawn.items()}
        i.signatures["images"] = [
            {"key": key, "name": name, "png": stored[key][0], "sha256": stored[key][1]}
            for key, name in [*((str(t.id), t.name) for t in team), ("party", party)]
        ]
    i.updated_at = now
    session.flush()
    ent = session.get(Enterprise, i.enterprise_id)
    assert ent is not None
    found = findings_of(session, i.id)
    values = _inspection_values(session, i, ent, team, found, items, now, days)
    signed = [
        ["检查人员" if x["key"] != "party" else "被检查单位现场负责人", x["name"], x["png"]]
        for x in signature_images(i)
    ]
    issue_document(
        session, who, "inspection_record", values, ent, now, inspection_id=i.id, signed=signed
    )
    if any(f.kind == "hidden_danger" for f in found):
        issue_document(session, who, "rectification_order", values, ent, now, inspection_id=i.id)
    _audit(session, who, "finish", "inspection", i.id, before, row_dict(i), now)
    return i


def _signatures(raw: Any, team: list[Inspector], party: str) -> dict[str, bytes] | None:
    """The hand-drawn signatures, when given: every inspector of the team (by pool id) and the
    enterprise's representative ("party"), each a PNG with ink — all errors at once, 422."""
    if raw is None:
        return None  # an API client whose record is signed on paper: names only
    if not isinstance(raw, dict):
        raise bad("signatures", "签名：格式无效", "signatures: must be an object")
    out: dict[str, bytes] = {}
    errors: list[FieldError] = []
    signers = [(str(t.id), f"检查人员{t.name}", f"inspector {t.name}") for t in team]
    for key, zh, en in [*signers, ("party", f"现场负责人{party}", "party representative")]:
        png, error = signatures.check(raw.get(key), f"signatures.{key}", zh, en)
        if error is not None:
            errors.append(error)
        elif png is not None:
            out[key] = png
    if errors:
        raise Invalid(errors)
    return out


def signature_images(i: Inspection) -> list[dict[str, Any]]:
    return list((i.signatures or {}).get("images") or [])


def signature_pngs(i: Inspection) -> set[str]:
    return {x["png"] for x in signature_images(i)}


def _local(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return "—"
    local = as_utc(value).astimezone(BEIJING)  # type: ignore[union-attr]
    return local.strftime("%Y年%m月%d日 %H:%M" if with_time else "%Y年%m月%d日")


def _office(session: Session, division_code: str) -> str:
    # Kept for the session: a Division read by get() is only weakly held, so each document
    # would otherwise read it (and flush whatever is pending) again.
    known: dict[str, str] = session.info.setdefault("enf_offices", {})
    if division_code[:6] not in known:
        d = session.get(Division, division_code[:6])
        known[division_code[:6]] = f"{d.name if d else ''}{OFFICE}"
    return known[division_code[:6]]


def _inspection_values(
    session: Session,
    i: Inspection,
    ent: Enterprise,
    team: list[Inspector],
    found: list[Finding],
    items: dict[int, Any],
    now: datetime,
    days: int,
) -> dict[str, Any]:
    results = i.results or {}
    failed = [
        f"{items[int(k)].seq}. {items[int(k)].text}（{v.get('note') or '不合格'}）"
        for k, v in results.items()
        if v.get("result") == "failed" and int(k) in items
    ]
    counts = {r: sum(1 for v in results.values() if v.get("result") == r) for r in RESULTS}
    checklist = hd_service.checklist_name(session, i.checklist_id) if i.checklist_id else None
    return {
        "enterprise": ent.name,
        "uscc": ent.uscc,
        "address": ent.address,
        "started": _local(i.started_at),
        "finished": _local(i.finished_at),
        "inspectors": "、".join(t.name for t in team),
        "certificates": "、".join(f"{t.name} {t.certificate_no}" for t in team),
        "basis": "《中华人民共和国安全生产法》第六十五条",
        "checklist": f"{checklist or '—'}（合格 {counts['passed']} 项，不合格 {counts['failed']} 项，不适用 {counts['na']} 项）",
        "results": i.summary or "；".join(failed) or "未发现问题",
        "findings": "；".join(f"{n}. {f.description}" for n, f in enumerate(found, 1))
        or "未发现问题",
        "party_present": i.party_present,
        "inspector_signatures": "、".join(t.name for t in team),
        "party_signature": i.party_present,
        "deadline": _local(now + timedelta(days=days), False),
        "office": _office(session, i.division_code),
        "issued": _local(now, False),
    }


# ---------------------------------------------------------------- documents


def _doc_number(session: Session, kind: str, division: str, now: datetime) -> str:
    short = {
        "inspection_record": "检记",
        "rectification_order": "责改",
        "case_filing": "立",
        "penalty_notice": "罚告",
        "penalty_decision": "罚决",
        "closing_approval": "结",
    }[kind]
    year = local_date(now).year
    n = (
        session.scalar(
            select(func.count()).where(
                Document.kind == kind,
                Document.division_code == division,
                Document.issued_at >= year_start(year),
            )
        )
        or 0
    ) + 1
    return f"应急{short}〔{year}〕{division[:6]}-{n:04d}号"


def issue_document(
    session: Session,
    who: Principal,
    kind: str,
    values: dict[str, Any],
    ent: Enterprise,
    now: datetime,
    case_id: int | None = None,
    inspection_id: int | None = None,
    signed: list[list[str]] | None = None,
) -> Document:
    number = _doc_number(session, kind, ent.division_code, now)
    content = documents.fill(kind, values, number, signed)
    doc = Document(
        case_id=case_id,
        inspection_id=inspection_id,
        enterprise_id=ent.id,
        division_code=ent.division_code,
        kind=kind,
        number=number,
        title=content["title"],
        content=content,
        issued_by=who.username,
        issued_at=now,
    )
    session.add(doc)
    session.flush()
    _audit(
        session,
        who,
        "issue",
        "document",
        doc.id,
        None,
        {
            "kind": kind,
            "number": number,
            "case_id": case_id,
            "inspection_id": inspection_id,
            "sha256": hashlib.sha256(documents.text_of(content).encode()).hexdigest(),
        },
        now,
    )
    notices.document_to_enterprise(session, doc, ent, now)
    return doc


def documents_for(
    session: Session, *, case: Case | None = None, inspection_id: int | None = None
) -> list[Document]:
    clauses = []
    if case is not None:
        clauses.append(Document.case_id == case.id)
        if case.inspection_id:
            clauses.append(Document.inspection_id == case.inspection_id)
    if inspection_id is not None:
        clauses.append(Document.inspection_id == inspection_id)
    if not clauses:
        return []
    return list(
        session.scalars(
            select(Document).where(or_(*clauses)).order_by(Document.issued_at, Document.id)
        )
    )


def get_document(session: Session, who: Principal, doc_id: int) -> Document:
    doc = session.get(Document, doc_id)
    if doc is None:
        raise NotFound("文书", "document")
    if doc.case_id is not None:
        get_case(session, who, doc.case_id)
    elif doc.inspection_id is not None:
        get_inspection(session, who, doc.inspection_id)
    else:
        raise NotFound("文书", "document")
    return doc


def docx_of(session: Session, doc: Document) -> bytes:
    return documents.render_docx(doc.content, _office(session, doc.division_code))


# ---------------------------------------------------------------- cases


def case_clause(who: Principal) -> Any:
    return scope.clause(who, CASE_SHAPE)


def case_visible(who: Principal, c: Case) -> bool:
    return scope.sees(
        who,
        CASE_SHAPE,
        c.division_code,
        enterprise_id=c.enterprise_id,
        industry_code=c.industry_code,
    )


def get_case(session: Session, who: Principal, case_id: int, for_update: bool = False) -> Case:
    c = session.get(Case, case_id, with_for_update=for_update or None)
    if c is None or not case_visible(who, c):
        raise NotFound("案件", "case")
    return c


def _new_case(
    session: Session,
    who: Principal,
    ent: Enterprise,
    violation: str,
    circumstance: str,
    facts: str,
    now: datetime,
    inspection_id: int | None = None,
    finding_id: int | None = None,
    title: str = "",
    party_kind: str = "organisation",
) -> Case:
    with rules_errors():
        rng = table().propose(violation, circumstance)
    name = table().violations[violation][0]
    title = title or f"{ent.name}{name}案"
    c = Case(
        title=title,
        search_text=search_text("", title),
        enterprise_id=ent.id,
        division_code=ent.division_code,
        industry_code=ent.industry_code,
        inspection_id=inspection_id,
        finding_id=finding_id,
        violation=violation,
        circumstance=circumstance,
        facts=facts,
        party_kind=party_kind,
        state="clue",
        opened_at=now,
        fine_min=int(rng.fine_min),
        fine_max=int(rng.fine_max),
        extensions=[],
        history=[],
        inspector_username=who.username,
        updated_at=now,
    )
    session.add(c)
    session.flush()
    _audit(session, who, "open", "case", c.id, None, case_dict(c, now), now)
    return c


def open_case(session: Session, who: Principal, data: dict[str, Any], now: datetime) -> Case:
    _require(who, PLANNERS, "当前角色无权登记案件线索", "your role may not open a case")
    ent = enterprise_for(session, who, data.get("enterprise_id"))
    party = data.get("party_kind") or "organisation"
    if party not in ("organisation", "individual"):
        raise bad(
            "party_kind", "当事人类型：应为单位或个人", "party kind: organisation or individual"
        )
    return _new_case(
        session,
        who,
        ent,
        str(data.get("violation") or ""),
        str(data.get("circumstance") or ""),
        _clean(data.get("facts"), "facts", 4000, "违法事实", "facts", True),
        now,
        title=_clean(data.get("title"), "title", 200, "案件名称", "title"),
        party_kind=party,
    )


def case_role(session: Session, who: Principal) -> str:
    """The caller's part in a case: their duty in the inspector pool; a district officer or
    administrator without one acts as the office head (负责人)."""
    me = inspector_of(session, who)
    if me is not None and who.role in FIELD | APPROVERS:
        return me.duty
    if who.role in APPROVERS:
        return "office_head"
    raise Forbidden("您不在执法人员库中，不能办理案件", "you are not in the inspector pool")


def _pure(c: Case) -> rules.Case:
    proposed = (
        rules.Penalty(Decimal(c.proposed_fine), c.party_kind, frozenset(c.proposed_measures or []))
        if c.proposed_fine is not None
        else None
    )
    return rules.Case(
        str(c.id),
        c.state,
        as_utc(c.opened_at),
        as_utc(c.filed_at),
        proposed,
        as_utc(c.notified_at),  # type: ignore[arg-type]
        tuple(
            rules.Extension(e["days"], e["reason"], e["by"], datetime.fromisoformat(e["at"]))
            for e in c.extensions or []
        ),
    )


def case_range(c: Case) -> discretion.Range:
    """The discretion range for the case: the table's, or — when the city's table no longer
    has this violation or circumstance — the range recorded when the case was opened."""
    try:
        return table().propose(c.violation, c.circumstance)
    except EnforcementInputError:
        lo, hi = Decimal(c.fine_min or 0), Decimal(c.fine_max or 0)
        zh, en, basis = violation_name(c.violation)
        return discretion.Range(
            c.violation,
            c.circumstance,
            lo,
            hi,
            (),
            basis,
            f"{zh}：立案时的裁量幅度 {lo}–{hi} 元（现行裁量基准已无此项）",
            f"{en}: the range when opened, {lo}–{hi} yuan (no longer in the table)",
        )


def _money(value: Any, field: str) -> int:
    return _int(value, field, "罚款（元）", "fine (yuan)", 0, 10**10)


def take_step(
    session: Session, who: Principal, case_id: int, step: str, data: dict[str, Any], now: datetime
) -> Case:
    """One step of the case: the pure state machine decides; documents are issued with it."""
    c = get_case(session, who, case_id, for_update=True)
    role = case_role(session, who)
    before = case_dict(c, now)
    payload: dict[str, Any] = {
        "reason": _clean(data.get("reason"), "reason", 1000, "理由", "reason"),
        "waived": data.get("waived") in (True, "1", "true", "on"),
    }
    if "days" in data:
        payload["days"] = _int(data["days"], "days", "延长天数", "days", 1, 365)
    moves, roles = rules.TRANSITIONS.get(step, ({}, frozenset()))
    if c.state in rules.FINAL or c.state not in moves or role not in roles:
        with rules_errors():  # the state machine's 409/403 (or 422 for an unknown step) first
            rules.apply(_pure(c), step, role, now, payload)
    rng = None
    fine = None
    if step in ("notify", "decide"):
        rng = case_range(c)
        default = c.proposed_fine if step == "decide" else None
        raw = data.get("fine", default)
        if raw in (None, ""):
            raise bad("fine", "罚款（元）：为必填项", "fine: is required")
        fine = _money(raw, "fine")
        with rules_errors():
            decision = discretion.check_decision(rng, fine, payload["reason"] or None)
        measures = data.get("measures") or (c.proposed_measures if step == "decide" else [])
        measures = measures if isinstance(measures, list) else [measures]
        if any(m not in MEASURES for m in measures):
            raise bad("measures", "处罚种类：取值无效", "measures: unknown value")
        if step == "notify":
            payload["penalty"] = rules.Penalty(Decimal(fine), c.party_kind, frozenset(measures))
    with rules_errors():
        after = rules.apply(_pure(c), step, role, now, payload)
    c.state = after.state
    c.filed_at = after.filed_at
    c.notified_at = after.notified_at
    c.extensions = [
        {"days": e.days, "reason": e.reason, "by": e.by_role, "at": as_utc(e.at).isoformat()}  # type: ignore[union-attr]
        for e in after.extensions
    ]
    due = rules.deadline(after)
    c.deadline_at = due
    if step == "file":
        c.number = _case_number(session, c, now)
        c.search_text = search_text(c.number, c.title)
    if step == "notify" and fine is not None:
        c.proposed_fine, c.proposed_measures = fine, sorted(set(measures))
        c.discretion_note = decision.explanation_zh
    if step == "decide" and fine is not None:
        c.decided_fine, c.decided_at = fine, now
        c.proposed_measures = sorted(set(measures))
        c.discretion_note = decision.explanation_zh
    if c.state in rules.FINAL:
        c.closed_at = now
    c.history = [
        *(c.history or []),
        {
            "step": step,
            "from": before["state"],
            "to": c.state,
            "role": role,
            "by": who.username,
            "by_name": display_name(session, who),
            "at": as_utc(now).isoformat(),
            "reason": payload["reason"],
        },  # type: ignore[union-attr]
    ]
    c.updated_at = now
    session.flush()
    kind = {
        "file": "case_filing",
        "notify": "penalty_notice",
        "decide": "penalty_decision",
        "close": "closing_approval",
    }.get(step)
    if kind:
        ent = session.get(Enterprise, c.enterprise_id)
        assert ent is not None
        issue_document(
            session, who, kind, _case_values(session, c, ent, who, now, rng), ent, now, case_id=c.id
        )
    _audit(session, who, step, "case", c.id, before, case_dict(c, now), now)
    return c


def _case_number(session: Session, c: Case, now: datetime) -> str:
    year = local_date(now).year
    n = (
        session.scalar(
            select(func.count()).where(
                Case.division_code == c.division_code, Case.number.like(f"%〔{year}〕%")
            )
        )
        or 0
    ) + 1
    return f"应急罚〔{year}〕{c.division_code[:6]}-{n:04d}号"


def _fine_text(fine: int | None, measures: list[str] | None) -> str:
    parts = [f"罚款人民币 {fine:,} 元" if fine else "不予罚款"]
    parts += [MEASURES[m][0] for m in measures or [] if m in MEASURES]
    return "；".join(parts)


def _case_values(
    session: Session,
    c: Case,
    ent: Enterprise,
    who: Principal,
    now: datetime,
    rng: discretion.Range | None,
) -> dict[str, Any]:
    name, _, basis = violation_name(c.violation)
    hearing = rules.HearingRule().qualifies(
        rules.Penalty(
            Decimal(c.proposed_fine or 0), c.party_kind, frozenset(c.proposed_measures or [])
        )
    )
    execution = "；".join(
        h["reason"] or h["step"] for h in c.history or [] if h["step"] == "execute"
    )
    return {
        "title": c.title,
        "number": c.number,
        "enterprise": ent.name,
        "uscc": ent.uscc,
        "address": ent.address,
        "source": "现场检查发现" if c.inspection_id else "其他途径",
        "violation_name": name,
        "basis": basis,
        "facts": c.facts,
        "circumstance": table().circumstances.get(c.circumstance, (c.circumstance,))[0],
        "range": f"罚款 {c.fine_min:,}–{c.fine_max:,} 元" if c.fine_min is not None else "—",
        "penalty": _fine_text(c.proposed_fine, c.proposed_measures),
        "hearing": "拟作出的处罚符合听证条件，你单位有权在收到本告知书之日起五日内要求听证（第六十三条、第六十四条）。"
        if hearing
        else "",
        "decision": _fine_text(c.decided_fine, c.proposed_measures),
        "discretion_note": c.discretion_note,
        "filed": _local(c.filed_at),
        "closed": _local(now),
        "deadline": _local(c.deadline_at, False),
        "execution": execution or "已按决定履行",
        "inspector": people(session, [c.inspector_username]).get(c.inspector_username, ""),
        "actor": display_name(session, who),
        "office": _office(session, c.division_code),
        "issued": _local(now, False),
    }


@dataclass
class CaseFilters:
    state: str | None = None
    enterprise_id: int | None = None
    violation: str | None = None
    overdue: bool = False
    open_only: bool = False
    page: int = 1
    size: int = 50
    division: str | None = None  # a division code: the cases of it and the divisions under it
    q: str | None = None  # text in the case number or title (the title names the enterprise)


MAX_QUERY = 100


def case_filters_checked(session: Session, who: Principal, f: CaseFilters) -> CaseFilters:
    """The filters with the division and the search text checked: 422 for a malformed or
    unknown division or an overlong text, 404 for a division outside the caller's scope."""
    if f.division:
        f.division = _division(session, who, f.division, "division")
    q = (f.q or "").strip()
    if len(q) > MAX_QUERY:
        raise bad("q", f"搜索：不超过 {MAX_QUERY} 个字", f"search: at most {MAX_QUERY} characters")
    f.q = q or None
    return f


def search_text(number: str, title: str) -> str:
    """What the case list's text search matches: the number and title, lower-cased once here so
    the search is a plain LIKE (a per-row lower() made it three times slower at 100,000)."""
    return f"{number} {title}".lower()[:300]


# Below this many matching cases the page is sorted after filtering (an index serves the filter);
# above it the page walks the newest-first index and stops after one page.
SORT_BELOW = 2000


# How a text search finds its cases. "like": a LIKE, which PostgreSQL's trigram index serves
# (migration enforcement_0004); "fts": SQLite's FTS5 trigram table names the candidates and the
# LIKE stays the rule; "instr"/"strpos": a plain substring test for text no trigram index serves
# (under three characters: PostgreSQL's GIN index would read itself whole, 300 → 850 ms p95).
_FTS_IDS = sql_text("SELECT rowid FROM enf_cases_fts WHERE search_text LIKE :fts_pattern")
_FTS_READY: dict[str, bool] = {}


def _text_mode(session: Session, q: str | None) -> str:
    bind = session.get_bind()
    q = (q or "").lower()
    position = "instr" if bind.dialect.name == "sqlite" else "strpos"
    if len(q) < 3:
        return position
    if bind.dialect.name != "sqlite":
        return "like"
    if any(c in q for c in "%_/"):
        return position
    key = str(bind.engine.url)
    if key not in _FTS_READY:
        _FTS_READY[key] = bool(
            session.scalar(
                select(func.count())
                .select_from(sql_text("sqlite_master"))
                .where(sql_text("type = 'table' AND name = 'enf_cases_fts'"))
            )
        )
    return "fts" if _FTS_READY[key] else position


def _contains(text: str, mode: str) -> Any:
    if mode in ("instr", "strpos"):  # a literal substring, no pattern to parse
        return getattr(func, mode)(Case.search_text, text) > 0
    where = Case.search_text.contains(text, autoescape=True)
    if mode == "fts":
        return and_(where, Case.id.in_(_FTS_IDS.bindparams(fts_pattern=f"%{text}%")))
    return where


def _case_where(
    who: Principal,
    f: CaseFilters,
    now: datetime,
    states: bool = True,
    walk: bool = False,
    mode: str = "like",
) -> list[Any]:
    """WHERE terms of the case list: scope, division, text, enterprise and (``states``) the
    state, violation, open and overdue filters.

    ``walk`` (and any text search) writes the division terms over ``division_code || ''``, which
    no index serves: for a wide division the planner then walks the order index (or, for text,
    scans the table once) instead of looking up nearly every row through the division index
    (SQLite at 100,000: 245 ms → 1 ms for the first page, 430 → 80 ms for a search).
    """
    text = (f.q or "").lower()
    column = Case.division_code.concat("") if walk or text else Case.division_code
    where = [scope.clause(who, replace(CASE_SHAPE, division=column))]
    if f.division:
        where.append(code_within(column, f.division))
    if text:
        where.append(_contains(text, mode))
    if f.enterprise_id:
        where.append(Case.enterprise_id == f.enterprise_id)
    if not states:
        return where
    if f.state:
        where.append(Case.state == f.state)
    if f.violation:
        where.append(Case.violation == f.violation)
    if f.open_only:
        where.append(Case.state.not_in(sorted(rules.FINAL)))
    if f.overdue:
        where.append(and_(Case.state.in_(OPEN_BEFORE_DECISION), Case.deadline_at < now))
    return where


@dataclass
class CaseList:
    items: list[Case]
    total: int
    counts: dict[str, int]  # cases per state under the division, text and enterprise filters


def case_list(session: Session, who: Principal, f: CaseFilters, now: datetime) -> CaseList:
    """One page of cases (newest first), how many match, and the state tabs' counts.

    The counts come first (one pass); the total is read from them unless a filter other than
    the state narrows the list, and their size decides how the page is read.
    """
    if f.q and not (f.violation or f.overdue):
        found = _few_found(session, who, f, now)
        if found is not None:
            return found
    counts = case_state_counts(session, who, f, now)
    mode = _text_mode(session, f.q)
    if f.violation or f.overdue:
        total = (
            session.scalar(
                select(func.count()).select_from(Case).where(*_case_where(who, f, now, mode=mode))
            )
            or 0
        )
    elif f.state:
        total = 0 if f.open_only and f.state in rules.FINAL else counts.get(f.state, 0)
    else:
        total = sum(n for st, n in counts.items() if not (f.open_only and st in rules.FINAL))
    size = max(1, min(f.size, MAX_PAGE_SIZE))
    # Few matches: filter through an index (coalesce() keeps the order index out), then sort.
    # Many: walk the newest-first index; one page lies within about size × all / total rows.
    few = total < SORT_BELOW
    opened = func.coalesce(Case.opened_at, Case.opened_at) if few else Case.opened_at
    items = session.scalars(
        select(Case)
        .where(*_case_where(who, f, now, walk=not few, mode=mode))
        .order_by(opened.desc(), Case.id.desc())
        .limit(size)
        .offset((max(1, f.page) - 1) * size)
    )
    return CaseList(list(items), total, counts)


# A text search reads every row once; when it matches at most this many cases, that one pass
# also gives the counts, the total and the page (SQLite at 100,000: two scans → one).
FEW_FOUND = 5000


def _few_found(session: Session, who: Principal, f: CaseFilters, now: datetime) -> CaseList | None:
    rows = session.execute(
        select(Case.id, Case.state, Case.opened_at)
        .where(*_case_where(who, f, now, False, mode=_text_mode(session, f.q)))
        .limit(FEW_FOUND + 1)
    ).all()
    if len(rows) > FEW_FOUND:
        return None
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    keep = [
        r
        for r in rows
        if (not f.state or r.state == f.state) and not (f.open_only and r.state in rules.FINAL)
    ]
    keep.sort(key=lambda r: (r.opened_at, r.id), reverse=True)
    size = max(1, min(f.size, MAX_PAGE_SIZE))
    start = (max(1, f.page) - 1) * size
    ids = [r.id for r in keep[start : start + size]]
    by_id = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(ids)))} if ids else {}
    return CaseList([by_id[i] for i in ids], len(keep), counts)


def list_cases(
    session: Session, who: Principal, f: CaseFilters, now: datetime
) -> tuple[list[Case], int]:
    """One page of cases, newest first, and how many match (the filters checked beforehand)."""
    page = case_list(session, who, f, now)
    return page.items, page.total


def case_state_counts(
    session: Session, who: Principal, f: CaseFilters, now: datetime
) -> dict[str, int]:
    """Cases per state under the list's division, text and enterprise filters (the tabs)."""
    rows = session.execute(
        select(Case.state, func.count())
        .where(*_case_where(who, f, now, False, mode=_text_mode(session, f.q)))
        .group_by(Case.state)
    )
    return {state: n for state, n in rows}


def history_of(session: Session, c: Case) -> list[dict[str, Any]]:
    """The case's steps, each with who took it by display name: the name recorded with the step,
    else (steps recorded before names were) the account's name now."""
    entries = [dict(h) for h in c.history or []]
    names = people(session, [h.get("by") for h in entries if not h.get("by_name")])
    for h in entries:
        h["by_name"] = h.get("by_name") or names.get(h.get("by") or "", h.get("by") or "")
    return entries


def is_overdue(c: Case, now: datetime) -> bool:
    return (
        c.state in OPEN_BEFORE_DECISION
        and c.deadline_at is not None
        and as_utc(c.deadline_at) < as_utc(now)
    )  # type: ignore[operator]


def case_dict(c: Case, now: datetime | None = None) -> dict[str, Any]:
    out = row_dict(c)
    out["state_label"] = rules.STATES[c.state][0]
    out["overdue"] = bool(now and is_overdue(c, now))
    return out


def allowed_steps(session: Session, who: Principal, c: Case) -> list[str]:
    """Steps the caller could take now (the form shows these; the rules still decide)."""
    try:
        role = case_role(session, who)
    except Forbidden:
        return []
    return [
        s
        for s, (moves, roles) in rules.TRANSITIONS.items()
        if c.state in moves and role in roles and c.state not in rules.FINAL
    ]


def case_file(session: Session, who: Principal, case_id: int) -> bytes:
    """The electronic case file: every document and photo of the case, in order, one PDF."""
    c = get_case(session, who, case_id)
    parts: list[documents.Part] = []
    for doc in documents_for(session, case=c):
        parts.append(documents.Part(f"{doc.title}（{doc.number}）", content=doc.content))
    finding_ids = [c.finding_id] if c.finding_id else []
    if c.inspection_id:
        finding_ids = [f.id for f in findings_of(session, c.inspection_id)]
    n = 0
    findings = [f for f in (session.get(Finding, fid) for fid in finding_ids) if f]
    takers = people(session, [f.created_by for f in findings])
    for f in findings:
        for name in f.photos or []:
            path = uploads.path_of(name)
            if path is not None and path.is_file():
                n += 1
                parts.append(
                    documents.Part(
                        f"现场照片 {n}",
                        photo=path.read_bytes(),
                        caption=f"{f.description}（{_local(f.created_at)}，{takers.get(f.created_by, '')}）",
                    )
                )
    if not parts:
        raise Conflict("案件尚无文书", "the case has no documents yet")
    return documents.case_file_pdf(
        c.title, c.number or f"#{c.id}", parts, _office(session, c.division_code)
    )


# ---------------------------------------------------------------- statistics


def stats(session: Session, who: Principal, year: int, now: datetime) -> dict[str, Any]:
    """Inspections, findings, cases and fines per division, inspector and violation type."""
    _government(who)
    start, end = year_start(year), year_start(year + 1)
    by_div: dict[str, dict[str, int]] = {}
    # Grouped by the full code and folded to the county in Python: PostgreSQL refuses a
    # GROUP BY substr(col, 1, %(p)s) that repeats the select's expression with new parameters.
    for code, status, n in session.execute(
        select(Inspection.division_code, Inspection.status, func.count())
        .where(inspection_clause(who), Inspection.created_at >= start, Inspection.created_at < end)
        .group_by(Inspection.division_code, Inspection.status)
    ):
        row = by_div.setdefault(code[:6], {})
        row["inspections"] = row.get("inspections", 0) + n
        if status == "done":
            row["done"] = row.get("done", 0) + n
    for code, n, fines, overdue in session.execute(
        select(
            Case.division_code,
            func.count(),
            func.coalesce(func.sum(Case.decided_fine), 0),
            func.sum(
                sql_case(
                    (and_(Case.state.in_(OPEN_BEFORE_DECISION), Case.deadline_at < now), 1),
                    else_=0,
                )
            ),
        )
        .where(case_clause(who), Case.opened_at >= start, Case.opened_at < end)
        .group_by(Case.division_code)
    ):
        row = by_div.setdefault(code[:6], {})
        row["cases"] = row.get("cases", 0) + n
        row["fines"] = row.get("fines", 0) + int(fines or 0)
        row["overdue"] = row.get("overdue", 0) + int(overdue or 0)
    by_violation = [
        {
            "violation": v,
            "name": violation_name(v)[0],
            "cases": n,
            "fines": int(fines or 0),
        }
        for v, n, fines in session.execute(
            select(Case.violation, func.count(), func.coalesce(func.sum(Case.decided_fine), 0))
            .where(case_clause(who), Case.opened_at >= start, Case.opened_at < end)
            .group_by(Case.violation)
        )
    ]
    per_inspector: dict[int, int] = {}
    for (ids,) in session.execute(
        select(Inspection.inspector_ids).where(
            inspection_clause(who),
            Inspection.status == "done",
            Inspection.finished_at >= start,
            Inspection.finished_at < end,
        )
    ):
        for i in ids or []:
            per_inspector[int(i)] = per_inspector.get(int(i), 0) + 1
    names = {i.id: i for i in _inspector_names(session, list(per_inspector))}
    divs = (
        {
            d.code: d.name
            for d in session.scalars(select(Division).where(Division.code.in_(list(by_div))))
        }
        if by_div
        else {}
    )
    return {
        "year": year,
        "divisions": [
            {
                "division_code": k,
                "name": divs.get(k, k),
                "inspections": v.get("inspections", 0),
                "done": v.get("done", 0),
                "cases": v.get("cases", 0),
                "fines": v.get("fines", 0),
                "overdue": v.get("overdue", 0),
            }
            for k, v in sorted(by_div.items())
        ],
        "violations": sorted(by_violation, key=lambda r: -r["cases"]),
        "inspectors": sorted(
            (
                {
                    "inspector_id": k,
                    "name": names[k].name if k in names else str(k),
                    "office": names[k].office if k in names else "",
                    "inspections": n,
                }
                for k, n in per_inspector.items()
            ),
            key=lambda r: (-r["inspections"], r["name"]),
        ),
    }


def stats_xlsx(data: dict[str, Any]) -> bytes:
    import io  # noqa: PLC0415 only for the export

    from openpyxl import Workbook  # noqa: PLC0415 openpyxl loaded only for an export

    wb = Workbook()
    sheets = [
        (
            "按区划",
            ["区划代码", "区划", "检查（户次）", "已完成", "案件", "罚款（元）", "超期案件"],
            [
                [
                    r["division_code"],
                    r["name"],
                    r["inspections"],
                    r["done"],
                    r["cases"],
                    r["fines"],
                    r["overdue"],
                ]
                for r in data["divisions"]
            ],
        ),
        (
            "按违法行为",
            ["违法行为", "名称", "案件", "罚款（元）"],
            [[r["violation"], r["name"], r["cases"], r["fines"]] for r in data["violations"]],
        ),
        (
            "按执法人员",
            ["编号", "姓名", "科室", "完成检查（户次）"],
            [
                [r["inspector_id"], r["name"], r["office"], r["inspections"]]
                for r in data["inspectors"]
            ],
        ),
    ]
    for n, (name, head, rows) in enumerate(sheets):
        ws = wb.active if n == 0 else wb.create_sheet()
        ws.title = name
        ws.append(head)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def enterprise_summary(
    session: Session, who: Principal, enterprise_id: int, now: datetime
) -> dict[str, Any]:
    """What 一企一档 shows: class, inspections, cases, penalties and the credit mark."""
    ent = enterprise_for(session, who, enterprise_id)
    row = class_of(session, ent.id)
    ins, n_ins = list_inspections(session, who, enterprise_id=ent.id, size=5)
    cs, n_cases = list_cases(session, who, CaseFilters(enterprise_id=ent.id, size=5), now)
    fines, n_open, n_overdue = session.execute(
        select(
            func.coalesce(func.sum(Case.decided_fine), 0),
            func.sum(sql_case((Case.state.not_in(sorted(rules.FINAL)), 1), else_=0)),
            func.sum(
                sql_case(
                    (and_(Case.state.in_(OPEN_BEFORE_DECISION), Case.deadline_at < now), 1),
                    else_=0,
                )
            ),
        ).where(case_clause(who), Case.enterprise_id == ent.id)
    ).one()
    done = session.scalar(
        select(func.count()).where(
            inspection_clause(who), Inspection.enterprise_id == ent.id, Inspection.status == "done"
        )
    )
    cls = scheme().classes.get(row.class_key) if row else None
    return {
        "enterprise_id": ent.id,
        "class_key": row.class_key if row else None,
        "class_name": (cls[0], cls[1]) if cls else None,
        "class_explanation": (row.explanation_zh, row.explanation_en) if row else None,
        "overridden": bool(row and row.override_reason),
        "inspections_per_year": row.inspections_per_year if row else None,
        "inspections": n_ins,
        "inspections_done": done or 0,
        "cases": n_cases,
        "open_cases": int(n_open or 0),
        "overdue_cases": int(n_overdue or 0),
        "fines": int(fines or 0),
        "credit": (row.facts or {}).get("credit") if row else None,
        "recent_inspections": ins,
        "recent_cases": cs,
        "overdue_ids": {c.id for c in cs if is_overdue(c, now)},
    }


def random_share_count(share: str, n: int) -> int:
    return math.ceil(Fraction(share) * n)
