"""双随机 draws: the pools fixed and the seed committed, the draw run once, published, and
anyone's check of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.errors import Conflict, FieldError, Invalid, NotFound
from safecity.core.models import AuditEntry
from safecity.core.scope import Principal, division_prefix
from safecity.core.sql import code_within
from safecity.enforcement import draw as drawing
from safecity.enforcement import notices
from safecity.enforcement.common import (
    APPROVERS,
    PLANNERS,
    audit_log,
    bad,
    checked_date,
    checked_division,
    checked_int,
    clean_text,
    government_only,
    local_date,
    names_of,
    require,
    rules_errors,
)
from safecity.enforcement.models import Draw, Inspection, Plan, PlanRow, SupervisionClass
from safecity.enforcement.planning import checked_share
from safecity.enforcement.roster import pool_for
from safecity.registry.models import Enterprise


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
        for i in pool_for(session, division)
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
    require(who, PLANNERS, "当前角色无权组织抽查", "your role may not organise a draw")
    division = checked_division(session, who, data.get("division_code"))
    row_id = data.get("plan_row_id") or None
    share = data.get("share")
    section = str(data.get("industry_section") or "").strip().upper() or None
    if row_id is not None:
        row = session.get(PlanRow, checked_int(row_id, "plan_row_id", "计划行", "plan row", 1))
        plan = session.get(Plan, row.plan_id) if row else None
        if row is None or plan is None or not who.covers(plan.division_code):
            raise bad("plan_row_id", "计划行：不存在", "plan row: not found")
        if plan.status != "approved":
            raise Conflict("计划尚未批准，不能据此抽查", "the plan is not approved yet")
        row_id, share, section = row.id, share or row.random_share, section or row.industry_section
    share_s = checked_share(share, "share")
    per_target = checked_int(
        data.get("per_target", 2), "per_target", "每户执法人员", "inspectors per target", 2, 10
    )
    on = checked_date(
        data.get("draw_date") or local_date(now), "draw_date", "抽查日期", "draw date"
    )
    title = (
        clean_text(data.get("title"), "title", 200, "抽查名称", "title") or f"{on.year}年双随机抽查"
    )
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
    audit_log(session, who, "commit", "draw", d.id, None, committed_dict(d), now)
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
    government_only(who)
    d = session.get(Draw, draw_id, with_for_update=for_update or None)
    if d is None or not who.covers(d.division_code):
        raise NotFound("抽查", "draw")
    return d


def run_draw(session: Session, who: Principal, draw_id: int, now: datetime) -> Draw:
    """Run a committed draw once; the result, the revealed seed and the new inspections are
    recorded together. A second run is refused: the result is fixed by the commitment."""
    d = get_draw(session, who, draw_id, for_update=True)
    require(who, PLANNERS, "当前角色无权组织抽查", "your role may not organise a draw")
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
    audit_log(
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
    require(who, APPROVERS | {"inspector"}, "当前角色无权公示", "your role may not publish")
    if d.status != "drawn":
        raise Conflict("抽查尚未执行，不能公示", "the draw has not run yet")
    if d.published:
        raise Conflict("已公示", "already published")
    d.published, d.published_at = True, now
    session.flush()
    audit_log(session, who, "publish", "draw", d.id, {"published": False}, {"published": True}, now)
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
    government_only(who)
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
