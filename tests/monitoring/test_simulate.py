"""Simulator values: normal ranges with a daily pattern, and the scripted anomalies."""

from __future__ import annotations

import numpy as np

from safecity.monitoring.simulate import Fleet, values

T = 1_795_424_400_000


def make_fleet() -> Fleet:
    types = ["gas", "gas", "gas", "pipe_pressure", "bridge_strain", "elevator", "vehicle"]
    return Fleet([f"D{i}" for i in range(len(types))], types, np.array([5, 5, 6, 5, 5, 5, 5]),
                 np.full(len(types), 121.4), np.full(len(types), 37.5))


def test_normal_values_stay_below_alarm_levels() -> None:
    f = make_fleet()
    v, lon, _lat = values(f, np.arange(7), T, 0.1, True, np.random.default_rng(1))
    assert (v[:3] < 5).all() and 0.2 < v[3] < 0.45 and v[5] == 0
    assert np.isfinite(lon[6]) and np.isnan(lon[0])


def test_scripted_anomalies_along_the_run() -> None:
    f = make_fleet()
    rng = np.random.default_rng(2)
    v, _, _ = values(f, np.arange(7), T, 0.24, True, rng)
    assert v[0] >= 15 and v[1] >= 30 and v[2] < 5  # leak spreads within cell 5 only
    assert values(f, np.arange(7), T, 0.36, True, rng)[0][3] == 0.04  # pipe burst
    assert values(f, np.arange(7), T, 0.55, True, rng)[0][4] == 950  # bridge overload
    assert values(f, np.arange(7), T, 0.70, True, rng)[0][5] == 3  # trapped
    normal = values(f, np.arange(7), T, 0.5, True, rng)[2][6]
    off = values(f, np.arange(7), T, 0.85, True, rng)[2][6]
    assert abs(off - normal - 0.01) < 1e-9  # vehicle 0.01° north of its corridor
