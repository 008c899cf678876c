"""The benches' judges: crafted figures in, verdict out — a judge that lets a miss pass fails here.

Runs no benchmark: each bench's `judge` is a pure function over the figures it prints.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # after the standard library: bench/warnings.py must not shadow it

import judging  # noqa: E402 bench/ is put on sys.path just above


def bench(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def put(figures: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(figures)
    *parents, leaf = path.split(".")
    node = out
    for key in parents:
        node = node[key]
    node[leaf] = value
    return out


# ---------------------------------------------------------------- the shared judge


def test_verdict_passes_only_measured_figures_inside_their_targets() -> None:
    ok = judging.verdict(
        [("a_ms", 99.0, "<", 100), ("rate", 20_000, ">=", 20_000), ("lost", 0, "==", 0)], scale=1
    )
    assert ok["meets_target"] is True and ok["misses"] == []
    for bad in [
        ("a_ms", 100.0, "<", 100),
        ("rate", 19_999, ">=", 20_000),
        ("lost", 1, "==", 0),
        ("a_ms", None, "<", 100),
        ("a_ms", float("nan"), "<", 100),
        ("a_ms", True, "<", 100),
        ("a_ms", "fast", "<", 100),
    ]:
        v = judging.verdict([bad], scale=1)
        assert v["meets_target"] is False and len(v["misses"]) == 1, bad


def test_an_error_or_nothing_judged_is_never_a_pass() -> None:
    assert (
        judging.verdict([("a_ms", 1.0, "<", 100)], ["postgresql: refused"], scale=1)["meets_target"]
        is False
    )
    assert judging.verdict([], scale=1)["meets_target"] is False


def test_target_scale_tightens_both_directions(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = [("a_ms", 50.0, "<", 100), ("rate", 30_000, ">=", 20_000)]
    assert judging.verdict(checks)["meets_target"] is True
    monkeypatch.setenv("BENCH_TARGET_SCALE", "0.4")  # a_ms < 40, rate ≥ 50,000
    v = judging.verdict(checks)
    assert v["meets_target"] is False and len(v["misses"]) == 2
    monkeypatch.setenv("BENCH_TARGET_SCALE", "0")
    with pytest.raises(ValueError):
        judging.target_scale()


def test_backend_errors_names_erroring_and_missing_backends() -> None:
    out = {"sqlite": {"x": 1}, "postgresql": {"error": "connection refused"}}
    assert judging.backend_errors(out, ("sqlite", "postgresql")) == [
        "postgresql: connection refused"
    ]
    assert judging.backend_errors({}, ("sqlite",)) == ["sqlite: not measured"]


# ---------------------------------------------------------------- each bench's judge

LAYER = {"median_ms": 300.0, "p95_ms": 400.0}
RISK_MAP = {
    b: {k: dict(LAYER) for k in ("grid_layer", "street_layer", "district_layer", "h3_layer_res7")}
    for b in ("sqlite", "postgresql")
}
REGISTRY = {b: {"list_page_p95_ms": 40.0} for b in ("sqlite", "postgresql")}
RISK_POINTS = {
    "scale": 3,
    **{
        b: {
            "filtered_list_p95_ms": 30.0,
            "enterprise_level_p95_ms": 5.0,
            "exposure_p95_ms": 8.0,
            "risk_demo_load_s": 40.0,
        }
        for b in ("sqlite", "postgresql")
    },
}
DASH = {"median_ms": 120.0, "max_ms": 180.0}
HIDDEN = {
    "dashboard_city": dict(DASH),
    "dashboard_district": dict(DASH),
    "dashboard_city_major_2026": dict(DASH),
    "escalation": {"second_run_steps": 0},
}
WARNINGS = {
    "compute_ms_median": 120.0,
    "compute_ms_max": 150.0,
    "service_ms_median": 140.0,
    "service_ms_max": 170.0,
    "service_cold_ms": 450.0,
}
LOAD = {
    "target_rate_per_s": 20_000,
    "requests": {"/map": {"p95_ms": 120.0}, "/api/v1/risk/map?unit=grid": {"p95_ms": 280.0}},
    "alarm_latency": {"p99_ms": 800.0},
    "ingest": {"stored_per_s": 19_100},
    "failures": {"total": 0},
}
INGEST = {
    "mqtt_msgs_per_s": 26_000,
    "readings_per_s": {"mqtt_batch": 150_000, "http": 130_000, "nats": 110_000},
    "alarm_latency": {"p99_ms": 400.0, "load_acked_per_s": 19_990},
    "alarm_storm": {"max_lag_s": 1.5},
    "accounting": {"lost": 0, "duplicated": 0, "duplicates_absorbed": 12},
    "errors": [],
}

CASES = {
    "risk_map": (
        RISK_MAP,
        [
            ("postgresql.grid_layer.p95_ms", 1000.0),
            ("sqlite.h3_layer_res7.median_ms", 1200.0),
            ("postgresql", {"error": "could not connect"}),
        ],
    ),
    "registry": (
        REGISTRY,
        [("postgresql.list_page_p95_ms", 100.0), ("postgresql", {"error": "could not connect"})],
    ),
    "risk_points": (
        RISK_POINTS,
        [
            ("sqlite.enterprise_level_p95_ms", 51.0),
            ("postgresql.exposure_p95_ms", 50.0),
            ("postgresql.risk_demo_load_s", 61.0),
            ("postgresql", {"error": "could not connect"}),
        ],
    ),
    "hidden_dangers": (
        HIDDEN,
        [
            ("dashboard_district.median_ms", 520.0),
            ("dashboard_city_major_2026.max_ms", 900.0),
            ("escalation.second_run_steps", 3),
        ],
    ),
    "ingest": (
        INGEST,
        [
            ("mqtt_msgs_per_s", 19_000),
            ("readings_per_s.http", 99_000),
            ("alarm_latency.p99_ms", None),
            ("alarm_latency.load_acked_per_s", 12_000),
            ("alarm_storm.max_lag_s", 2.5),
            ("alarm_storm", {}),
            ("accounting.lost", 1),
            ("accounting.duplicated", 3),
            ("errors", ["RowWaitTimeout: 10 of 20 rows stored after 600 s"]),
        ],
    ),
    "load": (
        LOAD,
        [
            ("requests./api/v1/risk/map?unit=grid.p95_ms", 300.0),
            ("alarm_latency.p99_ms", 1001.0),
            ("alarm_latency.p99_ms", None),
            ("ingest.stored_per_s", 18_999),
            ("failures.total", 1),
            ("requests", {}),
        ],
    ),
    "warnings": (
        WARNINGS,
        [("service_ms_median", 600.0), ("service_cold_ms", 2400.0), ("compute_ms_max", 510.0)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_bench_judge_passes_good_figures_and_fails_every_miss(name: str) -> None:
    judge = bench(name).judge
    good, spoilers = CASES[name]
    assert judge(copy.deepcopy(good))["meets_target"] is True
    for path, value in spoilers:
        verdict = judge(put(good, path, value))
        assert verdict["meets_target"] is False, (name, path)
        assert verdict["misses"] or verdict["errors"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_bench_can_be_seen_failing_with_a_tighter_target(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_TARGET_SCALE", "0.01")
    assert bench(name).judge(copy.deepcopy(CASES[name][0]))["meets_target"] is False


def test_load_percentiles_are_nearest_rank() -> None:
    load = bench("load")
    samples = [float(v) for v in range(100, 0, -1)]
    assert [load.percentile(samples, q) for q in (0.5, 0.95, 0.99)] == [50.0, 95.0, 99.0]
    assert load.percentile([7.0], 0.99) == 7.0 and load.percentile([], 0.5) is None


def test_ingest_ledger_keys_every_acknowledged_reading_of_every_body_shape() -> None:
    ledger = bench("ingest").Ledger({"A": 1, "B": 2})
    ledger.add("safecity/v1/devices/A/telemetry", b'{"token":"t","ts":5,"value":1}')
    ledger.add("B", b'{"token":"t","readings":[{"ts":6,"value":1},{"ts":7,"value":1}]}')
    ledger.add("A", b'{"ts":5,"value":1}\n{"ts":9,"value":2}\n', ndjson=True)
    a, b = 1 << 42, 2 << 42
    assert sorted(ledger.keys().tolist()) == [a | 5, a | 5, a | 9, b | 6, b | 7]


def test_ingest_storm_lag_is_time_until_what_was_acknowledged_is_stored() -> None:
    lag = bench("ingest").lag_figures
    # (seconds, acknowledged so far, stored so far): 300 acknowledged at 0.5 s are all stored
    # only at 3.0 s, so storage trailed by 2.5 s; at most 250 readings were waiting.
    samples = [(0.0, 0, 0), (0.5, 300, 50), (1.0, 400, 150), (3.0, 400, 400)]
    assert lag(samples) == {"max_lag_s": 2.5, "max_lag_readings": 250}
    assert lag([(0.0, 10, 10), (0.1, 20, 20)]) == {"max_lag_s": 0.0, "max_lag_readings": 0}
