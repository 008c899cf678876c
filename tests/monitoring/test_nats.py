"""JetStream scale-out: partitioned work-queue workers, kill -9 mid-stream, exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time

from sqlalchemy import func, select

from safecity.monitoring.models import Reading, ReadingMinute
from safecity.monitoring.settings import MonitoringSettings
from safecity.monitoring.stream import Publisher, owned, partition
from tests.monitoring.conftest import make_sensors, require_service, token_of
from tests.monitoring.jetstream import _drop_stream, _env, _settings, start_worker

TOTAL = 6000


def test_partitions_are_shared_without_overlap() -> None:
    parts = 16
    mine = [set(owned(i, 3, parts)) for i in range(3)]
    assert set().union(*mine) == set(range(parts))
    assert sum(len(m) for m in mine) == parts
    assert partition("GAS-0001", parts) == partition("GAS-0001", parts)


async def _publish(settings: MonitoringSettings, items: list[tuple[str, bytes]]) -> int:
    pub = Publisher(settings)
    await pub.connect()
    stored = await pub.publish_many(items)
    await pub.close()
    return stored


def test_two_workers_one_killed_mid_stream_store_everything_once(
    engine, session, city, database_url
) -> None:
    require_service("NATS", 4222)
    sensors = make_sensors(session, count=12, prefix="NATS")
    settings = _settings(f"{os.getpid()}{int(time.time()) % 10000}")
    env = _env(settings, database_url)
    t0 = int(time.time() * 1000) - 300_000
    items = []
    for i in range(TOTAL):
        device = sensors[i % len(sensors)].device_id
        items.append(
            (
                device,
                json.dumps(
                    {"token": token_of(device), "ts": t0 + i, "value": float(i % 9)}
                ).encode(),
            )
        )
    workers: list[subprocess.Popen] = []
    try:
        assert asyncio.run(_publish(settings, items)) == TOTAL
        workers = [start_worker(i, 2, env, database_url) for i in range(2)]

        def stored() -> int:
            with engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(Reading)) or 0)

        deadline = time.time() + 60
        while stored() < TOTAL // 5 and time.time() < deadline:
            time.sleep(0.05)
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait()
        workers[0] = start_worker(0, 2, env, database_url)
        while stored() < TOTAL and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # anything redelivered after the kill is processed by now
        with engine.connect() as conn:
            count = conn.scalar(select(func.count()).select_from(Reading))
            counted = conn.scalar(select(func.sum(ReadingMinute.n)))
        assert count == TOTAL
        assert counted == TOTAL
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(15)
            except subprocess.TimeoutExpired:
                w.kill()
        asyncio.run(_drop_stream(settings))
