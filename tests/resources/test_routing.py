"""Travel-time answers: river with one bridge, one-way streets both ways, unreachable resources,
isochrones that do not jump a river, coverage per division, and equality with networkx."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from safecity.resources import roads, routing, synthetic
from safecity.resources.routing import FROM_POINT, TO_POINT, Resource
from tests.resources.helpers import (
    collection,
    ll,
    nx_from_segments,
    random_segments,
    road,
    seconds,
)

DATA = Path(__file__).parent / "data"


def river_town() -> roads.RoadGraph:
    """South bank road y=0, north bank road y=1000, one bridge at x=4000 (a 1 km wide river)."""
    return roads.from_geojson(
        collection(
            road([(0, 0), (2000, 0), (4000, 0)], highway="secondary", name="南岸路"),
            road([(0, 1000), (2000, 1000), (4000, 1000)], highway="secondary"),
            road([(4000, 0), (4000, 1000)], highway="primary", bridge="yes"),
        )
    )


def test_river_the_straight_line_nearest_station_is_not_the_fastest() -> None:
    g = river_town()
    across = Resource("A", "对岸消防站", *ll(0, 1000), kind="rescue-teams")
    same_bank = Resource("B", "同岸消防站", *ll(2000, 0), kind="rescue-teams")
    incident = ll(0, 0)
    answer = routing.nearest(g, *incident, [across, same_bank], direction=TO_POINT, k=2)
    assert [r.resource.id for r in answer.results] == ["B", "A"]  # A is 1 km away in a line
    b, a = answer.results
    assert b.travel_time_s == pytest.approx(seconds((2000, 0), (0, 0), 40), rel=1e-9)
    expected_a = (
        seconds((0, 1000), (4000, 1000), 40)
        + seconds((4000, 1000), (4000, 0), 50)
        + seconds((4000, 0), (0, 0), 40)
    )
    # rel 1e-6: two great-circle pieces along a parallel vs one differ by ~1e-8
    assert a.travel_time_s == pytest.approx(expected_a, rel=1e-6)
    assert a.distance_m == pytest.approx(9000, rel=2e-3)
    # the route is drawn in travel order, from the station over the bridge to the incident
    assert a.route[0] == pytest.approx(ll(0, 1000)) and a.route[-1] == pytest.approx(incident)
    assert ll(4000, 1000) == pytest.approx(a.route[2])
    body = answer.as_dict()
    assert body["direction"] == "to_point" and body["results"][0]["id"] == "B"


def one_way_block() -> roads.RoadGraph:
    """A→B is a 500 m one-way street; back from B to A goes round the block (1,500 m)."""
    return roads.from_geojson(
        collection(
            road([(0, 0), (500, 0)], highway="residential", oneway="yes"),
            road([(500, 0), (500, 500), (0, 500), (0, 0)], highway="residential"),
        )
    )


def test_one_way_street_both_directions_differ_and_are_right() -> None:
    g = one_way_block()
    station = Resource("S", "站", *ll(0, 0))
    to_b = routing.nearest(g, *ll(500, 0), [station], direction=TO_POINT)
    from_b = routing.nearest(g, *ll(500, 0), [station], direction=FROM_POINT)
    assert to_b.results[0].travel_time_s == pytest.approx(seconds((0, 0), (500, 0), 25))
    long_way = (
        seconds((500, 0), (500, 500), 25)
        + seconds((500, 500), (0, 500), 25)
        + seconds((0, 500), (0, 0), 25)
    )
    assert from_b.results[0].travel_time_s == pytest.approx(long_way, rel=1e-9)
    assert from_b.results[0].distance_m == pytest.approx(1500, rel=2e-3)
    assert from_b.results[0].route[0] == pytest.approx(ll(500, 0))  # starts at the point
    assert to_b.results[0].route[0] == pytest.approx(ll(0, 0))  # starts at the station


def test_unreachable_is_said_never_a_time_and_max_time_filters() -> None:
    g = roads.from_geojson(
        collection(
            road([(0, 0), (200, 0), (1000, 0)]),
            road([(0, 300), (1000, 300)], highway="residential"),  # no link to the first road
            road([(200, 0), (200, 100)], highway="residential"),
        )
    )
    island = Resource("I", "孤岛仓库", *ll(500, 300))
    near = Resource("N", "近处", *ll(200, 100))
    far_off = Resource("F", "远离道路", *ll(0, 5000))
    answer = routing.nearest(g, *ll(0, 0), [island, near, far_off], direction=TO_POINT)
    assert [r.resource.id for r in answer.results] == ["N"]
    status = {r.resource.id: r.reason for r in answer.not_reached}
    assert status == {"I": "unreachable", "F": "off_road"}
    assert "unreachable" in answer.as_dict()["not_reached"][0]["status"]
    limited = routing.nearest(g, *ll(0, 0), [near], direction=TO_POINT, max_time_s=5)
    assert limited.results == [] and limited.not_reached[0].reason == "beyond_max_time"


def test_isochrone_does_not_cross_the_river_and_holds_what_is_reached() -> None:
    c = synthetic.city(40_000, seed=3, bridges=2)
    g = roads.build_graph(c.segments)
    start = c.node(c.river_row - 1, c.side // 2)  # just south of the river, between bridges
    iso = routing.isochrone(g, g.lon[start], g.lat[start], 240, direction=FROM_POINT)
    north = np.array(
        [c.node(c.river_row + 1 + i, c.side // 2 + j) for i in range(3) for j in range(-5, 6)]
    )
    assert not np.any(np.isfinite(dijkstra(g.forward, indices=start, limit=240)[north]))
    assert not np.any(shapely.contains_xy(iso.polygon, g.lon[north], g.lat[north]))
    reached = iso.reached_nodes
    assert reached.size > 100
    assert np.all(shapely.intersects_xy(iso.polygon.buffer(1e-7), g.lon[reached], g.lat[reached]))
    # an unreached node far inland is outside too; a limit of 0 s is refused
    assert not shapely.contains_xy(iso.polygon, g.lon[c.node(0, 0)], g.lat[c.node(0, 0)])
    with pytest.raises(Exception, match="positive"):
        routing.isochrone(g, g.lon[start], g.lat[start], 0)


def test_nearest_source_everywhere_matches_networkx_multisource() -> None:
    rng = np.random.default_rng(7)
    seg = random_segments(rng, 300, 900)
    g = roads.build_graph(seg)
    oracle = nx_from_segments(seg)
    sources = rng.choice(300, 4, replace=False)
    for out in (True, False):
        near = routing.nearest_source_everywhere(g, sources, from_sources=out)
        ref = nx.multi_source_dijkstra_path_length(
            oracle if out else oracle.reverse(copy=False), set(sources.tolist())
        )
        expected = np.full(300, np.inf)
        for node, t in ref.items():
            expected[node] = t
        np.testing.assert_allclose(near.time_s, expected, rtol=1e-9)
        hit = np.isfinite(expected)
        assert np.all(near.source[~hit] == -1)
        # the named source really is that far: its own single-source time equals the minimum
        for node in np.flatnonzero(hit)[:40]:
            s = int(sources[near.source[node]])
            t = (
                nx.dijkstra_path_length(oracle, s, int(node))
                if out
                else nx.dijkstra_path_length(oracle, int(node), s)
            )
            assert t == pytest.approx(expected[node], rel=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_travel_times_equal_networkx_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    seg = random_segments(rng, 120, 300)
    g = roads.build_graph(seg)
    oracle = nx_from_segments(seg)
    for s in rng.choice(120, 5, replace=False).tolist():
        _assert_same_times(g, oracle, s)


def _assert_same_times(g: roads.RoadGraph, oracle: nx.DiGraph, s: int) -> None:
    out = dijkstra(g.forward, indices=s)
    back = dijkstra(g.backward, indices=s)
    ref_out = nx.single_source_dijkstra_path_length(oracle, s) if s in oracle else {s: 0.0}
    ref_in = (
        nx.single_source_dijkstra_path_length(oracle.reverse(copy=False), s)
        if s in oracle
        else {s: 0.0}
    )
    for ours, ref in ((out, ref_out), (back, ref_in)):
        expected = np.full(g.n_nodes, np.inf)
        for node, t in ref.items():
            expected[node] = t
        np.testing.assert_allclose(ours, expected, rtol=1e-9)


def _osm_oracle(path: Path, g: roads.RoadGraph) -> nx.DiGraph:
    """networkx graph read separately from the same extract: consecutive located way nodes."""
    position = {int(osm): i for i, osm in enumerate(g.node_ids.tolist())}
    seg_u, seg_v, speed, oneway = [], [], [], []
    for way in osmium.FileProcessor(str(path)).with_locations():
        if not way.is_way():
            continue
        hw = way.tags.get("highway")
        if hw not in roads.DEFAULT_SPEEDS_KMH:
            continue
        ow = way.tags.get("oneway")
        direction = (
            1
            if ow in ("yes", "true", "1")
            else -1
            if ow == "-1"
            else (
                1
                if (hw == "motorway" or way.tags.get("junction") == "roundabout") and ow != "no"
                else 0
            )
        )
        kmh = roads.parse_maxspeed(way.tags.get("maxspeed")) or roads.DEFAULT_SPEEDS_KMH[hw]
        refs = [n.ref if n.location.valid() else None for n in way.nodes]
        for a, b in itertools.pairwise(refs):
            if a is not None and b is not None:
                seg_u.append(position[a])
                seg_v.append(position[b])
                speed.append(kmh)
                oneway.append(direction)
    seg = roads.Segments(
        lon=g.lon,
        lat=g.lat,
        u=np.array(seg_u),
        v=np.array(seg_v),
        speed_kmh=np.array(speed, float),
        oneway=np.array(oneway, np.int8),
    )
    return nx_from_segments(seg)


def test_travel_times_equal_networkx_on_a_real_osm_extract() -> None:
    path = DATA / "pyrosm_test.osm.pbf"
    g = roads.load(path)
    oracle = _osm_oracle(path, g)
    one_way = sum(1 for u, v in oracle.edges if not oracle.has_edge(v, u))
    assert one_way > 50  # the extract really exercises one-way streets
    rng = np.random.default_rng(16)
    for s in rng.choice(g.n_nodes, 8, replace=False).tolist():
        _assert_same_times(g, oracle, s)


def test_coverage_per_division_lists_the_uncovered() -> None:
    g = river_town()
    station = g.snap(*ll(0, 0))[0]
    cells = [
        ("c1", ll(100, 50), 100, "370602"),
        ("c2", ll(3900, 50), 200, "370602"),
        ("c3", ll(0, 950), 300, "370613"),
        ("c4", ll(0, 3000), 50, "370613"),
    ]
    cov = routing.coverage(
        g,
        [station],
        cell_ids=[c[0] for c in cells],
        lon=[c[1][0] for c in cells],
        lat=[c[1][1] for c in cells],
        population=[c[2] for c in cells],
        division=[c[3] for c in cells],
        limit_s=300,
    )
    # c1 is 100 m away; c2 3.9 km at 40 km/h = 351 s; c3 across the river 9 km; c4 off road
    assert cov.covered_population == 100 and cov.population == 650
    assert cov.by_division["370602"]["covered_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert cov.by_division["370613"]["covered_population"] == 0
    assert {(u["id"], u["reason"]) for u in cov.uncovered} == {
        ("c2", "beyond_limit"),
        ("c3", "beyond_limit"),
        ("c4", "off_road"),
    }
    longer = routing.coverage(
        g,
        [station],
        cell_ids=["c2"],
        lon=[cells[1][1][0]],
        lat=[cells[1][1][1]],
        population=[200],
        division=["x"],
        limit_s=360,
    )
    assert longer.covered_population == 200
