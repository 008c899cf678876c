"""bench/routing.py's judge: crafted figures in, verdict out — a judge that lets a miss pass fails."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_routing", BENCH / "routing.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GOOD: dict[str, Any] = {
    "nearest_station_everywhere": {
        "seconds": {"median": 0.4},
        "times_identical_to_scipy": True,
        "sources_differ_only_on_ties": True,
    },
    "isochrone_5min": {"ms": {"median": 30.0}},
    "evacuation": {"seconds": {"median": 1.5}, "equal_to_highs": True},
    "pgrouting": {
        "nearest_k": {"answers_equal": True},
        "driving_distance": {"answers_equal": True},
    },
}


def _with(path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(GOOD)
    *parents, leaf = path.split(".")
    node = out
    for key in parents:
        node = node[key]
    node[leaf] = value
    return out


def test_good_figures_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_TARGET_SCALE", raising=False)
    assert _bench().judge(GOOD)["meets_target"] is True


@pytest.mark.parametrize(
    "path, value",
    [
        ("nearest_station_everywhere.seconds.median", 0.51),
        ("nearest_station_everywhere.times_identical_to_scipy", False),
        ("nearest_station_everywhere.sources_differ_only_on_ties", False),
        ("nearest_station_everywhere.error", "answers differ from scipy's min_only Dijkstra"),
        ("isochrone_5min.ms.median", 50.5),
        ("evacuation.seconds.median", 2.01),
        ("evacuation.equal_to_highs", False),
        ("pgrouting.nearest_k.answers_equal", False),
        ("pgrouting.driving_distance", {}),
        ("evacuation", {"error": "RuntimeError: boom"}),
        ("pgrouting", {"error": "extension missing"}),
        ("isochrone_5min", {}),
    ],
)
def test_any_miss_or_error_fails(monkeypatch: pytest.MonkeyPatch, path: str, value: Any) -> None:
    monkeypatch.delenv("BENCH_TARGET_SCALE", raising=False)
    assert _bench().judge(_with(path, value))["meets_target"] is False
