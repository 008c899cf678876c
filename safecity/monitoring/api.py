"""Monitoring REST API: sensors, readings, rules, alarms (with a live stream), telemetry, dead letters."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from safecity.core import events, kinds_service
from safecity.core.apidoc import json_body
from safecity.core.clock import utcnow
from safecity.core.db import get_engine, session_scope
from safecity.core.deps import db, now, principal
from safecity.core.errors import FieldError, Forbidden, Invalid, Unauthorized, invalid
from safecity.core.kinds_api import out_model
from safecity.core.scope import Principal
from safecity.monitoring import alarms as alarm_service
from safecity.monitoring import links, relay, service
from safecity.monitoring.catalog import TYPES
from safecity.monitoring.kinds import SENSOR
from safecity.monitoring.models import (
    Alarm,
    DeadLetter,
    Reading,
    ReadingHour,
    ReadingMinute,
    Sensor,
    SensorLatest,
)
from safecity.monitoring.pipeline import Pipeline, current_rules
from safecity.monitoring.schemas import (
    AcknowledgedOut,
    AlarmDetail,
    AlarmLayerOut,
    AlarmNoteIn,
    AlarmOut,
    AlarmPage,
    DeadLettersOut,
    QueuedOut,
    ReadingsOut,
    RuleSavedOut,
    RulesIn,
    RulesOut,
    SensorAlarmSettingsIn,
    SensorTypeOut,
    TelemetryIn,
    TelemetryOut,
)
from safecity.monitoring.settings import get_monitoring_settings
from safecity.monitoring.telemetry import REASONS, hash_token, ndjson_messages

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["monitoring"])
# Device telemetry on its own router, which the app includes before every other: FastAPI tries
# routes in order, and walking the ~200 others cost 0.7 ms of CPU per request.
ingest_router = APIRouter(prefix="/api/v1", tags=["monitoring"])
router.include_router(links.router)  # first: /alarms/{id}/{action} below would swallow it
BASE = "/monitoring"
_pipeline: dict[int, Pipeline] = {}
_pipeline_made = threading.Lock()


def pipeline() -> Pipeline:
    """One in-process pipeline per database engine (HTTP ingestion); it serialises its callers."""
    engine = get_engine()
    key = id(engine)
    with _pipeline_made:
        if key not in _pipeline:
            _pipeline.clear()
            _pipeline[key] = Pipeline(
                engine, retention_days=get_monitoring_settings().retention_days
            )
            # Alarm events a previous process committed but had not handled (handoff.py).
            _pipeline[key].replay_events()
        return _pipeline[key]


def built_pipeline() -> Pipeline | None:
    """This process's pipeline for the current database if one was built (never builds one)."""
    return _pipeline.get(id(get_engine()))


# --- sensors ---------------------------------------------------------------------------------


@router.get(BASE + "/sensor-types", summary="传感器类型 / sensor types")
def sensor_types(_who: Principal = Depends(principal)) -> list[SensorTypeOut]:
    return [
        {
            "code": t.code,
            "name": t.zh,
            "name_en": t.en,
            "quantity": t.quantity,
            "unit": t.unit,
            "range": [t.low, t.high],
        }
        for t in TYPES.values()
    ]


# The sensor registry itself (list, create, import, export, detail, edit, archive, map layer)
# is the generic kind's: safecity.monitoring.kinds.SENSOR, mounted by the app.


@router.put(
    BASE + "/sensors/{sensor_id}/alarm-settings",
    summary="传感器报警设置（阈值覆盖、车辆路线）/ a sensor's rule override and route",
    response_model=out_model(SENSOR),
)
def alarm_settings(
    sensor_id: int,
    body: SensorAlarmSettingsIn,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    patch = body.model_dump(exclude_unset=True)
    sensor = service.set_alarm_settings(session, who, sensor_id, patch, at)
    return kinds_service.answer(
        SENSOR, sensor, kinds_service.extras_of(session, SENSOR, [sensor]), with_geometry=True
    )


@router.post(BASE + "/sensors/{sensor_id}/token", summary="重置设备凭据 / new device token")
def rotate_token(
    sensor_id: int,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, str]:
    return {"token": service.rotate_token(session, who, sensor_id, at)}


@router.get(BASE + "/sensors/{sensor_id}/readings", summary="时序数据 / readings")
def readings(
    sensor_id: int,
    start: int | None = Query(None, alias="from", description="epoch ms"),
    end: int | None = Query(None, alias="to", description="epoch ms"),
    resolution: str = Query("auto", pattern="^(auto|raw|1m|1h)$"),
    limit: int = Query(5000, ge=1, le=50000),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> ReadingsOut:
    sensor = service.get_sensor(session, who, sensor_id)
    end = end if end is not None else int(at.timestamp() * 1000) + 60_000
    start = start if start is not None else end - 6 * 3_600_000
    if start >= end:
        raise invalid("from", "起始时间应早于结束时间", "from must be before to")
    if resolution == "auto":
        span = end - start
        resolution = "raw" if span <= 2 * 3_600_000 else "1m" if span <= 3 * 86_400_000 else "1h"
    if resolution == "raw":
        rows = session.execute(
            select(Reading.ts, Reading.value)
            .where(Reading.sensor_id == sensor.id, Reading.ts >= start, Reading.ts < end)
            .order_by(Reading.ts)
            .limit(limit)
        )
        points = [{"ts": r.ts, "value": r.value} for r in rows]
    else:
        table = ReadingMinute if resolution == "1m" else ReadingHour
        rows = session.execute(
            select(table.bucket, table.n, table.vmin, table.vmax, table.vsum)
            .where(table.sensor_id == sensor.id, table.bucket >= start, table.bucket < end)
            .order_by(table.bucket)
            .limit(limit)
        )
        points = [
            {"ts": r.bucket, "value": r.vsum / r.n, "min": r.vmin, "max": r.vmax, "n": r.n}
            for r in rows
        ]
    return {
        "sensor_id": sensor.id,
        "resolution": resolution,
        "from": start,
        "to": end,
        "points": points,
    }


# --- rules -----------------------------------------------------------------------------------


@router.get(
    BASE + "/rules",
    summary="报警规则（现行版本）/ alarm rules in force",
    response_model_exclude_unset=True,  # a rule's keys are only the ones it has
)
def get_rules(
    session: Session = Depends(db, scope="function"), _who: Principal = Depends(principal)
) -> RulesOut:
    version, rule_set = current_rules(session)
    return {
        "version": version,
        "rules": rule_set,
        "versions": [
            {"version": v.version, "author": v.author, "note": v.note, "created_at": v.created_at}
            for v in service.rule_versions(session)
        ],
    }


@router.put(
    BASE + "/rules",
    summary="保存报警规则新版本 / save a new rule version",
    openapi_extra=json_body(RulesIn),
)
def put_rules(
    body: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> RuleSavedOut:
    version = service.save_rules(session, who, body.get("rules"), str(body.get("note") or ""), at)
    return {"version": version.version}


# --- alarms ----------------------------------------------------------------------------------


def _alarm_query(
    who: Principal, status: str | None, level: str | None, sensor_id: int | None, open_only: bool
) -> Any:
    stmt = select(Alarm).where(alarm_service.scope_clause(who))
    if open_only:
        stmt = stmt.where(Alarm.open_key.is_not(None))
    if status:
        stmt = stmt.where(Alarm.status == status)
    if level:
        stmt = stmt.where(Alarm.level == level)
    if sensor_id is not None:
        stmt = stmt.where(Alarm.sensor_id == sensor_id)
    return stmt


@router.get(BASE + "/alarms", summary="报警列表 / alarms")
def list_alarms(
    status: str | None = None,
    level: str | None = None,
    sensor_id: int | None = None,
    open: bool = Query(False),
    page: int = Query(1, ge=1),
    size: int = Query(50, ge=1, le=500),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> AlarmPage:
    if not who.can_read():
        raise Unauthorized()
    stmt = _alarm_query(who, status, level, sensor_id, open)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = session.scalars(
        stmt.order_by(Alarm.updated_at.desc(), Alarm.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    )
    return {
        "total": total,
        "page": page,
        "size": size,
        "items": [alarm_service.to_dict(a) for a in items],
    }


PULSE_S = 5.0


@router.get(
    BASE + "/alarms/stream",
    summary="报警实时推送 (SSE) / live alarm stream",
    response_class=Response,
    responses={
        200: {
            "description": "text/event-stream: 'alarm' events (data: an alarm as in GET "
            "/alarms/{id}, without history) and 'pulse' events (data: {last_reading_ms, now_ms})",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def alarm_stream(request: Request, who: Principal = Depends(principal)) -> StreamingResponse:
    """Server-sent events: every alarm created or changed, within ~0.3 s of the commit."""

    def changed_since(mark: tuple[datetime | None, int]) -> list[dict[str, Any]]:
        with session_scope() as session:
            stmt = select(Alarm).where(alarm_service.scope_clause(who))
            if mark[0] is not None:
                stmt = stmt.where(Alarm.updated_at >= mark[0])
            else:
                stmt = stmt.where(Alarm.open_key.is_not(None))
            rows = session.scalars(stmt.order_by(Alarm.updated_at, Alarm.id).limit(500))
            return [alarm_service.to_dict(a) for a in rows]

    def pulse() -> str:
        # When the newest reading arrived: the console's live dot turns amber when devices
        # have gone quiet (a stopped simulator or gateway), not only when this stream drops.
        with session_scope() as session:
            last = session.scalar(select(func.max(SensorLatest.ts)))
        body = {"last_reading_ms": last, "now_ms": int(utcnow().timestamp() * 1000)}
        return f"event: pulse\ndata: {json.dumps(body)}\n\n"

    async def events() -> Any:
        mark: tuple[datetime | None, int] = (None, 0)
        sent: dict[int, datetime] = {}
        pulsed = 0.0
        yield "retry: 1000\n\n"
        while not await request.is_disconnected():
            if time.monotonic() - pulsed >= PULSE_S:
                pulsed = time.monotonic()
                yield await run_in_threadpool(pulse)
            rows = await run_in_threadpool(changed_since, mark)
            for row in rows:
                if sent.get(row["id"]) == row["updated_at"]:
                    continue
                sent[row["id"]] = row["updated_at"]
                yield f"event: alarm\ndata: {json.dumps(row, default=str, ensure_ascii=False)}\n\n"
            if rows:
                mark = (rows[-1]["updated_at"], rows[-1]["id"])
            elif mark[0] is None:
                mark = (utcnow(), 0)
            if len(sent) > 10_000:
                sent.clear()
            yield ": keep-alive\n\n"
            await asyncio.sleep(0.3)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(BASE + "/alarms/{alarm_id}", summary="报警详情 / alarm detail")
def get_alarm(
    alarm_id: int,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> AlarmDetail:
    alarm = alarm_service.get_alarm(session, who, alarm_id)
    return {
        **alarm_service.to_dict(alarm),
        "history": [
            {
                "at": h.at,
                "actor": h.actor,
                "action": h.action,
                "from_status": h.from_status,
                "to_status": h.to_status,
                "level": h.level,
                "note": h.note,
            }
            for h in alarm_service.history(session, alarm)
        ],
    }


class GroupAckIn(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=alarm_service.GROUP_MAX)
    note: str = Field("", max_length=2000)


@router.post(
    BASE + "/alarms/acknowledge-group", summary="批量确认同类报警 / acknowledge a group of alarms"
)
def alarm_group_acknowledge(
    body: GroupAckIn,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> AcknowledgedOut:
    done = alarm_service.acknowledge_group(session, who, body.ids, body.note, at)
    out = {"acknowledged": len(done), "items": [alarm_service.to_dict(a) for a in done]}
    session.commit()
    return out


@router.post(
    BASE + "/alarms/{alarm_id}/{action}",
    summary="确认/处置/解除/误报 / acknowledge, handle, resolve, false_alarm",
    openapi_extra=json_body(AlarmNoteIn, required=False),
)
def alarm_action(
    alarm_id: int,
    action: str,
    body: dict[str, Any] | None = Body(None),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> AlarmOut:
    note = str((body or {}).get("note") or "")
    alarm, pending = alarm_service.act(session, who, alarm_id, action, note, at)
    out = alarm_service.to_dict(alarm)
    session.commit()
    for event in pending:
        events.publish(event)
    return out


# --- dead letters ----------------------------------------------------------------------------


@router.get(BASE + "/dead-letters", summary="被拒收的遥测 / rejected telemetry")
def dead_letters(
    reason: str | None = None,
    device_id: str | None = None,
    page: int = Query(1, ge=1),
    size: int = Query(50, ge=1, le=500),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> DeadLettersOut:
    _operators_only(who)
    stmt = select(DeadLetter)
    if reason:
        stmt = stmt.where(DeadLetter.reason == reason)
    if device_id:
        stmt = stmt.where(DeadLetter.device_id == device_id)
    counts = dict(
        session.execute(select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)).all()
    )
    items = session.scalars(
        stmt.order_by(DeadLetter.id.desc()).offset((page - 1) * size).limit(size)
    )
    return {
        "counts": counts,
        "reasons": {k: {"zh": v[0], "en": v[1]} for k, v in REASONS.items()},
        "items": [
            {
                c: getattr(d, c)
                for c in ("id", "received_at", "source", "device_id", "reason", "detail", "payload")
            }
            for d in items
        ],
    }


def _operators_only(who: Principal) -> None:
    if who.role not in ("admin", "risk_analyst", "duty_officer", "commander"):
        raise Forbidden("无权查看被拒收的遥测数据", "not allowed to see rejected telemetry")


# --- map layers ------------------------------------------------------------------------------


@router.get(BASE + "/map/sensors", include_in_schema=False)
def sensor_layer_moved(request: Request) -> RedirectResponse:
    """The sensors layer is the sensor kind's generic one now (same scope, same features)."""
    query = request.url.query
    return RedirectResponse(f"{SENSOR.api_url}/layer" + (f"?{query}" if query else ""), 307)


@router.get(BASE + "/map/alarms", summary="未关闭报警图层 GeoJSON / open alarms layer")
def alarm_layer(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> AlarmLayerOut:
    """Open alarms coloured by level, for the one map (一张图)."""
    if not who.can_read():
        raise Unauthorized()
    rows = session.scalars(
        select(Alarm)
        .where(alarm_service.scope_clause(who), Alarm.open_key.is_not(None), Alarm.lon.is_not(None))
        .order_by(Alarm.updated_at.desc())
        .limit(5_000)
    )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [a.lon, a.lat]},
                "properties": {
                    "id": a.id,
                    "name": a.message,
                    "level": a.level,
                    "status": a.status,
                    "division_code": a.division_code,
                    "enterprise_id": a.enterprise_id,
                    "url": "/monitoring/alarms",
                },
            }
            for a in rows
        ],
    }


# --- telemetry over HTTP ---------------------------------------------------------------------


_TOKEN_TTL_S = 5.0  # a revoked or archived device is refused within this long
_tokens: dict[str, tuple[str | None, float]] = {}


def _device_for(request: Request, relay_only: bool) -> str:
    """The device of the request's token: from the ingestion pipeline's registry (refreshed
    every few seconds), else from the database, remembered for a few seconds."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() in ("bearer", "device") else ""
    token = token or request.headers.get("x-device-token", "")
    if not token:
        raise Unauthorized("缺少设备凭据", "device token required")
    digest = hash_token(token)
    device = None if relay_only else pipeline().device_by_token.get(digest)
    if device is not None:
        return device
    engine = get_engine()
    key = f"{id(engine)}:{digest}"
    hit = _tokens.get(key)
    if hit is not None and hit[1] > time.monotonic():
        device = hit[0]
    else:  # a gateway posts many times a second: ask the database once per TTL per token
        with Session(engine) as session:
            device = session.scalar(
                select(Sensor.device_id).where(
                    Sensor.token_hash == digest, Sensor.archived.is_(False)
                )
            )
        if len(_tokens) > 100_000:
            _tokens.clear()
        _tokens[key] = (device, time.monotonic() + _TOKEN_TTL_S)
    if device is None:
        raise Unauthorized("设备凭据无效", "invalid device token")
    return device


@ingest_router.post(
    "/telemetry",
    tags=["monitoring"],
    status_code=202,
    summary="设备上报 (JSON 批量或 NDJSON) / device telemetry",
    description="Authorization: Bearer <device token>. Body: one reading, "
    '{"readings": [...]}, or NDJSON (one reading per line). The answer counts what was '
    "stored, or (when the server forwards to the streaming engine) what was queued.",
    openapi_extra=json_body(TelemetryIn),
)
async def telemetry(request: Request) -> TelemetryOut | QueuedOut:
    settings = get_monitoring_settings()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > settings.http_max_bytes:
            break
    ctype = request.headers.get("content-type", "")
    ndjson = "ndjson" in ctype or "jsonlines" in ctype
    if settings.http_forward_nats:  # 202 only once JetStream stored it; workers validate
        device = await run_in_threadpool(_device_for, request, True)
        return {"queued": await relay.forward(settings, device, bytes(body), ndjson)}

    def run() -> dict[str, Any]:  # one trip to a worker thread: parsing is CPU work too
        device = _device_for(request, False)
        if ndjson and len(body) <= settings.http_max_bytes:
            messages = ndjson_messages(device, bytes(body))
        else:
            messages = [(device, bytes(body))]
        result = pipeline().submit(
            messages, "http", trusted=True, max_bytes=settings.http_max_bytes
        )
        return {
            "accepted": result.accepted,
            "stored": result.inserted,
            "duplicates": result.duplicates,
            "rejected": dict(result.rejected),
        }

    out = await run_in_threadpool(run)
    if out["accepted"] == 0 and out["rejected"]:
        reasons = ", ".join(out["rejected"])
        raise Invalid([_reason_error(r) for r in out["rejected"]]) if reasons else None
    return out


router.add_event_handler("shutdown", relay.close)  # the relay's NATS connection, if any


def _reason_error(reason: str) -> Any:
    zh, en = REASONS.get(reason, (reason, reason))
    return FieldError("body", f"数据被拒收：{zh}", f"rejected: {en}")
