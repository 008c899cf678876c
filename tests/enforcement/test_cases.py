"""Penalty case state machine against a table written by hand here — NOT read from TRANSITIONS.

Every (state, step, role) of the product is checked: allowed triples move to the state the table
says; a step the state allows but the role may not take is a RoleError (403); anything else is a
StateError (409) — including every step on a closed case.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from safecity.enforcement.cases import (
    Case,
    HearingRule,
    Penalty,
    apply,
    deadline,
    new_case,
)
from safecity.enforcement.errors import EnforcementInputError, RoleError, StateError

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=CST)
BIG = Penalty(Decimal(150_000), "organisation")
HEAD, INSP, LEGAL = "office_head", "inspector", "legal_reviewer"

# (state, step, role) → state after; "=" keeps the state. Written from the issue and the law.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("clue", "file", HEAD): "filed",
    ("clue", "decline", HEAD): "not_filed",
    ("clue", "amend", INSP): "=",
    ("clue", "amend", LEGAL): "=",
    ("filed", "investigate", INSP): "investigating",
    ("filed", "revoke", HEAD): "revoked",
    ("filed", "extend", HEAD): "=",
    ("filed", "amend", INSP): "=",
    ("filed", "amend", LEGAL): "=",
    ("investigating", "submit", INSP): "reviewing",
    ("investigating", "revoke", HEAD): "revoked",
    ("investigating", "terminate", HEAD): "terminated",
    ("investigating", "extend", HEAD): "=",
    ("investigating", "amend", INSP): "=",
    ("investigating", "amend", LEGAL): "=",
    ("reviewing", "return", LEGAL): "investigating",
    ("reviewing", "notify", LEGAL): "notified",
    ("reviewing", "revoke", HEAD): "revoked",
    ("reviewing", "terminate", HEAD): "terminated",
    ("reviewing", "extend", HEAD): "=",
    ("reviewing", "amend", INSP): "=",
    ("reviewing", "amend", LEGAL): "=",
    ("notified", "request_hearing", INSP): "hearing",
    ("notified", "decide", HEAD): "decided",
    ("notified", "terminate", HEAD): "terminated",
    ("notified", "extend", HEAD): "=",
    ("notified", "amend", INSP): "=",
    ("notified", "amend", LEGAL): "=",
    ("hearing", "decide", HEAD): "decided",
    ("hearing", "terminate", HEAD): "terminated",
    ("hearing", "extend", HEAD): "=",
    ("hearing", "amend", INSP): "=",
    ("hearing", "amend", LEGAL): "=",
    ("decided", "serve", INSP): "served",
    ("decided", "amend", INSP): "=",
    ("decided", "amend", LEGAL): "=",
    ("served", "execute", INSP): "executing",
    ("served", "amend", INSP): "=",
    ("served", "amend", LEGAL): "=",
    ("executing", "close", HEAD): "closed",
    ("executing", "amend", INSP): "=",
    ("executing", "amend", LEGAL): "=",
}
ALL_STATES = [
    "clue",
    "filed",
    "investigating",
    "reviewing",
    "notified",
    "hearing",
    "decided",
    "served",
    "executing",
    "closed",
    "not_filed",
    "revoked",
    "terminated",
]
ALL_STEPS = [
    "file",
    "decline",
    "investigate",
    "submit",
    "return",
    "notify",
    "request_hearing",
    "decide",
    "serve",
    "execute",
    "close",
    "revoke",
    "terminate",
    "extend",
    "amend",
]
ALL_ROLES = [HEAD, INSP, LEGAL]
DATA = {"reason": "理由", "days": 30, "penalty": BIG, "waived": True}


def in_state(state: str) -> Case:
    # notified two days before: the five-day hearing window (art. 64) is still open at T0 + 1 day
    return replace(
        new_case("C1", T0), state=state, filed_at=T0, proposed=BIG, notified_at=T0 - timedelta(2)
    )


@pytest.mark.parametrize("state", ALL_STATES)
def test_every_triple_against_the_hand_table(state: str) -> None:
    for step in ALL_STEPS:
        for role in ALL_ROLES:
            case = in_state(state)
            want = ALLOWED.get((state, step, role))
            if want is not None:
                out = apply(case, step, role, T0 + timedelta(days=1), DATA)
                assert out.state == (state if want == "=" else want), (state, step, role)
                assert case.state == state  # the input is never changed
            elif any((state, step, r) in ALLOWED for r in ALL_ROLES):
                with pytest.raises(RoleError):
                    apply(case, step, role, T0, DATA)
            else:
                with pytest.raises(StateError) as err:
                    apply(case, step, role, T0, DATA)
                assert not isinstance(err.value, RoleError), (state, step, role)


def test_hand_table_covers_the_forbidden_examples_explicitly() -> None:
    forbidden = [
        ("clue", "decide", HEAD),
        ("filed", "notify", LEGAL),
        ("reviewing", "decide", HEAD),
        ("decided", "extend", HEAD),
        ("closed", "amend", INSP),
        ("revoked", "file", HEAD),
        ("executing", "terminate", HEAD),
    ]
    for state, step, role in forbidden:
        with pytest.raises(StateError):
            apply(in_state(state), step, role, T0, DATA)
    with pytest.raises(RoleError) as err:
        apply(in_state("executing"), "close", INSP, T0, DATA)
    assert "负责人" in err.value.message_zh


def test_full_walk_with_hearing_then_closed_case_refuses_edits() -> None:
    case = new_case("C2", T0)
    steps = [
        ("file", HEAD),
        ("investigate", INSP),
        ("submit", INSP),
        ("notify", LEGAL),
        ("request_hearing", INSP),
        ("decide", HEAD),
        ("serve", INSP),
        ("execute", INSP),
        ("close", HEAD),
    ]
    for n, (step, role) in enumerate(steps):
        case = apply(case, step, role, T0 + timedelta(days=n), {"penalty": BIG})
    assert case.state == "closed" and [h[0] for h in case.history] == [s for s, _ in steps]
    for step in ("amend", "extend", "decide"):
        with pytest.raises(StateError) as err:
            apply(case, step, HEAD if step != "amend" else INSP, T0, DATA)
        assert "不得再修改" in err.value.message_zh


def test_hearing_only_when_the_penalty_qualifies_city_threshold() -> None:
    city = HearingRule(fine_individual_yuan=Decimal(5_000), fine_organisation_yuan=Decimal(50_000))
    small = replace(in_state("notified"), proposed=Penalty(Decimal(49_999), "organisation"))
    with pytest.raises(StateError):
        apply(small, "request_hearing", INSP, T0, hearing=city)
    at = replace(small, proposed=Penalty(Decimal(50_000), "organisation"))  # threshold included
    assert apply(at, "request_hearing", INSP, T0, hearing=city).state == "hearing"
    person = replace(small, proposed=Penalty(Decimal(5_000), "individual"))
    assert apply(person, "request_hearing", INSP, T0, hearing=city).state == "hearing"
    stop = replace(
        small, proposed=Penalty(Decimal(0), "organisation", frozenset({"suspend_business"}))
    )
    assert apply(stop, "request_hearing", INSP, T0, hearing=city).state == "hearing"


def test_decision_deadline_is_90_days_plus_recorded_extensions() -> None:
    case = apply(new_case("C3", T0), "file", HEAD, T0)
    assert deadline(case) == datetime(2026, 5, 30, 9, 0, tzinfo=CST)  # 1 Mar + 90 days
    case = replace(case, state="notified", proposed=BIG, notified_at=T0 + timedelta(days=60))
    late = datetime(2026, 5, 30, 9, 0, 1, tzinfo=CST)
    assert apply(case, "decide", HEAD, datetime(2026, 5, 30, 9, 0, tzinfo=CST)).state == "decided"
    with pytest.raises(StateError) as err:
        apply(case, "decide", HEAD, late)
    assert "第六十条" in err.value.message_zh
    longer = apply(case, "extend", HEAD, late, {"days": 30, "reason": "案情复杂，负责人批准"})
    assert deadline(longer) == datetime(2026, 6, 29, 9, 0, tzinfo=CST)
    assert longer.extensions[0].reason == "案情复杂，负责人批准"
    assert apply(longer, "decide", HEAD, late).state == "decided"


def test_bad_input_named_by_field() -> None:
    with pytest.raises(EnforcementInputError) as err:
        apply(in_state("filed"), "extend", HEAD, T0, {"days": 0})
    assert {e.field for e in err.value.errors} == {"reason", "days"}
    with pytest.raises(EnforcementInputError) as err:
        apply(in_state("filed"), "fly", "mayor", T0)
    assert {e.field for e in err.value.errors} == {"step", "role"}
    with pytest.raises(EnforcementInputError):
        apply(in_state("reviewing"), "notify", LEGAL, T0)  # no proposed penalty
    with pytest.raises(EnforcementInputError):
        apply(in_state("filed"), "investigate", INSP, datetime(2026, 3, 2))  # naive now


def test_hearing_request_window_of_five_days_art_64() -> None:
    case = apply(in_state("reviewing"), "notify", LEGAL, T0, {"penalty": BIG})
    assert case.notified_at == T0
    five = T0 + timedelta(days=5)
    assert apply(case, "request_hearing", INSP, five).state == "hearing"  # day 5 still in time
    with pytest.raises(StateError) as err:
        apply(case, "request_hearing", INSP, five + timedelta(seconds=1))
    assert "第六十四条" in err.value.message_zh
    with pytest.raises(StateError):  # deciding inside the window takes the party's right away
        apply(case, "decide", HEAD, T0 + timedelta(days=3))
    assert apply(case, "decide", HEAD, T0 + timedelta(days=3), {"waived": True}).state == "decided"
    assert apply(case, "decide", HEAD, five + timedelta(seconds=1)).state == "decided"
    small = apply(
        in_state("reviewing"), "notify", LEGAL, T0, {"penalty": Penalty(Decimal(500), "individual")}
    )
    assert apply(small, "decide", HEAD, T0 + timedelta(hours=1)).state == "decided"  # no right
