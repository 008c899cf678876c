"""Overdue hidden dangers reach the risk capability through the event bus (after commit), and
closing one clears its risk signal; the major hidden dangers list is filled from here."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

import safecity.hazards.api  # noqa: F401  (registers the provider)
from safecity.core.scope import Principal
from safecity.hazards import jobs, service
from safecity.risk.areas import dynamic
from safecity.risk.lists import service as lists
from safecity.risk.models import RiskSignal
from tests.conftest import principal
from tests.factories import NOW
from tests.hazards.helpers import factory_for, registered


def test_overdue_raises_and_closing_clears_the_signal(hz_city, session, engine) -> None:
    factory = factory_for(engine)
    dynamic.register(factory)
    try:
        hd_id = registered(session, hz_city, NOW - timedelta(days=1), grade="major")
        jobs.run_once(factory, NOW)
        signal = session.scalars(select(RiskSignal)).one()
        assert (signal.source, signal.source_ref, signal.severity, signal.active) == (
            "hidden_danger_overdue",
            str(hd_id),
            "red",
            True,
        )
        zhifu = principal(session, "zhifu")
        ent = principal(session, "enterprise")
        plan = {
            "measures": "整改",
            "responsible_person": "张三",
            "funds": 1,
            "interim_measures": "警戒",
        }
        service.transition(session, ent, hd_id, "submit_plan", plan, [], NOW)
        service.transition(session, zhifu, hd_id, "approve_plan", {}, [], NOW)
        service.transition(
            session, ent, hd_id, "submit_acceptance", {"note": "完成"}, ["a.jpg"], NOW
        )
        service.transition(session, zhifu, hd_id, "accept", {}, [], NOW + timedelta(hours=1))
        session.commit()  # HiddenDangerClosed is published only now
        session.expire_all()
        assert session.scalars(select(RiskSignal.active)).one() is False
    finally:
        dynamic.unregister()


def test_major_hidden_dangers_list(hz_city, session) -> None:
    hd_id = registered(session, hz_city, NOW + timedelta(days=60), grade="major")
    registered(session, hz_city, NOW + timedelta(days=60), grade="general")
    city = Principal(1, "admin", "admin", "370600")
    result = lists.get_list(session, city, "major-hidden-dangers", lists.ListFilters())
    assert [r["id"] for r in result.rows] == [hd_id]
    row = result.rows[0]
    assert row["status"] == "已登记预警" and row["supervisor"] == "芝罘区应急管理局"
    laishan = Principal(2, "laishan", "district_officer", "370613")
    assert lists.get_list(session, laishan, "major-hidden-dangers", lists.ListFilters()).rows == []
