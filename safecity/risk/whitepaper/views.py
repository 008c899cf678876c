"""Risk white paper download: the REST endpoint and the page with the year/division form."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.deps import db, now, principal
from safecity.core.errors import Invalid
from safecity.core.scope import Principal
from safecity.registry.models import Division
from safecity.risk.whitepaper import data as wp_data
from safecity.risk.whitepaper import service as whitepaper
from safecity.web.guard import web_user
from safecity.web.render import lang_of, render

router = APIRouter()
_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _download(content: bytes, media_type: str, filename: str) -> Response:
    # ASCII name for old clients, the Chinese one (RFC 6266 filename*) for everyone else;
    # both come from build(), which only returns validated parts ("<name>-<year>.<ext>").
    fallback = "safecity-white-paper-" + filename.rsplit("-", 1)[-1]
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


@router.get(
    "/api/v1/risk/white-paper",
    tags=["risk"],
    summary="城市安全风险白皮书 (PDF/DOCX) / yearly risk white paper",
    response_class=Response,
    responses={
        200: {
            "description": "PDF or DOCX file",
            "content": {"application/pdf": _BINARY, wp_data.FORMATS["docx"]: _BINARY},
        }
    },
)
def white_paper(
    year: str = Query(..., description="年度，四位数字，如 2025 / four-digit year"),
    division: str | None = Query(
        None, description="行政区划代码，默认本人管辖范围 / division code"
    ),
    format: str = Query("pdf", description="pdf | docx"),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    clock: datetime = Depends(now),
) -> Response:
    code = division or who.division_code
    content, media_type, filename = whitepaper.build(session, who, year, code, format, clock)
    return _download(content, media_type, filename)


def _divisions(session: Session, who: Principal) -> list[Division]:
    """Divisions the user may choose: their own and the ones under it."""
    stmt = select(Division).where(Division.archived.is_(False))
    if who.prefix:
        stmt = stmt.where(Division.code.startswith(who.prefix, autoescape=True))
    items = list(session.scalars(stmt.order_by(Division.code)))
    return [d for d in items if d.level in ("province", "city", "county")] or items


def _page(
    request: Request,
    session: Session,
    who: Principal,
    clock: datetime,
    year: str,
    division: str,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> Response:
    this_year = clock.astimezone(BEIJING).year
    return render(
        request,
        "risk/white_paper.html",
        status=status,
        divisions=_divisions(session, who),
        year=year,
        division=division,
        period=period_of(year, clock),
        years=list(range(this_year, max(wp_data.MIN_YEAR, this_year - 10) - 1, -1)),
        errors=errors or {},
    )


@router.get("/risk/white-paper", include_in_schema=False)
def white_paper_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    clock: datetime = Depends(now),
) -> Response:
    # The current year to date: a finished previous year predates most of what the maps show
    # (its paper reported 0 major hazards while the map had 47); the page says the period.
    this_year = clock.astimezone(BEIJING).year
    return _page(request, session, who, clock, str(this_year), who.division_code)


def period_of(year: str, clock: datetime) -> tuple[str, str] | None:
    """The period a year's paper covers, (zh, en): a whole year, or 1 January to date."""
    try:
        y = wp_data.parse_year(year, clock)
    except Invalid:
        return None
    end, partial = wp_data.year_cutoff(y, clock)
    if not partial:
        return f"{y}年1月1日至{y}年12月31日（全年）", f"1 January to 31 December {y} (whole year)"
    d = end.astimezone(BEIJING)
    return (
        f"{y}年1月1日至{d.month}月{d.day}日（年度尚未结束，数据截至当日）",
        f"1 January {y} to {d.day} {d.strftime('%B')} {y} (year to date)",
    )


@router.get("/risk/white-paper/download", include_in_schema=False)
def white_paper_download(
    request: Request,
    year: str = "",
    division: str = "",
    format: str = "pdf",
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    clock: datetime = Depends(now),
) -> Response:
    code = division or who.division_code
    try:
        content, media_type, filename = whitepaper.build(session, who, year, code, format, clock)
    except Invalid as exc:
        errors: dict[str, list[str]] = {}
        lang_en = lang_of(request) == "en"
        for e in exc.errors:
            errors.setdefault(e.field, []).append(e.en if lang_en else e.zh)
        return _page(request, session, who, clock, year, code, errors, status=422)
    return _download(content, media_type, filename)
