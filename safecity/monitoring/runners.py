"""Long-running ingestion processes: MQTT consumers and JetStream workers, one per core."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import threading
import time
from typing import Any

from safecity.core.config import get_settings, set_environ
from safecity.core.db import make_engine, reset_engine
from safecity.models_all import import_all
from safecity.monitoring.mqtt import Consumer
from safecity.monitoring.pipeline import Pipeline
from safecity.monitoring.settings import MonitoringSettings, get_monitoring_settings
from safecity.monitoring.stream import Publisher, consume, owned, partition
from safecity.plugins import register_handlers

log = logging.getLogger(__name__)


def _pipeline(database_url: str | None, owns: Any = None) -> Any:

    import_all()
    url = database_url or get_settings().database_url
    _use_database(url)
    # Alarms raised here must raise area risk and draft warnings as they do in the web app.
    register_handlers()
    engine = make_engine(url)
    pipe = Pipeline(engine, retention_days=get_monitoring_settings().retention_days, owns=owns)
    # Events a killed predecessor committed but had not handled yet come back from the alarms
    # table (the handlers are idempotent per alarm).
    pipe.replay_events()
    return pipe


def _use_database(url: str) -> None:
    """Event handlers open their sessions on the default engine: point it at this process's
    database when the caller named another one (bench and tests pass a URL)."""

    if get_settings().database_url != url:
        set_environ("SAFECITY_DATABASE_URL", url)
        reset_engine()


def _ticker(pipe: Any, stop: Any) -> None:
    """Background thread: the aggregate roll-up every few seconds and the offline sweep (which
    processing also runs while readings flow)."""
    every = pipe.rollup_interval_s if pipe.deferred else 5.0

    def run() -> None:
        swept = time.monotonic()
        while not stop():
            time.sleep(min(every, 5.0))
            try:
                if pipe.deferred:
                    pipe.rollup()
                if time.monotonic() - swept >= 5.0:
                    swept = time.monotonic()
                    pipe.tick()
            except Exception:
                log.exception("roll-up or offline sweep failed")

    threading.Thread(target=run, daemon=True).start()


def run_mqtt_consumer(
    index: int,
    database_url: str | None = None,
    settings: MonitoringSettings | None = None,
    client_prefix: str = "safecity",
    forward_nats: bool = False,
    shared: bool = False,
) -> None:
    """One consumer process; runs until SIGTERM/SIGINT.

    shared=True joins the MQTT 5 shared subscription (several consumers, one per core). A lone
    consumer uses a plain persistent subscription: Mosquitto 2.0.11 does not restore shared
    subscriptions from its persistence file, so after a broker restart messages published
    before the consumers re-subscribe would be dropped (found by tests/monitoring/
    test_reliability.py); plain subscriptions are restored and lose nothing.
    """
    settings = settings or get_monitoring_settings()
    if forward_nats:
        handle = _nats_forwarder(settings)
        pipe = None
    else:
        pipe = _pipeline(database_url)

        def handle(items: list[tuple[str | None, bytes]]) -> Any:
            return pipe.process(items, "mqtt", trusted=settings.mqtt_trust_broker_acl)

    consumer = Consumer(settings, f"{client_prefix}-ingest-{index}", handle, shared=shared)
    signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
    consumer.start()
    if pipe is not None:
        _ticker(pipe, consumer._stop.is_set)
    try:
        consumer.run()
    except KeyboardInterrupt:
        consumer.stop()
    if pipe is not None:
        pipe.drain_events(5.0)  # a clean stop hands over what it can; replay covers the rest


def _nats_forwarder(settings: MonitoringSettings) -> Any:
    """MQTT front end that only relays into JetStream (workers do the rest)."""
    if settings.nats_trusted and not settings.mqtt_trust_broker_acl:
        # Workers would skip the token check, so an unauthenticated MQTT client could write
        # any device's readings: only relay what the broker's ACL already authenticated.
        raise SystemExit(
            "--forward-nats into a trusted stream (SAFECITY_MONITORING_NATS_TRUSTED)"
            " needs broker ACLs: set SAFECITY_MONITORING_MQTT_TRUST_BROKER_ACL=true"
        )
    loop = asyncio.new_event_loop()
    publisher = Publisher(settings)
    loop.run_until_complete(publisher.connect())

    def handle(items: list[tuple[str | None, bytes]]) -> int:
        relay = [(d, p) for d, p in items if d]
        stored = loop.run_until_complete(publisher.publish_many(relay))
        if stored != len(relay):
            raise RuntimeError(f"JetStream stored {stored} of {len(relay)}")
        return stored

    return handle


def run_nats_worker(
    index: int,
    workers: int,
    database_url: str | None = None,
    settings: MonitoringSettings | None = None,
) -> None:
    settings = settings or get_monitoring_settings()
    mine = set(owned(index, workers, settings.partitions))
    pipe = _pipeline(database_url, owns=lambda d: partition(d, settings.partitions) in mine)

    def handle(items: list[tuple[str | None, bytes]]) -> Any:
        # Trusted only when the stream is internal (settings.nats_trusted; see relay.py).
        return pipe.process(items, "nats", trusted=settings.nats_trusted)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        _ticker(pipe, stop.is_set)
        await consume(settings, index, workers, handle, stop)

    asyncio.run(main())
    pipe.drain_events(5.0)  # a clean stop hands over what it can; replay covers the rest


# A worker that dies this many times in a row within FAST_FAIL_S of starting is not restarted
# again: the group exits non-zero and the supervisor (systemd, Kubernetes) sees the failure.
FAST_FAILS = 5
FAST_FAIL_S = 10.0


def run_many(target: Any, count: int, *args: Any) -> int:
    """Run `count` processes of target(i, *args); returns the exit status for the caller.

    A worker that dies (kill -9, out of memory, a crash) is started again with the same index,
    so its partitions do not stall while the parent looks healthy; each restart is logged.
    SIGTERM or Ctrl-C stops them all (status 0). A worker failing again and again right after
    starting (bad configuration) ends the group with status 1.
    """
    ctx = mp.get_context("spawn")
    stopping = {"now": False}

    def start(i: int) -> Any:
        p = ctx.Process(target=target, args=(i, *args), daemon=False, name=f"worker-{i}")
        p.start()
        return p

    def stop(*_: Any) -> None:
        stopping["now"] = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    procs = {i: start(i) for i in range(count)}
    started = {i: time.monotonic() for i in procs}
    fast = dict.fromkeys(procs, 0)
    status = 0
    try:
        while not stopping["now"]:
            mp.connection.wait([p.sentinel for p in procs.values()], timeout=0.5)
            for i, p in list(procs.items()):
                if p.is_alive() or stopping["now"]:
                    continue
                p.join()
                fast[i] = fast[i] + 1 if time.monotonic() - started[i] < FAST_FAIL_S else 1
                if fast[i] >= FAST_FAILS:
                    log.error(
                        "worker %d exited with %s %d times in a row just after starting; "
                        "stopping the group",
                        i,
                        p.exitcode,
                        fast[i],
                    )
                    stopping["now"], status = True, 1
                    break
                log.error("worker %d (pid %s) exited with %s; restarting it", i, p.pid, p.exitcode)
                procs[i], started[i] = start(i), time.monotonic()
    finally:
        for p in procs.values():
            if p.is_alive() and p.pid:
                os.kill(p.pid, signal.SIGTERM)
        for p in procs.values():
            p.join(10)
            if p.is_alive():
                p.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
