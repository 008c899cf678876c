"""Straight-line coverage (aviation radius, forest crews on foot) decided per block of cells: the
same answer as the distance from each cell to each team one by one."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from safecity.resources import service
from safecity.risk.areas.rules import haversine_m


def _one_by_one(teams, cells, limit_m):  # type: ignore[no-untyped-def]
    out = []
    for c in cells:
        d = [float(haversine_m(c.lon, c.lat, t.lon, t.lat)) for t in teams]
        out.append(bool(d) and min(d) <= limit_m)
    return out


def test_within_agrees_with_the_distance_to_each_team_across_blocks() -> None:
    rng = np.random.default_rng(7)
    cells = [
        SimpleNamespace(lon=float(x), lat=float(y))
        for x, y in zip(rng.uniform(120.7, 122.0, 500), rng.uniform(36.8, 37.9, 500), strict=True)
    ]
    teams = [SimpleNamespace(lon=121.4, lat=37.5), SimpleNamespace(lon=120.9, lat=37.1)]
    for limit_m in (2_000.0, 30_000.0, 50_000.0):
        want = _one_by_one(teams, cells, limit_m)
        assert 0 < sum(want) < len(cells)  # some near, some not: the test can tell them apart
        assert service._within(teams, cells, limit_m, block=7) == want  # blocks of 7 cells
        assert service._within(teams, cells, limit_m) == want


def test_within_no_teams_or_no_cells() -> None:
    cell = SimpleNamespace(lon=121.4, lat=37.5)
    assert service._within([], [cell, cell], 50_000.0) == [False, False]
    assert service._within([cell], [], 50_000.0) == []
    assert service._within([cell], [cell], 0.0) == [True]  # a team in the cell itself


def test_straight_coverage_counts_people_per_division() -> None:
    team = SimpleNamespace(lon=121.4, lat=37.5)
    cells = [
        SimpleNamespace(id=1, lon=121.4, lat=37.5, population=100, division_code="370602"),
        SimpleNamespace(id=2, lon=121.9, lat=37.5, population=50, division_code="370602"),
        SimpleNamespace(id=3, lon=121.41, lat=37.5, population=30, division_code="370613"),
    ]
    found = service._straight_coverage([team], cells, 5_000.0)
    assert found["population"] == 180 and found["covered_population"] == 130
    assert found["by_division"]["370602"] | {} == {
        "population": 150.0,
        "covered_population": 100.0,
        "cells": 2,
        "uncovered_cells": 1,
        "covered_share": round(100 / 150, 4),
    }
    assert [u["id"] for u in found["uncovered"]] == ["2"]
