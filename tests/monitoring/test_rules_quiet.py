"""The quiet-run shortcut gives exactly what stepping every reading gives (property-based)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from safecity.monitoring.catalog import default_rules
from safecity.monitoring.rules import READING_RULES, Engine, SensorSpec

T0 = 1_764_000_000_000


def _specs(stuck_s: int, hysteresis: float, rate: float | None, sustain: int) -> list[SensorSpec]:
    gas = {
        **default_rules()["gas"],
        "hysteresis": hysteresis,
        "stuck_s": stuck_s,
        "sustain_s": sustain,
        "rate": {"per_min": rate, "direction": "up"} if rate else None,
    }
    low = {**default_rules()["water_pressure"], "stuck_s": stuck_s}
    return [
        SensorSpec(1, "gas", gas, grid_cell_id=3),
        SensorSpec(2, "gas", gas, grid_cell_id=3),
        SensorSpec(3, "water_pressure", low),
        SensorSpec(4, "temperature", default_rules()["temperature"]),
    ]


readings = st.lists(
    st.tuples(
        st.integers(0, 3),  # sensor slot
        st.integers(0, 4000),  # ms after the previous reading of the batch (0: a duplicate)
        st.sampled_from(
            [
                0.5,
                1.0,
                1.0,
                2.0,
                9.9,
                10.0,
                12.0,
                24.0,
                30.0,
                55.0,
                0.35,
                0.2,
                0.05,
                25.0,
                61.0,
                150.0,
                -1.0,
                0.0,
            ]
        ),
    ),
    min_size=1,
    max_size=60,
)


def _state(eng: Engine) -> dict[str, list]:
    s = eng.s
    out = {
        name: getattr(s, name).tolist()
        for name in (
            "last_ts",
            "last_v",
            "th_since",
            "stuck_since",
            "ref_ts",
            "ref_v",
            "alarm_since",
        )
    }
    out.update({f"active_{r}": s.active[r].tolist() for r in READING_RULES})
    out["cells"] = sorted(eng.cells_alarming)
    return out


@settings(max_examples=300, deadline=None)
@given(
    batches=st.lists(readings, min_size=1, max_size=4),
    stuck_s=st.sampled_from([0, 3, 10]),
    hysteresis=st.sampled_from([0.0, 2.0]),
    rate=st.sampled_from([None, 300.0]),
    sustain=st.sampled_from([0, 2]),
)
def test_shortcut_equals_stepping(batches, stuck_s, hysteresis, rate, sustain) -> None:
    fast, slow = (
        Engine(_specs(stuck_s, hysteresis, rate, sustain)),
        Engine(_specs(stuck_s, hysteresis, rate, sustain)),
    )
    slow.collapse_quiet = False
    clock = T0
    for batch in batches:
        slots, ts, vals = [], [], []
        for slot, gap, value in batch:
            clock += gap
            slots.append(slot)
            ts.append(clock)
            vals.append(value)
        args = (np.array(slots, np.int64), np.array(ts, np.int64), np.array(vals, float))
        got, want = fast.evaluate(*args), slow.evaluate(*args)
        assert got == want
        np.testing.assert_equal(_state(fast), _state(slow))


def test_a_quiet_gateway_batch_is_settled_without_stepping() -> None:
    eng = Engine([SensorSpec(1, "gas", {**default_rules()["gas"], "stuck_s": 0})])
    ts = T0 + np.arange(1000, dtype=np.int64) * 1000
    vals = 1.0 + (np.arange(1000) % 7) * 0.01
    calls = []
    eng._step = lambda *a: calls.append(a) or []  # type: ignore[method-assign]
    assert eng.evaluate(np.zeros(1000, np.int64), ts, vals) == []
    assert calls == []
    assert eng.s.last_ts[0] == ts[-1] and eng.s.last_v[0] == vals[-1]
