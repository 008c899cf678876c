"""The nearest source for every node (``multisource``) against scipy's multi-source Dijkstra.

Identical float64 times (not approximately: ``array_equal``), the same source wherever the nearest
is unique, and the tie rule (the source listed first) checked against a brute-force oracle on
integer costs where ties are exact. Random directed graphs (one-way edges, unreachable parts),
the real OSM extract in both directions, limits, and whatever the bucket width.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from safecity.core.errors import Invalid
from safecity.resources import multisource, roads, routing, synthetic
from tests.resources.helpers import random_segments

DATA = Path(__file__).parent / "data"


def random_csr(rng: np.random.Generator, n: int, m: int, *, integer: bool = False) -> csr_matrix:
    """A directed graph (every edge one-way); nodes ≥ 0.9 n have no in-edges (unreachable)."""
    u = rng.integers(0, n, m)
    v = rng.integers(0, int(n * 0.9), m)
    keep = u != v
    w = rng.integers(1, 6, m).astype(float) if integer else rng.uniform(1.0, 60.0, m)
    g = coo_matrix((w[keep], (u[keep], v[keep])), shape=(n, n)).tocsr()
    g.sum_duplicates()
    return g


def run(g: csr_matrix, sources: np.ndarray, **kw: float) -> tuple[np.ndarray, ...]:
    return multisource.nearest_source(g.indptr, g.indices, g.data, sources, **kw)


def per_source(g: csr_matrix, sources: np.ndarray, limit: float = np.inf) -> np.ndarray:
    """sources × nodes single-source times: the oracle for who is nearest."""
    return np.atleast_2d(dijkstra(g, indices=sources, limit=limit))


def assert_like_scipy(g: csr_matrix, sources: np.ndarray, limit: float = np.inf) -> None:
    time_s, which, pred = run(g, sources, limit=limit)
    ref, _, ref_src = dijkstra(
        g, indices=sources, min_only=True, limit=limit, return_predecessors=True
    )
    assert np.array_equal(time_s, ref)  # bit for bit, inf where scipy says inf
    reached = np.isfinite(ref)
    assert np.array_equal(which >= 0, reached) and np.all(pred[~reached] == multisource.NO_PRED)
    each = per_source(g, sources, limit)
    assert np.array_equal(each.min(axis=0), ref)
    tied = (each == ref).sum(axis=0)
    node_of = sources[np.maximum(which, 0)]
    unique = reached & (tied == 1)
    assert unique.sum() > 0.5 * reached.sum()
    assert np.array_equal(node_of[unique], ref_src[unique])  # scipy names the source node
    # on a tie the named source really is at the least time
    assert np.all(each[which[reached], np.flatnonzero(reached)] == ref[reached])
    _assert_predecessors(g, time_s, which, pred)


def _assert_predecessors(
    g: csr_matrix, time_s: np.ndarray, which: np.ndarray, pred: np.ndarray
) -> None:
    """Each reached non-source node's predecessor is one edge back on a path from its source."""
    v = np.flatnonzero(pred != multisource.NO_PRED)
    u = pred[v]
    cost = np.asarray(g[u, v]).ravel()
    assert np.all(cost > 0)  # the edge exists
    assert np.array_equal(time_s[u] + cost, time_s[v])
    assert np.array_equal(which[u], which[v])


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_directed_graphs_identical_to_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = random_csr(rng, 400, 1200)
    sources = rng.choice(300, 6, replace=False)
    assert_like_scipy(g, sources)
    assert_like_scipy(g.T.tocsr(), sources)  # the other direction: to the sources
    # with a limit, and with the limit exactly at a reached node's time (reached, as scipy)
    full = run(g, sources)[0]
    at = float(np.sort(full[np.isfinite(full)])[len(full) // 3])
    assert_like_scipy(g, sources, limit=at)
    assert_like_scipy(g, sources, limit=np.nextafter(at, 0))
    assert np.isfinite(run(g, sources, limit=at)[0][full == at]).all()


def test_unreachable_nodes_are_unreachable_never_a_time() -> None:
    rng = np.random.default_rng(5)
    g = random_csr(rng, 300, 900)
    time_s, which, _ = run(g, np.array([3, 17]))
    # nodes ≥ 270 have no in-edges: never reached, whatever the graph around them
    assert np.all(np.isinf(time_s[270:])) and np.all(which[270:] == -1)
    # one-way: an edge a→b only; from b nothing reaches a
    one_way = csr_matrix((np.array([4.0]), (np.array([0]), np.array([1]))), shape=(3, 3))
    t, w, _ = run(one_way, np.array([1]))
    assert t.tolist() == [np.inf, 0.0, np.inf] and w.tolist() == [-1, 0, -1]
    t, w, _ = run(one_way, np.array([0]))
    assert t.tolist() == [0.0, 4.0, np.inf] and w.tolist() == [0, 0, -1]


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_tie_rule_the_source_listed_first_against_brute_force(seed: int) -> None:
    """Integer costs make exact ties common; the oracle takes the lowest-listed tied source."""
    rng = np.random.default_rng(seed)
    g = random_csr(rng, 300, 1000, integer=True)
    sources = rng.choice(270, 8, replace=False)
    for order, delta in ((sources, None), (sources[::-1], None), (sources, 1e6), (sources, 2.5)):
        # a wide bucket takes nodes before their tight predecessors: the label must still settle
        time_s, which, pred = run(g, order, **({} if delta is None else {"delta": delta}))
        each = per_source(g, order)
        best = each.min(axis=0)
        assert np.array_equal(time_s, best)
        reached = np.isfinite(best)
        tied = each == best
        expected = np.where(reached, np.argmax(tied, axis=0), -1)  # the first listed tied one
        assert (tied.sum(axis=0)[reached] > 1).sum() > 20  # the graph really has ties
        assert np.array_equal(which, expected)
        _assert_predecessors(g, time_s, which, pred)


def test_a_source_listed_twice_keeps_its_first_position() -> None:
    g = csr_matrix(
        (np.array([2.0, 2.0]), (np.array([0, 2]), np.array([1, 1]))), shape=(3, 3)
    )  # 0 → 1 ← 2, both 2 s
    _, which, _ = run(g, np.array([2, 0, 2]))
    assert which.tolist() == [1, 0, 0]  # node 1: tie between 2 (listed first) and 0
    _, which, _ = run(g, np.array([0, 2]))
    assert which.tolist() == [0, 0, 1]


def test_any_bucket_width_gives_the_same_answer() -> None:
    rng = np.random.default_rng(8)
    g = random_csr(rng, 500, 2000)
    sources = rng.choice(400, 5, replace=False)
    base = run(g, sources)
    for delta in (0.01, 0.7, 5.0, 1e6):  # 1e6: one bucket, pure label-correcting
        other = run(g, sources, delta=delta)
        assert np.array_equal(base[0], other[0]) and np.array_equal(base[1], other[1])


def test_bad_input_is_refused_before_the_compiled_code() -> None:
    g = csr_matrix((np.array([1.0]), (np.array([0]), np.array([1]))), shape=(2, 2))
    with pytest.raises(ValueError, match="source"):
        run(g, np.array([2]))
    with pytest.raises(ValueError, match="source"):
        run(g, np.array([-1]))
    negative = csr_matrix((np.array([-1.0]), (np.array([0]), np.array([1]))), shape=(2, 2))
    with pytest.raises(ValueError, match="negative"):
        run(negative, np.array([0]))
    with pytest.raises(ValueError, match="delta"):
        run(g, np.array([0]), delta=0.0)


def test_real_osm_extract_both_directions_identical_to_scipy() -> None:
    g = roads.load(DATA / "pyrosm_test.osm.pbf")
    one_way = (g.forward != g.forward.T).nnz
    assert one_way > 50  # the extract has one-way streets, so the directions differ
    rng = np.random.default_rng(16)
    for k in (1, 3, 12):
        sources = rng.choice(g.n_nodes, k, replace=False)
        assert_like_scipy(g.forward, sources)
        assert_like_scipy(g.backward, sources)
        assert_like_scipy(g.forward, sources, limit=60.0)
    out = routing.nearest_source_everywhere(g, sources, from_sources=True)
    back = routing.nearest_source_everywhere(g, sources, from_sources=False)
    assert np.array_equal(out.time_s, dijkstra(g.forward, indices=sources, min_only=True))
    assert np.array_equal(back.time_s, dijkstra(g.backward, indices=sources, min_only=True))
    assert not np.array_equal(out.time_s, back.time_s)


def test_synthetic_city_with_river_identical_to_scipy() -> None:
    c = synthetic.city(40_000, seed=5, bridges=2)
    g = roads.build_graph(c.segments)
    sources = np.random.default_rng(2).choice(g.n_nodes, 20, replace=False)
    assert_like_scipy(g.forward, sources)
    assert_like_scipy(g.backward, sources, limit=300.0)


def test_product_entry_refuses_bad_sources_with_a_field_message() -> None:
    rng = np.random.default_rng(3)
    g = roads.build_graph(random_segments(rng, 50, 120))
    for bad in ([], [50], [-1]):
        with pytest.raises(Invalid) as err:
            routing.nearest_source_everywhere(g, bad)
        assert err.value.errors[0].field == "sources"
    with pytest.raises(Invalid):
        routing.nearest_source_everywhere(g, [0], limit_s=-1)
