"""The one place that reads the wall clock, so services and rules get `now` passed in.

Tests freeze it (`frozen`) or move it (`travel`); a process started by a test inherits the same
clock through the environment: SAFECITY_FROZEN_NOW (ISO 8601, the clock stands still) or
SAFECITY_CLOCK_OFFSET (seconds added to the machine's clock, may be negative). Monotonic timers
(time.monotonic) are not wall-clock time and never go through here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

# China Standard Time (UTC+8, no daylight saving): what "today", "23:59" and a printed time mean
# to users. Stored times stay UTC; this zone is for display and for local calendar rules.
BEIJING = timezone(timedelta(hours=8))

FROZEN_ENV = "SAFECITY_FROZEN_NOW"
OFFSET_ENV = "SAFECITY_CLOCK_OFFSET"

_frozen: datetime | None = None
_offset = timedelta(0)


def utcnow() -> datetime:
    if _frozen is not None:
        return _frozen
    now = datetime.now(UTC)
    return now + _offset if _offset else now


def epoch_ms() -> int:
    """Wall-clock milliseconds since the epoch on the same clock (readings' timestamps)."""
    return int(utcnow().timestamp() * 1000)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the clock is set with an aware datetime (naive times are ambiguous)")
    return at.astimezone(UTC)


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """The clock stands still at `at` (every thread of this process) until the block ends."""
    global _frozen
    before = _frozen
    _frozen = _aware(at)
    try:
        yield _frozen
    finally:
        _frozen = before


@contextmanager
def travel(at: datetime) -> Iterator[datetime]:
    """The clock jumps to `at` and keeps ticking (for code that waits for time to pass)."""
    global _offset
    before = _offset
    _offset = _aware(at) - datetime.now(UTC)
    try:
        yield at
    finally:
        _offset = before


def env_for(at: datetime, *, ticking: bool = False) -> dict[str, str]:
    """Environment that puts a child process on this clock, frozen or ticking from `at`."""
    if ticking:
        return {OFFSET_ENV: str((_aware(at) - datetime.now(UTC)).total_seconds())}
    return {FROZEN_ENV: _aware(at).isoformat()}


def configure_from_env() -> None:
    """Read SAFECITY_FROZEN_NOW / SAFECITY_CLOCK_OFFSET (done once at import)."""
    global _frozen, _offset
    frozen_at = os.environ.get(FROZEN_ENV, "").strip()
    offset = os.environ.get(OFFSET_ENV, "").strip()
    _frozen = _aware(datetime.fromisoformat(frozen_at)) if frozen_at else None
    _offset = timedelta(seconds=float(offset)) if offset else timedelta(0)


configure_from_env()
