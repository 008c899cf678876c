"""The delivery worker's round: expire warnings past their end, then send what is pending. Its
own module because it uses both the warning service (expiry) and the channels (sending), and
the service already uses the channels to plan deliveries when a warning is issued."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from safecity.warnings import channels, service


def expire_and_dispatch(
    session_factory: Callable[[], Session], now: Callable[[], datetime], **kw: Any
) -> dict[str, int]:
    with session_factory() as session:
        expired = service.expire_due(session, now())
        session.commit()
    counts = channels.dispatch_pending(session_factory, now, **kw)
    counts["expired"] = expired
    return counts
