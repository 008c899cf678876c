"""双随机 draw: exact reproduction, commitment, canonical pools, conflicts, ceil share, refusals.

Expectations are computed here by hand or with the standard library's ``hmac`` directly from the
algorithm written in the module docstring — never by calling the module's own ranking.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import date
from fractions import Fraction

import pytest

from safecity.enforcement.draw import (
    DrawResult,
    Inspector,
    Target,
    _Mac,
    commitment,
    draw,
    verify,
)
from safecity.enforcement.errors import EnforcementInputError

SEED = bytes(range(32))
ON = date(2026, 12, 6)
VALID = date(2027, 6, 30)


def targets(n: int, key: int = 0) -> list[Target]:
    return [Target(f"E{i:03d}", "370602", "C26", "C", i < key) for i in range(n)]


def inspectors(n: int, **kw: frozenset[str]) -> list[Inspector]:
    return [Inspector(f"I{i:02d}", "芝罘区应急局", VALID, **kw) for i in range(n)]


def hmac_order(ids: list[str], label: str = "target") -> list[str]:
    return sorted(ids, key=lambda i: hmac.digest(SEED, f"{label}\x1f{i}".encode(), "sha256"))


# --------------------------------------------------------------------------- share, ranking


@pytest.mark.parametrize(("n", "want"), [(19, 1), (20, 1), (21, 2), (1, 1), (40, 2), (41, 3)])
def test_random_share_is_rounded_up_exactly(n: int, want: int) -> None:
    # 5 % of 19 = 0.95 → 1; of 20 = exactly 1 (a float 0.05 × 20 = 1.0000000000000002 would
    # wrongly give 2); of 21 = 1.05 → 2; of 41 = 2.05 → 3
    result = draw(targets(n), inspectors(4), SEED, ON, share=0.05)
    assert len(result.random_targets) == want
    assert result.random_targets == tuple(hmac_order([t.id for t in targets(n)])[:want])


def test_key_units_all_selected_and_not_counted_in_the_share() -> None:
    pool = targets(23, key=3)  # 3 key units + 20 others → 3 + ceil(5 % × 20) = 3 + 1
    result = draw(pool, inspectors(4), SEED, ON)
    assert result.key_targets == ("E000", "E001", "E002")
    assert len(result.random_targets) == 1
    assert result.random_targets[0] not in result.key_targets
    assert result.random_targets == tuple(hmac_order([f"E{i:03d}" for i in range(3, 23)])[:1])
    assert [t for t, _ in result.assignments] == sorted(
        [*result.key_targets, *result.random_targets]
    )


def test_inspectors_follow_the_published_algorithm() -> None:
    pool = inspectors(7)
    result = draw(targets(10, key=10), pool, SEED, ON, per_target=2)
    ids = sorted(i.id for i in pool)
    for target, chosen in result.assignments:
        expected: list[str] = []
        k = 0
        while len(expected) < 2:
            mac = hmac.digest(SEED, f"inspector\x1f{target}\x1f{k}".encode(), "sha256")
            pick = ids[int.from_bytes(mac[:8], "big") % len(ids)]
            if pick not in expected:
                expected.append(pick)
            k += 1
        assert chosen == tuple(expected), target


def test_fast_hmac_equals_the_standard_library() -> None:
    for key in (SEED, b"k" * 64, b"long" * 40):
        assert _Mac(key)("target", "E001") == hmac.digest(key, b"target\x1fE001", "sha256")
        assert _Mac(key).prefixed("a")("b\x1fc") == hmac.digest(key, b"a\x1fb\x1fc", "sha256")


# --------------------------------------------------------------------------- verification


def _base() -> tuple[list[Target], list[Inspector], DrawResult]:
    ts, ins = targets(60, key=2), inspectors(8)
    return ts, ins, draw(ts, ins, SEED, ON, share="0.1", previous={"E000": ["I01"]})


def test_commitment_is_sha256_of_the_seed() -> None:
    assert commitment(SEED) == hashlib.sha256(SEED).hexdigest()
    assert _base()[2].commitment == hashlib.sha256(SEED).hexdigest()


def test_verification_reproduces_exactly_and_pool_order_does_not_matter() -> None:
    ts, ins, result = _base()
    again = verify(result, SEED, list(reversed(ts)), list(reversed(ins)), {"E000": ["I01"]})
    assert again.ok and again.first_difference is None
    shuffled = draw(ts[::-1], ins[3:] + ins[:3], SEED, ON, share="0.1", previous={"E000": ["I01"]})
    assert shuffled == result


def test_changed_seed_fails_on_the_commitment() -> None:
    ts, ins, result = _base()
    out = verify(result, bytes(32), ts, ins, {"E000": ["I01"]})
    assert not out.ok and out.first_difference == "commitment"
    assert "承诺" in out.explanation_zh


@pytest.mark.parametrize("change", ["class", "inspector", "previous", "extra"])
def test_changed_pool_fails_on_the_fingerprint(change: str) -> None:
    ts, ins, result = _base()
    prev: dict[str, list[str]] = {"E000": ["I01"]}
    if change == "class":
        ts = [replace(ts[5], supervision_class="A"), *ts[:5], *ts[6:]]
    elif change == "inspector":
        ins = [replace(ins[0], certificate_expires=date(2027, 7, 1)), *ins[1:]]
    elif change == "previous":
        prev = {"E000": ["I02"]}
    else:
        ts = [*ts, Target("E999", "370602", "C26", "C")]
    out = verify(result, SEED, ts, ins, prev)
    assert not out.ok and out.first_difference == "fingerprint"


def test_tampered_result_names_the_first_different_target() -> None:
    ts, ins, result = _base()
    target, chosen = result.assignments[1]
    other = next(i.id for i in ins if i.id not in chosen)
    bad = replace(
        result,
        assignments=(result.assignments[0], (target, (other, chosen[1])), *result.assignments[2:]),
    )
    out = verify(bad, SEED, ts, ins, {"E000": ["I01"]})
    assert not out.ok and out.first_difference == f"assignments[{target}]"


# --------------------------------------------------------------------------- conflicts


def test_conflicts_and_previous_pairs_are_never_assigned() -> None:
    ts = targets(40, key=40)
    ins = [
        Inspector(
            f"I{i:02d}",
            "o",
            VALID,
            related_ids=frozenset(f"E{j:03d}" for j in range(40) if (i + j) % 3 == 0),
            former_employer_ids=frozenset({f"E{(i * 7) % 40:03d}"}),
        )
        for i in range(12)
    ]
    previous = {f"E{j:03d}": [f"I{j % 12:02d}", f"I{(j + 5) % 12:02d}"] for j in range(40)}
    result = draw(ts, ins, SEED, ON, per_target=3, previous=previous)
    by_id = {i.id: i for i in ins}
    assert len(result.assignments) == 40
    for target, chosen in result.assignments:
        assert len(chosen) == 3 and len(set(chosen)) == 3
        for i in chosen:
            assert target not in by_id[i].related_ids | by_id[i].former_employer_ids
            assert i not in previous[target]


def test_fallback_when_almost_everyone_is_conflicted() -> None:
    # 200 inspectors, all but I007 and I123 related to E000: 64 random tries will almost surely
    # not find both, so the fallback ranking must — and only those two
    ins = [
        Inspector(
            f"I{i:03d}",
            "o",
            VALID,
            related_ids=frozenset() if i in (7, 123) else frozenset({"E000"}),
        )
        for i in range(200)
    ]
    result = draw(targets(1, key=1), ins, SEED, ON)
    assert sorted(result.assignments[0][1]) == ["I007", "I123"]


def test_expired_certificates_are_excluded_and_counted() -> None:
    ins = [
        Inspector("I1", "o", date(2026, 12, 5)),  # expired the day before
        Inspector("I2", "o", ON),  # expires today: still valid
        Inspector("I3", "o", VALID),
        Inspector("I4", "o", date(2020, 1, 1)),
    ]
    result = draw(targets(5, key=5), ins, SEED, ON)
    assert result.expired_excluded == 2
    assert all(set(c) == {"I2", "I3"} for _, c in result.assignments)
    assert "2" in result.explanation_zh


# --------------------------------------------------------------------------- refusals


def test_too_few_eligible_inspectors_names_the_target() -> None:
    ins = [
        Inspector("I1", "o", VALID, related_ids=frozenset({"E001"})),
        Inspector("I2", "o", VALID),
        Inspector("I3", "o", date(2020, 1, 1)),
    ]
    with pytest.raises(EnforcementInputError) as err:
        draw(targets(3, key=3), ins, SEED, ON)
    # I3 expired; I1 is related to E001 → E001 has only I2, E000 and E002 have I1 + I2
    assert [e.field for e in err.value.errors] == ["targets[E001]"]
    assert "E001" in err.value.errors[0].message_zh and "仅 1 名" in err.value.errors[0].message_zh


@pytest.mark.parametrize(
    ("kw", "fields"),
    [
        ({"share": 0.04}, ["share"]),
        ({"share": 1.01}, ["share"]),
        ({"share": "x"}, ["share"]),
        ({"per_target": 1}, ["per_target"]),
        ({"seed": b"short"}, ["seed"]),
    ],
)
def test_bad_parameters_are_refused_by_field(kw: dict[str, object], fields: list[str]) -> None:
    args: dict[str, object] = {"seed": SEED, **kw}
    with pytest.raises(EnforcementInputError) as err:
        draw(targets(5), inspectors(3), on=ON, **args)  # type: ignore[arg-type]
    assert [e.field for e in err.value.errors] == fields


def test_empty_pools_and_duplicate_ids_named_together() -> None:
    with pytest.raises(EnforcementInputError) as err:
        draw([], [], SEED, ON)
    assert {e.field for e in err.value.errors} == {"targets", "inspectors"}
    with pytest.raises(EnforcementInputError) as err:
        draw([*targets(2), Target("E001", "x", "y", "z")], inspectors(3), SEED, ON)
    assert [e.field for e in err.value.errors] == ["targets[2].id"]


def test_a_city_minimum_share_of_ten_percent() -> None:
    with pytest.raises(EnforcementInputError):
        draw(targets(5), inspectors(3), SEED, ON, share="0.05", min_share=Fraction(1, 10))
    assert (
        len(
            draw(
                targets(30), inspectors(3), SEED, ON, share="0.1", min_share=Fraction(1, 10)
            ).random_targets
        )
        == 3
    )


def test_fingerprint_follows_the_documented_canonical_json() -> None:
    ts = [Target("E2", "370602", "C26", "A", True), Target("E1", "370613", "G54", "D")]
    ins = [Inspector("I2", "莱山区", VALID, frozenset({"E2", "E1"})), Inspector("I1", "o", VALID)]
    ins += [Inspector("I3", "o", VALID), Inspector("I4", "o", VALID)]
    result = draw(ts, ins, SEED, ON, share="0.5", previous={"E2": ["I3"]})
    doc = (
        '{"inspectors":[["I1","o","2027-06-30",[],[]],["I2","莱山区","2027-06-30",["E1","E2"],[]],'
        '["I3","o","2027-06-30",[],[]],["I4","o","2027-06-30",[],[]]],"on":"2026-12-06","per_target":2,'
        '"previous":[["E2",["I3"]]],"share":"1/2",'
        '"targets":[["E1","370613","G54","D",false],["E2","370602","C26","A",true]]}'
    )
    assert result.fingerprint == hashlib.sha256(doc.encode()).hexdigest()


def test_verify_reports_a_pool_that_can_no_longer_be_drawn() -> None:
    ts, ins, result = _base()
    out = verify(result, SEED, ts, ins[:1], {"E000": ["I01"]})
    assert not out.ok and out.first_difference == "input"


def test_infinite_share_is_refused() -> None:
    with pytest.raises(EnforcementInputError) as err:
        draw(targets(5), inspectors(3), SEED, ON, share="Infinity")
    assert [e.field for e in err.value.errors] == ["share"]
