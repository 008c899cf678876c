"""Rule engine: each rule type at its boundary values, and rule validation (pure, no database)."""

from __future__ import annotations

import numpy as np
import pytest

from safecity.monitoring.catalog import default_rules
from safecity.monitoring.rules import Engine, SensorSpec, validate_rule, validate_rule_set

T0 = 1_764_000_000_000


def engine_for(sensor_type: str, **override: object) -> Engine:
    rule = {**default_rules()[sensor_type], **override}
    return Engine([SensorSpec(1, sensor_type, rule, grid_cell_id=7)])


def feed(eng: Engine, *points: tuple[int, float], sensor: int = 1) -> list:
    slot = eng.slot[sensor]
    ts = np.array([T0 + t for t, _ in points], np.int64)
    vals = np.array([v for _, v in points], float)
    return eng.evaluate(np.full(len(points), slot), ts, vals)


def levels(transitions: list, rule: str = "threshold") -> list[int]:
    return [t.level for t in transitions if t.rule == rule]


def test_gas_thresholds_at_the_boundaries() -> None:
    # gas: blue 5, yellow 10, orange 25, red 50 %LEL; a value equal to a threshold reaches it
    eng = engine_for("gas", hysteresis=0)
    assert levels(feed(eng, (0, 4.99))) == []
    assert levels(feed(eng, (1000, 5.0))) == [1]
    assert levels(feed(eng, (2000, 9.99))) == []
    assert levels(feed(eng, (3000, 10.0))) == [2]
    assert levels(feed(eng, (4000, 25.0))) == [3]
    assert levels(feed(eng, (5000, 50.0))) == [4]
    assert levels(feed(eng, (6000, 4.0))) == [0]


def test_low_direction_pipeline_pressure() -> None:
    # pipe pressure alarms as it falls: blue ≤0.2, yellow ≤0.15, orange ≤0.1, red ≤0.05 MPa
    eng = engine_for("pipe_pressure", hysteresis=0, rate=None)
    assert levels(feed(eng, (0, 0.21))) == []
    assert levels(feed(eng, (1000, 0.2))) == [1]
    assert levels(feed(eng, (2000, 0.05))) == [4]
    assert levels(feed(eng, (3000, 0.3))) == [0]


def test_abs_direction_bridge_strain_both_signs() -> None:
    eng = engine_for("bridge_strain", sustain_s=0, hysteresis=0)
    assert levels(feed(eng, (0, -1200.0))) == [4]
    assert levels(feed(eng, (1000, 299.0))) == [0]


def test_hysteresis_holds_level_until_value_drops_below_threshold_minus_band() -> None:
    eng = engine_for("gas", hysteresis=2.0)  # yellow at 10, clears below 8
    assert levels(feed(eng, (0, 10.0))) == [2]
    assert levels(feed(eng, (1000, 9.0))) == []  # inside the band: still yellow
    assert levels(feed(eng, (2000, 8.0))) == []  # 8 = 10 - 2 is still inside (≥)
    assert levels(feed(eng, (3000, 7.99))) == [1]  # below the band: back to blue (5 ≤ 7.99)
    assert levels(feed(eng, (4000, 3.0))) == []  # blue band: 5 - 2 = 3 keeps blue
    assert levels(feed(eng, (5000, 2.99))) == [0]


def test_sustained_duration_must_pass_before_raising() -> None:
    eng = engine_for("temperature", sustain_s=30, hysteresis=0, rate=None)  # blue at 45 °C
    assert levels(feed(eng, (0, 50.0))) == []
    assert levels(feed(eng, (29_999, 50.0))) == []
    assert levels(feed(eng, (30_000, 50.0))) == [1]
    # a dip below the threshold restarts the clock
    eng2 = engine_for("temperature", sustain_s=30, hysteresis=0, rate=None)
    feed(eng2, (0, 50.0), (10_000, 40.0), (20_000, 50.0))
    assert levels(feed(eng2, (45_000, 50.0))) == []
    assert levels(feed(eng2, (50_000, 50.0))) == [1]


def test_rate_of_change_pipe_burst() -> None:
    # 0.05 MPa per minute downwards → orange
    eng = engine_for("pipe_pressure")
    feed(eng, (0, 0.40))
    assert levels(feed(eng, (60_000, 0.351)), "rate") == []  # 0.049 MPa/min
    assert levels(feed(eng, (120_000, 0.301)), "rate") == [3]  # 0.05 MPa/min exactly
    assert levels(feed(eng, (180_000, 0.30)), "rate") == [0]
    # rising fast is not a burst
    assert levels(feed(eng, (240_000, 0.50)), "rate") == []


def test_stuck_value() -> None:
    eng = engine_for("gas", stuck_s=3600)
    feed(eng, (0, 1.0))
    assert levels(feed(eng, (3_599_999, 1.0)), "stuck") == []
    assert levels(feed(eng, (3_600_000, 1.0)), "stuck") == [1]
    assert levels(feed(eng, (3_601_000, 1.1)), "stuck") == [0]


def test_offline_sweep_and_recovery() -> None:
    eng = engine_for("gas", offline_s=600)
    feed(eng, (0, 1.0))
    assert eng.sweep_offline(T0 + 599_999) == []
    out = eng.sweep_offline(T0 + 600_000)
    assert [(t.rule, t.level) for t in out] == [("offline", 2)]
    assert eng.sweep_offline(T0 + 700_000) == []  # already offline: no repeat
    assert levels(feed(eng, (800_000, 1.0)), "offline") == [0]


def test_out_of_physical_range_is_a_fault_not_a_gas_alarm() -> None:
    eng = engine_for("gas")
    out = feed(eng, (0, 100.0))  # 100 %LEL is the top of the range: valid, red
    assert levels(out, "range") == [] and levels(out) == [4]
    out = feed(eng, (1000, 100.01))
    assert levels(out, "range") == [2] and levels(out) == []  # keeps red, no new gas level
    assert levels(feed(eng, (2000, -0.01)), "range") == []
    assert levels(feed(eng, (3000, 0.0)), "range") == [0]


def test_vehicle_overspeed_and_off_route() -> None:
    route = {"type": "LineString", "coordinates": [[121.40, 37.50], [121.50, 37.50]]}
    rule = {**default_rules()["vehicle"], "speed_limit": 80.0, "corridor_m": 300.0}
    eng = Engine([SensorSpec(9, "vehicle", rule, route=route)])
    slot = np.array([eng.slot[9]])

    def go(t: int, speed: float, lon: float, lat: float) -> list:
        return eng.evaluate(
            slot, np.array([T0 + t]), np.array([speed]), np.array([lon]), np.array([lat])
        )

    assert go(0, 80.0, 121.45, 37.50) == []
    assert levels(go(1000, 80.1, 121.45, 37.50), "overspeed") == [3]
    # 300 m corridor: 0.0025° of latitude is ~276 m (inside), 0.003° ~332 m (outside)
    assert levels(go(2000, 60.0, 121.45, 37.5025), "off_route") == []
    assert levels(go(3000, 60.0, 121.45, 37.503), "off_route") == [3]
    assert levels(go(4000, 60.0, 121.45, 37.5001), "off_route") == [0]


def test_two_gas_sensors_in_one_cell_within_60_s_is_a_possible_leak() -> None:
    rule = {**default_rules()["gas"], "hysteresis": 0}
    eng = Engine([SensorSpec(i, "gas", rule, grid_cell_id=5 if i < 4 else 6) for i in (1, 2, 3, 4)])

    def at(sensor: int, t: int, v: float) -> list:
        return eng.evaluate(np.array([eng.slot[sensor]]), np.array([T0 + t]), np.array([v]))

    assert levels(at(1, 0, 12.0), "gas_leak") == []
    assert levels(at(4, 1000, 12.0), "gas_leak") == []  # other cell
    out = at(2, 60_000, 12.0)  # exactly 60 s later in the same cell
    assert [(t.rule, t.level, t.grid_cell_id) for t in out if t.rule == "gas_leak"] == [
        ("gas_leak", 4, 5)
    ]
    assert levels(at(1, 61_000, 0.0), "gas_leak") == [0]  # only one left alarming


def test_gas_alarms_more_than_60_s_apart_are_not_a_leak() -> None:
    rule = {**default_rules()["gas"], "hysteresis": 0}
    eng = Engine([SensorSpec(i, "gas", rule, grid_cell_id=5) for i in (1, 2)])
    eng.evaluate(np.array([0]), np.array([T0]), np.array([12.0]))
    out = eng.evaluate(np.array([1]), np.array([T0 + 60_001]), np.array([12.0]))
    assert [t for t in out if t.rule == "gas_leak"] == []


def test_batch_with_several_readings_per_sensor_is_evaluated_in_time_order() -> None:
    eng = engine_for("gas", hysteresis=0)
    slots = np.zeros(3, np.int64)
    out = eng.evaluate(slots, np.array([T0 + 2000, T0, T0 + 1000]), np.array([0.0, 12.0, 30.0]))
    assert levels(out) == [2, 3, 0]
    # a late reading (older than what was seen) is stored but not evaluated
    assert eng.evaluate(slots[:1], np.array([T0 + 500]), np.array([60.0])) == []


def test_many_sensors_vectorised() -> None:
    rule = {**default_rules()["gas"], "hysteresis": 0}
    n = 10_000
    eng = Engine([SensorSpec(i, "gas", rule) for i in range(n)])
    vals = np.where(np.arange(n) % 100 == 0, 60.0, 1.0)
    out = eng.evaluate(np.arange(n), np.full(n, T0), vals)
    assert sorted(t.sensor_id for t in out) == list(range(0, n, 100))
    assert {t.level for t in out} == {4}


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"direction": "sideways"}, "gas.direction"),
        ({"blue": 10, "yellow": 5}, "gas.red"),
        ({"blue": "x"}, "gas.blue"),
        ({"hysteresis": -1}, "gas.hysteresis"),
        ({"rate": {"per_min": 0}}, "gas.rate.per_min"),
        ({"rate": {"per_min": 1, "level": "purple"}}, "gas.rate.level"),
        ({"range": [5, 1]}, "gas.range"),
        ({"colour": "red"}, "gas.colour"),
        ({"blue": float("nan")}, "gas.blue"),
    ],
)
def test_rule_validation_names_the_field(rule: dict, field: str) -> None:
    errors = validate_rule(rule, "gas")
    assert field in [e.field for e in errors]
    assert all(e.zh and e.en for e in errors)


def test_low_direction_thresholds_must_decrease_and_defaults_are_valid() -> None:
    assert validate_rule({"direction": "low", "blue": 0.2, "red": 0.05}, "p") == []
    assert validate_rule({"direction": "low", "blue": 0.05, "red": 0.2}, "p")
    assert validate_rule_set(default_rules()) == []
    assert [e.field for e in validate_rule_set({"nuclear": {}})] == ["nuclear"]


def test_rate_needs_at_least_a_second_between_readings() -> None:
    eng = engine_for("pipe_pressure")
    feed(eng, (0, 0.40))
    assert levels(feed(eng, (999, 0.30)), "rate") == []  # over 0.999 s: not judged yet
    assert levels(feed(eng, (1000, 0.30)), "rate") == [3]  # 0.1 MPa in 1 s from the reference
