"""bench/pages.py's pure parts: the judge, the menu and map readers (no server is started)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))  # after the standard library: bench/warnings.py must not shadow it


def pages() -> Any:
    spec = importlib.util.spec_from_file_location("bench_pages", BENCH / "pages.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fig(p95: float | None) -> dict[str, Any]:
    return {"n": 20, "p50_ms": 10.0, "p95_ms": p95, "max_ms": p95, "first_ms": 50.0}


def figures(call_p95: float | None = 120.0) -> dict[str, Any]:
    return {
        "roles": {
            "admin": {
                "pages": {
                    "/map": {"html": fig(20.0), "calls": {"/api/v1/x": fig(call_p95)}},
                    "/risk/lists": {"html": fig(250.0), "calls": {}},
                }
            },
            "grid": {"pages": {"/hazards/tasks": {"html": fig(40.0), "calls": {}}}},
        },
        "failures": {"total": 0, "first": []},
    }


def test_every_page_of_every_role_is_judged_and_good_figures_pass() -> None:
    out = pages().judge(figures())
    assert out["meets_target"] is True
    assert len(out["judged"]) == 3


def test_a_slow_data_call_makes_its_page_miss() -> None:
    out = pages().judge(figures(call_p95=301.0))
    assert out["meets_target"] is False
    assert out["misses"] == ["admin /map p95_ms < 300: measured 301.0"]


def test_an_unmeasured_call_an_error_or_nothing_measured_never_passes() -> None:
    bench = pages()
    assert bench.judge(figures(call_p95=None))["meets_target"] is False
    failed = figures() | {"failures": {"total": 1, "first": ["grid GET /x: HTTP 500"]}}
    assert bench.judge(failed)["meets_target"] is False
    assert bench.judge({"roles": {}})["meets_target"] is False


def test_percentiles_are_nearest_rank() -> None:
    bench = pages()
    samples = [float(v) for v in range(1, 21)]
    assert bench.percentile(samples, 0.95) == 19.0 and bench.percentile(samples, 0.5) == 10.0
    assert bench.percentile([], 0.5) is None


def test_menu_and_map_calls_are_read_from_the_page() -> None:
    bench = pages()
    page = (
        '<nav class="lang-switch"><a href="/lang/en">EN</a></nav>'
        '<nav class="sidenav" id="sidenav"><a href="/map">地图</a>'
        '<a href="/hazards/list?status=reported&amp;source=public_report">x</a>'
        '<a href="/map">again</a></nav><a href="/footer">f</a>'
        '<script type="application/json" id="map-config">'
        '{"layers": {"divisions": "区划"}, "overlays": [{"url": "/api/v1/risk/map/hazards"},'
        ' {"url": "/api/v1/risk/points/layer", "lazy": true}]}'
        "</script>"
    )
    assert bench.menu(page) == ["/map", "/hazards/list?status=reported&source=public_report"]
    assert bench.map_calls(page) == ["/api/v1/map/layers/divisions", "/api/v1/risk/map/hazards"]
    assert bench.map_calls("<html></html>") == []
