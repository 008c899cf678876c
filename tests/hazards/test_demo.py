"""Demo city history: a believable year in every state, idempotent, and consistent timelines."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core.scope import Principal
from safecity.hazards import checks, demo, jobs, service
from safecity.hazards import workflow as wf
from safecity.hazards.models import HiddenDanger, HiddenDangerEvent
from safecity.registry import demo as city_demo
from tests.conftest import principal
from tests.factories import NOW
from tests.hazards.helpers import factory_for


def test_demo_year_of_hidden_dangers(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        city_demo.load(session, city_demo.generate(seed=7, now=NOW), NOW)
        counts = demo.load(session, NOW)
        session.commit()
        assert counts["hidden_dangers"] > 4000
        assert demo.load(session, NOW) == {}  # second run does nothing
        # Every role that inspects finds its own round waiting (the grid member's list was empty).
        for username in ("grid", "inspector", "enterprise"):
            assert checks.count_tasks(session, principal(session, username), "open") > 0, username
        by_status = dict(
            session.execute(
                select(HiddenDanger.status, func.count()).group_by(HiddenDanger.status)
            ).all()
        )
        assert set(by_status) >= set(wf.STATES) - {wf.PLAN_SUBMITTED}
        assert by_status[wf.CLOSED] > by_status[wf.RECTIFYING] > 100
        overdue = session.scalar(
            select(func.count())
            .select_from(HiddenDanger)
            .where(HiddenDanger.status.in_(sorted(wf.ON_THE_CLOCK)), HiddenDanger.deadline < NOW)
        )
        assert overdue > 50
        supervised = session.scalar(
            select(func.count())
            .select_from(HiddenDanger)
            .where(
                HiddenDanger.grade == wf.MAJOR,
                HiddenDanger.status.in_(sorted(wf.OPEN)),
                HiddenDanger.supervisor_division_code.is_not(None),
            )
        )
        assert supervised >= 10
        months = session.scalar(select(func.count(func.distinct(HiddenDanger.month))))
        assert months >= 12
        # every timeline ends in the stored state and has one entry per change
        last = (
            select(HiddenDangerEvent.hidden_danger_id, func.max(HiddenDangerEvent.id).label("last"))
            .group_by(HiddenDangerEvent.hidden_danger_id)
            .subquery()
        )
        mismatched = session.scalar(
            select(func.count())
            .select_from(HiddenDanger)
            .join(last, last.c.hidden_danger_id == HiddenDanger.id)
            .join(HiddenDangerEvent, HiddenDangerEvent.id == last.c.last)
            .where(HiddenDangerEvent.to_status != HiddenDanger.status)
        )
        assert mismatched == 0
        late = session.scalar(
            select(func.count()).select_from(HiddenDanger).where(HiddenDanger.closed_late.is_(True))
        )
        assert 0 < late < by_status[wf.CLOSED] / 3
        # new reports still get fresh ids after the bulk load
        admin = Principal(1, "admin", "admin", "370600")
        hd = service.report(session, admin, {"title": "新隐患", "division_code": "370602"}, [], NOW)
        assert hd.id > counts["hidden_dangers"]
        session.commit()
    # the first escalation run catches up on the overdue ones
    report = jobs.run_once(factory_for(engine), NOW)
    assert report.steps["overdue"] == overdue
