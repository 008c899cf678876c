"""Administrative penalty cases (行政处罚案件) as a state machine written as data.

Pure domain logic: no I/O, no clock (every step passes ``now``).

    线索 clue ─file→ 立案 filed ─investigate→ 调查取证 investigating ─submit→ 案件审核 reviewing
      ─notify→ 告知 notified (陈述、申辩) ─[request_hearing]→ 听证 hearing ─decide→ 决定 decided
      ─serve→ 送达 served ─execute→ 执行 executing ─close→ 结案 closed

Exits, each justified by the Administrative Penalty Law (行政处罚法, 2021):

* 不予立案 ``decline`` (clue → not_filed): art. 54 files a case only when it meets the filing
  standard (符合立案标准的，应当及时立案); a clue that does not is declined, with a reason.
* 撤销立案 ``revoke`` (filed / investigating / reviewing → revoked): the investigation shows no
  violation, or the matter is outside the office's competence and is transferred (art. 57 (四)
  移送; 不予行政处罚 / 违法事实不能成立 art. 57 (二)(三)).
* 终止 ``terminate`` (investigating … hearing → terminated): the party died or was dissolved with
  no successor, so the case cannot go on.
* ``return`` (reviewing → investigating): the legal review (法制审核, art. 58) sends it back for
  more evidence.

Hearing (听证, art. 63): only when the proposed penalty qualifies — a fine at or above the
city's threshold for the party kind, or one of the listed measures (责令停产停业、吊销许可证件 …).
The thresholds are data (:class:`HearingRule`); the default values are an EXAMPLE.  Art. 64 (一):
the party asks within 5 days of the notice (告知后五日内), so a late request is refused and a
decision straight from the notice waits out the window unless the party waived it.

Deadline (art. 60): 行政机关应当自行政处罚案件立案之日起九十日内作出行政处罚决定。法律、法规、
规章另有规定的，从其规定.  The decision is due 90 days after filing, plus every recorded
extension (days, reason, approver).  A ``decide`` after the deadline is refused: record the
extension first, so the file shows why the case ran long.

Roles: ``inspector`` (执法人员), ``legal_reviewer`` (法制审核人员), ``office_head`` (负责人).
Closed states (closed, not_filed, revoked, terminated) refuse every step, including ``amend``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from safecity.enforcement.errors import (
    EnforcementInputError,
    FieldError,
    RoleError,
    StateError,
    require_aware,
)

__all__ = [
    "DECISION_DAYS",
    "FINAL",
    "ROLES",
    "STATES",
    "STEPS",
    "TRANSITIONS",
    "Case",
    "Extension",
    "HearingRule",
    "Penalty",
    "apply",
    "deadline",
    "new_case",
]

DECISION_DAYS = 90
STATES: dict[str, tuple[str, str]] = {
    "clue": ("待立案", "clue"),
    "filed": ("立案", "filed"),
    "investigating": ("调查取证", "investigating"),
    "reviewing": ("案件审核", "under review"),
    "notified": ("告知（陈述、申辩）", "notified"),
    "hearing": ("听证", "hearing"),
    "decided": ("决定", "decided"),
    "served": ("送达", "served"),
    "executing": ("执行", "executing"),
    "closed": ("结案", "closed"),
    "not_filed": ("不予立案", "not filed"),
    "revoked": ("撤销立案", "revoked"),
    "terminated": ("终止", "terminated"),
}
FINAL = frozenset({"closed", "not_filed", "revoked", "terminated"})
ROLES: dict[str, tuple[str, str]] = {
    "inspector": ("执法人员", "inspector"),
    "legal_reviewer": ("法制审核人员", "legal reviewer"),
    "office_head": ("负责人", "office head"),
}
_OPEN_BEFORE_DECISION = ("filed", "investigating", "reviewing", "notified", "hearing")
_OPEN = (*_OPEN_BEFORE_DECISION, "clue", "decided", "served", "executing")

# step → (zh, en, {from state: to state} — None keeps the state, roles allowed)
STEPS: dict[str, tuple[str, str]] = {
    "file": ("立案", "file"),
    "decline": ("不予立案", "decline"),
    "investigate": ("调查取证", "investigate"),
    "submit": ("提交审核", "submit for review"),
    "return": ("退回补充调查", "return for investigation"),
    "notify": ("告知", "notify"),
    "request_hearing": ("听证", "hearing requested"),
    "decide": ("决定", "decide"),
    "serve": ("送达", "serve"),
    "execute": ("执行", "execute"),
    "close": ("结案", "close"),
    "revoke": ("撤销立案", "revoke"),
    "terminate": ("终止", "terminate"),
    "extend": ("延长办案期限", "extend deadline"),
    "amend": ("补正案卷", "amend the file"),
}
TRANSITIONS: dict[str, tuple[dict[str, str | None], frozenset[str]]] = {
    "file": ({"clue": "filed"}, frozenset({"office_head"})),
    "decline": ({"clue": "not_filed"}, frozenset({"office_head"})),
    "investigate": ({"filed": "investigating"}, frozenset({"inspector"})),
    "submit": ({"investigating": "reviewing"}, frozenset({"inspector"})),
    "return": ({"reviewing": "investigating"}, frozenset({"legal_reviewer"})),
    "notify": ({"reviewing": "notified"}, frozenset({"legal_reviewer"})),
    "request_hearing": ({"notified": "hearing"}, frozenset({"inspector"})),
    "decide": ({"notified": "decided", "hearing": "decided"}, frozenset({"office_head"})),
    "serve": ({"decided": "served"}, frozenset({"inspector"})),
    "execute": ({"served": "executing"}, frozenset({"inspector"})),
    "close": ({"executing": "closed"}, frozenset({"office_head"})),
    "revoke": (
        {s: "revoked" for s in ("filed", "investigating", "reviewing")},
        frozenset({"office_head"}),
    ),
    "terminate": (
        {s: "terminated" for s in ("investigating", "reviewing", "notified", "hearing")},
        frozenset({"office_head"}),
    ),
    "extend": ({s: None for s in _OPEN_BEFORE_DECISION}, frozenset({"office_head"})),
    "amend": ({s: None for s in _OPEN}, frozenset({"inspector", "legal_reviewer"})),
}
_NEEDS_REASON = frozenset({"decline", "revoke", "terminate", "extend", "return", "amend"})


@dataclass(frozen=True)
class HearingRule:
    """When a proposed penalty gives the party a right to a hearing (art. 63) — per city, data."""

    fine_individual_yuan: Decimal = Decimal(10_000)  # EXAMPLE threshold, not law
    fine_organisation_yuan: Decimal = Decimal(100_000)  # EXAMPLE threshold, not law
    request_days: int = 5  # art. 64 (一): 当事人要求听证的，应当在行政机关告知后五日内提出
    measures: frozenset[str] = frozenset(
        {
            "suspend_business",
            "revoke_licence",
            "close_down",
            "lower_qualification",
            "restrict_practice",
            "confiscate_large",
        }
    )

    def qualifies(self, penalty: Penalty) -> bool:
        limit = (
            self.fine_individual_yuan
            if penalty.party_kind == "individual"
            else self.fine_organisation_yuan
        )
        return penalty.fine_yuan >= limit or bool(self.measures & penalty.measures)


@dataclass(frozen=True)
class Penalty:
    fine_yuan: Decimal
    party_kind: str  # "individual" | "organisation"
    measures: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Extension:
    days: int
    reason: str
    by_role: str
    at: datetime


@dataclass(frozen=True)
class Case:
    id: str
    state: str
    opened_at: datetime
    filed_at: datetime | None = None
    proposed: Penalty | None = None
    notified_at: datetime | None = None
    extensions: tuple[Extension, ...] = ()
    history: tuple[tuple[str, str, str, datetime, str], ...] = ()  # step, from, role, at, reason


def new_case(case_id: str, now: datetime) -> Case:
    return Case(case_id, "clue", require_aware("now", now))


def deadline(case: Case) -> datetime | None:
    """Art. 60: 90 days from filing plus recorded extensions; None before filing."""
    if case.filed_at is None:
        return None
    return case.filed_at + timedelta(days=DECISION_DAYS + sum(e.days for e in case.extensions))


def _check(case: Case, step: str, role: str) -> str | None:
    errors = []
    if step not in TRANSITIONS:
        errors.append(FieldError("step", f"未知步骤 {step!r}", f"unknown step {step!r}"))
    if role not in ROLES:
        errors.append(FieldError("role", f"未知角色 {role!r}", f"unknown role {role!r}"))
    if errors:
        raise EnforcementInputError(errors)
    if case.state in FINAL:
        raise StateError(
            f"案件已{STATES[case.state][0]}，不得再修改",
            f"the case is {STATES[case.state][1]}; it can no longer be changed",
        )
    moves, roles = TRANSITIONS[step]
    if case.state not in moves:
        raise StateError(
            f"案件处于“{STATES[case.state][0]}”，不能{STEPS[step][0]}",
            f"a case {STATES[case.state][1]} cannot take step '{STEPS[step][1]}'",
        )
    if role not in roles:
        who = "、".join(ROLES[r][0] for r in sorted(roles))
        raise RoleError(
            f"{ROLES[role][0]}不能{STEPS[step][0]}（应由{who}）",
            f"a {ROLES[role][1]} may not {STEPS[step][1]} (only {', '.join(sorted(roles))})",
        )
    return moves[case.state]


def _payload(step: str, data: Mapping[str, Any]) -> tuple[str, Penalty | None, int]:
    errors: list[FieldError] = []
    reason = str(data.get("reason") or "").strip()
    if step in _NEEDS_REASON and not reason:
        errors.append(
            FieldError(
                "reason", f"{STEPS[step][0]}必须说明理由", f"'{STEPS[step][1]}' needs a reason"
            )
        )
    days = data.get("days", 0)
    if step == "extend" and (isinstance(days, bool) or not isinstance(days, int) or days <= 0):
        errors.append(FieldError("days", "延长天数必须是正整数", "days must be a positive integer"))
    penalty = data.get("penalty")
    if step == "notify" and not isinstance(penalty, Penalty):
        errors.append(
            FieldError("penalty", "告知必须附拟处罚内容", "notify needs the proposed penalty")
        )
    elif isinstance(penalty, Penalty) and penalty.party_kind not in ("individual", "organisation"):
        errors.append(
            FieldError(
                "penalty.party_kind",
                "当事人类型必须是 individual/organisation",
                "party_kind must be individual or organisation",
            )
        )
    if errors:
        raise EnforcementInputError(errors)
    return reason, penalty if isinstance(penalty, Penalty) else None, int(days)


def _hearing_window(case: Case, step: str, now: datetime, rule: HearingRule, waived: bool) -> None:
    """Art. 63/64: a qualifying party has ``request_days`` after the notice to ask for a hearing.

    So a hearing request must qualify and be in time, and a decision straight from the notice
    waits until the window has passed unless the party waived the right (``waived`` in data).
    """
    qualifies = rule.qualifies(case.proposed or Penalty(Decimal(0), "organisation"))
    ends = case.notified_at + timedelta(days=rule.request_days) if case.notified_at else None
    if step == "request_hearing" and not qualifies:
        raise StateError(
            "拟处罚未达到听证条件（行政处罚法第六十三条及本市标准）",
            "the proposed penalty does not qualify for a hearing (art. 63)",
        )
    if step == "request_hearing" and ends is not None and now > ends:
        raise StateError(
            f"听证要求须在告知后{rule.request_days}日内提出（行政处罚法第六十四条），已逾期",
            f"a hearing must be requested within {rule.request_days} days of the notice (art. 64)",
        )
    if step == "decide" and case.state == "notified" and qualifies and not waived:
        if ends is not None and now <= ends:
            raise StateError(
                f"当事人可在 {ends.isoformat()} 前要求听证，期满或当事人放弃后方可决定",
                f"the party may request a hearing until {ends.isoformat()}; decide after that "
                "or once the party has waived it",
            )


def apply(
    case: Case,
    step: str,
    role: str,
    now: datetime,
    data: Mapping[str, Any] | None = None,
    hearing: HearingRule | None = None,
) -> Case:
    """The case after ``step`` by ``role`` at ``now``; the input case is never changed."""
    now = require_aware("now", now)
    target = _check(case, step, role)
    reason, penalty, days = _payload(step, data or {})
    _hearing_window(case, step, now, hearing or HearingRule(), bool((data or {}).get("waived")))
    due = deadline(case)
    if step == "decide" and due is not None and now > due:
        raise StateError(
            f"已超过作出决定的期限 {due.isoformat()}（行政处罚法第六十条），请先记录延期及理由",
            f"the decision deadline {due.isoformat()} has passed (art. 60); "
            "record an extension with its reason first",
        )
    out = replace(
        case,
        state=target or case.state,
        history=(*case.history, (step, case.state, role, now, reason)),
    )
    if step == "file":
        out = replace(out, filed_at=now)
    if step == "notify":
        out = replace(out, notified_at=now)
    if penalty is not None:
        out = replace(out, proposed=penalty)
    if step == "extend":
        out = replace(out, extensions=(*case.extensions, Extension(days, reason, role, now)))
    return out
