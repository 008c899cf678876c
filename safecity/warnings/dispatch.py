"""The delivery worker's round: expire warnings past their end, then send what is pending. Its
own module because it uses both the warning service (expiry) and the channels (sending), and
the service already uses the channels to plan deliveries when a warning is issued."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from safecity.core.jobs import Job, ticking, transactions
from safecity.warnings import channels, service
from safecity.warnings.settings import WarningSettings


def expire_and_dispatch(
    session_factory: Callable[[], Session], now: Callable[[], datetime], **kw: Any
) -> dict[str, int]:
    with session_factory() as session:
        expired = service.expire_due(session, now())
        session.commit()
    counts = channels.dispatch_pending(session_factory, now, **kw)
    counts["expired"] = expired
    return counts


def dispatch_job(session: Session, now: datetime) -> dict[str, int]:
    """The job runner's round: each step its own transaction on the job's session, each
    delivery stamped with the time it really went out."""
    return expire_and_dispatch(transactions(session), ticking(now))  # type: ignore[arg-type]


def declared() -> list[Job]:
    # Read afresh: the interval is taken when a server starts, not when settings were cached.
    interval = WarningSettings().dispatch_interval_seconds
    return [Job("warnings.dispatch", interval, dispatch_job, "预警到期与发送 expiry, deliveries")]
