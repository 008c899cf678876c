"""In-process event bus: capabilities publish facts, handlers in other capabilities react."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)
Handler = Callable[[Any], None]
_handlers: dict[type, list[Handler]] = defaultdict(list)


@dataclass(frozen=True)
class Event:
    occurred_at: datetime


@dataclass(frozen=True)
class ObjectChanged(Event):
    object_type: str
    object_id: str
    action: str
    division_code: str | None


@dataclass(frozen=True)
class AlarmRaised(Event):
    """A monitoring alarm became active or escalated (published by monitoring)."""

    alarm_id: str
    level: str  # red | orange | yellow | blue
    division_code: str
    lon: float | None = None
    lat: float | None = None
    grid_cell_id: int | None = None
    enterprise_id: int | None = None
    rule: str = ""  # monitoring rule (threshold, offline …): instrument faults are not hazards


@dataclass(frozen=True)
class AlarmCleared(Event):
    alarm_id: str


@dataclass(frozen=True)
class HiddenDangerOverdue(Event):
    """A hidden danger passed its rectification deadline (published by hazards)."""

    hidden_danger_id: str
    grade: str  # general | major
    division_code: str
    lon: float | None = None
    lat: float | None = None
    grid_cell_id: int | None = None
    enterprise_id: int | None = None


@dataclass(frozen=True)
class HiddenDangerClosed(Event):
    hidden_danger_id: str


def subscribe(event_type: type, handler: Handler) -> None:
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def deliver(event: Event) -> list[Handler]:
    """Run every handler of the event; one that raises is logged and does not keep the others
    from running. Returns the handlers that failed, so a caller can retry just those (the
    ingestion's hand-off thread does)."""
    failed: list[Handler] = []
    for event_type, handlers in list(_handlers.items()):
        if isinstance(event, event_type):
            for handler in list(handlers):
                try:
                    handler(event)
                except Exception:  # the publisher's own work is committed: never undo it
                    log.exception("event handler %s failed for %r", handler, event)
                    failed.append(handler)
    return failed


def publish(event: Event) -> None:
    deliver(event)


def clear() -> None:
    _handlers.clear()
