"""bench/enforcement.py: its judge fails every miss, and a small run verifies its own draw."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # after the standard library: bench/warnings.py must not shadow it


def bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_enforcement", BENCH / "enforcement.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LIST = {name: {"p95_ms": 120.0} for name in ("first_page", "district", "filtered", "search")}
GOOD = {
    "draw_median_s": 0.6,
    "verify_median_s": 0.7,
    "verified": 1,
    "backends": ["sqlite", "postgresql"],
    "sqlite": LIST,
    "postgresql": LIST,
}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("draw_median_s", 1.01),
        ("verify_median_s", 1.2),
        ("verified", 0),
        ("draw_median_s", None),
        ("sqlite", {**LIST, "search": {"p95_ms": 300.0}}),
        ("postgresql", {**LIST, "first_page": {}}),
        ("postgresql", {"error": "OperationalError: connection refused"}),
        ("sqlite", None),
    ],
)
def test_judge_fails_every_miss(key: str, value: Any) -> None:
    judge = bench().judge
    assert judge(dict(GOOD))["meets_target"] is True
    out = judge({**GOOD, key: value})
    assert out["meets_target"] is False and (out["misses"] or out["errors"])


def test_small_run_prints_one_verified_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mod = bench()
    mod.N_TARGETS, mod.N_INSPECTORS, mod.REPEATS = 500, 40, 1
    mod.N_CASES, mod.LIST_REPEATS = 400, 2
    monkeypatch.setenv("BENCH_SKIP_PG", "1")  # the PostgreSQL half is the same code
    monkeypatch.setenv("BENCH_DIR", str(tmp_path))
    mod.main()
    out = json.loads(capsys.readouterr().out)
    # 5 key units (every 100th) + ceil(5 % × 495 = 24.75) = 25 random; 1 of 40 certificates expired
    assert (out["key_units"], out["random"], out["selected"]) == (5, 25, 30)
    assert out["expired_excluded"] == 1 and out["verified"] == 1
    cases = out["sqlite"]
    assert cases["cases"] == 400 and cases["first_page"]["matching"] == 400
    assert 0 < cases["district"]["matching"] < 400 and cases["search"]["matching"] >= 1
    assert out["backends"] == ["sqlite"] and "meets_target" in out
