"""Resources web pages: nearest resources and evacuation on a map, coverage and gaps, warehouse
stock with its log and alerts, transfer requests. Register lists come from the kinds pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from safecity.core.config import get_settings
from safecity.core.deps import db, now
from safecity.core.errors import FieldError, Invalid, SafeCityError
from safecity.core.scope import Principal
from safecity.registry.models import Division
from safecity.resources import network, service
from safecity.resources import settings as targets
from safecity.resources import stock as rules
from safecity.resources.schemas import (
    EQUIPMENT_TYPES,
    EXPERT_FIELDS,
    SHELTER_CLASSES,
    SHELTER_STATUS,
    TIERS,
)
from safecity.resources.texts import TEXTS
from safecity.web.guard import form_data, web_user
from safecity.web.i18n import pick
from safecity.web.render import lang_of, render

router = APIRouter(prefix="/resources", include_in_schema=False)
Db = Depends(db, scope="function")


def _page(request: Request, template: str, **context: Any) -> Response:
    lang = lang_of(request)

    def rt(key: str, **values: Any) -> str:
        pair = TEXTS.get(key)
        text = pick(pair, lang) if pair else key
        return text.format(**values) if values else text

    def label(table: dict[str, tuple[str, str]], key: str) -> str:
        return pick(table.get(key, (key, key)), lang)

    return render(
        request,
        template,
        rt=rt,
        label_of=label,
        texts_json={k: pick(v, lang) for k, v in TEXTS.items()},
        **context,
    )


@router.get("/analysis")
def analysis(
    request: Request, session: Session = Db, who: Principal = Depends(web_user)
) -> Response:
    row = network.active(session)
    lang = lang_of(request)
    incident = request.query_params.get("incident", "")
    return _page(
        request,
        "resources/analysis.html",
        network=row,
        incident=int(incident) if incident.isdigit() and len(incident) < 12 else None,
        expert_fields=EXPERT_FIELDS,
        equipment_types=EQUIPMENT_TYPES,
        config={
            "network": bool(row),
            "center": [121.40, 37.50],
            "incident": int(incident) if incident.isdigit() and len(incident) < 12 else None,
            "fields": {k: pick(v, lang) for k, v in EXPERT_FIELDS.items()},
            "equipment_types": {k: pick(v, lang) for k, v in EQUIPMENT_TYPES.items()},
        },
    )


def _roads_page(
    request: Request,
    session: Session,
    who: Principal,
    *,
    status: int = 200,
    errors: SafeCityError | None = None,
    done: bool = False,
) -> Response:
    network.require_importer(who)
    row = network.active(session)
    current = network.describe(session, row)
    return _page(
        request,
        "resources/roads.html",
        status=status,
        row=row,
        current=current,
        history=network.history(session),
        errors=errors,
        done=done,
        cap_mb=get_settings().max_upload_mb,
        config={"bbox": current.get("bbox")},
    )


@router.get("/roads")
def roads_page(
    request: Request, session: Session = Db, who: Principal = Depends(web_user)
) -> Response:
    """The road network routing runs on, and an upload that replaces it (administrators)."""
    return _roads_page(request, session, who, done=request.query_params.get("done") == "1")


@router.post("/roads")
def roads_upload(
    request: Request,
    session: Session = Db,
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    network.require_importer(who)
    upload = (form or FormData()).get("file")
    name = (form or FormData()).get("name")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid([FieldError("file", "请选择道路文件", "choose a road file")])
        with session.begin_nested():
            network.import_upload(
                session,
                who,
                upload.filename,
                upload.file,
                at,
                max_bytes=get_settings().max_upload_mb * 1024 * 1024,
                name=name if isinstance(name, str) else "",
            )
    except SafeCityError as exc:
        if exc.status in (403, 404):
            raise
        return _roads_page(request, session, who, status=exc.status, errors=exc)
    session.commit()
    return RedirectResponse("/resources/roads?done=1", status_code=303)


@router.get("/shelter-status")
def shelter_board(
    request: Request, session: Session = Db, who: Principal = Depends(web_user)
) -> Response:
    """Every shelter in scope with its capacity and status, switched open / closed / full."""
    qp = request.query_params
    status = qp.get("status") or ""
    division = qp.get("division") or ""
    q = (qp.get("q") or "").strip()[:100]
    every = service.list_resources(session, who, "shelters", q=q or None)
    counties = sorted({s.division_code[:6] for s in every})
    shown = [
        s
        for s in every
        if (not status or s.status == status) and (not division or s.division_code[:6] == division)
    ]
    totals = {
        k: {
            "count": sum(1 for s in every if s.status == k),
            "capacity": sum(s.capacity for s in every if s.status == k),
        }
        for k in SHELTER_STATUS
    }
    names = dict(session.execute(select(Division.code, Division.name)).all())
    return _page(
        request,
        "resources/shelter_status.html",
        shelters=shown,
        total=len(every),
        totals=totals,
        statuses=SHELTER_STATUS,
        classes=SHELTER_CLASSES,
        counties=counties,
        names=names,
        wanted=status,
        division=division,
        q=q,
        may_write=who.role in service.WRITERS,
        back=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    )


@router.post("/shelter-status/{shelter_id}")
def shelter_status_post(
    shelter_id: int,
    session: Session = Db,
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    fields = form or FormData()
    service.set_shelter_status(session, who, shelter_id, str(fields.get("status") or ""), at)
    session.commit()
    back = str(fields.get("back") or "/resources/shelter-status")
    if not back.startswith("/resources/shelter-status"):
        back = "/resources/shelter-status"  # only back to this page, never elsewhere
    return RedirectResponse(f"{back}#s{shelter_id}", status_code=303)


@router.get("/coverage")
def coverage_page(
    request: Request,
    session: Session = Db,
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    preset = request.query_params.get("preset") or "fire"
    if preset not in service.COVERAGE_PRESETS:
        preset = "fire"
    found: dict[str, Any] | None = None
    problem: SafeCityError | None = None
    try:
        found = service.coverage(session, who, preset)
    except SafeCityError as exc:  # no network, no teams: said on the page, not a 500
        problem = exc
    gaps = service.gaps(session, who, today=at.date())
    judged = targets.loaded()
    return _page(
        request,
        "resources/coverage.html",
        preset=preset,
        presets=list(service.COVERAGE_PRESETS),
        preset_values={
            p: float(judged.value(spec["target"])) for p, spec in service.COVERAGE_PRESETS.items()
        },
        coverage=found,
        problem=problem,
        gaps=gaps,
        target_rows=_target_rows(gaps["targets"], lang_of(request)),
    )


# The targets listed under the gaps, in this order (the kit has its own table).
_SHOWN = (
    "shelter_area_per_resident_m2",
    "shelter_area_per_person_m2",
    "warehouse_city_min_m2",
    "warehouse_district_min_m2",
    "warehouse_town_min_m2",
    "relocation_people",
    "fire_staff_per_population_pct",
    "fire_rescue_minutes",
    "aviation_km",
    "forest_fire_km",
)


def _target_rows(found: dict[str, dict[str, Any]], lang: str) -> list[dict[str, str]]:
    """Each target as the page lists it: name, value with unit, and where it came from."""
    rows = []
    for name in _SHOWN:
        t = found.get(name)
        if t is None:
            continue
        zh, en, unit_zh, unit_en = targets.LABELS[name]
        source = pick(TEXTS[f"res_src_{t['source']}"], lang).format(where=t.get("where", ""))
        rows.append(
            {
                "name": name,
                "label": en if lang == "en" else zh,
                "value": f"{t['value']:,g} {unit_en if lang == 'en' else unit_zh}",
                "source": t["source"],
                "source_text": source,
            }
        )
    return rows


@router.get("/stock")
def stock_index(
    request: Request,
    session: Session = Db,
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    return _stock_index(request, session, who, at, added=request.query_params.get("added", ""))


def _stock_index(
    request: Request,
    session: Session,
    who: Principal,
    at: datetime,
    *,
    status: int = 200,
    item_errors: Invalid | None = None,
    item_form: dict[str, Any] | None = None,
    added: str = "",
) -> Response:
    whs = service.list_resources(session, who, "warehouses")
    alerts = service.stock_alerts(session, who, at.date())
    count: dict[int, int] = {}
    for a in alerts:
        count[a["warehouse_id"]] = count.get(a["warehouse_id"], 0) + 1
    lang = lang_of(request)
    return _page(
        request,
        "resources/stock_index.html",
        status=status,
        warehouses=whs,
        alerts=alerts,
        alert_count=count,
        tiers=TIERS,
        catalogue=service.items(session),
        major_classes=rules.MAJOR_CLASSES,
        may_write=who.role in service.WRITERS,
        item_errors={e.field: pick((e.zh, e.en), lang) for e in item_errors.errors}
        if item_errors
        else {},
        item_form=item_form or {},
        added=added,
    )


@router.post("/items")
def item_create(
    request: Request,
    session: Session = Db,
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    """Add a material to the catalogue by its GB/T 38565-2020 code."""
    raw = {k: str(v).strip() for k, v in (form or FormData()).items() if k != "csrf"}
    data: dict[str, Any] = {k: v for k, v in raw.items() if v != ""}
    unreadable: list[FieldError] = []
    if "shelf_life_days" in data:
        try:
            data["shelf_life_days"] = int(data["shelf_life_days"])
        except ValueError:
            del data["shelf_life_days"]  # the rest is still checked, so every error shows
            unreadable.append(
                FieldError("shelf_life_days", "保质期应为整数天", "days, a whole number")
            )
    try:
        with session.begin_nested():
            item = service.create_item(session, who, data, at)
            if unreadable:
                raise Invalid(unreadable)  # nothing is kept
    except Invalid as exc:
        errors = Invalid(unreadable + [e for e in exc.errors if e not in unreadable])
        return _stock_index(
            request, session, who, at, status=422, item_errors=errors, item_form=raw
        )
    session.commit()
    return RedirectResponse(f"/resources/stock?added={item.code}#catalogue", status_code=303)


def _stock_page(
    request: Request,
    session: Session,
    who: Principal,
    at: datetime,
    warehouse_id: int,
    errors: Invalid | SafeCityError | None = None,
    form: dict[str, Any] | None = None,
    minimum_errors: SafeCityError | None = None,
    saved: str = "",
) -> Response:
    wh = service.get_resource(session, who, "warehouses", warehouse_id)
    problem = errors or minimum_errors
    return _page(
        request,
        "resources/stock.html",
        status=422 if isinstance(problem, Invalid) else (problem.status if problem else 200),
        wh=wh,
        levels=service.item_levels(session, who, warehouse_id, at.date()),
        minimum_errors=minimum_errors,
        saved=saved,
        stock=service.warehouse_stock(session, who, warehouse_id, at.date()),
        movements=service.movements(session, who, warehouse_id, 100),
        alerts=service.stock_alerts(session, who, at.date(), warehouse_id=warehouse_id),
        items=service.items(session),
        others=[w for w in service.list_resources(session, who, "warehouses") if w.id != wh.id],
        kinds_of=rules.MOVEMENT_KINDS,
        tiers=TIERS,
        errors=errors,
        form=form or {},
        may_write=who.role in service.WRITERS,
    )


@router.get("/stock/{warehouse_id}")
def stock_page(
    warehouse_id: int,
    request: Request,
    session: Session = Db,
    who: Principal = Depends(web_user),
    at: datetime = Depends(now),
) -> Response:
    return _stock_page(
        request, session, who, at, warehouse_id, saved=request.query_params.get("saved", "")
    )


@router.post("/stock/{warehouse_id}/minimum")
def minimum_post(
    warehouse_id: int,
    request: Request,
    session: Session = Db,
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    """Set (or change) the least quantity of one item this warehouse must hold."""
    raw = {k: str(v).strip() for k, v in (form or FormData()).items() if k != "csrf"}
    data: dict[str, Any] = {}
    problems = []
    for key in ("item_id", "minimum"):
        try:
            data[key] = int(raw.get(key, ""))
        except ValueError:
            problems.append(
                FieldError(key, "最低库存应为整数", "the minimum must be a whole number")
            )
    try:
        if problems:
            raise Invalid(problems)
        with session.begin_nested():
            service.set_minimum(session, who, warehouse_id, data, at)
    except SafeCityError as exc:
        if exc.status in (403, 404):
            raise
        return _stock_page(request, session, who, at, warehouse_id, minimum_errors=exc)
    session.commit()
    return RedirectResponse(
        f"/resources/stock/{warehouse_id}?saved={data['item_id']}#levels", status_code=303
    )


@router.post("/stock/{warehouse_id}")
def stock_post(
    warehouse_id: int,
    request: Request,
    session: Session = Db,
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    raw = {k: v for k, v in (form or {}).items() if k != "csrf" and v != ""}
    data: dict[str, Any] = dict(raw)
    for key in ("item_id", "quantity", "to_warehouse_id"):
        if key in data:
            try:
                data[key] = int(str(data[key]))
            except ValueError:
                error = Invalid([FieldError(key, "应为整数", "must be a whole number")])
                return _stock_page(request, session, who, at, warehouse_id, error, raw)
    try:
        with session.begin_nested():
            service.record_movement(session, who, warehouse_id, data, at)
    except (Invalid, SafeCityError) as exc:
        if exc.status in (404, 403):
            raise
        return _stock_page(request, session, who, at, warehouse_id, exc, raw)
    return RedirectResponse(f"/resources/stock/{warehouse_id}", status_code=303)


def _transfers_page(
    request: Request,
    session: Session,
    who: Principal,
    *,
    status: int = 200,
    errors: SafeCityError | None = None,
    form: dict[str, Any] | None = None,
    done: str = "",
) -> Response:
    reqs = service.list_requests(session, who)
    mine = service.list_resources(session, who, "warehouses")
    every = {w.id: w for w in service.request_sources(session, who)}
    names = {i.id: i for i in service.items(session)}
    field_errors = (
        {e.field: pick((e.zh, e.en), lang_of(request)) for e in errors.errors}
        if isinstance(errors, Invalid)
        else {}
    )
    return _page(
        request,
        "resources/transfers.html",
        status=status,
        requests=reqs,
        warehouses=every,
        destinations=mine,
        items=names,
        states=rules.REQUEST_STATES,
        actions=rules.ACTIONS,
        actions_from=rules.actions_from,
        may_write=who.role in service.WRITERS,
        can=lambda r, action: _may_act(who, r, action),
        when=datetime.fromisoformat,
        errors=errors,
        field_errors=field_errors,
        form=form or {},
        done=done,
        counts={k: sum(1 for r in reqs if r.status == k) for k in rules.REQUEST_STATES},
    )


def _may_act(who: Principal, req: Any, action: str) -> bool:
    """Whether the step is this user's to take (the source or the requesting side)."""
    found = rules.TRANSITIONS.get((req.status, action))
    if found is None or who.role not in service.WRITERS:
        return False
    side = found[1]
    return who.covers(
        req.source_division_code if side == "source" else req.destination_division_code
    )


@router.get("/transfers")
def transfers(
    request: Request, session: Session = Db, who: Principal = Depends(web_user)
) -> Response:
    return _transfers_page(request, session, who, done=request.query_params.get("done", ""))


@router.post("/transfers")
def transfer_create(
    request: Request,
    session: Session = Db,
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    """A department asks another store for material (the requesting side fills this in)."""
    raw = {k: str(v) for k, v in (form or FormData()).items() if k != "csrf"}
    data: dict[str, Any] = {k: v.strip() for k, v in raw.items() if v.strip() != ""}
    problems = []
    for key in ("item_id", "quantity", "source_warehouse_id", "destination_warehouse_id"):
        if key not in data:
            problems.append(FieldError(key, "必填", "required"))
            continue
        try:
            data[key] = int(data[key])
        except ValueError:
            problems.append(FieldError(key, "应为整数", "must be a whole number"))
    try:
        if problems:
            raise Invalid(problems)
        with session.begin_nested():
            req = service.create_request(session, who, data, at)
    except SafeCityError as exc:
        if exc.status == 404:
            raise
        return _transfers_page(request, session, who, status=exc.status, errors=exc, form=raw)
    session.commit()
    return RedirectResponse(f"/resources/transfers?done={req.id}#r{req.id}", status_code=303)


@router.post("/transfers/{request_id}/{action}")
def transfer_action(
    request_id: int,
    action: str,
    request: Request,
    session: Session = Db,
    who: Principal = Depends(web_user),
    form: FormData | None = Depends(form_data),
    at: datetime = Depends(now),
) -> Response:
    raw = (form or FormData()).get("quantity")
    quantity: int | None = None
    try:
        if isinstance(raw, str) and raw.strip():
            try:
                quantity = int(raw)
            except ValueError:
                raise Invalid(
                    [FieldError("quantity", "归还数量应为整数", "quantity must be a whole number")]
                ) from None
        with session.begin_nested():
            service.act_on_request(session, who, request_id, action, at, quantity=quantity, note="")
    except SafeCityError as exc:
        if exc.status == 404:
            raise
        return _transfers_page(request, session, who, status=exc.status, errors=exc)
    session.commit()
    return RedirectResponse(f"/resources/transfers#r{request_id}", status_code=303)
