"""The pure closed-loop state machine: worked paths, refusals and random action sequences."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.core.errors import Conflict, Forbidden, Invalid
from safecity.core.scope import ROLES
from safecity.hazards import workflow as wf
from tests.hazards import loop

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
INSPECTOR = wf.Actor("inspector", "370600")
ZHIFU = wf.Actor("district_officer", "370602")
OWN = wf.Actor("enterprise_officer", "370602", enterprise_id=7)
OTHER_ENT = wf.Actor("enterprise_officer", "370602", enterprise_id=8)
GRID = wf.Actor("grid_member", "370602")
PLAN = {
    "measures": "更换防爆电机",
    "responsible_person": "张三",
    "funds": "2.5",
    "interim_measures": "停用该泵，设置警戒",
    "deadline": "2026-12-20",
}


def step(facts: wf.Facts, action: str, actor: wf.Actor, data: dict | None = None) -> wf.Facts:
    out = wf.decide(facts, action, actor, data or {}, NOW)
    kept = {
        k: v
        for k, v in out.changes.items()
        if k in ("grade", "supervisor_division_code", "deadline")
    }
    return replace(facts, status=out.to_status, **kept)


def test_general_loop_from_report_to_close() -> None:
    f = wf.Facts(wf.REPORTED, enterprise_id=7)
    f = step(f, "confirm", INSPECTOR, {"grade": "general"})
    assert f.status == wf.CONFIRMED and f.grade == "general"
    f = step(f, "register", INSPECTOR, {"responsible_party": "测试企业", "deadline": "2026-12-01"})
    assert f.status == wf.REGISTERED
    # 2026-12-01 end of day in Beijing is 15:59:59 UTC
    assert f.deadline == datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC)
    f = step(f, "submit_plan", OWN, {"measures": "修复", "responsible_person": "张三"})
    assert f.status == wf.RECTIFYING  # a general one starts work at once
    f = step(f, "submit_acceptance", OWN, {"note": "已修复"})
    f = step(f, "return", ZHIFU, {"note": "照片不清"})
    assert f.status == wf.RECTIFYING
    f = step(f, "submit_acceptance", OWN, {"note": "补拍照片"})
    out = wf.decide(f, "accept", ZHIFU, {}, NOW)
    assert out.to_status == wf.CLOSED and out.changes["closed_late"] is False


def test_major_needs_supervisor_plan_approval_and_supervisor_acceptance() -> None:
    f = step(
        wf.Facts(wf.REPORTED, enterprise_id=7),
        "confirm",
        INSPECTOR,
        {
            "grade": "major",
            "grade_basis": "《化工和危险化学品生产经营单位重大生产安全事故隐患判定标准》第5条",
        },
    )
    with pytest.raises(Invalid) as err:
        wf.decide(
            f, "register", INSPECTOR, {"responsible_party": "x", "deadline": "2026-12-31"}, NOW
        )
    assert {e.field for e in err.value.errors} == {"supervisor_division_code", "supervisor_name"}
    f = step(
        f,
        "register",
        INSPECTOR,
        {
            "responsible_party": "x",
            "deadline": "2026-12-31",
            "supervisor_division_code": "370602",
            "supervisor_name": "芝罘区应急管理局",
        },
    )
    f = step(f, "submit_plan", OWN, PLAN)
    assert f.status == wf.PLAN_SUBMITTED
    with pytest.raises(Forbidden):  # the city inspector is not the supervising authority
        wf.decide(f, "approve_plan", INSPECTOR, {}, NOW)
    with pytest.raises(Conflict):  # no work reported before the plan is approved
        wf.decide(f, "submit_acceptance", OWN, {"note": "done", "attachments": ["a"]}, NOW)
    f = step(f, "approve_plan", ZHIFU)
    assert f.status == wf.RECTIFYING
    with pytest.raises(Invalid):
        wf.decide(f, "submit_acceptance", OWN, {"note": "done"}, NOW)  # evidence photos needed
    f = step(f, "submit_acceptance", OWN, {"note": "done", "attachments": ["p.jpg"]})
    with pytest.raises(Forbidden):
        wf.decide(f, "accept", INSPECTOR, {}, NOW)
    assert wf.decide(f, "accept", ZHIFU, {}, NOW).to_status == wf.CLOSED


def test_refusals() -> None:
    reported = wf.Facts(wf.REPORTED, enterprise_id=7)
    with pytest.raises(Conflict):
        wf.decide(reported, "accept", INSPECTOR, {}, NOW)
    with pytest.raises(Forbidden):
        wf.decide(reported, "confirm", GRID, {"grade": "general"}, NOW)
    with pytest.raises(Forbidden):  # an enterprise does not grade its own danger as major
        wf.decide(reported, "confirm", OWN, {"grade": "major", "grade_basis": "x"}, NOW)
    with pytest.raises(Forbidden):
        wf.decide(reported, "confirm", OTHER_ENT, {"grade": "general"}, NOW)
    assert wf.decide(reported, "confirm", OWN, {"grade": "general"}, NOW).to_status == wf.CONFIRMED
    with pytest.raises(Invalid) as err:
        wf.decide(reported, "reject", INSPECTOR, {}, NOW)
    assert err.value.errors[0].field == "note" and "必填" in err.value.errors[0].zh
    confirmed = wf.Facts(wf.CONFIRMED, grade="general")
    with pytest.raises(Invalid) as err:
        wf.decide(
            confirmed,
            "register",
            INSPECTOR,
            {"responsible_party": "x", "deadline": "2026-11-01"},
            NOW,
        )
    assert err.value.errors[0].en == "deadline: must be in the future"
    for final in (wf.CLOSED, wf.REJECTED):
        for action in wf.ACTIONS:
            with pytest.raises(Conflict):
                wf.decide(
                    wf.Facts(final, grade="major", supervisor_division_code="370602"),
                    action,
                    wf.Actor("admin", "370602"),
                    {},
                    NOW,
                )


def test_accepting_after_the_deadline_is_late() -> None:
    f = wf.Facts(wf.SUBMITTED, grade="general", deadline=NOW - timedelta(days=1))
    assert wf.decide(f, "accept", INSPECTOR, {}, NOW).changes["closed_late"] is True


# ---------------------------------------------------------------- the domain's own table

SUPERVISING_DIVISION = "370602"
RELATION_ACTORS = {
    "admin_city": wf.Actor("admin", "370600"),
    "commander_city": wf.Actor("commander", "370600"),
    "duty_officer": wf.Actor("duty_officer", "370600"),
    "risk_analyst": wf.Actor("risk_analyst", "370600"),
    "inspector_city": wf.Actor("inspector", "370600"),
    "liaison": wf.Actor("department_liaison", "370600"),
    "district_officer": wf.Actor("district_officer", SUPERVISING_DIVISION),
    "district_officer_elsewhere": wf.Actor("district_officer", "370613"),
    "grid_member": wf.Actor("grid_member", SUPERVISING_DIVISION),
    "own_enterprise": wf.Actor("enterprise_officer", SUPERVISING_DIVISION, enterprise_id=7),
    "other_enterprise": wf.Actor("enterprise_officer", SUPERVISING_DIVISION, enterprise_id=8),
    "public": wf.Actor("public", "370600"),
    "supervising_admin": wf.Actor("admin", SUPERVISING_DIVISION),
    "supervising_commander": wf.Actor("commander", SUPERVISING_DIVISION),
    "supervising_inspector": wf.Actor("inspector", SUPERVISING_DIVISION),
}
COMPLETE = {
    "grade_basis": "判定标准",
    "note": "说明",
    "responsible_party": "企业",
    "deadline": "2099-01-31",
    "supervisor_division_code": SUPERVISING_DIVISION,
    "supervisor_name": "芝罘区应急管理局",
    "attachments": ["a.jpg"],
    **PLAN,
}


def _outcome(status: str, action: str, actor: wf.Actor, major: bool) -> str:
    grade = "major" if major else "general"
    facts = wf.Facts(
        status,
        grade=None if status == wf.REPORTED else grade,
        enterprise_id=7,
        supervisor_division_code=SUPERVISING_DIVISION if major else None,
        deadline=None if status in (wf.REPORTED, wf.CONFIRMED) else NOW + timedelta(days=30),
    )
    data = {**COMPLETE, "grade": grade, "deadline": "2099-01-31"}
    try:
        return wf.decide(facts, action, actor, data, NOW).to_status
    except Conflict:
        return "conflict"
    except Forbidden:
        return "forbidden"


def test_every_step_by_every_role_in_every_state_matches_the_domain_table() -> None:
    assert set(RELATION_ACTORS) == set(loop.RELATIONS)
    assert set(wf.ACTIONS) == set(loop.STEPS)  # a new action needs a row in the table first
    wrong = []
    for status in wf.STATES:
        for action in loop.STEPS:
            for who, actor in RELATION_ACTORS.items():
                for major in (False, True):
                    want = loop.expected(status, action, who, major)
                    got = _outcome(status, action, actor, major)
                    if got != want:
                        wrong.append(
                            (status, action, who, "major" if major else "general", want, got)
                        )
    assert wrong == []


def test_buttons_offer_exactly_the_steps_the_table_allows() -> None:
    for status in wf.STATES:
        for who, actor in RELATION_ACTORS.items():
            for major in (False, True):
                if status == wf.REPORTED:
                    continue  # before grading the grade is unknown; confirm decides it
                facts = wf.Facts(
                    status,
                    grade="major" if major else "general",
                    enterprise_id=7,
                    supervisor_division_code=SUPERVISING_DIVISION if major else None,
                )
                want = sorted(
                    a
                    for a in loop.STEPS
                    if loop.expected(status, a, who, major) not in ("conflict", "forbidden")
                )
                assert sorted(wf.available(facts, actor)) == want, (status, who, major)


# ---------------------------------------------------------------- random sequences

ACTORS = [
    wf.Actor(role, div, ent)
    for role in ROLES
    for div, ent in (("370600", None), ("370602", 7), ("370613", 8))
]
FULL_DATA = {
    "grade": "major",
    "grade_basis": "判定标准",
    "note": "说明",
    "responsible_party": "企业",
    "deadline": "2027-01-31",
    "supervisor_division_code": "370602",
    "supervisor_name": "芝罘区应急管理局",
    "attachments": ["a.jpg"],
    **PLAN,
}
actions = st.lists(
    st.tuples(
        st.sampled_from(sorted(wf.ACTIONS)),
        st.sampled_from(ACTORS),
        st.sampled_from(["general", "major"]),
        st.booleans(),
    ),
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(actions)
def test_random_sequences_never_leave_the_machine(seq: list) -> None:
    facts = wf.Facts(wf.REPORTED, enterprise_id=7)
    closed = False
    for action, actor, grade, complete in seq:
        data = {**FULL_DATA, "grade": grade} if complete else {}
        before = facts
        try:
            out = wf.decide(facts, action, actor, data, NOW)
        except (Conflict, Forbidden, Invalid) as exc:
            assert facts == before
            if facts.status in wf.FINAL:
                assert isinstance(exc, Conflict)
            continue
        assert not closed, "a closed hidden danger changed"
        assert (facts.status, out.to_status) in loop.ALLOWED_STEPS
        assert out.to_status in wf.STATES
        if action in ("approve_plan", "reject_plan") or (
            action in ("accept", "return") and facts.grade == "major"
        ):
            assert wf.is_supervisor(facts, actor)
        if facts.grade == "major" and out.to_status == wf.SUBMITTED:
            assert facts.status == wf.RECTIFYING
        facts = step(facts, action, actor, data)
        closed = facts.status == wf.CLOSED
        if facts.status == wf.RECTIFYING and facts.grade == "major":
            assert before.status in (wf.PLAN_SUBMITTED, wf.SUBMITTED)
