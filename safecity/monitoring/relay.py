"""HTTP → JetStream relay: with SAFECITY_MONITORING_HTTP_FORWARD_NATS=true, POST /api/v1/telemetry
publishes into the telemetry stream and `safecity ingest` workers store and evaluate it.

Delivery: the request is answered 202 only after JetStream acknowledged storing every message
of the body; when NATS is unreachable or does not acknowledge in time the answer is 503 and the
device sends again (a message stored before the failure is then stored twice in the stream,
which the (sensor, ts) key turns into one reading).

Trust: the relay authenticates the device token before publishing, sets the Device-Id header
from that token's device, and the body needs no token. Workers accept stream messages without
a token only when SAFECITY_MONITORING_NATS_TRUSTED=true, which declares the stream's subjects
internal: only SafeCity processes that authenticated their devices may publish to them (this
relay, `safecity mqtt --forward-nats` behind broker ACLs), enforced with NATS authorization.
A header claiming "already authenticated" would not do: anyone able to publish could set it.

One NATS connection per web process and event loop, created on first use; it reconnects on
its own, and a closed one is replaced on the next request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from safecity.core.errors import FieldError, Invalid, Unavailable
from safecity.monitoring.settings import MonitoringSettings
from safecity.monitoring.stream import Publisher, ensure_stream
from safecity.monitoring.telemetry import MAX_MESSAGE_BYTES, MAX_READINGS_PER_MESSAGE, REASONS

log = logging.getLogger(__name__)
_state: dict[str, Any] = {"key": None, "publisher": None, "lock": None}


def split_body(body: bytes, ndjson: bool, limit: int = MAX_MESSAGE_BYTES) -> list[bytes]:
    """Stream messages for one request body: NDJSON lines, else the body itself, or a large
    {"readings": [...]} batch cut into batches the workers accept (≤ limit bytes, ≤ 10,000)."""
    if ndjson:
        messages = [line for line in body.splitlines() if line.strip()]
    elif len(body) <= limit:
        messages = [body] if body.strip() else []
    else:
        messages = _rebatch(body, limit)
    if any(len(m) > limit for m in messages):
        raise _oversized()
    return messages


def _rebatch(body: bytes, limit: int) -> list[bytes]:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _oversized() from None
    items = obj.get("readings") if isinstance(obj, dict) else None
    if not isinstance(items, list):
        raise _oversized()
    out: list[bytes] = []
    chunk: list[bytes] = []
    size = 0
    for item in items:
        raw = orjson.dumps(item)
        if chunk and (size + len(raw) + 32 > limit or len(chunk) >= MAX_READINGS_PER_MESSAGE):
            out.append(_batch(chunk))
            chunk, size = [], 0
        chunk.append(raw)
        size += len(raw) + 1
    if chunk:
        out.append(_batch(chunk))
    return out


def _batch(items: list[bytes]) -> bytes:
    return b'{"readings":[' + b",".join(items) + b"]}"


def _oversized() -> Invalid:
    zh, en = REASONS["oversized"]
    return Invalid(
        [
            FieldError(
                "body",
                f"数据被拒收：{zh}（单条消息不超过 256 KB）",
                f"rejected: {en} (at most 256 KB per message)",
            )
        ]
    )


def _unavailable() -> Unavailable:
    return Unavailable(
        "遥测队列暂不可用，数据未被接收，请稍后重发",
        "telemetry queue unavailable; nothing was accepted, send again later",
    )


async def _quiet(exc: Exception) -> None:
    log.warning("telemetry relay: NATS %s", exc)


async def _connect(settings: MonitoringSettings) -> Publisher:
    import nats  # noqa: PLC0415 nats-py loaded only when the streaming engine is used

    nc = await nats.connect(
        settings.nats_url,
        max_reconnect_attempts=-1,
        connect_timeout=1,
        reconnect_time_wait=0.5,
        error_cb=_quiet,
    )
    publisher = Publisher(settings)
    publisher.nc, publisher.js = nc, nc.jetstream(timeout=settings.http_forward_timeout_s)
    await ensure_stream(publisher.js, settings)
    return publisher


async def _publisher(settings: MonitoringSettings) -> Publisher:
    key = (
        asyncio.get_running_loop(),
        settings.nats_url,
        settings.nats_stream,
        settings.nats_subject_prefix,
        settings.partitions,
    )
    if _state["key"] != key:
        _state.update(key=key, publisher=None, lock=asyncio.Lock())
    async with _state["lock"]:
        pub = _state["publisher"]
        if pub is None or pub.nc.is_closed:
            pub = await asyncio.wait_for(_connect(settings), settings.http_forward_timeout_s)
            _state["publisher"] = pub
        return pub


async def forward(settings: MonitoringSettings, device_id: str, body: bytes, ndjson: bool) -> int:
    """Publish one authenticated device's request body; returns the number of messages queued."""
    if len(body) > settings.http_max_bytes:
        raise _oversized()
    messages = split_body(body, ndjson)
    if not messages:
        return 0
    try:
        pub = await _publisher(settings)
        stored = await pub.publish_many([(device_id, m) for m in messages])
    except Exception as exc:  # noqa: BLE001 (NATS away, no acknowledgement in time)
        log.warning("telemetry relay failed: %r", exc)
        raise _unavailable() from None
    if stored != len(messages):
        raise _unavailable()
    return stored


async def close() -> None:
    """Drain the connection (web app shutdown)."""
    pub = _state["publisher"]
    _state.update(key=None, publisher=None, lock=None)
    if pub is not None and not pub.nc.is_closed:
        try:
            await pub.close()
        except Exception:  # a connection of a finished loop cannot be drained; drop it
            log.debug("telemetry relay: close failed", exc_info=True)
