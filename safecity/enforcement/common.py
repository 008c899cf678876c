"""What the enforcement use cases share: who does what, scope shapes, labels, the discretion
table and class scheme in force, input checks, the audit entry, dates.

The pure rules (classes, draw, cases, discretion) decide; the use-case modules load, apply,
save and write the audit log. The rules' errors map once here: input 422, state 409, role 403.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import audit, scope
from safecity.core.clock import BEIJING
from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from safecity.core.models import AuditEntry, User
from safecity.core.scope import Principal, Shape, is_valid_division_code
from safecity.enforcement import classes, discretion
from safecity.enforcement import settings as enf_settings
from safecity.enforcement.errors import EnforcementInputError, RoleError, StateError
from safecity.enforcement.models import Case, Draw, Inspection, SupervisionClass
from safecity.registry.models import Division, Enterprise

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


def audit_log(
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


def require(who: Principal, allowed: frozenset[str], zh: str, en: str) -> None:
    if who.role not in allowed:
        raise Forbidden(zh, en)


def government_only(who: Principal) -> None:
    require(who, GOVERNMENT, "当前角色无权查看执法计划与抽查", "your role may not read this")


def checked_division(
    session: Session, who: Principal, code: Any, field: str = "division_code"
) -> str:
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


def clean_text(value: Any, field: str, limit: int, zh: str, en: str, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise bad(field, f"{zh}：为必填项", f"{en}: is required")
    if len(text) > limit:
        raise bad(field, f"{zh}：长度不能超过{limit}", f"{en}: at most {limit} characters")
    if any(ch in text for ch in "\x00\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"):
        raise bad(field, f"{zh}：含有不允许的字符", f"{en}: contains a forbidden character")
    return text


def checked_int(value: Any, field: str, zh: str, en: str, lo: int = 0, hi: int = 10**9) -> int:
    if isinstance(value, bool):
        raise bad(field, f"{zh}：应为整数", f"{en}: must be an integer")
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        raise bad(field, f"{zh}：应为整数", f"{en}: must be an integer") from None
    if not lo <= n <= hi:
        raise bad(field, f"{zh}：应在 {lo}–{hi} 之间", f"{en}: must be {lo} to {hi}")
    return n


def checked_date(value: Any, field: str, zh: str, en: str) -> date:
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


def id_list(value: Any, field: str) -> list[int]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list) else str(value).replace("，", ",").split(",")
    try:
        return sorted({int(str(v).strip()) for v in items if str(v).strip()})
    except ValueError:
        raise bad(field, "企业编号：应为整数列表", "enterprise ids: a list of integers") from None
