"""Enforcement figures: the year's statistics (and their XLSX) and an enterprise's summary
(一企一档)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from safecity.core.scope import Principal
from safecity.core.tabular import xlsx_safe
from safecity.enforcement import cases as rules
from safecity.enforcement.case_search import CaseFilters, list_cases
from safecity.enforcement.casework import case_clause, is_overdue
from safecity.enforcement.common import (
    OPEN_BEFORE_DECISION,
    enterprise_for,
    government_only,
    scheme,
    violation_name,
    year_start,
)
from safecity.enforcement.inspecting import inspection_clause, list_inspections
from safecity.enforcement.models import Case, Inspection
from safecity.enforcement.roster import inspector_rows
from safecity.enforcement.supervision import class_of
from safecity.registry.models import Division


def stats(session: Session, who: Principal, year: int, now: datetime) -> dict[str, Any]:
    """Inspections, findings, cases and fines per division, inspector and violation type."""
    government_only(who)
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
    names = {i.id: i for i in inspector_rows(session, list(per_inspector))}
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
            ws.append([xlsx_safe(v) for v in r])
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
