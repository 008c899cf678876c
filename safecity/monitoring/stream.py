"""Scale-out over NATS JetStream: a durable work-queue stream partitioned by device.

Front ends (or gateways, or the simulator) publish each device's telemetry to
safecity.telemetry.p{k}, k = crc32(device id) mod partitions, with the device id in a header.
`safecity ingest --workers N` starts N processes; worker i owns the partitions k with
k mod N = i, each through its own durable pull consumer, so one sensor's readings are always
evaluated by one process in order (rule state stays correct) while the load is shared.
Messages are acknowledged only after their batch committed; a
killed worker's unacknowledged messages are redelivered to its successor.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from safecity.monitoring.settings import MonitoringSettings

log = logging.getLogger(__name__)
DEVICE_HEADER = "Device-Id"
ACK_WAIT_S = 10.0


def partition(device_id: str, partitions: int) -> int:
    return zlib.crc32(device_id.encode()) % partitions


def subject(prefix: str, device_id: str, partitions: int) -> str:
    return f"{prefix}.p{partition(device_id, partitions)}"


def owned(index: int, workers: int, partitions: int) -> list[int]:
    return [k for k in range(partitions) if k % workers == index]


async def ensure_stream(js: Any, settings: MonitoringSettings) -> None:
    config = StreamConfig(
        name=settings.nats_stream,
        subjects=[f"{settings.nats_subject_prefix}.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        max_msg_size=1024 * 1024,
    )
    try:
        await js.stream_info(settings.nats_stream)
    except NotFoundError:
        await js.add_stream(config)


class Publisher:
    """Publishes device payloads into the stream; returns once JetStream has stored them."""

    def __init__(self, settings: MonitoringSettings) -> None:
        self.settings = settings
        self.nc: Any = None
        self.js: Any = None

    async def connect(self) -> None:
        self.nc = await nats.connect(self.settings.nats_url, max_reconnect_attempts=-1)
        self.js = self.nc.jetstream()
        await ensure_stream(self.js, self.settings)

    async def publish_many(self, items: list[tuple[str, bytes]], window: int = 2000) -> int:
        """Publish with up to `window` acknowledgements outstanding; returns how many stored."""
        parts, prefix = self.settings.partitions, self.settings.nats_subject_prefix
        stored = 0
        for start in range(0, len(items), window):
            chunk = items[start : start + window]
            futures = [
                self.js.publish(subject(prefix, d, parts), body, headers={DEVICE_HEADER: d})
                for d, body in chunk
            ]
            results = await asyncio.gather(*futures, return_exceptions=True)
            stored += sum(1 for r in results if not isinstance(r, BaseException))
        return stored

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.drain()


Handler = Callable[[list[tuple[str | None, bytes]]], Any]


async def consume(
    settings: MonitoringSettings,
    index: int,
    workers: int,
    handle: Handler,
    stop: asyncio.Event,
    batch: int | None = None,
) -> int:
    """Worker loop: fetch from each owned partition, hand batches to `handle`, then ack."""
    nc = await nats.connect(settings.nats_url, max_reconnect_attempts=-1)
    js = nc.jetstream()
    await ensure_stream(js, settings)
    subs = []
    prefix = settings.nats_subject_prefix
    for k in owned(index, workers, settings.partitions):
        config = ConsumerConfig(
            durable_name=f"ingest-p{k}",
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT_S,
            max_ack_pending=100_000,
            filter_subject=f"{prefix}.p{k}",
        )
        subs.append(
            await js.pull_subscribe(
                f"{prefix}.p{k}", durable=f"ingest-p{k}", stream=settings.nats_stream, config=config
            )
        )
    size = batch or settings.batch_max
    done = 0
    try:
        while not stop.is_set():
            got = 0
            for sub in subs:
                try:
                    msgs = await sub.fetch(size, timeout=0.05)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                if not msgs:
                    continue
                items = [((m.headers or {}).get(DEVICE_HEADER), m.data) for m in msgs]
                await asyncio.to_thread(_retrying, handle, items)
                for m in msgs:  # work-queue streams need an explicit ack per message
                    await m.ack()
                got += len(msgs)
            done += got
            if not got:
                await asyncio.sleep(0.01)
    finally:
        await nc.close()
    return done


def _retrying(handle: Handler, items: list[tuple[str | None, bytes]]) -> None:
    while True:
        try:
            handle(items)
            return
        except Exception:  # database away: keep the batch, try again
            log.exception("batch failed; retrying in 1 s")
            time.sleep(1)
