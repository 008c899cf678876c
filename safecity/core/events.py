"""In-process event bus: capabilities publish facts, handlers in other capabilities react."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


def publish(event: Event) -> None:
    for event_type, handlers in list(_handlers.items()):
        if isinstance(event, event_type):
            for handler in list(handlers):
                handler(event)


def clear() -> None:
    _handlers.clear()
