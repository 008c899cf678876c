"""Alarm → warning: a red or orange monitoring alarm drafts a warning for the commander; a blue
one is issued at once when the city allows it (blue_auto_issue). Yellow alarms stay with the
duty officer.

The handler runs on one worker thread so the publisher's transaction is never held up (and
SQLite, which has a single writer, never waits on itself).
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import events
from safecity.core.clock import utcnow
from safecity.core.config import get_settings
from safecity.core.db import _factory, session_scope
from safecity.core.scope import Principal
from safecity.registry.models import Division
from safecity.warnings import channels, rules, service
from safecity.warnings.models import Warning
from safecity.warnings.settings import get_warning_settings

log = logging.getLogger("safecity.warnings.alarms")
DEFAULT_VALIDITY = timedelta(hours=12)  # the commander shortens or extends it before issuing
RADIUS_KM = {"red": 3.0, "orange": 2.0, "yellow": 1.0, "blue": 0.5}
RANK = {"blue": 0, "yellow": 1, "orange": 2, "red": 3}
_queue: queue.Queue[events.AlarmRaised] = queue.Queue()
_worker: threading.Thread | None = None
_lock = threading.Lock()


def system_principal(division_code: str) -> Principal:
    return Principal(
        user_id=0, username="system:alarm", role="commander", division_code=division_code
    )


def wanted(level: str, blue_auto_issue: bool) -> bool:
    return level in ("red", "orange") or (level == "blue" and blue_auto_issue)


def draft_data(event: events.AlarmRaised, division: Division | None) -> dict[str, object]:
    """The warning a commander starts from: the alarm's place and a standard text."""
    name = division.name if division else event.division_code
    name_en = (division.name_en or name) if division else event.division_code
    zh_level, en_level = rules.cap.LEVEL_NAMES[event.level]
    if event.lon is not None and event.lat is not None:
        area = {
            "desc": f"{name}报警点周边 {RADIUS_KM[event.level]:g} 公里",
            "circles": [[event.lon, event.lat, RADIUS_KM[event.level]]],
        }
    else:
        area = {"desc": name, "divisions": [event.division_code]}
    return {
        "event_type": "other",
        "level": event.level,
        "division_code": event.division_code,
        "headline": f"{name}监测报警{zh_level}预警",
        "description": f"城市安全运行监测系统于 {service.cap.cap_time(event.occurred_at)[:16].replace('T', ' ')} "
        f"在{name}发出{zh_level}报警（报警编号 {event.alarm_id}），请关注。",
        "instruction": "请周边人员听从现场指挥，远离报警区域，不要围观。",
        "headline_en": f"{en_level} warning from a monitoring alarm in {name_en}",
        "description_en": f"The city safety monitoring system raised a {event.level} alarm "
        f"in {name_en} (alarm {event.alarm_id}).",
        "instruction_en": "Follow on-site instructions, keep away from the alarm area.",
        "areas": [area],
        "alarm_id": event.alarm_id,
        "effective": event.occurred_at,
        "expires": event.occurred_at + DEFAULT_VALIDITY,
    }


def handle_in_session(session: Session, event: events.AlarmRaised, now: datetime) -> Warning | None:
    """Draft (or auto-issue) the warning for one alarm; idempotent per alarm."""
    settings = get_warning_settings()
    if not wanted(event.level, settings.blue_auto_issue):
        return None
    existing = session.scalar(
        select(Warning)
        .where(Warning.alarm_id == event.alarm_id, Warning.kind == "local")
        .order_by(Warning.id.desc())
    )
    who = system_principal(event.division_code)
    if existing is not None:
        if existing.status == "draft" and RANK[event.level] > RANK[existing.level]:
            return service.edit_warning(session, who, existing.id, {"level": event.level}, now)
        return existing
    division = session.get(Division, event.division_code)
    w = service.create_warning(session, who, draft_data(event, division), now, auto=True)
    if rules.may_auto_issue(w.level, settings.blue_auto_issue):
        service.issue(session, who, w.id, now, system=True)
    return w


def _run() -> None:
    while True:
        event = _queue.get()
        try:
            with session_scope() as session:
                handle_in_session(session, event, utcnow())
            _kick_dispatch()
        except Exception:  # one bad alarm must not stop the worker
            log.exception("could not draft a warning for alarm %s", event.alarm_id)
        finally:
            _queue.task_done()


def _kick_dispatch() -> None:

    try:
        channels.dispatch_pending(_factory(), utcnow)
    except Exception:
        log.exception("dispatch after an auto-issued warning failed")


def on_alarm_raised(event: events.AlarmRaised) -> None:
    global _worker
    with _lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_run, name="warnings-alarms", daemon=True)
            _worker.start()
    _queue.put(event)


def drain(timeout: float = 10.0) -> bool:
    """Wait until every queued alarm was handled (tests and shutdown)."""
    done = threading.Event()

    def wait() -> None:
        _queue.join()
        done.set()

    threading.Thread(target=wait, daemon=True).start()
    return done.wait(timeout)


def register() -> None:
    """Idempotent: the bus ignores a handler it already has."""
    events.subscribe(events.AlarmRaised, on_alarm_raised)


def city_code() -> str:
    return get_settings().city_code
