"""Monitoring REST API: sensors, readings, rules, alarms (with a live stream), telemetry, dead letters."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, File, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from safecity.core import events
from safecity.core.clock import utcnow
from safecity.core.config import get_settings
from safecity.core.db import get_engine, session_scope
from safecity.core.deps import db, now, principal
from safecity.core.errors import FieldError, Forbidden, Invalid, Unauthorized, invalid
from safecity.core.loops import PeriodicTask
from safecity.core.scope import Principal
from safecity.monitoring import alarms as alarm_service
from safecity.monitoring import links, relay, service
from safecity.monitoring.catalog import TYPES
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
from safecity.monitoring.rules import effective_rule
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


# --- sensors ---------------------------------------------------------------------------------


@router.get(BASE + "/sensor-types", summary="传感器类型 / sensor types")
def sensor_types(_who: Principal = Depends(principal)) -> list[dict[str, Any]]:
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


@router.get(BASE + "/sensors", summary="传感器列表 / list sensors")
def list_sensors(
    q: str | None = None,
    sensor_type: str | None = Query(None, alias="type"),
    division: str | None = None,
    status: str | None = None,
    enterprise_id: int | None = None,
    page: int = Query(1, ge=1),
    size: int = Query(50, ge=1, le=500),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    result = service.list_sensors(
        session,
        who,
        q=q,
        sensor_type=sensor_type,
        division=division,
        status=status,
        enterprise_id=enterprise_id,
        page=page,
        size=size,
    )
    latest = _latest(session, [s.id for s in result.items])
    return {
        "total": result.total,
        "page": result.page,
        "size": result.size,
        "items": [service.to_dict(s, latest.get(s.id)) for s in result.items],
    }


def _latest(session: Session, ids: list[int]) -> dict[int, SensorLatest]:
    if not ids:
        return {}
    return {
        r.sensor_id: r
        for r in session.scalars(select(SensorLatest).where(SensorLatest.sensor_id.in_(ids)))
    }


@router.post(BASE + "/sensors", status_code=201, summary="登记传感器 / register a sensor")
def create_sensor(
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    sensor, token = service.create_sensor(session, who, data, at)
    return {**service.to_dict(sensor), "token": token}


@router.post(BASE + "/sensors/import", summary="导入传感器 XLSX/CSV / import sensors")
async def import_sensors(
    file: UploadFile = File(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    limit = get_settings().max_upload_mb * 1024 * 1024
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise invalid(
            "file",
            f"文件：超过 {limit // 1048576} MB 上限",
            f"file: larger than {limit // 1048576} MB",
        )
    return service.import_sensors(session, who, file.filename or "", content, at)


@router.get(BASE + "/sensors/{sensor_id}", summary="传感器详情 / sensor detail")
def get_sensor(
    sensor_id: int,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    sensor = service.get_sensor(session, who, sensor_id)
    _version, rule_set = current_rules(session)

    data = service.to_dict(sensor, session.get(SensorLatest, sensor.id))
    data["rule"] = effective_rule(rule_set, sensor.sensor_type, sensor.rule_override)
    return data


@router.patch(BASE + "/sensors/{sensor_id}", summary="修改传感器 / edit a sensor")
def update_sensor(
    sensor_id: int,
    patch: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.to_dict(service.update_sensor(session, who, sensor_id, patch, at))


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
) -> dict[str, Any]:
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


@router.get(BASE + "/rules", summary="报警规则（现行版本）/ alarm rules in force")
def get_rules(
    session: Session = Depends(db, scope="function"), _who: Principal = Depends(principal)
) -> dict[str, Any]:
    version, rule_set = current_rules(session)
    return {
        "version": version,
        "rules": rule_set,
        "versions": [
            {"version": v.version, "author": v.author, "note": v.note, "created_at": v.created_at}
            for v in service.rule_versions(session)
        ],
    }


@router.put(BASE + "/rules", summary="保存报警规则新版本 / save a new rule version")
def put_rules(
    body: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
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
) -> dict[str, Any]:
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


@router.get(BASE + "/alarms/stream", summary="报警实时推送 (SSE) / live alarm stream")
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
) -> dict[str, Any]:
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
) -> dict[str, Any]:
    done = alarm_service.acknowledge_group(session, who, body.ids, body.note, at)
    out = {"acknowledged": len(done), "items": [alarm_service.to_dict(a) for a in done]}
    session.commit()
    return out


@router.post(
    BASE + "/alarms/{alarm_id}/{action}",
    summary="确认/处置/解除/误报 / acknowledge, handle, resolve, false_alarm",
)
def alarm_action(
    alarm_id: int,
    action: str,
    body: dict[str, Any] | None = Body(None),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
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
) -> dict[str, Any]:
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


@router.get(BASE + "/map/sensors", summary="传感器图层 GeoJSON / sensors layer")
def sensor_layer(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> dict[str, Any]:
    rows = session.execute(
        select(
            Sensor.id,
            Sensor.name,
            Sensor.sensor_type,
            Sensor.lon,
            Sensor.lat,
            Sensor.device_id,
            SensorLatest.value,
            SensorLatest.lon.label("plon"),
            SensorLatest.lat.label("plat"),
        )
        .join(SensorLatest, SensorLatest.sensor_id == Sensor.id, isouter=True)
        .where(service.scope_clause(who), Sensor.archived.is_(False))
        .limit(50_000)
    )
    features = []
    for r in rows:
        lon, lat = (r.plon, r.plat) if r.plon is not None else (r.lon, r.lat)
        if lon is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "id": r.id,
                    "name": r.name,
                    "type": r.sensor_type,
                    "device_id": r.device_id,
                    "value": r.value,
                    "url": f"/monitoring/sensors/{r.id}",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


@router.get(BASE + "/map/alarms", summary="未关闭报警图层 GeoJSON / open alarms layer")
def alarm_layer(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> dict[str, Any]:
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
    '{"readings": [...]}, or NDJSON (one reading per line).',
)
async def telemetry(request: Request) -> dict[str, Any]:
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


router.add_event_handler("shutdown", relay.close)
_rollups: list[Any] = []


def _start_rollup() -> None:
    """In `safecity serve`: fold HTTP-ingested readings into the aggregates when traffic stops
    (while it flows, the pipeline does it after its batches)."""
    interval = get_monitoring_settings().rollup_interval_s
    if interval <= 0 or get_engine().dialect.name != "postgresql":
        return

    def run() -> None:
        pipe = _pipeline.get(id(get_engine()))
        if pipe is not None and pipe.deferred:
            pipe.rollup()

    task = PeriodicTask("monitoring-rollup", run, interval)
    task.start()
    _rollups.append(task)


def _warm_start() -> None:
    """Build the pipeline in the background at startup, so no device request waits for it."""
    settings = get_monitoring_settings()
    if not settings.warm_start or settings.http_forward_nats:
        return

    def build() -> None:
        try:
            pipeline()
        except Exception:  # the first device request tries again and reports it
            log.exception("building the ingestion pipeline at startup failed")

    threading.Thread(target=build, name="monitoring-warm-start", daemon=True).start()


def _stop_rollup() -> None:
    while _rollups:
        _rollups.pop().stop()


router.add_event_handler("startup", _start_rollup)
router.add_event_handler("startup", _warm_start)
router.add_event_handler("shutdown", _stop_rollup)  # the relay's NATS connection, if any


def _reason_error(reason: str) -> Any:
    zh, en = REASONS.get(reason, (reason, reason))
    return FieldError("body", f"数据被拒收：{zh}", f"rejected: {en}")
