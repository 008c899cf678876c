"""Hidden-danger statistics: one GROUP BY over the scoped table, folded into the dashboard's
figures (counts, rectification rate, on-time rate, average days to close, overdue) by division,
industry, grade and month; XLSX export."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import and_, case, func, literal_column, select, tuple_, union_all
from sqlalchemy.orm import Session

from safecity.core import scope
from safecity.core.errors import invalid
from safecity.core.scope import Principal, Shape, division_prefix
from safecity.core.sql import code_within
from safecity.hazards import rules, service
from safecity.hazards import workflow as wf
from safecity.hazards.models import FinalCount, HiddenDanger
from safecity.registry.models import Division
from safecity.registry.rules import INDUSTRY_SECTIONS

# Found and accepted as hidden dangers: the base of the rectification rate.
COUNTED = frozenset(wf.STATES) - {wf.REPORTED, wf.REJECTED}


@dataclass
class Params:
    division: str | None = None
    grade: str | None = None
    month_from: str | None = None  # YYYY-MM
    month_to: str | None = None


def params_from(qp: Mapping[str, str]) -> Params:
    p = Params(
        division=qp.get("division") or None,
        grade=qp.get("grade") or None,
        month_from=qp.get("from") or None,
        month_to=qp.get("to") or None,
    )
    for name, value in (("from", p.month_from), ("to", p.month_to)):
        if value and not (len(value) == 7 and value[4] == "-" and value.replace("-", "").isdigit()):
            raise invalid(name, "月份：格式应为 YYYY-MM", "month: must be YYYY-MM")
    if p.grade and p.grade not in wf.GRADES:
        raise invalid("grade", "等级：取值无效", "grade: unknown value")
    return p


SETS = ("division", "industry", "grade", "month")


@dataclass(frozen=True)
class Source:
    """Where one part of the figures comes from: key columns and aggregate expressions."""

    county: Any
    section: Any
    grade: Any
    month: Any
    status: Any
    sums: list[Any]
    where: list[Any]


def _filters(p: Params, division: Any, grade: Any, month: Any) -> list[Any]:
    out = []
    if p.division:
        out.append(code_within(division, division_prefix(p.division)))
    if p.grade:
        out.append(grade == p.grade)
    if p.month_from:
        out.append(month >= p.month_from)
    if p.month_to:
        out.append(month <= p.month_to)
    return out


def live_source(
    who: Principal, p: Params, now: datetime, statuses: frozenset[str] | None
) -> Source:
    hd = HiddenDanger
    on_clock = hd.status.in_(sorted(wf.ON_THE_CLOCK))
    sums = [
        func.count().label("n"),
        func.sum(case((hd.closed_late.is_(False), 1), else_=0)).label("on_time"),
        func.sum(case((hd.closed_late.is_(True), 1), else_=0)).label("late"),
        func.sum(hd.days_to_close).label("days"),
        func.sum(case((and_(on_clock, hd.deadline < now), 1), else_=0)).label("overdue"),
        func.sum(case((hd.supervisor_division_code.is_not(None), 1), else_=0)).label("supervised"),
    ]
    where = [service.scope_clause(who), *_filters(p, hd.division_code, hd.grade, hd.month)]
    if statuses is not None:
        where.append(hd.status.in_(sorted(statuses)))
    return Source(
        func.substr(hd.division_code, 1, 6),
        hd.industry_section,
        hd.grade,
        hd.month,
        hd.status,
        sums,
        where,
    )


def final_source(who: Principal, p: Params) -> Source:
    fc = FinalCount
    sums = [
        func.sum(fc.n).label("n"),
        func.sum(fc.on_time).label("on_time"),
        func.sum(fc.late).label("late"),
        func.sum(fc.days).label("days"),
        literal_column("0").label("overdue"),
        func.sum(fc.supervised).label("supervised"),
    ]
    # The summary keeps only the section letter, so the scope rule reads it as the industry
    # (summary_fits sends liaisons of a division number to the detail rows instead).
    shape = Shape(division=fc.division_code, industry=fc.industry_section)
    where = [scope.clause(who, shape), *_filters(p, fc.division_code, fc.grade, fc.month)]
    return Source(
        func.substr(fc.division_code, 1, 6),
        fc.industry_section,
        fc.grade,
        fc.month,
        fc.status,
        sums,
        where,
    )


def summary_fits(who: Principal) -> bool:
    """Whether the caller's scope can be applied to the summary (division and section only)."""
    if not who.can_read() or who.role == "enterprise_officer":
        return False
    return who.role != "department_liaison" or not who.industry or who.industry.isalpha()


def cube(session: Session, who: Principal, p: Params, now: datetime) -> list[Any]:
    """Counts per (status, grade) within each grouping — division, industry, grade, month.

    Closed and rejected ones come from the summary table when the caller's scope allows it; the
    open ones (a tenth or less of a mature city's register) are aggregated live."""
    if summary_fits(who):
        return _aggregate(session, live_source(who, p, now, wf.OPEN)) + _aggregate(
            session, final_source(who, p)
        )
    return _aggregate(session, live_source(who, p, now, None))


def _aggregate(session: Session, src: Source) -> list[Any]:
    """One scan: GROUPING SETS on PostgreSQL, a UNION ALL of four GROUP BYs elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        gid = func.grouping(src.county, src.section, src.month).label("gid")
        stmt = (
            select(
                gid,
                src.county.label("county"),
                src.section.label("section"),
                src.month.label("month"),
                src.grade.label("grade"),
                src.status.label("status"),
                *src.sums,
            )
            .where(*src.where)
            .group_by(
                func.grouping_sets(
                    tuple_(src.county, src.grade, src.status),
                    tuple_(src.section, src.grade, src.status),
                    tuple_(src.grade, src.status),
                    tuple_(src.month, src.grade, src.status),
                )
            )
        )
        # grouping() sets a bit for each argument NOT in the row's set (county=4, section=2,
        # month=1): 3 → by county, 5 → by section, 7 → by grade only, 6 → by month.
        names = {3: "division", 5: "industry", 7: "grade", 6: "month"}
        return [_Row(names[r.gid], _key(names[r.gid], r), r) for r in session.execute(stmt)]
    keys = {
        "division": src.county,
        "industry": src.section,
        "grade": literal_column("''"),
        "month": src.month,
    }
    parts = [
        select(
            literal_column(f"'{name}'").label("gset"),
            col.label("k"),
            src.grade.label("grade"),
            src.status.label("status"),
            *src.sums,
        )
        .where(*src.where)
        .group_by(col, src.grade, src.status)
        for name, col in keys.items()
    ]
    return [
        _Row(r.gset, (r.k or None) if r.gset != "grade" else (r.grade or "ungraded"), r)
        for r in session.execute(union_all(*parts))
    ]


def _key(name: str, r: Any) -> str:
    if name == "division":
        return str(r.county)
    if name == "industry":
        return r.section or "-"
    if name == "month":
        return str(r.month)
    return r.grade or "ungraded"


class _Row:
    __slots__ = (
        "days",
        "grade",
        "gset",
        "key",
        "late",
        "n",
        "on_time",
        "overdue",
        "status",
        "supervised",
    )

    def __init__(self, gset: str, key: Any, r: Any) -> None:
        self.gset, self.key = gset, key if key is not None else "-"
        self.grade, self.status, self.n = r.grade or None, r.status, r.n
        self.on_time, self.late, self.days = r.on_time, r.late, r.days
        self.overdue, self.supervised = r.overdue, r.supervised


class Tally:
    """Sums for one group, and the rates computed from them."""

    def __init__(self) -> None:
        self.total = self.counted = self.closed = self.on_time = self.late = 0
        self.overdue = self.open = self.major = self.supervised = 0
        self.days = 0.0
        self.by_status: dict[str, int] = defaultdict(int)

    def add(self, r: Any) -> None:
        n = int(r.n)
        self.total += n
        self.by_status[r.status] += n
        if r.status in COUNTED:
            self.counted += n
        if r.status == wf.CLOSED:
            self.closed += n
            self.days += float(r.days or 0)
        if r.status in wf.OPEN and r.status != wf.REPORTED:
            self.open += n
        if r.grade == wf.MAJOR:
            self.major += n
        self.on_time += int(r.on_time or 0)
        self.late += int(r.late or 0)
        self.overdue += int(r.overdue or 0)
        self.supervised += int(r.supervised or 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "counted": self.counted,
            "closed": self.closed,
            "open": self.open,
            "overdue": self.overdue,
            "major": self.major,
            "supervised": self.supervised,
            "by_status": dict(self.by_status),
            "rectification_rate": rules.rate(self.closed, self.counted),
            "on_time_rate": rules.rate(self.on_time, self.on_time + self.late),
            "avg_days_to_close": round(self.days / self.closed, 1) if self.closed else None,
        }


def dashboard(session: Session, who: Principal, p: Params, now: datetime) -> dict[str, Any]:
    rows = cube(session, who, p, now)
    total = Tally()
    groups: dict[str, dict[str, Tally]] = {k: defaultdict(Tally) for k in SETS}
    for r in rows:
        if r.gset == "grade":
            total.add(r)  # the by-grade set holds every row exactly once
        groups[r.gset][r.key].add(r)
    names = {
        d.code: d.name
        for d in session.scalars(
            select(Division).where(Division.code.in_(list(groups["division"]) or ["-"]))
        )
    }
    labels = {
        "division": lambda k: names.get(k, k),
        "industry": lambda k: INDUSTRY_SECTIONS[k][0] if k in INDUSTRY_SECTIONS else "公共区域",
        "grade": lambda k: wf.GRADES.get(k, ("未定级", "Ungraded"))[0],
        "month": lambda k: k,
    }
    out: dict[str, Any] = {
        "generated_at": now.isoformat(),
        "filters": p.__dict__,
        "totals": total.as_dict(),
    }
    for name, tallies in groups.items():
        keys = (
            sorted(tallies, key=lambda k: (-tallies[k].total, k))
            if name != "month"
            else sorted(tallies)
        )
        out[f"by_{name}"] = [
            {"key": k, "label": _label(labels[name], k), **tallies[k].as_dict()} for k in keys
        ]
    return out


def _label(fn: Any, key: str) -> str:
    value = fn(key)
    return value[0] if isinstance(value, tuple) else str(value)


# ---------------------------------------------------------------- export

SHEETS = (
    ("by_division", "按区划", "Division"),
    ("by_industry", "按行业", "Industry"),
    ("by_grade", "按等级", "Grade"),
    ("by_month", "按月份", "Month"),
)
COLUMNS = (
    ("label", "分组"),
    ("total", "隐患总数"),
    ("closed", "已销号"),
    ("open", "未销号"),
    ("overdue", "逾期未整改"),
    ("major", "重大隐患"),
    ("supervised", "挂牌督办"),
    ("rectification_rate", "整改率（%）"),
    ("on_time_rate", "按期整改率（%）"),
    ("avg_days_to_close", "平均销号天数"),
)


def to_xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 openpyxl loaded only when a workbook is read or written
    from openpyxl.styles import Font  # noqa: PLC0415 openpyxl loaded only when a workbook is read or written

    wb = Workbook()
    ws = wb.active
    ws.title = "总体"
    for key, label in COLUMNS[1:]:
        ws.append([label, data["totals"].get(key)])
    for key, title, _en in SHEETS:
        sheet = wb.create_sheet(title)
        sheet.append([label for _, label in COLUMNS])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in data[key]:
            sheet.append([row.get(k) for k, _ in COLUMNS])
        sheet.column_dimensions["A"].width = 22
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- charts (inline SVG)


def bar_chart(
    items: list[tuple[str, float, float]],
    width: int = 520,
    bar: int = 18,
    colors: tuple[str, str] = ("#1b5fc1", "#d32f2f"),
) -> str:
    """Horizontal bars (label, value, highlighted part) as an SVG string; values escaped."""
    top = max((v for _, v, _ in items), default=0) or 1
    height = 8 + len(items) * (bar + 8)
    left, right = 120, 60
    span = width - left - right
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value, part) in enumerate(items):
        y = 6 + i * (bar + 8)
        w, w2 = span * value / top, span * part / top
        parts.append(
            f'<text x="{left - 6}" y="{y + bar - 5}" text-anchor="end">{escape(label[:10])}</text>'
        )
        parts.append(
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" '
            f'fill="{colors[0]}" opacity="0.85"><title>{escape(label)}: {value:g}</title>'
            f"</rect>"
        )
        if part:
            parts.append(
                f'<rect x="{left}" y="{y}" width="{w2:.1f}" height="{bar}" fill="{colors[1]}"/>'
            )
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar - 5}">{value:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def month_chart(rows: list[dict[str, Any]], width: int = 640, height: int = 220) -> str:
    """Monthly reported (bars) with the share closed (line, right axis in %)."""
    if not rows:
        return ""
    top = max(r["total"] for r in rows) or 1
    left, bottom, pad = 36, 28, 10
    span_w, span_h = width - left - pad, height - bottom - pad
    step = span_w / len(rows)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">',
        (
            f'<line x1="{left}" y1="{pad + span_h}" x2="{width - pad}" y2="{pad + span_h}" '
            f'stroke="#d5dbe5"/>'
        ),
    ]
    points = []
    for i, r in enumerate(rows):
        h = span_h * r["total"] / top
        x = left + i * step
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{pad + span_h - h:.1f}" '
            f'width="{step * 0.7:.1f}" height="{h:.1f}" fill="#1b5fc1" opacity="0.8">'
            f"<title>{escape(r['key'])}: {r['total']}</title></rect>"
        )
        parts.append(
            f'<text x="{x + step / 2:.1f}" y="{height - 10}" text-anchor="middle">'
            f"{escape(r['key'][5:])}</text>"
        )
        rate = r["rectification_rate"] or 0
        points.append(f"{x + step / 2:.1f},{pad + span_h * (1 - rate / 100):.1f}")
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#2e7d32" stroke-width="2"/>'
    )
    parts.append(f'<text x="{left - 4}" y="{pad + 8}" text-anchor="end">{top}</text></svg>')
    return "".join(parts)
