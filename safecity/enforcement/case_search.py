"""The case list: filters, text search, one page and the state tabs' counts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from safecity.core import scope
from safecity.core.scope import Principal
from safecity.core.sql import code_within
from safecity.enforcement import cases as rules
from safecity.enforcement.common import (
    CASE_SHAPE,
    MAX_PAGE_SIZE,
    OPEN_BEFORE_DECISION,
    bad,
    checked_division,
)
from safecity.enforcement.models import Case


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
        f.division = checked_division(session, who, f.division, "division")
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
