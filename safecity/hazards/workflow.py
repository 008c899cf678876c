"""The closed loop of a hidden danger (排查→评估→登记→预警→治理→验收→销号) as a pure state machine.

No database, HTTP or clock here: the service passes the facts of one hidden danger, the actor,
the submitted data and `now`, and gets back the new status and the fields to change — or an
error: a transition the state forbids is a Conflict (409), a role that may not act is Forbidden
(403), missing or wrong data is Invalid (422). Nothing is changed in any of those cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from safecity.core.clock import BEIJING
from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid

REPORTED, CONFIRMED, REJECTED, REGISTERED = "reported", "confirmed", "rejected", "registered"
PLAN_SUBMITTED, RECTIFYING, SUBMITTED, CLOSED = (
    "plan_submitted",
    "rectifying",
    "submitted",
    "closed",
)

STATES: dict[str, tuple[str, str]] = {
    REPORTED: ("已上报", "Reported"),
    CONFIRMED: ("已评估", "Confirmed"),
    REJECTED: ("不予认定", "Rejected"),
    REGISTERED: ("已登记预警", "Registered"),
    PLAN_SUBMITTED: ("方案待审批", "Plan awaiting approval"),
    RECTIFYING: ("整改中", "Rectifying"),
    SUBMITTED: ("待验收", "Awaiting acceptance"),
    CLOSED: ("已销号", "Closed"),
}
FINAL = frozenset({REJECTED, CLOSED})
OPEN = frozenset(STATES) - FINAL
# States in which the responsible party owes work against a deadline (the escalation job's scope).
ON_THE_CLOCK = frozenset({REGISTERED, PLAN_SUBMITTED, RECTIFYING})

GENERAL, MAJOR = "general", "major"
GRADES: dict[str, tuple[str, str]] = {
    GENERAL: ("一般事故隐患", "General"),
    MAJOR: ("重大事故隐患", "Major"),
}
SOURCES: dict[str, tuple[str, str]] = {
    "self_inspection": ("企业自查", "Self-inspection"),
    "grid_patrol": ("网格巡查", "Grid patrol"),
    "enforcement": ("执法检查", "Enforcement"),
    "public_report": ("群众举报", "Public report"),
    "monitoring_alarm": ("监测报警", "Monitoring alarm"),
    "emergency_incident": ("突发事件处置", "Emergency incident"),
}
CATEGORIES: dict[str, tuple[str, str]] = {
    "fire": ("消防安全", "Fire safety"),
    "electrical": ("电气安全", "Electrical"),
    "hazchem": ("危险化学品", "Hazardous chemicals"),
    "equipment": ("设备设施", "Equipment"),
    "structure": ("建筑结构", "Structures"),
    "gas": ("燃气安全", "Gas"),
    "management": ("安全管理", "Safety management"),
    "traffic": ("道路交通", "Road traffic"),
    "other": ("其他", "Other"),
}

ASSESSORS = frozenset(
    {"admin", "inspector", "district_officer", "risk_analyst", "department_liaison"}
)
REGISTRARS = frozenset({"admin", "inspector", "district_officer", "department_liaison"})
RECTIFIERS = frozenset({"admin", "inspector", "district_officer", "enterprise_officer"})
ACCEPTORS = frozenset({"admin", "inspector", "district_officer", "department_liaison"})
# Government roles that can hold a major hidden danger's supervision (挂牌督办).
SUPERVISORS = frozenset({"admin", "commander", "inspector", "district_officer"})
REPORTERS = frozenset(
    {
        "admin",
        "commander",
        "duty_officer",
        "risk_analyst",
        "inspector",
        "department_liaison",
        "district_officer",
        "grid_member",
        "enterprise_officer",
        "public",
    }
)


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about one hidden danger."""

    status: str
    grade: str | None = None
    enterprise_id: int | None = None
    supervisor_division_code: str | None = None
    deadline: datetime | None = None
    submitted_at: datetime | None = None
    # Who recorded the rectification (submitted it for acceptance); None when the city has
    # turned separation of duties off, so nobody is barred from accepting their own work.
    rectified_by: str | None = None


@dataclass(frozen=True)
class Actor:
    role: str
    division_code: str
    enterprise_id: int | None = None
    username: str = ""


@dataclass(frozen=True)
class Outcome:
    to_status: str
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    name: str
    zh: str
    en: str
    sources: frozenset[str]
    to: str


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("confirm", "评估认定", "Confirm and grade", frozenset({REPORTED}), CONFIRMED),
        Action("reject", "不予认定", "Reject", frozenset({REPORTED}), REJECTED),
        Action("register", "登记并预警", "Register and warn", frozenset({CONFIRMED}), REGISTERED),
        Action(
            "submit_plan",
            "提交整改方案",
            "Submit rectification plan",
            frozenset({REGISTERED}),
            RECTIFYING,
        ),
        Action(
            "approve_plan", "批准整改方案", "Approve plan", frozenset({PLAN_SUBMITTED}), RECTIFYING
        ),
        Action(
            "reject_plan", "退回整改方案", "Send plan back", frozenset({PLAN_SUBMITTED}), REGISTERED
        ),
        Action(
            "submit_acceptance",
            "申请验收",
            "Submit for acceptance",
            frozenset({RECTIFYING}),
            SUBMITTED,
        ),
        Action("accept", "验收销号", "Accept and close", frozenset({SUBMITTED}), CLOSED),
        Action(
            "return",
            "验收不通过，退回整改",
            "Return to rectifying",
            frozenset({SUBMITTED}),
            RECTIFYING,
        ),
    )
}
TRANSITIONS = frozenset((s, a.to) for a in ACTIONS.values() for s in a.sources) | {
    (REGISTERED, PLAN_SUBMITTED)
}


def is_supervisor(facts: Facts, actor: Actor) -> bool:
    """The supervising authority of a major hidden danger: a government role of that division."""
    return (
        actor.role in SUPERVISORS
        and facts.supervisor_division_code is not None
        and actor.division_code == facts.supervisor_division_code
    )


def available(facts: Facts, actor: Actor) -> list[str]:
    """Actions this actor may take now (for buttons); data checks come later."""
    return [
        name
        for name, a in ACTIONS.items()
        if facts.status in a.sources
        and _role_ok(name, facts, actor, None)
        and duty_conflict(name, facts, actor) is None
    ]


def barred(facts: Facts, actor: Actor) -> tuple[str, str] | None:
    """Why an action this actor's role allows now is withheld from them (for the page)."""
    for name, a in ACTIONS.items():
        if facts.status in a.sources and _role_ok(name, facts, actor, None):
            conflict = duty_conflict(name, facts, actor)
            if conflict:
                return conflict
    return None


def duty_conflict(action: str, facts: Facts, actor: Actor) -> tuple[str, str] | None:
    """Why separation of duties bars this actor from this action (zh, en), or None.

    Whoever recorded a rectification cannot also accept and close (销号) it: a second person
    must check the work.
    """
    if action == "accept" and facts.rectified_by and facts.rectified_by == actor.username:
        return (
            "职责分离：该隐患的整改由您本人提交，验收销号须由其他人员完成",
            "Separation of duties: you recorded this rectification, so someone else "
            "must accept and close it",
        )
    return None


def decide(
    facts: Facts, action: str, actor: Actor, data: Mapping[str, Any], now: datetime
) -> Outcome:
    """The result of `actor` taking `action` with `data`; raises instead of returning on refusal."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Invalid([FieldError("action", "操作：不存在", "action: unknown")])
    if facts.status not in spec.sources:
        raise Conflict(
            f"当前状态“{STATES[facts.status][0]}”不能执行“{spec.zh}”",
            f"cannot {spec.en.lower()} a hidden danger that is {STATES[facts.status][1].lower()}",
        )
    grade = data.get("grade") if action == "confirm" else facts.grade
    if not _role_ok(action, facts, actor, grade):
        raise Forbidden(f"当前角色无权执行“{spec.zh}”", f"your role may not {spec.en.lower()}")
    conflict = duty_conflict(action, facts, actor)
    if conflict:
        raise Forbidden(*conflict)
    changes = _CHECKS[action](facts, data, now)
    to = spec.to
    if action == "submit_plan" and facts.grade == MAJOR:
        to = PLAN_SUBMITTED  # a major one waits for the supervising authority's approval
    return Outcome(to, changes)


def _role_ok(action: str, facts: Facts, actor: Actor, grade: str | None) -> bool:
    own = (
        actor.role == "enterprise_officer"
        and facts.enterprise_id is not None
        and facts.enterprise_id == actor.enterprise_id
    )
    major = (grade or facts.grade) == MAJOR
    if action in ("confirm", "reject"):
        # An enterprise assesses its own general hidden dangers; major ones go to government.
        return actor.role in ASSESSORS or (own and not major)
    if action == "register":
        return actor.role in REGISTRARS or (own and not major)
    if action in ("submit_plan", "submit_acceptance"):
        if actor.role == "enterprise_officer":
            return own
        return actor.role in RECTIFIERS
    if action in ("approve_plan", "reject_plan"):
        return is_supervisor(facts, actor)
    if action in ("accept", "return"):
        return is_supervisor(facts, actor) if major else actor.role in ACCEPTORS
    return False


# ---------------------------------------------------------------- data checks per action


def _text(
    data: Mapping[str, Any],
    name: str,
    zh: str,
    en: str,
    errors: list[FieldError],
    required: bool = True,
    limit: int = 2000,
) -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        errors.append(FieldError(name, f"{zh}：为必填项", f"{en}: is required"))
    elif len(value) > limit:
        errors.append(
            FieldError(name, f"{zh}：长度不能超过{limit}", f"{en}: at most {limit} characters")
        )
    return value


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_time(value: Any) -> datetime | None:
    """A datetime, or an ISO date / date-time string (a bare date means the end of that day, Beijing)."""
    if isinstance(value, datetime):
        return as_utc(value)
    text = str(value or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text)
            return day.replace(hour=23, minute=59, second=59, tzinfo=BEIJING).astimezone(UTC)
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def _deadline(
    data: Mapping[str, Any], now: datetime, errors: list[FieldError], required: bool = True
) -> datetime | None:
    raw = data.get("deadline")
    if raw in (None, "") and not required:
        return None
    when = parse_time(raw)
    if when is None:
        errors.append(
            FieldError(
                "deadline",
                "整改期限：应为日期（YYYY-MM-DD）",
                "deadline: must be a date (YYYY-MM-DD)",
            )
        )
    elif when <= as_utc(now):
        errors.append(
            FieldError("deadline", "整改期限：应晚于当前时间", "deadline: must be in the future")
        )
    return when


def _done(errors: list[FieldError], changes: dict[str, Any]) -> dict[str, Any]:
    if errors:
        raise Invalid(errors)
    return changes


def _check_confirm(facts: Facts, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    errors: list[FieldError] = []
    grade = data.get("grade")
    if grade not in GRADES:
        errors.append(
            FieldError(
                "grade",
                "隐患等级：取值应为 general（一般）或 major（重大）",
                "grade: must be general or major",
            )
        )
    basis = _text(data, "grade_basis", "判定依据", "judging basis", errors, required=grade == MAJOR)
    changes: dict[str, Any] = {"grade": grade, "grade_basis": basis, "confirmed_at": now}
    category = data.get("category")
    if category not in (None, ""):
        if category not in CATEGORIES:
            errors.append(FieldError("category", "隐患类别：取值无效", "category: unknown value"))
        changes["category"] = category
    return _done(errors, changes)


def _check_reject(facts: Facts, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    errors: list[FieldError] = []
    reason = _text(data, "note", "不予认定理由", "reason", errors)
    return _done(errors, {"rejected_reason": reason})


def _check_register(facts: Facts, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    errors: list[FieldError] = []
    changes: dict[str, Any] = {
        "responsible_party": _text(
            data, "responsible_party", "责任单位", "responsible party", errors, limit=200
        ),
        "responsible_username": _text(
            data,
            "responsible_username",
            "责任人账号",
            "responsible user",
            errors,
            required=False,
            limit=64,
        )
        or None,
        "deadline": _deadline(data, now, errors),
        "registered_at": now,
    }
    if facts.grade == MAJOR:
        code = str(data.get("supervisor_division_code") or "").strip()
        if not (code.isdigit() and len(code) in (6, 9, 12)):
            errors.append(
                FieldError(
                    "supervisor_division_code",
                    "挂牌督办单位区划代码：重大隐患必须指定督办单位（6/9/12 位区划代码）",
                    "supervising division: a major hidden danger needs one "
                    "(6/9/12-digit division code)",
                )
            )
        changes["supervisor_division_code"] = code
        changes["supervisor_name"] = _text(
            data, "supervisor_name", "挂牌督办单位", "supervising authority", errors, limit=100
        )
    return _done(errors, changes)


def _check_submit_plan(facts: Facts, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    errors: list[FieldError] = []
    major = facts.grade == MAJOR
    changes: dict[str, Any] = {
        "measures": _text(data, "measures", "整改措施", "measures", errors),
        "responsible_person": _text(
            data, "responsible_person", "整改责任人", "responsible person", errors, limit=64
        ),
        "interim_measures": _text(
            data,
            "interim_measures",
            "整改期间安全防范措施",
            "interim safety measures",
            errors,
            required=major,
        ),
    }
    funds = data.get("funds")
    try:
        amount = float(funds) if funds not in (None, "") else None
    except (TypeError, ValueError):
        amount = -1.0
    if amount is None and major:
        errors.append(FieldError("funds", "整改资金（万元）：为必填项", "funds: is required"))
    elif amount is not None and not 0 <= amount < 1e9:
        errors.append(
            FieldError(
                "funds", "整改资金（万元）：应为不小于 0 的数字", "funds: must be a number ≥ 0"
            )
        )
    changes["funds"] = amount
    deadline = _deadline(data, now, errors, required=facts.deadline is None)
    if deadline is not None:
        changes["deadline"] = deadline
    if not major:
        changes["plan_approved_at"] = None
    return _done(errors, changes)


def _check_approve_plan(facts: Facts, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {"plan_approved_at": now}


def _check_reason(facts: Facts, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    errors: list[FieldError] = []
    _text(data, "note", "理由", "reason", errors)
    return _done(errors, {})


def _check_submit_acceptance(
    facts: Facts, data: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    errors: list[FieldError] = []
    _text(data, "note", "整改情况说明", "what was done", errors)
    if facts.grade == MAJOR and not data.get("attachments"):
        errors.append(
            FieldError(
                "attachments",
                "整改佐证照片：重大隐患至少上传一张",
                "evidence photos: at least one for a major hidden danger",
            )
        )
    return _done(errors, {"submitted_at": now})


def _check_accept(facts: Facts, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    changes: dict[str, Any] = {"closed_at": now}
    if facts.deadline is not None:
        # On time means the work was handed in by the deadline; the acceptance visit may be later.
        done = facts.submitted_at or now
        changes["closed_late"] = as_utc(done) > as_utc(facts.deadline)
    return changes


def _check_return(facts: Facts, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    errors: list[FieldError] = []
    _text(data, "note", "退回理由", "reason", errors)
    changes: dict[str, Any] = {"submitted_at": None}
    deadline = _deadline(data, now, errors, required=False)
    if deadline is not None:
        changes["deadline"] = deadline
    return _done(errors, changes)


_CHECKS = {
    "confirm": _check_confirm,
    "reject": _check_reject,
    "register": _check_register,
    "submit_plan": _check_submit_plan,
    "approve_plan": _check_approve_plan,
    "reject_plan": _check_reason,
    "submit_acceptance": _check_submit_acceptance,
    "accept": _check_accept,
    "return": _check_return,
}
