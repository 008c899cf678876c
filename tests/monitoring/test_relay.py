"""HTTP front end relaying into JetStream: 202 only once stored, a worker stores each reading
exactly once without a token in the body, a bad token publishes nothing, NATS away → 503."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time

import nats
import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import func, select

from safecity.monitoring import relay
from safecity.monitoring.models import DeadLetter, Reading, ReadingMinute
from safecity.monitoring.settings import MonitoringSettings, get_monitoring_settings
from tests.brokers import free_port
from tests.monitoring.conftest import make_sensors, require_service, token_of
from tests.monitoring.jetstream import _drop_stream, _env, _settings, start_worker

NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture
def relaying(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Forwarding on, into a stream of this test's own."""
    settings = _settings(f"R{os.getpid()}{int(time.time() * 1000) % 100000}")
    env = {
        "SAFECITY_MONITORING_HTTP_FORWARD_NATS": "true",
        "SAFECITY_MONITORING_NATS_TRUSTED": "true",
        "SAFECITY_MONITORING_NATS_STREAM": settings.nats_stream,
        "SAFECITY_MONITORING_NATS_SUBJECT_PREFIX": settings.nats_subject_prefix,
        "SAFECITY_MONITORING_PARTITIONS": str(settings.partitions),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_monitoring_settings.cache_clear()
    yield settings
    get_monitoring_settings.cache_clear()
    asyncio.run(_drop_stream(settings))


async def _messages_in(settings: MonitoringSettings) -> int:
    nc = await nats.connect(settings.nats_url)
    try:
        return int((await nc.jetstream().stream_info(settings.nats_stream)).state.messages)
    except NotFoundError:
        return 0
    finally:
        await nc.close()


def test_relayed_ndjson_and_batches_are_stored_exactly_once(
    client, engine, session, database_url, relaying
) -> None:
    require_service("NATS", 4222)
    make_sensors(session, count=2)
    bad = client.post(
        "/api/v1/telemetry",
        content=b'{"ts": 1, "value": 1}',
        headers={**NDJSON, "Authorization": "Bearer nope"},
    )
    assert bad.status_code == 401
    assert asyncio.run(_messages_in(relaying)) == 0
    t0 = int(time.time() * 1000) - 60_000
    lines = [json.dumps({"ts": t0 + i, "value": 1.0 + i % 3}) for i in range(40)]
    device = {"Authorization": f"Bearer {token_of('GAS-0001')}"}
    resp = client.post(
        "/api/v1/telemetry", content="\n".join(lines).encode(), headers={**device, **NDJSON}
    )
    assert (resp.status_code, resp.json()) == (202, {"queued": 40})
    # A batch too large for one stream message is cut into batches the workers accept.
    big = {"readings": [{"ts": t0 + i, "value": 2.0, "note": "x" * 40} for i in range(6000)]}
    other = {"Authorization": f"Bearer {token_of('GAS-0002')}"}
    resp = client.post("/api/v1/telemetry", json=big, headers=other)
    assert resp.status_code == 202 and resp.json()["queued"] >= 2
    queued = 40 + resp.json()["queued"]
    assert asyncio.run(_messages_in(relaying)) == queued  # acknowledged = in the stream
    again = client.post(
        "/api/v1/telemetry", content="\n".join(lines[:10]).encode(), headers={**device, **NDJSON}
    )  # a device resending: no second row
    assert again.json() == {"queued": 10}
    worker = start_worker(
        0,
        1,
        {**_env(relaying, database_url), "SAFECITY_MONITORING_NATS_TRUSTED": "true"},
        database_url,
    )
    try:
        deadline = time.time() + 60
        while _count(engine) < 6040 and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        with engine.connect() as conn:
            assert _count(engine) == 6040
            assert conn.scalar(select(func.sum(ReadingMinute.n))) == 6040
            assert conn.scalar(select(func.count()).select_from(DeadLetter)) == 0
        assert asyncio.run(_messages_in(relaying)) == 0  # all acknowledged by the worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()


def _count(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Reading)) or 0)


def test_nats_unreachable_is_503_bilingual_and_nothing_queued(
    client, session, relaying, monkeypatch
) -> None:
    make_sensors(session, count=1)
    monkeypatch.setenv("SAFECITY_MONITORING_NATS_URL", f"nats://127.0.0.1:{free_port()}")
    monkeypatch.setenv("SAFECITY_MONITORING_HTTP_FORWARD_TIMEOUT_S", "1")
    get_monitoring_settings.cache_clear()
    device = {"Authorization": f"Bearer {token_of('GAS-0001')}"}
    started = time.monotonic()
    resp = client.post(
        "/api/v1/telemetry", json={"ts": int(time.time() * 1000), "value": 1.0}, headers=device
    )
    assert resp.status_code == 503 and time.monotonic() - started < 5
    body = resp.json()
    assert body["error"] == "unavailable" and "稍后重发" in body["message"]
    assert "unavailable" in body["message_en"]


def test_split_body_keeps_messages_within_the_workers_limit() -> None:
    lines = b'{"ts": 1, "value": 1}\n\n{"ts": 2, "value": 2}\n'
    assert relay.split_body(lines, ndjson=True) == [
        b'{"ts": 1, "value": 1}',
        b'{"ts": 2, "value": 2}',
    ]
    batch = json.dumps({"readings": [{"ts": i, "value": 1} for i in range(25_000)]}).encode()
    parts = relay.split_body(batch, ndjson=False)
    decoded = [json.loads(p)["readings"] for p in parts]
    assert [r["ts"] for part in decoded for r in part] == list(range(25_000))
    assert all(
        len(p) <= 256 * 1024 and len(d) <= 10_000 for p, d in zip(parts, decoded, strict=True)
    )
    with pytest.raises(Exception) as exc:
        relay.split_body(b'{"value": "' + b"x" * 300_000 + b'"}', ndjson=False)
    assert getattr(exc.value, "status", None) == 422


def test_relay_without_trusted_workers_is_refused() -> None:
    with pytest.raises(ValueError, match="NATS_TRUSTED"):
        MonitoringSettings(http_forward_nats=True)
