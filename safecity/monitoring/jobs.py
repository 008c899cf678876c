"""The monitoring capability's background jobs (run by the kernel's job runner in `serve`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from safecity.core.db import get_engine
from safecity.core.jobs import Job
from safecity.monitoring import api
from safecity.monitoring.settings import MonitoringSettings


def rollup(session: Session, now: datetime) -> dict[str, Any]:
    """Fold HTTP-ingested readings into the aggregates when traffic stops (while it flows, the
    pipeline does it after its batches)."""
    pipe = api.built_pipeline()
    if pipe is None or not pipe.deferred:
        return {"folded": 0}
    return {"folded": pipe.rollup()}


def warm_start(session: Session, now: datetime) -> dict[str, Any]:
    """Build the ingestion pipeline (every sensor, latest value, open alarm) as the server
    starts, so no device request waits for it; a failure here is tried again by that request."""
    api.pipeline()
    return {"built": True}


def declared() -> list[Job]:
    # Read afresh: `serve` sets SAFECITY_MONITORING_WARM_START just before the app starts.
    settings = MonitoringSettings()
    out = []
    # The pipeline defers roll-ups only on PostgreSQL; there is nothing to fold elsewhere.
    if settings.rollup_interval_s > 0 and get_engine().dialect.name == "postgresql":
        out.append(Job("monitoring.rollup", settings.rollup_interval_s, rollup,
                       "读数汇总 readings roll-up", cron=False))  # fmt: skip
    if settings.warm_start and not settings.http_forward_nats:
        out.append(Job("monitoring.warm_start", 0, warm_start,
                       "接入管道预热 ingestion warm start", at_start=True, cron=False))  # fmt: skip
    return out
