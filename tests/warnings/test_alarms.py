"""Alarm → warning through the real event bus: red/orange draft, blue auto-issues if allowed."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from safecity.core import events
from safecity.core.db import session_scope
from safecity.warnings import alarms, api, cap
from safecity.warnings.models import Delivery, Warning
from safecity.warnings.settings import get_warning_settings

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def raise_alarm(alarm_id: str, level: str, **kw: Any) -> None:
    events.publish(
        events.AlarmRaised(NOW, alarm_id=alarm_id, level=level, division_code="370602", **kw)
    )
    assert alarms.drain(20)


def by_alarm(alarm_id: str) -> list[Warning]:
    with session_scope() as s:
        return list(s.scalars(select(Warning).where(Warning.alarm_id == alarm_id)))


def test_importing_the_api_subscribes_once() -> None:

    handlers = events._handlers[events.AlarmRaised]
    while alarms.on_alarm_raised in handlers:
        handlers.remove(alarms.on_alarm_raised)
    importlib.reload(api)  # what create_app's import does
    alarms.register()  # idempotent: a second registration adds no second handler
    assert handlers.count(alarms.on_alarm_raised) == 1


def test_red_alarm_drafts_one_warning(client: Any) -> None:
    alarms.register()
    raise_alarm("GAS-1", "orange", lon=121.37, lat=37.465)
    (w,) = by_alarm("GAS-1")
    assert (w.status, w.level, w.auto, w.created_by) == ("draft", "orange", True, "system:alarm")
    assert w.areas[0]["circles"] == [[121.37, 37.465, 2.0]]
    assert "芝罘区" in w.headline
    raise_alarm("GAS-1", "red", lon=121.37, lat=37.465)  # escalation raises the draft's level
    (w,) = by_alarm("GAS-1")
    assert w.level == "red"
    raise_alarm("GAS-2", "yellow")
    assert by_alarm("GAS-2") == []


def test_blue_alarm_auto_issues_only_when_the_city_allows(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alarms.register()

    raise_alarm("RAIN-1", "blue")
    assert by_alarm("RAIN-1") == []
    monkeypatch.setenv("SAFECITY_WARNINGS_BLUE_AUTO_ISSUE", "true")
    get_warning_settings.cache_clear()
    try:
        raise_alarm("RAIN-2", "blue")
    finally:
        monkeypatch.delenv("SAFECITY_WARNINGS_BLUE_AUTO_ISSUE")
        get_warning_settings.cache_clear()
    (w,) = by_alarm("RAIN-2")
    assert (w.status, w.issued_by, w.areas[0]["divisions"]) == (
        "issued",
        "system:alarm",
        ["370602"],
    )
    assert cap.validate_xml(w.cap_xml.encode()) == []
    with session_scope() as s:
        statuses = set(s.scalars(select(Delivery.status).where(Delivery.warning_id == w.id)))
    assert statuses == {"sent", "logged"}  # the worker dispatched right after issuing
