"""The one place that reads the clock, so services and rules get `now` passed in."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
