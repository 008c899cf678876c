"""Discretion table: range proposed per violation and circumstance; outside it needs a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest

from safecity.enforcement.discretion import EXAMPLE_TABLE, Table, check_decision
from safecity.enforcement.errors import EnforcementInputError


def test_propose_range_and_measures() -> None:
    rng = EXAMPLE_TABLE.propose("training", "grave")
    assert (rng.fine_min, rng.fine_max, rng.measures) == (
        Decimal(80000),
        Decimal(100000),
        ("责令停产停业整顿",),
    )
    assert "严重" in rng.explanation_zh and "80000–100000" in rng.explanation_zh
    assert "示例" in EXAMPLE_TABLE.name  # labelled an example, not law


@pytest.mark.parametrize(
    ("fine", "within"), [(20000, True), (50000, True), (19999, False), (50001, False)]
)
def test_bounds_inclusive(fine: int, within: bool) -> None:
    rng = EXAMPLE_TABLE.propose("training", "ordinary")  # 20000–50000
    if within:
        assert check_decision(rng, fine).within
    else:
        with pytest.raises(EnforcementInputError) as err:
            check_decision(rng, fine)
        assert err.value.errors[0].field == "reason"
        out = check_decision(rng, fine, "首次违法且主动消除后果")
        assert not out.within and out.reason == "首次违法且主动消除后果"


def test_unknown_violation_or_circumstance_and_bad_fine() -> None:
    with pytest.raises(EnforcementInputError):
        EXAMPLE_TABLE.propose("nothing", "minor")
    with pytest.raises(EnforcementInputError) as err:
        EXAMPLE_TABLE.propose("hidden_danger", "minor")  # this violation has no 轻微 row
    assert err.value.errors[0].field == "circumstance"
    for bad in (-1, "12.5", True, None):
        with pytest.raises(EnforcementInputError):
            check_decision(EXAMPLE_TABLE.propose("training", "minor"), bad)


def test_table_validation_names_every_bad_cell() -> None:
    with pytest.raises(EnforcementInputError) as err:
        Table.from_dict(
            {
                "violations": {
                    "v1": {
                        "ranges": {
                            "minor": {"fine_min": 500, "fine_max": 100},
                            "bizarre": {"fine_min": 0, "fine_max": 1},
                            "grave": {"fine_min": 1000, "fine_max": 2000},
                        }
                    }
                }
            }
        )
    assert [e.field for e in err.value.errors] == [
        "violations.v1.ranges.minor",
        "violations.v1.ranges.bizarre",
    ]


def test_city_defined_circumstance() -> None:
    t = Table.from_dict(
        {
            "circumstances": {"first": ["首违", "first offence"]},
            "violations": {"v": {"ranges": {"first": {"fine_min": 0, "fine_max": 0}}}},
        }
    )
    assert t.propose("v", "first").fine_max == 0
    with pytest.raises(EnforcementInputError):
        check_decision(t.propose("v", "first"), 1)
