"""A seeded synthetic city road network: jittered street grid, arterials, one-way pairs, a river.

Used by the bench (1,000,000 nodes) and tests; the demo can use a small one. Realistic enough for
routing figures: arterials every ``arterial_every`` streets (50 km/h, a 70 km/h trunk every
fourth), local streets at 25 km/h with a one-way pair in every block band, ~3 % of local
segments missing (dead ends), and an east-west river 200 m wide crossed only at ``bridges``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from safecity.resources.roads import EARTH_RADIUS_M, Segments

YANTAI = (121.40, 37.50)


@dataclass
class SyntheticCity:
    segments: Segments
    side: int
    river_row: int  # the river runs between this row and the next
    bridge_cols: np.ndarray

    def node(self, row: int, col: int) -> int:
        return row * self.side + col


def city(
    n_nodes: int,
    seed: int = 16,
    spacing_m: float = 80.0,
    arterial_every: int = 10,
    bridges: int = 5,
    centre: tuple[float, float] = YANTAI,
) -> SyntheticCity:
    side = max(4, math.isqrt(n_nodes))
    rng = np.random.default_rng(seed)
    rows, cols = np.divmod(np.arange(side * side, dtype=np.int64), side)
    river_row = side // 2
    y = rows * spacing_m + (rows > river_row) * 200.0  # the river: a 200 m gap
    x = cols * spacing_m
    x = x + rng.uniform(-0.15, 0.15, x.size) * spacing_m
    y = y + rng.uniform(-0.15, 0.15, y.size) * spacing_m
    lon0, lat0 = centre
    lat = lat0 + np.degrees((y - y.mean()) / EARTH_RADIUS_M)
    lon = lon0 + np.degrees((x - x.mean()) / (EARTH_RADIUS_M * math.cos(math.radians(lat0))))

    ids = np.arange(side * side, dtype=np.int64).reshape(side, side)
    # horizontal streets: a row r is an arterial when r % arterial_every == 0
    hu, hv = ids[:, :-1].ravel(), ids[:, 1:].ravel()
    h_line = np.repeat(np.arange(side), side - 1)
    vu, vv = ids[:-1, :].ravel(), ids[1:, :].ravel()
    v_line = np.tile(np.arange(side), side - 1)
    v_row = np.repeat(np.arange(side - 1), side)
    rng_bridges = np.linspace(side * 0.1, side * 0.9, bridges).astype(np.int64)
    bridge_cols = (rng_bridges // arterial_every) * arterial_every  # bridges carry arterials
    crosses = v_row == river_row
    keep_v = ~crosses | np.isin(v_line, bridge_cols)
    vu, vv, v_line = vu[keep_v], vv[keep_v], v_line[keep_v]

    u = np.concatenate([hu, vu])
    v = np.concatenate([hv, vv])
    line = np.concatenate([h_line, v_line])
    speed, oneway = _street_classes(line, arterial_every, rng)
    missing = (speed < 40) & (rng.random(u.size) < 0.03)
    seg = Segments(
        lon=lon,
        lat=lat,
        u=u[~missing],
        v=v[~missing],
        speed_kmh=speed[~missing],
        oneway=oneway[~missing],
    )
    return SyntheticCity(segments=seg, side=side, river_row=river_row, bridge_cols=bridge_cols)


def _street_classes(
    line: np.ndarray,
    every: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Speed and one-way flag per segment from its street's index (row or column number)."""
    speed = np.full(line.size, 25.0)
    arterial = line % every == 0
    speed[arterial] = 50.0
    speed[line % (every * 4) == 0] = 70.0
    oneway = np.zeros(line.size, dtype=np.int8)
    band = line % every
    oneway[band == 3] = 1  # a one-way pair per block band: one way on street 3 …
    oneway[band == 7] = -1  # … back on street 7
    return speed, oneway
