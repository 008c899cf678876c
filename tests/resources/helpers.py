"""Small hand-built road networks in metres around a Yantai origin, and independent oracles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
from scipy.optimize import linprog

from safecity.resources.evacuation import Candidates
from safecity.resources.roads import EARTH_RADIUS_M, Segments, haversine_m, segments_of

LON0, LAT0 = 121.40, 37.50


def ll(x_m: float, y_m: float) -> tuple[float, float]:
    """lon/lat of a point x metres east and y metres north of the origin."""
    return (
        LON0 + math.degrees(x_m / (EARTH_RADIUS_M * math.cos(math.radians(LAT0)))),
        LAT0 + math.degrees(y_m / EARTH_RADIUS_M),
    )


def road(points_m: Sequence[tuple[float, float]], **tags: Any) -> tuple[list, dict]:
    tags.setdefault("highway", "primary")
    return [ll(x, y) for x, y in points_m], tags


def collection(*roads: tuple[list, dict]) -> dict[str, Any]:
    return segments_of(roads)


def seconds(a_m: tuple[float, float], b_m: tuple[float, float], kmh: float) -> float:
    (lon1, lat1), (lon2, lat2) = ll(*a_m), ll(*b_m)
    return float(haversine_m(lon1, lat1, lon2, lat2)) / (kmh / 3.6)


def nx_from_segments(seg: Segments) -> nx.DiGraph:
    """The oracle's own graph: one arc per direction allowed, the cheapest of parallel ways."""
    g = nx.DiGraph()
    for u, v, kmh, way in zip(
        seg.u.tolist(), seg.v.tolist(), seg.speed_kmh.tolist(), seg.oneway.tolist(), strict=True
    ):
        if u == v:
            continue
        metres = float(haversine_m(seg.lon[u], seg.lat[u], seg.lon[v], seg.lat[v]))
        cost = max(metres / (kmh / 3.6), 1e-3)
        for a, b in [(u, v)] if way == 1 else [(v, u)] if way == -1 else [(u, v), (v, u)]:
            if not g.has_edge(a, b) or g[a][b]["weight"] > cost:
                g.add_edge(a, b, weight=cost)
    return g


def random_segments(rng: np.random.Generator, n: int, m: int) -> Segments:
    lon = LON0 + rng.uniform(0, 0.02, n)
    lat = LAT0 + rng.uniform(0, 0.02, n)
    u = rng.integers(0, n, m)
    v = rng.integers(0, n, m)
    return Segments(
        lon=lon,
        lat=lat,
        u=u,
        v=v,
        speed_kmh=rng.choice([15.0, 30.0, 60.0], m),
        oneway=rng.choice(np.array([0, 0, 1, -1], dtype=np.int8), m),
    )


def highs_evacuation(
    population: np.ndarray, capacity: np.ndarray, arcs: Candidates, overflow: int
) -> tuple[float, float]:
    """(optimal cost, most people housable) by scipy's HiGHS on the same network as an LP."""
    m, n_cells, n_shel = arcs.cell.size, population.size, capacity.size
    cost = np.concatenate([arcs.time_s, np.full(n_cells, overflow)]).astype(float)
    rows_eq = np.zeros((n_cells, m + n_cells))
    rows_eq[arcs.cell, np.arange(m)] = 1
    rows_eq[np.arange(n_cells), m + np.arange(n_cells)] = 1
    rows_ub = np.zeros((n_shel, m + n_cells))
    rows_ub[arcs.shelter, np.arange(m)] = 1
    res = linprog(
        cost,
        A_ub=rows_ub,
        b_ub=capacity,
        A_eq=rows_eq,
        b_eq=population,
        bounds=(0, None),
        method="highs",
    )
    assert res.status == 0, res.message
    most = linprog(
        -np.concatenate([np.ones(m), np.zeros(n_cells)]),
        A_ub=rows_ub,
        b_ub=capacity,
        A_eq=rows_eq,
        b_eq=population,
        bounds=(0, None),
        method="highs",
    )
    return float(res.fun), float(-most.fun)
