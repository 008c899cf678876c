"""JetStream helpers shared by the NATS tests: a stream of the test's own, the workers' environment,
a worker process, and dropping the stream afterwards."""

from __future__ import annotations

import os
import subprocess
import sys

import nats

from safecity.monitoring.settings import MonitoringSettings


def _settings(tag: str) -> MonitoringSettings:
    return MonitoringSettings(
        nats_stream=f"TEST_{tag}", nats_subject_prefix=f"test{tag}.tel", partitions=4, batch_max=500
    )


def _env(settings: MonitoringSettings, database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "SAFECITY_DATABASE_URL": database_url,
        "SAFECITY_MONITORING_NATS_STREAM": settings.nats_stream,
        "SAFECITY_MONITORING_NATS_SUBJECT_PREFIX": settings.nats_subject_prefix,
        "SAFECITY_MONITORING_PARTITIONS": str(settings.partitions),
        "SAFECITY_MONITORING_BATCH_MAX": str(settings.batch_max),
    }


def start_worker(index: int, workers: int, env: dict[str, str], url: str) -> subprocess.Popen:
    code = (
        "from safecity.monitoring.runners import run_nats_worker;"
        f"run_nats_worker({index}, {workers}, {url!r})"
    )
    return subprocess.Popen([sys.executable, "-c", code], env=env)


async def _drop_stream(settings: MonitoringSettings) -> None:
    nc = await nats.connect(settings.nats_url)
    try:
        await nc.jetstream().delete_stream(settings.nats_stream)
    except Exception:  # noqa: BLE001, S110  # the stream may be gone already
        pass
    await nc.close()
