"""Resources REST API: travel-time questions, stock and its log, transfer requests (调拨).

The five registers' list/detail/import/export routes come from the generic kinds machinery
(``safecity.resources.kinds``); this router holds what is particular to resources."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from safecity.core.config import get_settings
from safecity.core.deps import db, now, principal
from safecity.core.errors import invalid
from safecity.core.scope import Principal
from safecity.resources import network, service
from safecity.resources.schemas import (
    ActionIn,
    AlertOut,
    CoverageOut,
    EvacuationIn,
    EvacuationOut,
    GapsOut,
    IsochroneOut,
    ItemIn,
    ItemOut,
    MinimumIn,
    MinimumOut,
    MovementIn,
    MovementOut,
    NearestOut,
    RequestIn,
    RequestOut,
    RoadNetworkOut,
    SheltersForOut,
    StockOut,
)

router = APIRouter(prefix="/api/v1/resources", tags=["resources"])
Db = Depends(db, scope="function")


@router.get("/nearest", response_model=NearestOut)
def nearest(
    kind: str = Query(
        ..., description="rescue-teams | warehouses | shelters | equipment | experts"
    ),
    lon: float = Query(..., ge=-180, le=180),
    lat: float = Query(..., ge=-90, le=90),
    n: int = Query(5, ge=1, le=100),
    max_time_s: float | None = Query(None, gt=0),
    direction: str | None = Query(None, description="to_point | from_point"),
    field: str | None = Query(None, description="experts only: hazchem, mine, fire, …"),
    equipment_type: str | None = Query(None, description="equipment only: vehicle, pump, …"),
    available_only: bool = Query(
        False, description="ready teams, open shelters, available equipment only"
    ),
    session: Session = Db,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """The nearest N resources by road travel time (forces, goods and experts to the point,
    people from it); experts by field, equipment by type with its tracker id."""
    return service.nearest(
        session,
        who,
        kind,
        lon,
        lat,
        n=n,
        max_time_s=max_time_s,
        direction=direction,
        field=field,
        equipment_type=equipment_type,
        available_only=available_only,
    )


@router.get("/shelters-for", response_model=SheltersForOut)
def shelters_for(
    lon: float = Query(..., ge=-180, le=180),
    lat: float = Query(..., ge=-90, le=90),
    people: int = Query(..., ge=1, le=10_000_000),
    max_time_s: float | None = Query(None, gt=0),
    session: Session = Db,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    return service.shelters_for(session, who, lon, lat, people, max_time_s=max_time_s)


@router.get("/stock-near", response_model=NearestOut)
def stock_near(
    lon: float = Query(..., ge=-180, le=180),
    lat: float = Query(..., ge=-90, le=90),
    item: list[str] | None = Query(None, description="GB/T 38565 item codes"),
    n: int = Query(5, ge=1, le=50),
    session: Session = Db,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.stock_near(session, who, lon, lat, item_codes=item, n=n, today=at.date())


@router.get("/isochrone", response_model=IsochroneOut)
def isochrone(
    lon: float = Query(..., ge=-180, le=180),
    lat: float = Query(..., ge=-90, le=90),
    minutes: float = Query(5, gt=0, le=120),
    direction: str = Query("from_point"),
    session: Session = Db,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    service.require_staff(who)
    return service.isochrone(session, lon, lat, minutes, direction=direction)


@router.get("/coverage", response_model=CoverageOut)
def coverage(
    preset: str = Query(
        "fire",
        description="fire (5 min by road) | aviation (50 km) | forest (2 km): the city's targets",
    ),
    division: str | None = Query(None, max_length=12),
    session: Session = Db,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    return service.coverage(session, who, preset, division=division)


@router.post("/evacuation", response_model=EvacuationOut, response_model_by_alias=True)
def evacuation(
    body: EvacuationIn,
    session: Session = Db,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    return service.evacuation_plan(session, who, **body.model_dump())


@router.get("/gaps", response_model=GapsOut)
def gaps(
    area_per_resident_m2: float | None = Query(
        None, gt=0, le=100, description="overrides the city's target (its setting)"
    ),
    relocation_people: int | None = Query(
        None, ge=0, le=10_000_000, description="overrides the city's target (its setting)"
    ),
    session: Session = Db,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    """Per division: shelter area per resident, warehouse floor by tier (city, district, each
    town), fire-rescue staff, supplies for the relocated people — each with its shortfall,
    judged against the city's targets (``SAFECITY_RESOURCES_*`` or ``[resources]`` in
    safecity.toml; ``targets`` says which and where each came from)."""
    return service.gaps(
        session,
        who,
        area_per_resident_m2=area_per_resident_m2,
        relocation_people=relocation_people,
        today=at.date(),
    )


@router.get("/road-network", response_model=RoadNetworkOut)
def road_network(session: Session = Db, who: Principal = Depends(principal)) -> dict[str, Any]:
    """The active road network: nodes, edges, bounding box and what the import skipped."""
    service.require_staff(who)
    return network.describe(session, network.active(session))


@router.post(
    "/road-network",
    response_model=RoadNetworkOut,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "name": {"type": "string"},
                        },
                    }
                }
            }
        }
    },
)
async def import_road_network(
    request: Request,
    session: Session = Db,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    """Upload an OSM extract (.osm.pbf/.osm) or GeoJSON LineStrings with OSM tags (admins;
    size-capped): it becomes the active network, or nothing changes when it is refused."""
    network.require_importer(who)
    form = await request.form(max_files=1)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise invalid("file", "请选择道路文件", "a road file is required")
    name = form.get("name")
    row, _ = await run_in_threadpool(
        network.import_upload,
        session,
        who,
        file.filename or "",
        file.file,
        at,
        max_bytes=upload_cap(),
        name=name if isinstance(name, str) else "",
    )
    return network.describe(session, row)


def upload_cap() -> int:
    """The installation's upload cap (the same the HTTP layer enforces on every upload)."""
    return get_settings().max_upload_mb * 1024 * 1024


# ---------------------------------------------------------------- items and stock


@router.get("/items", response_model=list[ItemOut])
def list_items(session: Session = Db, who: Principal = Depends(principal)) -> list[dict[str, Any]]:
    service.require_staff(who)
    return [
        {"id": i.id, "code": i.code, "name": i.name, "unit": i.unit, "name_en": i.name_en}
        for i in service.items(session)
    ]


@router.post("/items", response_model=ItemOut, status_code=201)
def create_item(
    body: ItemIn,
    session: Session = Db,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    item = service.create_item(session, who, body.model_dump(), at)
    return {
        "id": item.id,
        "code": item.code,
        "name": item.name,
        "unit": item.unit,
        "name_en": item.name_en,
    }


@router.get("/stock/{warehouse_id}", response_model=StockOut)
def stock(
    warehouse_id: int,
    session: Session = Db,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.warehouse_stock(session, who, warehouse_id, at.date())


@router.get("/stock/{warehouse_id}/movements", response_model=list[MovementOut])
def list_movements(
    warehouse_id: int,
    limit: int = Query(200, ge=1, le=2000),
    session: Session = Db,
    who: Principal = Depends(principal),
) -> list[Any]:
    return service.movements(session, who, warehouse_id, limit)


@router.post("/stock/{warehouse_id}/movements", response_model=list[MovementOut], status_code=201)
def add_movement(
    warehouse_id: int,
    body: MovementIn,
    session: Session = Db,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> list[Any]:
    return service.record_movement(
        session, who, warehouse_id, body.model_dump(mode="json", exclude_none=True), at
    )


@router.post("/stock/{warehouse_id}/minimums", response_model=MinimumOut)
def set_minimum(
    warehouse_id: int,
    body: MinimumIn,
    session: Session = Db,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, int]:
    row = service.set_minimum(session, who, warehouse_id, body.model_dump(), at)
    return {"warehouse_id": row.warehouse_id, "item_id": row.item_id, "minimum": row.minimum}


@router.get("/stock-alerts", response_model=list[AlertOut])
def alerts(
    warehouse_id: int | None = None,
    session: Session = Db,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> list[dict[str, Any]]:
    return service.stock_alerts(session, who, at.date(), warehouse_id=warehouse_id)


# ---------------------------------------------------------------- transfer requests (调拨)


@router.get("/transfers", response_model=list[RequestOut])
def list_transfers(session: Session = Db, who: Principal = Depends(principal)) -> list[Any]:
    return [service.request_dict(r) for r in service.list_requests(session, who)]


@router.post("/transfers", response_model=RequestOut, status_code=201)
def create_transfer(
    body: RequestIn,
    session: Session = Db,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.request_dict(service.create_request(session, who, body.model_dump(), at))


@router.get("/transfers/{request_id}", response_model=RequestOut)
def get_transfer(
    request_id: int, session: Session = Db, who: Principal = Depends(principal)
) -> dict[str, Any]:
    return service.request_dict(service.get_request(session, who, request_id))


@router.post("/transfers/{request_id}/actions", response_model=RequestOut)
def act(
    request_id: int,
    body: ActionIn = Body(...),
    session: Session = Db,
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    req = service.act_on_request(
        session, who, request_id, body.action, at, quantity=body.quantity, note=body.note
    )
    return service.request_dict(req)
