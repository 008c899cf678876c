"""Indicators web pages: the indicator table with trajectories, one indicator with its inputs
and records, the statistics (import and corrections), the evaluation report, and the
operations-centre wall (dark, full screen, live through server-sent events)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from safecity.core.clock import utcnow
from safecity.core.db import session_scope
from safecity.core.deps import db, now
from safecity.core.errors import FieldError, Invalid, NotFound, SafeCityError
from safecity.core.scope import Principal
from safecity.core.validation import translate
from safecity.indicators import report, service, vitals
from safecity.indicators.definitions import INPUTS, SHIPPED_SETS
from safecity.indicators.progress import trajectory
from safecity.indicators.report import fmt, target_text
from safecity.indicators.schemas import IndicatorPatch
from safecity.registry.models import Division
from safecity.web.guard import form_data, web_user
from safecity.web.i18n import pick
from safecity.web.kinds_views import scope_divisions
from safecity.web.render import lang_of, render

router = APIRouter(prefix="/indicators", include_in_schema=False)
STATUS_COLOUR = {
    "on_track": "#2e7d32",
    "at_risk": "#f57c00",
    "off_track": "#d32f2f",
    "unknown": "#8a94a6",
}
WALL_INTERVAL_S = 10
WALL_STREAM_S = 600  # the browser's EventSource reconnects after this


def _int(v: Any, default: int | None = None) -> int | None:
    try:
        return int(v) if v not in (None, "") else default
    except (TypeError, ValueError):
        return default


def svg_chart(
    ind: Any,
    ev: service.Evaluation,
    division: str,
    width: int = 160,
    height: int = 36,
    full: bool = False,
) -> Markup:
    """Values over the years (solid, dots coloured by status) against the trajectory (dashed)
    from base to target; the compact form is the table's sparkline."""
    pts = []
    for y in ev.years:
        c = ev.cell(ind.key, division, y)
        if c is not None and c.progress.value is not None:
            pts.append((y, float(c.progress.value), c.progress.status))
    last = ev.cell(ind.key, division, ev.years[-1]) if ev.years else None
    base = last.base_value if last else None
    start = ind.base_year or ind.period_start
    path = [
        (y, float(v))
        for y in range(start, ind.period_end + 1)
        if (v := trajectory(ind, y, base)) is not None
    ]
    tv = ind.target_value(base)
    vals = [v for _, v, _ in pts] + [v for _, v in path] + ([float(tv)] if tv is not None else [])
    if not vals:
        return Markup(f'<svg width="{width}" height="{height}" class="spark"></svg>')
    x0 = min([p[0] for p in pts] + [start])
    x1 = max([p[0] for p in pts] + [ind.period_end])
    lo, hi = min(vals), max(vals)
    if full:
        lo = min(lo, 0.0)
    pad = (hi - lo) * 0.12 or max(abs(hi) * 0.1, 1e-9)
    lo, hi = lo - (0 if full and lo == 0 else pad), hi + pad
    left, right, top, bottom = (56, 16, 14, 28) if full else (2, 2, 3, 3)

    def X(y: float) -> float:
        return left + (y - x0) / max(1, x1 - x0) * (width - left - right)

    def Y(v: float) -> float:
        return top + (1 - (v - lo) / (hi - lo)) * (height - top - bottom)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" class="{"chart" if full else "spark"}" role="img">'
    ]
    if full:
        for i in range(5):
            v = lo + (hi - lo) * i / 4
            parts.append(
                f'<line x1="{left}" x2="{width - right}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" '
                f'stroke="#e7ebf1"/><text x="{left - 6}" y="{Y(v) + 4:.1f}" text-anchor="end" '
                f'class="ax">{fmt(v, 3)}</text>'
            )
        for y in range(int(x0), int(x1) + 1):
            parts.append(
                f'<text x="{X(y):.1f}" y="{height - 8}" text-anchor="middle" class="ax">{y}</text>'
            )
    if tv is not None:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{Y(float(tv)):.1f}" '
            f'y2="{Y(float(tv)):.1f}" stroke="#2e7d32" stroke-width="1" opacity="0.6"/>'
        )
    if len(path) > 1:
        d = " ".join(f"{X(y):.1f},{Y(v):.1f}" for y, v in path)
        parts.append(
            f'<polyline points="{d}" fill="none" stroke="#8a94a6" stroke-width="1.5" '
            'stroke-dasharray="4 3"/>'
        )
    if len(pts) > 1:
        d = " ".join(f"{X(y):.1f},{Y(v):.1f}" for y, v, _ in pts)
        parts.append(
            f'<polyline points="{d}" fill="none" stroke="#1b5fc1" stroke-width="{2 if full else 1.5}"/>'
        )
    r = 4.5 if full else 2.2
    for y, v, st in pts:
        parts.append(
            f'<circle cx="{X(y):.1f}" cy="{Y(v):.1f}" r="{r}" fill="{STATUS_COLOUR[st]}">'
            f"<title>{y}: {fmt(v)}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _context(request: Request, session: Session, who: Principal, at: datetime) -> dict[str, Any]:
    qp = request.query_params
    sets = service.list_sets(session, who)
    chosen = _int(qp.get("set"))
    s = next((x for x in sets if x.id == chosen), None) or service.default_set(session, who)
    # The last complete year by default: the current one is still being counted.
    last = service.current_year(at) - 1
    year = _int(qp.get("year"), last) or last
    return {"sets": sets, "set": s, "year": year}


@router.get("")
def index(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    ctx = _context(request, session, who, at)
    s = ctx["set"]
    if s is None:
        return render(request, "indicators/index.html", **ctx, ev=None)
    visible = service.visible_divisions(who, s.divisions)
    division = request.query_params.get("division") or (
        s.division_code if s.division_code in visible else visible[0]
    )
    ev = service.evaluate(session, who, s.id, at, division=division)
    year = ctx["year"] if ctx["year"] in ev.years else ev.years[-1]
    rows = []
    for ind in ev.definitions:
        c = ev.cell(ind.key, division, year)
        if c is None:
            continue
        rows.append({"ind": ind, "cell": c, "spark": svg_chart(ind, ev, division)})
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["cell"].progress.status] = counts.get(r["cell"].progress.status, 0) + 1
    return render(
        request,
        "indicators/index.html",
        **{**ctx, "year": year},
        ev=ev,
        division=division,
        visible=visible,
        rows=rows,
        counts=counts,
        num=fmt,
        target_text=target_text,
        colours=STATUS_COLOUR,
    )


@router.get("/statistics")
def statistics_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    return _statistics(request, session, who, at)


def _statistics(
    request: Request,
    session: Session,
    who: Principal,
    at: datetime,
    status: int = 200,
    **extra: Any,
) -> Response:
    qp = request.query_params
    division = qp.get("division") or None
    year = _int(qp.get("year"))
    input_name = qp.get("input") or None
    lang = lang_of(request)
    inputs = {k: pick((v.zh, v.en), lang) for k, v in INPUTS.items()}
    try:
        page = service.page_statistics(
            session,
            who,
            within=division,
            year=year,
            input_name=input_name,
            page=_int(qp.get("page"), 1) or 1,
        )
    except Invalid as exc:  # an unknown input in the address: the page says so, 422
        page = service.StatPage([], 0, 1, service.STAT_PAGE_SIZE)
        extra.setdefault("errors", [f"{e.field}: {pick((e.zh, e.en), lang)}" for e in exc.errors])
        status = 422
    return render(
        request,
        "indicators/statistics.html",
        status,
        page=page,
        rows=page.items,
        total=page.total,
        division=division or "",
        year=year or "",
        input_name=input_name or "",
        divisions=scope_divisions(session, who),
        inputs=inputs,
        units={k: v.unit for k, v in INPUTS.items()},
        can_write=who.role in service.STAT_WRITERS,
        this_year=service.current_year(at),
        **extra,
    )


@router.post("/statistics")
async def statistics_post(
    request: Request,
    form: FormData | None = Depends(form_data),
    who: Principal = Depends(web_user),
) -> Response:
    at = utcnow()
    assert form is not None
    file = form.get("file")
    with session_scope() as session:
        try:
            if isinstance(file, UploadFile) and (file.filename or file.size):
                content = await file.read(5 * 1024 * 1024 + 1)
                if len(content) > 5 * 1024 * 1024:
                    raise Invalid([FieldError("file", "文件不能超过 5 MB", "larger than 5 MB")])
                items = service.parse_statistics_xlsx(content, str(form.get("source") or ""))
            else:
                items = [
                    service.StatIn(
                        str(form.get("division_code") or "").strip(),
                        _int(form.get("year"), 0) or 0,
                        str(form.get("input") or ""),
                        str(form.get("value") or "").strip(),
                        str(form.get("source") or ""),
                        str(form.get("note") or ""),
                    )
                ]
            report = service.record_statistics(session, who, items, at)
        except Invalid as exc:
            session.rollback()
            lang = lang_of(request)
            errors = [
                (f"第{e.row}行 " if e.row else "") + f"{e.field}: " + pick((e.zh, e.en), lang)
                for e in exc.errors
            ]
            return _statistics(request, session, who, at, 422, errors=errors)
    flags = ";".join(f.reason_zh if lang_of(request) != "en" else f.reason_en for f in report.flags)
    url = (
        f"/indicators/statistics?created={report.created}&corrected={report.corrected}"
        f"&unchanged={report.unchanged}"
    )
    if flags:
        url += "&flags=" + quote(flags[:1500])
    return RedirectResponse(url, status_code=303)


MAX_SET_BYTES = 1024 * 1024


def _sets_page(
    request: Request,
    session: Session,
    who: Principal,
    *,
    status: int = 200,
    errors: list[str] | None = None,
    result: dict[str, Any] | None = None,
) -> Response:
    sets = service.list_sets(session, who)
    counts = {s.id: len(service.indicator_rows(session, s.id)) for s in sets}
    return render(
        request,
        "indicators/sets.html",
        status,
        sets=sets,
        counts=counts,
        shipped=SHIPPED_SETS,
        may_import=who.role in service.SET_EDITORS,
        errors=errors or [],
        result=result,
    )


@router.get("/sets")
def sets_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    """The indicator sets in the reader's scope, the shipped ones to start from, and (for
    analysts and admins) a TOML upload that creates or replaces a city's set."""
    qp = request.query_params
    result = None
    if qp.get("city"):
        result = {k: qp.get(k, "") for k in ("city", "created", "updated", "removed", "unchanged")}
    return _sets_page(request, session, who, result=result)


@router.post("/sets")
async def sets_upload(
    request: Request,
    form: FormData | None = Depends(form_data),
    who: Principal = Depends(web_user),
) -> Response:
    at = utcnow()
    upload = (form or FormData()).get("file")
    lang = lang_of(request)
    with session_scope() as session:
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise Invalid([FieldError("file", "请选择指标集文件（TOML）", "choose a set file")])
            content = await upload.read(MAX_SET_BYTES + 1)
            if len(content) > MAX_SET_BYTES:
                raise Invalid([FieldError("file", "文件不能超过 1 MB", "larger than 1 MB")])
            try:
                text = content.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise Invalid(
                    [FieldError("file", "文件应为 UTF-8 编码的 TOML", "not UTF-8 TOML text")]
                ) from None
            result = service.import_set(session, who, text, at)
            city = result.set.city
            counts = {
                k: len(getattr(result, k)) for k in ("created", "updated", "removed", "unchanged")
            }
        except Invalid as exc:
            session.rollback()
            errors = [f"{e.field}: {pick((e.zh, e.en), lang)}" for e in exc.errors]
            return _sets_page(request, session, who, status=422, errors=errors)
    query = "&".join(f"{k}={v}" for k, v in counts.items())
    return RedirectResponse(f"/indicators/sets?city={quote(city)}&{query}", status_code=303)


@router.get("/sets/shipped/{city}.toml")
def shipped_set(city: str, who: Principal = Depends(web_user)) -> Response:
    """One of the shipped sets as its file, to start a city's own from."""
    service.check_reader(who)
    if city not in SHIPPED_SETS:
        raise NotFound("指标集", "indicator set")
    text = resources.files("safecity.indicators").joinpath(f"data/{city}.toml").read_text("utf-8")
    return Response(
        text,
        media_type="application/toml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{city}.toml"'},
    )


@router.get("/report")
def report_page(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    ctx = _context(request, session, who, at)
    years = list(range(service.current_year(at), 2019, -1))
    return render(request, "indicators/report.html", **ctx, years=years)


@router.get("/report/file")
def report_file(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    qp = request.query_params
    fmt_ = qp.get("format") or "docx"
    if fmt_ not in ("docx", "pdf"):
        raise Invalid([FieldError("format", "格式应为 docx 或 pdf", "format must be docx or pdf")])
    set_id = _int(qp.get("set")) or 0
    year = _int(qp.get("year")) or service.current_year(at)
    content, media, name = report.build(session, who, set_id, year, at, fmt_)
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.get("/wall")
def wall(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    data = vitals.vital_signs(session, who, at)
    return render(
        request,
        "indicators/wall.html",
        v=data,
        v_json=Markup(json.dumps(data, ensure_ascii=False).replace("</", "<\\/")),
        map_svg=Markup(vitals.risk_map_svg(session, who)),
        scope_name=service.scope_label(session, who.division_code),
        interval=WALL_INTERVAL_S,
    )


@router.get("/wall/stream")
def wall_stream(
    request: Request,
    once: int = 0,
    who: Principal = Depends(web_user),
) -> StreamingResponse:
    """Server-sent events: the vital signs every few seconds (``once=1``: one event)."""

    def events() -> Iterator[str]:
        started = time.monotonic()
        while True:
            with session_scope() as session:
                try:
                    data = vitals.vital_signs(session, who, utcnow())
                except SafeCityError as exc:
                    yield f"event: error\ndata: {json.dumps(exc.body(), ensure_ascii=False)}\n\n"
                    return
            yield f"retry: 5000\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
            if once or time.monotonic() - started > WALL_STREAM_S:
                return
            time.sleep(WALL_INTERVAL_S)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# The definition's error paths (as the TOML names them) → the edit form's fields.
FORM_FIELD = {
    "base.year": "base_year",
    "base.value": "base_value",
    "target": "target_value",
    "target.value": "target_value",
    "target.change_percent": "target_change_percent",
    "target.strict": "target_strict",
    "period": "period_end",
    "period.start": "period_start",
    "period.end": "period_end",
}
FORM_TEXT = ("name_zh", "name_en", "unit", "source", "formula")
FORM_YEARS = ("period_start", "period_end", "base_year")
FORM_NUMBERS = ("base_value", "target_value", "target_change_percent")


def _form_values(row: Any) -> dict[str, Any]:
    """The stored indicator as the form shows it (text boxes hold text)."""
    out: dict[str, Any] = {k: getattr(row, k) for k in service.EDITABLE}
    for k in (*FORM_YEARS, *FORM_NUMBERS):
        out[k] = "" if out[k] is None else str(out[k])
    out["binding"] = out["binding"] or ""
    out["all_divisions"] = list(row.divisions) == ["*"]
    return out


def _form_changes(form: FormData) -> tuple[dict[str, Any], dict[str, Any], list[FieldError]]:
    """(what the form shows again, the changes for the service, the errors found reading it)."""
    shown: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in (*FORM_TEXT,
                             *FORM_YEARS, *FORM_NUMBERS, "direction", "binding")}  # fmt: skip
    shown["target_strict"] = form.get("target_strict") in ("on", "true", "1")
    shown["all_divisions"] = form.get("all_divisions") in ("on", "true", "1")
    shown["divisions"] = [str(d) for d in form.getlist("divisions")]
    changes: dict[str, Any] = {k: shown[k] for k in FORM_TEXT}
    changes["direction"] = shown["direction"]
    changes["binding"] = shown["binding"] or None
    changes["target_strict"] = shown["target_strict"]
    changes["divisions"] = ["*"] if shown["all_divisions"] else shown["divisions"]
    errors: list[FieldError] = []
    for k in FORM_YEARS:
        raw = shown[k]
        if not raw:
            changes[k] = None
            continue
        try:
            changes[k] = int(raw)
        except ValueError:
            errors.append(
                FieldError(k, f"应为年份（整数），收到 {raw!r}", f"must be a year, got {raw!r}")
            )
    for k in FORM_NUMBERS:
        changes[k] = shown[k] or None
    return shown, changes, errors


def _edit_page(
    request: Request,
    session: Session,
    who: Principal,
    set_id: int,
    key: str,
    values: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    status: int = 200,
) -> Response:
    s = service.get_set(session, who, set_id)
    service.check_set_editor(who, s)
    row = service.get_indicator(session, who, set_id, key)
    lang = lang_of(request)
    by_field: dict[str, list[str]] = {}
    for e in errors or []:
        by_field.setdefault(FORM_FIELD.get(e.field, e.field), []).append(pick((e.zh, e.en), lang))
    names = dict(
        session.execute(
            select(Division.code, Division.name).where(Division.code.in_(list(s.divisions)))
        ).all()
    )
    return render(
        request,
        "indicators/edit.html",
        status,
        set=s,
        row=row,
        values=values or _form_values(row),
        errors=by_field,
        inputs=INPUTS,
        division_names=names,
    )


@router.get("/{set_id}/{key}/edit")
def edit_form(
    request: Request,
    set_id: int,
    key: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
) -> Response:
    return _edit_page(request, session, who, set_id, key)


@router.post("/{set_id}/{key}/edit")
def edit_post(
    request: Request,
    set_id: int,
    key: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    """The same checks as PATCH /api/v1/indicators/sets/{id}/indicators/{key}: the typed body,
    then the definition validated as the TOML file is; every error shown at its field."""
    s = service.get_set(session, who, set_id)
    service.check_set_editor(who, s)
    shown, changes, unreadable = _form_changes(form or FormData())
    try:
        try:
            body = IndicatorPatch.model_validate(changes)
        except ValidationError as exc:
            raise Invalid(translate(exc.errors())) from None
        with session.begin_nested():
            service.update_indicator(
                session, who, set_id, key, body.model_dump(exclude_unset=True), at
            )
            if unreadable:
                raise Invalid(unreadable)  # a year that is no number: nothing is saved
    except Invalid as exc:
        # every problem at once: a year that could not be read is said as such, not as empty
        bad = {e.field for e in unreadable}
        rest = [e for e in exc.errors if FORM_FIELD.get(e.field, e.field) not in bad]
        errors = unreadable + rest if exc.errors is not unreadable else unreadable
        session.rollback()
        return _edit_page(request, session, who, set_id, key, shown, errors, 422)
    session.commit()
    return RedirectResponse(f"/indicators/{set_id}/{quote(key)}?saved=1", status_code=303)


@router.get("/{set_id}/{key}")
def detail(
    request: Request,
    set_id: int,
    key: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    s = service.get_set(session, who, set_id)
    visible = service.visible_divisions(who, s.divisions)
    qp = request.query_params
    division = qp.get("division") or (s.division_code if s.division_code in visible else visible[0])
    all_years = service.evaluate(session, who, s.id, at, division=division, keys=[key])
    ind = next((i for i in all_years.definitions if i.key == key), None)
    if ind is None:
        raise NotFound("指标", "indicator")
    last = min(service.current_year(at) - 1, all_years.years[-1])
    year = _int(qp.get("year"), last) or last
    if year not in all_years.years:
        year = all_years.years[-1]
    drill = service.drill_down(session, who, s.id, key, division, year, at)
    by_div = service.evaluate(session, who, s.id, at, years=[year], keys=[key])
    return render(
        request,
        "indicators/detail.html",
        set=s,
        ind=ind,
        year=year,
        division=division,
        visible=visible,
        cell=drill.cell,
        drill=drill,
        series=all_years,
        by_div=by_div,
        chart=svg_chart(ind, all_years, division, 760, 280, full=True),
        inputs=INPUTS,
        num=fmt,
        target_text=target_text,
        colours=STATUS_COLOUR,
        may_edit=service.may_edit_set(who, s),
        saved=qp.get("saved") == "1",
    )
