"""Penalty cases: opening, the steps with their documents, who may take which, the history,
the electronic case file."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core import scope
from safecity.core.errors import Conflict, Forbidden, NotFound
from safecity.core.scope import Principal
from safecity.enforcement import cases as rules
from safecity.enforcement import discretion, documents
from safecity.enforcement.case_search import search_text
from safecity.enforcement.common import (
    APPROVERS,
    CASE_SHAPE,
    FIELD,
    MEASURES,
    OPEN_BEFORE_DECISION,
    PLANNERS,
    as_utc,
    audit_log,
    bad,
    checked_int,
    clean_text,
    display_name,
    enterprise_for,
    local_date,
    people,
    require,
    row_dict,
    rules_errors,
    table,
    violation_name,
)
from safecity.enforcement.errors import EnforcementInputError
from safecity.enforcement.inspecting import findings_of, get_inspection
from safecity.enforcement.issuing import documents_for, issue_document, local_text, office_name
from safecity.enforcement.models import Case, Document, Finding
from safecity.enforcement.roster import inspector_of
from safecity.hazards import uploads
from safecity.registry.models import Enterprise


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


def new_case(
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
    audit_log(session, who, "open", "case", c.id, None, case_dict(c, now), now)
    return c


def open_case(session: Session, who: Principal, data: dict[str, Any], now: datetime) -> Case:
    require(who, PLANNERS, "当前角色无权登记案件线索", "your role may not open a case")
    ent = enterprise_for(session, who, data.get("enterprise_id"))
    party = data.get("party_kind") or "organisation"
    if party not in ("organisation", "individual"):
        raise bad(
            "party_kind", "当事人类型：应为单位或个人", "party kind: organisation or individual"
        )
    return new_case(
        session,
        who,
        ent,
        str(data.get("violation") or ""),
        str(data.get("circumstance") or ""),
        clean_text(data.get("facts"), "facts", 4000, "违法事实", "facts", True),
        now,
        title=clean_text(data.get("title"), "title", 200, "案件名称", "title"),
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
    return checked_int(value, field, "罚款（元）", "fine (yuan)", 0, 10**10)


def take_step(
    session: Session, who: Principal, case_id: int, step: str, data: dict[str, Any], now: datetime
) -> Case:
    """One step of the case: the pure state machine decides; documents are issued with it."""
    c = get_case(session, who, case_id, for_update=True)
    role = case_role(session, who)
    before = case_dict(c, now)
    payload: dict[str, Any] = {
        "reason": clean_text(data.get("reason"), "reason", 1000, "理由", "reason"),
        "waived": data.get("waived") in (True, "1", "true", "on"),
    }
    if "days" in data:
        payload["days"] = checked_int(data["days"], "days", "延长天数", "days", 1, 365)
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
    audit_log(session, who, step, "case", c.id, before, case_dict(c, now), now)
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
        "filed": local_text(c.filed_at),
        "closed": local_text(now),
        "deadline": local_text(c.deadline_at, False),
        "execution": execution or "已按决定履行",
        "inspector": people(session, [c.inspector_username]).get(c.inspector_username, ""),
        "actor": display_name(session, who),
        "office": office_name(session, c.division_code),
        "issued": local_text(now, False),
    }


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
                        caption=f"{f.description}（{local_text(f.created_at)}，{takers.get(f.created_by, '')}）",
                    )
                )
    if not parts:
        raise Conflict("案件尚无文书", "the case has no documents yet")
    return documents.case_file_pdf(
        c.title, c.number or f"#{c.id}", parts, office_name(session, c.division_code)
    )
