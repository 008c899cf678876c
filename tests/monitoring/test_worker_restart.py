"""`safecity ingest --workers 2`: a worker killed with SIGKILL is replaced, its partitions flow on.

Before, the parent kept waiting on the dead child (a zombie) and the partitions it owned stalled
until the whole group was restarted, with nothing for a supervisor to see.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from safecity.monitoring.models import Reading
from safecity.monitoring.stream import Publisher, owned, partition
from tests.monitoring.conftest import make_sensors, require_service, token_of
from tests.monitoring.jetstream import _drop_stream, _env, _settings


def workers_of(parent: int) -> set[int]:
    """Worker processes (multiprocessing spawn children, not its resource tracker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z" and b"spawn_main" in cmd:
            found.add(int(stat.parent.name))
    return found


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def _publish(settings, items) -> int:  # type: ignore[no-untyped-def]
    pub = Publisher(settings)
    await pub.connect()
    # A small window: with 2,000 acknowledgements outstanding a loaded 2-core machine let some
    # time out (the count came back short although nothing was wrong with the workers).
    stored = await pub.publish_many(items, window=100)
    await pub.close()
    return stored


def test_a_killed_worker_is_restarted_and_its_partitions_keep_flowing(
    engine, session, city, database_url, tmp_path
) -> None:
    require_service("NATS", 4222)
    sensors = make_sensors(session, count=12, prefix=f"WR{os.getpid() % 10000}")
    settings = _settings(f"wr{os.getpid()}{int(time.time()) % 10000}")
    devices = [s.device_id for s in sensors]
    mine = [set(owned(i, 2, settings.partitions)) for i in range(2)]
    # both workers own some of these devices, so a stalled worker shows in the counts
    assert all(any(partition(d, settings.partitions) in m for d in devices) for m in mine)
    t0 = int(time.time() * 1000) - 600_000

    def batch(start: int, n: int) -> list[tuple[str, bytes]]:
        return [
            (
                devices[i % len(devices)],
                json.dumps(
                    {"token": token_of(devices[i % len(devices)]), "ts": t0 + i, "value": 1.0}
                ).encode(),
            )
            for i in range(start, start + n)
        ]

    def stored() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Reading)) or 0)

    log = tmp_path / "ingest.log"
    with open(log, "wb") as out:
        parent = subprocess.Popen(
            [sys.executable, "-m", "safecity.cli", "ingest", "--workers", "2"],
            env=_env(settings, database_url),
            stdout=out,
            stderr=out,
        )
    try:

        def two(exclude: int | None = None) -> set[int] | None:
            w = workers_of(parent.pid)
            return w if len(w) == 2 and exclude not in w else None

        first = wait_for(two, 60, "two workers")
        assert asyncio.run(_publish(settings, batch(0, 1200))) == 1200
        wait_for(lambda: stored() == 1200, 60, "the first 1,200 readings")

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        again = wait_for(lambda: two(exclude=victim), 30, "a replacement worker")
        assert parent.poll() is None and len(again - first) == 1

        assert asyncio.run(_publish(settings, batch(1200, 1200))) == 1200
        wait_for(lambda: stored() == 2400, 60, "readings of every partition after the restart")
    finally:
        parent.send_signal(signal.SIGTERM)
        try:
            code = parent.wait(30)
        except subprocess.TimeoutExpired:
            parent.kill()
            code = None
        asyncio.run(_drop_stream(settings))
    text = log.read_text(errors="replace")
    assert f"(pid {victim}) exited with -9; restarting it" in text, text[-2000:]
    assert code == 0, f"SIGTERM should stop the group cleanly, got {code}"
    assert not workers_of(parent.pid)
