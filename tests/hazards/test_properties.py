"""Random action sequences by random users against the database: the stored loop stays legal,
closed stays closed, and every state change has exactly one audit entry and one timeline entry."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from safecity.core.errors import SafeCityError
from safecity.core.models import AuditEntry
from safecity.hazards import service
from safecity.hazards import workflow as wf
from safecity.hazards.models import HiddenDanger, HiddenDangerEvent
from tests.conftest import principal
from tests.factories import NOW
from tests.hazards import loop

USERS = [
    "admin",
    "inspector",
    "zhifu",
    "laishan",
    "enterprise",
    "grid",
    "street1",
    "analyst",
    "liaison",
    "public",
    "zfinspector",
    "commander",
]
DATA = {
    "grade": "major",
    "grade_basis": "判定标准",
    "note": "说明",
    "responsible_party": "企业",
    "deadline": "2099-01-31",
    "supervisor_division_code": "370602",
    "supervisor_name": "芝罘区应急管理局",
    "measures": "整改",
    "responsible_person": "张三",
    "funds": 1,
    "interim_measures": "警戒",
}
ROLE_OF = {
    "admin": "admin",
    "inspector": "inspector",
    "zhifu": "district_officer",
    "laishan": "district_officer",
    "enterprise": "enterprise_officer",
    "grid": "grid_member",
    "street1": "district_officer",
    "analyst": "risk_analyst",
    "liaison": "department_liaison",
    "public": "public",
    "zfinspector": "inspector",
    "commander": "commander",
}
steps = st.lists(
    st.tuples(
        st.sampled_from(sorted(loop.STEPS)),
        st.sampled_from(USERS),
        st.sampled_from(["general", "major"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seq=steps)
def test_random_actions_keep_the_loop_and_the_audit_exact(hz_city, session, seq) -> None:
    who = {u: principal(session, u) for u in USERS}
    assert {u: p.role for u, p in who.items()} == ROLE_OF
    hd = service.report(
        session,
        who["zhifu"],
        {"title": "随机隐患", "enterprise_id": hz_city["own_enterprise_id"]},
        [],
        NOW,
    )
    session.commit()
    changes = 0
    for i, (action, user, grade, full) in enumerate(seq):
        at = NOW + timedelta(minutes=i + 1)
        before = session.get(HiddenDanger, hd.id).status
        try:
            service.transition(
                session,
                who[user],
                hd.id,
                action,
                {**DATA, "grade": grade} if full else {},
                ["a.jpg"],
                at,
            )
            session.commit()
        except SafeCityError:
            session.rollback()
            assert session.get(HiddenDanger, hd.id).status == before
            continue
        after = session.get(HiddenDanger, hd.id).status
        assert before != wf.CLOSED and (before, after) in loop.ALLOWED_STEPS
        assert loop.STEPS[action][0] == before
        assert ROLE_OF[user] not in ("grid_member", "public", "duty_officer")  # never a step
        changes += 1
    audits = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.object_type == "hidden_danger", AuditEntry.object_id == str(hd.id))
    )
    timeline = session.scalars(
        select(HiddenDangerEvent).where(HiddenDangerEvent.hidden_danger_id == hd.id)
    ).all()
    assert audits == changes + 1 == len(timeline)  # +1: the report itself
    assert all(e.from_status != e.to_status for e in timeline)
