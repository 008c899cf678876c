"""Dynamic risk adjustment: monitoring alarms and overdue hidden dangers become risk signals.

Other capabilities publish ``AlarmRaised`` / ``AlarmCleared`` (monitoring) and
``HiddenDangerOverdue`` / ``HiddenDangerClosed`` (hazards) on the in-process bus; the handlers
here keep one ``RiskSignal`` row per source object so the four-colour map can raise an area's
level while the alarm or the overdue danger lasts (see ``safecity.risk.areas.rules`` step 4).

Publishers must publish after their own transaction commits (as ``core.events.publish_after_commit``
does): each handler opens its own transaction, which on SQLite would otherwise wait on the
publisher's write lock.

Idempotent on (source, source_ref): a repeated event updates the active signal instead of adding
a second one, and an event older than the clearing of its own signal is ignored (late delivery).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from safecity.core import audit, events
from safecity.core.db import session_scope
from safecity.core.events import AlarmCleared, AlarmRaised, HiddenDangerClosed, HiddenDangerOverdue
from safecity.registry.models import Enterprise
from safecity.risk.areas.rules import LEVELS
from safecity.risk.areas.service import load_rule
from safecity.risk.models import RiskSignal

log = logging.getLogger(__name__)

SessionFactory = Callable[[], AbstractContextManager[Session]]
ALARM = "alarm"
OVERDUE = "hidden_danger_overdue"
# Colour a hidden-danger signal is shown in: 重大事故隐患 red, 一般事故隐患 yellow.
GRADE_SEVERITY = {"major": "red", "general": "yellow"}

_state: dict[str, SessionFactory | None] = {"factory": None}


# ---------------------------------------------------------------- use cases (take a session)


# Alarms about the instrument, not the hazard: a device gone quiet, stuck or out of range says
# nothing about the area's risk, and a storm of them (vehicles parked, a gateway down) must not
# turn districts orange. They stay on the alarm console for maintenance.
INSTRUMENT_RULES = frozenset({"offline", "stuck", "range"})


def alarm_raised(session: Session, event: AlarmRaised) -> RiskSignal | None:
    if getattr(event, "rule", "") in INSTRUMENT_RULES:
        return None
    rule = load_rule(session, event.division_code)
    return _upsert(
        session, ALARM, event.alarm_id, event.level, rule.signal_raise(ALARM, event.level), event
    )


def alarm_cleared(session: Session, event: AlarmCleared) -> int:
    return _clear(session, ALARM, event.alarm_id, event.occurred_at)


def hidden_danger_overdue(session: Session, event: HiddenDangerOverdue) -> RiskSignal | None:
    rule = load_rule(session, event.division_code)
    severity = GRADE_SEVERITY.get(event.grade, "yellow")
    return _upsert(
        session,
        OVERDUE,
        event.hidden_danger_id,
        severity,
        rule.signal_raise(OVERDUE, event.grade),
        event,
    )


def hidden_danger_closed(session: Session, event: HiddenDangerClosed) -> int:
    return _clear(session, OVERDUE, event.hidden_danger_id, event.occurred_at)


def active_signals(session: Session, source: str | None = None) -> list[RiskSignal]:
    stmt = select(RiskSignal).where(RiskSignal.active.is_(True)).order_by(RiskSignal.id)
    if source:
        stmt = stmt.where(RiskSignal.source == source)
    return list(session.scalars(stmt))


def _lock(session: Session, source: str, ref: str) -> None:
    # Two workers handling the same event must not both insert: serialise per source object.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{source}:{ref}"}
        )


def _naive_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; compare everything as naive UTC.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _signals(session: Session, source: str, ref: str) -> list[RiskSignal]:
    return list(
        session.scalars(
            select(RiskSignal)
            .where(RiskSignal.source == source, RiskSignal.source_ref == ref)
            .order_by(RiskSignal.id)
        )
    )


def _upsert(
    session: Session, source: str, ref: str, severity: str, steps: int, event: Any
) -> RiskSignal | None:
    ref = str(ref)[:64]
    _lock(session, source, ref)
    existing = _signals(session, source, ref)
    active = next((s for s in existing if s.active), None)
    if active is not None:
        return _escalate(session, active, severity, steps, event.occurred_at)
    at = _naive_utc(event.occurred_at)
    if any(s.cleared_at is not None and _naive_utc(s.cleared_at) >= at for s in existing):
        return None  # a late copy of an event whose signal was already cleared
    signal = RiskSignal(
        source=source,
        source_ref=ref,
        severity=severity,
        raise_steps=steps,
        active=True,
        created_at=event.occurred_at,
        **_location(session, event),
    )
    session.add(signal)
    session.flush()
    _audit(session, "risk_signal.raise", signal, None, event.occurred_at)
    return signal


def _escalate(
    session: Session, signal: RiskSignal, severity: str, steps: int, at: datetime
) -> RiskSignal:
    # Only a more severe level changes the signal, so repeats and stale copies are no-ops.
    if severity in LEVELS and LEVELS.index(severity) < LEVELS.index(signal.severity):
        before = _as_dict(signal)
        signal.severity, signal.raise_steps = severity, max(steps, signal.raise_steps)
        session.flush()
        _audit(session, "risk_signal.escalate", signal, before, at)
    return signal


def _clear(session: Session, source: str, ref: str, at: datetime) -> int:
    ref = str(ref)[:64]
    _lock(session, source, ref)
    cleared = 0
    for signal in _signals(session, source, ref):
        if signal.active:
            before = _as_dict(signal)
            signal.active, signal.cleared_at = False, at
            session.flush()
            _audit(session, "risk_signal.clear", signal, before, at)
            cleared += 1
    return cleared


def _location(session: Session, event: Any) -> dict[str, Any]:
    loc = {
        "division_code": event.division_code,
        "grid_cell_id": event.grid_cell_id,
        "enterprise_id": event.enterprise_id,
        "lon": event.lon,
        "lat": event.lat,
    }
    if (loc["lon"] is None or loc["lat"] is None) and event.enterprise_id is not None:
        # An alarm on an enterprise's sensor without coordinates is placed at the enterprise.
        ent = session.get(Enterprise, event.enterprise_id)
        if ent is not None and ent.lon is not None and ent.lat is not None:
            loc["lon"], loc["lat"] = ent.lon, ent.lat
    return loc


def _as_dict(signal: RiskSignal) -> dict[str, Any]:
    return {
        "source": signal.source,
        "source_ref": signal.source_ref,
        "severity": signal.severity,
        "raise_steps": signal.raise_steps,
        "active": signal.active,
        "division_code": signal.division_code,
        "grid_cell_id": signal.grid_cell_id,
        "enterprise_id": signal.enterprise_id,
    }


def _audit(
    session: Session, action: str, signal: RiskSignal, before: dict[str, Any] | None, at: datetime
) -> None:
    audit.record(
        session,
        actor="system",
        action=action,
        object_type="risk_signal",
        object_id=signal.id,
        before=before,
        after=_as_dict(signal),
        now=at,
    )


# ---------------------------------------------------------------- bus wiring


def _run(use_case: Callable[[Session, Any], Any]) -> Callable[[Any], None]:
    def handler(event: Any) -> None:
        factory = _state["factory"]
        if factory is None:
            return  # unregistered: stay subscribed but inert (the bus has no unsubscribe)
        # A failure propagates to the bus, which logs it and keeps it from the publisher
        # (events.deliver); the ingestion's hand-off thread retries it (monitoring/handoff.py).
        with factory() as session:
            use_case(session, event)

    handler.__name__ = f"on_{use_case.__name__}"
    return handler


HANDLERS: dict[type, Callable[[Any], None]] = {
    AlarmRaised: _run(alarm_raised),
    AlarmCleared: _run(alarm_cleared),
    HiddenDangerOverdue: _run(hidden_danger_overdue),
    HiddenDangerClosed: _run(hidden_danger_closed),
}


def register(session_factory: SessionFactory | None = None) -> None:
    """Subscribe the handlers; each event runs in its own transaction from ``session_factory``
    (default ``safecity.core.db.session_scope``; tests pass one bound to their database)."""
    if session_factory is None:
        session_factory = session_scope
    _state["factory"] = session_factory
    for event_type, handler in HANDLERS.items():
        events.subscribe(event_type, handler)


def unregister() -> None:
    _state["factory"] = None
