"""The road graph builder: OSM semantics, speeds, snapping, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from safecity.core.errors import Invalid
from safecity.resources import roads
from tests.resources.helpers import collection, ll, road, seconds

DATA = Path(__file__).parent / "data"


def _node(g: roads.RoadGraph, x: float, y: float) -> int:
    node, _ = g.snap(*ll(x, y), max_m=1.0)
    return node


def test_overpass_without_shared_vertex_does_not_connect_but_a_junction_does() -> None:
    east_west = road([(0, 0), (1000, 0)], highway="primary")
    overpass = road([(500, -500), (500, 500)], highway="trunk", bridge="yes", layer="1")
    g = roads.from_geojson(collection(east_west, overpass))
    d = dijkstra(g.forward, indices=_node(g, 0, 0))
    assert np.isinf(d[_node(g, 500, 500)])  # crossing geometry, no shared vertex: no turn

    at_grade = road([(500, -500), (500, 0), (500, 500)], highway="trunk")
    with_vertex = road([(0, 0), (500, 0), (1000, 0)], highway="primary")
    g2 = roads.from_geojson(collection(with_vertex, at_grade))
    d2 = dijkstra(g2.forward, indices=_node(g2, 0, 0))
    expected = seconds((0, 0), (500, 0), 50) + seconds((500, 0), (500, 500), 70)
    assert d2[_node(g2, 500, 500)] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "tags, forward_ok, backward_ok",
    [
        ({"oneway": "yes"}, True, False),
        ({"oneway": "true"}, True, False),
        ({"oneway": "1"}, True, False),
        ({"oneway": "-1"}, False, True),
        ({"oneway": "no"}, True, True),
        ({}, True, True),
        ({"junction": "roundabout"}, True, False),
        ({"junction": "roundabout", "oneway": "no"}, True, True),
        ({"highway": "motorway"}, True, False),
    ],
)
def test_oneway_tags(tags: dict, forward_ok: bool, backward_ok: bool) -> None:
    g = roads.from_geojson(collection(road([(0, 0), (300, 0)], **tags)))
    a, b = _node(g, 0, 0), _node(g, 300, 0)
    assert np.isfinite(dijkstra(g.forward, indices=a)[b]) == forward_ok
    assert np.isfinite(dijkstra(g.forward, indices=b)[a]) == backward_ok
    # the transposed graph answers the reverse question
    assert np.isfinite(dijkstra(g.backward, indices=b)[a]) == forward_ok


def test_speed_from_maxspeed_else_the_class_default_else_the_citys_own() -> None:
    lines = collection(
        road([(0, 0), (1000, 0)], highway="residential", maxspeed="60"),
        road([(0, 100), (1000, 100)], highway="residential"),
        road([(0, 200), (1000, 200)], highway="residential", maxspeed="30 mph"),
        road([(0, 300), (1000, 300)], highway="residential", maxspeed="signals"),
    )
    g = roads.from_geojson(lines)
    for y, kmh in [(0, 60), (100, 25), (200, 30 * 1.609344), (300, 25)]:
        t = dijkstra(g.forward, indices=_node(g, 0, y))[_node(g, 1000, y)]
        assert t == pytest.approx(seconds((0, y), (1000, y), kmh), rel=1e-9)
    assert g.report.maxspeed_unparsed == 1
    city = roads.from_geojson(lines, speeds={"residential": 40})
    t = dijkstra(city.forward, indices=_node(city, 0, 100))[_node(city, 1000, 100)]
    assert t == pytest.approx(seconds((0, 100), (1000, 100), 40), rel=1e-9)


def test_parallel_ways_keep_the_fastest_and_unknown_tags_are_counted() -> None:
    g = roads.from_geojson(
        collection(
            road([(0, 0), (1000, 0)], highway="residential", name="老路", surface="gravel"),
            road([(0, 0), (1000, 0)], highway="primary", lanes="4"),
            road([(0, 50), (100, 50)], highway="footway"),
            road([(0, 60), (100, 60)], highway="residential", oneway="reversible"),
        )
    )
    t = dijkstra(g.forward, indices=_node(g, 0, 0))[_node(g, 1000, 0)]
    assert t == pytest.approx(seconds((0, 0), (1000, 0), 50), rel=1e-9)
    assert g.report.ways_used == 2
    assert g.report.ways_skipped["highway=footway"] == 1
    assert g.report.ways_skipped["oneway=reversible"] == 1
    assert g.report.ignored_tags == {"name": 1, "surface": 1, "lanes": 1}


def test_snap_refuses_beyond_the_limit_and_says_how_far() -> None:
    g = roads.from_geojson(collection(road([(0, 0), (1000, 0)])))
    node, dist = g.snap(*ll(300, 120), max_m=500)
    # the distance is to the road (a sample at x=300), the node the nearer end of that edge
    assert node == _node(g, 0, 0) and dist == pytest.approx(120, abs=0.5)
    assert g.snap(*ll(700, -40))[0] == _node(g, 1000, 0)
    with pytest.raises(Invalid) as err:
        g.snap(*ll(0, 2000), max_m=500)
    assert "2,000 m away" in err.value.en and "500 m" in err.value.en
    assert "2,000 米" in err.value.zh


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"type": "FeatureCollection", "features": []}, "file", "no usable"),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"highway": "footway"},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[121.4, 37.5], [121.41, 37.5]],
                        },
                    }
                ],
            },
            "file",
            "highway=footway ×1",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"highway": "primary"},
                        "geometry": {"type": "LineString", "coordinates": [[121.4, 37.5]]},
                    }
                ],
            },
            "features[0].geometry",
            "fewer than 2",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"highway": "primary"},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[121.4, 37.5], ["x", 37.5]],
                        },
                    }
                ],
            },
            "features[0].geometry",
            "malformed",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"highway": "primary"},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[121.4, 37.5], [221.4, 37.5]],
                        },
                    }
                ],
            },
            "features[0].geometry",
            "outside",
        ),
        ({"type": "Feature"}, "file", "not a GeoJSON FeatureCollection"),
    ],
)
def test_bad_geojson_is_refused_with_the_field(data: dict, field: str, words: str) -> None:
    with pytest.raises(Invalid) as err:
        roads.from_geojson(data)
    assert err.value.errors[0].field == field
    assert words in err.value.en


def test_bad_files(tmp_path: Path) -> None:
    broken = tmp_path / "roads.osm.pbf"
    broken.write_bytes(b"\x00\x00\x00\x0dnot a pbf at all")
    with pytest.raises(Invalid, match="cannot read OSM file"):
        roads.load(broken)
    text = tmp_path / "roads.geojson"
    text.write_text("{not json", encoding="utf-8")
    with pytest.raises(Invalid, match="cannot read GeoJSON"):
        roads.load(text)
    with pytest.raises(Invalid, match="only .osm.pbf"):
        roads.load(tmp_path / "roads.shp")
    good = tmp_path / "ok.geojson"
    good.write_text(json.dumps(collection(road([(0, 0), (100, 0)]))), encoding="utf-8")
    assert roads.load(good).n_edges == 2


def test_osm_extract_reads_with_osm_node_ids() -> None:
    g = roads.load(DATA / "pyrosm_test.osm.pbf")
    assert g.n_nodes == 892 and g.n_edges == 1677
    assert g.node_ids.min() > 0  # OSM ids, not positions
    assert g.report.ways_skipped["highway=cycleway"] == 81
    assert np.all((g.lon > 26.8) & (g.lon < 27.1) & (g.lat > 60.4) & (g.lat < 60.6))  # Finland
