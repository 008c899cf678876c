"""Targeting worked by hand: area-weighted population, points inside, circles in kilometres."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import shape

from safecity.warnings import rules, targeting


def square(x: float, y: float, d: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]],
    }


GRID = targeting.GridLayer.build(
    [1, 2, 3],
    [square(0, 0, 1), square(1, 0, 1), square(5, 5, 1)],
    [1000, 400, 99],
    ["370602", "370613", "370602"],
)
TARGETS = targeting.PointLayer.build(
    [(10, 0.5, 0.5, "school", 800), (11, 1.4, 0.5, "hospital", 300), (12, 9.0, 9.0, "school", 50)]
)
ENTS = targeting.PointLayer.build([(20, 0.2, 0.2, "hazchem", 1), (21, 1.9, 0.9, "other", 1)])


def test_area_weighted_population_and_points() -> None:
    # x from 0.5 to 1.5 covers half of cell 1 (500 people) and half of cell 2 (200 people).
    areas = rules.areas_from_json(
        [{"desc": "a", "polygons": [[[0.5, 0], [1.5, 0], [1.5, 1], [0.5, 1], [0.5, 0]]]}]
    )
    result = targeting.compute(targeting.area_geometry(areas, {}), GRID, TARGETS, ENTS)
    assert result["grid_cells"] == 2 and result["grid_cells_partial"] == 2
    assert result["population"] == 700
    assert result["divisions"] == ["370602", "370613"]
    # (0.5, 0.5) lies on the boundary: "inside" is strict, so only the hospital counts.
    assert result["protected_targets"] == 1 and result["protected_by_type"] == {"hospital": 1}
    assert result["enterprises"] == 0


def test_division_area_covers_whole_cells() -> None:
    areas = rules.areas_from_json([{"desc": "d", "divisions": ["370602"]}])

    geom = targeting.area_geometry(areas, {"370602": shape(square(-0.1, -0.1, 1.2))})
    result = targeting.compute(geom, GRID, TARGETS, ENTS)
    assert result["population"] == 1000 + round(400 * 0.1)  # all of cell 1, a tenth of cell 2
    assert result["protected_by_type"] == {"school": 1}
    assert result["enterprises_by_kind"] == {"hazchem": 1}
    assert result["people_in_targets"] == 800


def test_circle_radius_is_in_kilometres() -> None:
    c = targeting.circle(121.4, 37.5, 1.0)
    assert targeting.area_km2(c) == pytest.approx(np.pi, rel=0.01)
    lon_span = c.bounds[2] - c.bounds[0]
    assert lon_span == pytest.approx(2 / (111.32 * np.cos(np.radians(37.5))), rel=0.001)


def test_coverage_rate() -> None:
    assert targeting.coverage(700, 700) == 1.0
    assert targeting.coverage(350, 700) == 0.5
    assert targeting.coverage(900, 700) == 1.0
    assert targeting.coverage(5, 0) is None
