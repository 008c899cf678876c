"""In-process event bus: capabilities publish facts, handlers in other capabilities react."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event

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


@dataclass(frozen=True)
class IncidentReported(Event):
    """An incident was received (published by response after commit)."""

    incident_id: int
    type_key: str  # GB/T 35561 key (safecity/response/classes.py)
    division_code: str
    lon: float | None = None
    lat: float | None = None
    alarm_id: int | None = None


@dataclass(frozen=True)
class IncidentGraded(Event):
    """An incident's grade was set or changed (ordinary … extraordinary)."""

    incident_id: int
    grade: str
    previous: str | None
    division_code: str


@dataclass(frozen=True)
class IncidentClosed(Event):
    """An incident was closed: its counts are final (accident records read them)."""

    incident_id: int
    division_code: str
    production_safety: bool
    deaths: int
    serious_injuries: int
    direct_loss_yuan: str  # exact yuan as a decimal string


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


def publish_after_commit(session: Any, event: Event) -> None:
    """Publish `event` once `session` (a SQLAlchemy Session) commits; a rollback drops it, so a
    dry run or a failed request never announces what it did not keep."""
    if not session.in_transaction():
        session.begin()  # so that a rollback before any SQL still drops the event
    session.info.setdefault("events_pending", []).append(event)
    if not session.info.get("events_hooked"):  # one pair of hooks per session, for its lifetime
        session.info["events_hooked"] = True
        sa_event.listen(session, "after_commit", _publish_pending)
        # soft: also when the transaction never reached the database (no DBAPI rollback)
        sa_event.listen(session, "after_soft_rollback", _drop_pending)


def _publish_pending(session: Any) -> None:
    for queued in session.info.pop("events_pending", []):
        publish(queued)


def _drop_pending(session: Any, previous_transaction: Any) -> None:
    if not previous_transaction.nested:  # a savepoint's rollback keeps the outer work
        session.info.pop("events_pending", None)


def clear() -> None:
    _handlers.clear()
