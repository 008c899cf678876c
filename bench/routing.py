"""Benchmark: the road network engine (safecity.resources) on a seeded synthetic city.

Prints one JSON object. The city (`synthetic.city`: jittered 80 m street grid, arterials every
10th street at 50/70 km/h, one-way pairs, ~3 % missing local segments, a 200 m river with 5
bridges) has BENCH_NODES nodes (1,000,000 by default).

Timed, median of BENCH_REPEATS (5):
- build: `roads.build_graph` from the segment arrays (haversine, dedupe, CSR + transpose, snap
  KD-tree) and the process RSS it adds; reading a file is not included (GeoJSON/OSM parsing is
  per-way Python, measured on real extracts in the tests, not here);
- nearest_station_everywhere: the nearest of 50 stations for every node,
  `routing.nearest_source_everywhere` (the compiled bucket-queue search of `multisource`, judged),
  and in the same run scipy's multi-source Dijkstra (`min_only`, reported, not judged) with the
  answers compared: times identical, stations the same or tied. Nothing is cached between runs;
  `first_call_s` is the process's first call (numba's import and compiled-code cache or JIT);
- isochrone_5min: `routing.isochrone` (snap, Dijkstra with limit, polygon) from central nodes;
- evacuation: 10,000 cells (a contiguous district, population 0–400) to 1,000 shelters with 80 %
  of the room needed, k = 5 candidates within 15 min: `candidate_arcs` + `assign` together,
  and the optimum compared with scipy's HiGHS `linprog` on the same arcs (oracle not timed);
- pgrouting (BENCH_PG_NODES, 100,000; needs `apt-get install -y postgresql-15-pgrouting`): the
  same graph in a fresh PostgreSQL database with pgRouting; `pgr_dijkstraNearCost` (5 nearest of
  50 stations to an incident) against `routing.nearest`, and `pgr_drivingDistance` (5 stations,
  300 s, the least cost per node) against `nearest_source_everywhere(limit_s=300)`; answers
  compared, medians and the ratio reported with and without our graph build. Its `equicost`
  mode is counted, not used: pgRouting 3.4 gives some nodes to a farther start. Not judged (a
  comparison), but an error or a different answer is reported.
Judged (`judging.verdict`, BENCH_TARGET_SCALE tightens it): nearest-everywhere ≤ 0.5 s and
identical to scipy's (times equal, stations equal or tied),
isochrone ≤ 50 ms, evacuation ≤ 2 s and equal to HiGHS, every part without error.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(str(Path(__file__).resolve().parent))  # judging.py, after the standard library

import numpy as np
from judging import verdict
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack
from scipy.sparse.csgraph import dijkstra

from safecity.resources import evacuation, roads, routing, synthetic

N_NODES = int(os.environ.get("BENCH_NODES", "1000000"))
PG_NODES = int(os.environ.get("BENCH_PG_NODES", "100000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
N_CELLS = int(os.environ.get("BENCH_CELLS", "10000"))
N_SHELTERS = int(os.environ.get("BENCH_SHELTERS", "1000"))
PG_ADMIN = os.environ.get(
    "SAFECITY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PG_DB = "safecity_bench_routing"
TIMED = (
    "nearest_station_everywhere: routing.nearest_source_everywhere on the built graph, each run "
    "from scratch (no cache), median of BENCH_REPEATS after one first call reported apart; "
    "scipy's min_only Dijkstra the same way; isochrone: snap + search + polygon; evacuation: "
    "candidate arcs + min-cost flow; pgRouting: the SQL query, our call, each median"
)
NOT_TIMED = (
    "generating the synthetic city, the graph build (reported as build_s), numba's first call "
    "(first_call_s), the HiGHS oracle, the equality checks, loading pgRouting's table"
)
TARGETS = {"nearest_station_everywhere_s": 0.5, "isochrone_5min_ms": 50.0, "evacuation_s": 2.0}


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def _stats(times: list[float], scale: float = 1.0) -> dict[str, float]:
    return {
        "median": round(statistics.median(times) * scale, 4),
        "min": round(min(times) * scale, 4),
        "max": round(max(times) * scale, 4),
    }


def build_part(n_nodes: int) -> tuple[dict[str, Any], synthetic.SyntheticCity, roads.RoadGraph]:
    t0 = time.perf_counter()
    city = synthetic.city(n_nodes)
    generate_s = time.perf_counter() - t0
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    graph = roads.build_graph(city.segments)
    build_s = time.perf_counter() - t0
    csr_mb = (
        sum(
            m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
            for m in (graph.forward, graph.backward, graph.length_m)
        )
        / 2**20
    )
    return (
        {
            "nodes": graph.n_nodes,
            "directed_edges": graph.n_edges,
            "generate_s": round(generate_s, 3),
            "build_s": round(build_s, 3),
            "rss_delta_mb": round(_rss_mb() - rss0, 1),
            "csr_mb": round(csr_mb, 1),
        },
        city,
        graph,
    )


def nearest_everywhere_part(graph: roads.RoadGraph, rng: np.random.Generator) -> dict[str, Any]:
    stations = rng.choice(graph.n_nodes, 50, replace=False)

    def ours() -> routing.NearestSource:
        return routing.nearest_source_everywhere(graph, stations)

    def scipy_min_only() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # with predecessors and sources, as ours gives (what the product called before)
        return dijkstra(graph.forward, indices=stations, min_only=True, return_predecessors=True)

    t0 = time.perf_counter()
    ours()  # the first call in the process: numba's import and its compiled-code cache (or JIT)
    first_s = time.perf_counter() - t0
    cpu0 = time.process_time()
    times, near = _timed(ours, REPEATS)
    cpu = (time.process_time() - cpu0) / REPEATS
    cpu0 = time.process_time()
    sp_times, (sp_time, _, sp_source) = _timed(scipy_min_only, REPEATS)
    sp_cpu = (time.process_time() - cpu0) / REPEATS
    ours_node = np.where(near.source >= 0, stations[np.maximum(near.source, 0)], -1)
    sp_source = np.where(sp_source >= 0, sp_source, -1)  # scipy marks unreached -9999
    differ = np.flatnonzero(ours_node != sp_source)
    ties = _all_ties(graph, ours_node, sp_source, differ)
    out: dict[str, Any] = {
        "stations": 50,
        "method": "multisource (numba bucket queue), no cache: every run computes from the graph",
        "seconds": _stats(times),
        "cpu_s_per_run": round(cpu, 4),
        "first_call_s": round(first_s, 3),
        "scipy_min_only_seconds": _stats(sp_times),
        "scipy_cpu_s_per_run": round(sp_cpu, 4),
        "scipy_over_ours": round(statistics.median(sp_times) / statistics.median(times), 2),
        "times_identical_to_scipy": bool(np.array_equal(near.time_s, sp_time)),
        "sources_differ_from_scipy": int(differ.size),
        "sources_differ_only_on_ties": ties,
        "unreached_nodes": int(np.isinf(near.time_s).sum()),
        "max_time_s": round(float(near.time_s[np.isfinite(near.time_s)].max()), 1),
    }
    if not out["times_identical_to_scipy"] or not ties:
        out["error"] = "answers differ from scipy's min_only Dijkstra"
    return out


def _all_ties(
    graph: roads.RoadGraph, ours: np.ndarray, theirs: np.ndarray, nodes: np.ndarray
) -> bool:
    """Where the named stations differ, is each at the same least time (a tie)? ≤ 20 pairs."""
    pairs = {(int(a), int(b)) for a, b in zip(ours[nodes], theirs[nodes], strict=True)}
    if len(pairs) > 20 or any(a < 0 or b < 0 for a, b in pairs):
        return False
    for a, b in pairs:
        at = nodes[(ours[nodes] == a) & (theirs[nodes] == b)]
        both = dijkstra(graph.forward, indices=[a, b])[:, at]
        if not np.array_equal(both[0], both[1]):
            return False
    return True


def isochrone_part(
    city: synthetic.SyntheticCity, graph: roads.RoadGraph, rng: np.random.Generator
) -> dict[str, Any]:
    side = city.side
    starts = [
        city.node(int(r), int(c)) for r, c in rng.integers(side // 4, 3 * side // 4, (REPEATS, 2))
    ]
    times, sizes = [], []
    for s in starts:
        t0 = time.perf_counter()
        iso = routing.isochrone(graph, float(graph.lon[s]), float(graph.lat[s]), 300)
        times.append(time.perf_counter() - t0)
        sizes.append((int(iso.reached_nodes.size), round(iso.polygon.area * 1e4, 3)))
    return {"limit_s": 300, "ms": _stats(times, 1000), "reached_nodes": [s[0] for s in sizes]}


def evacuation_part(
    city: synthetic.SyntheticCity, graph: roads.RoadGraph, rng: np.random.Generator
) -> dict[str, Any]:
    side = city.side
    block = max(1, int(np.sqrt(N_CELLS)))
    r0 = c0 = max(0, side // 2 - block // 2 - side // 8)
    cells = np.array(
        [
            city.node(r0 + i, c0 + j)
            for i in range(block)
            for j in range(block)
            if r0 + i < side and c0 + j < side
        ]
    )
    margin = block // 4
    rows = rng.integers(max(0, r0 - margin), min(side, r0 + block + margin), N_SHELTERS)
    cols = rng.integers(max(0, c0 - margin), min(side, c0 + block + margin), N_SHELTERS)
    shelters = rows * side + cols
    pop = rng.integers(0, 401, cells.size)
    cap = rng.integers(200, 2001, N_SHELTERS)
    cap = np.floor(cap * 0.8 * pop.sum() / cap.sum()).astype(np.int64)

    def run() -> tuple[evacuation.Candidates, evacuation.Plan, float]:
        t0 = time.perf_counter()
        arcs = evacuation.candidate_arcs(graph, cells, shelters, k=5, max_time_s=900)
        t_arcs = time.perf_counter() - t0
        return arcs, evacuation.assign(pop, cap, arcs), t_arcs

    times, (arcs, plan, t_arcs) = _timed(run, max(1, REPEATS // 2))
    oracle = highs_cost(pop, cap, arcs, plan.overflow_cost)
    return {
        "cells": int(cells.size),
        "shelters": N_SHELTERS,
        "people": int(pop.sum()),
        "room": int(cap.sum()),
        "k": 5,
        "max_time_s": 900,
        "arcs": int(arcs.cell.size),
        "seconds": _stats(times),
        "candidates_s_last": round(t_arcs, 3),
        "assigned_people": plan.assigned_people,
        "unassigned_people": plan.unassigned_people,
        "total_person_time_s": plan.total_person_time_s,
        "solver_cost": plan.solver_cost,
        "highs_cost": oracle,
        "equal_to_highs": abs(plan.solver_cost - oracle) <= 1e-6 * max(1.0, oracle),
    }


def highs_cost(
    pop: np.ndarray, cap: np.ndarray, arcs: evacuation.Candidates, overflow: int
) -> float:
    """The same network as a sparse LP for scipy's HiGHS: the independent optimum."""
    m, n = arcs.cell.size, pop.size
    cols = np.arange(m + n)
    eq = coo_matrix(
        (np.ones(m + n), (np.concatenate([arcs.cell, np.arange(n)]), cols)), shape=(n, m + n)
    )
    ub = coo_matrix((np.ones(m), (arcs.shelter, np.arange(m))), shape=(cap.size, m + n))
    cost = np.concatenate([arcs.time_s, np.full(n, overflow)]).astype(float)
    res = linprog(
        cost,
        A_ub=ub.tocsr(),
        b_ub=cap,
        A_eq=vstack([eq]).tocsr(),
        b_eq=pop,
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:
        raise RuntimeError(f"HiGHS: {res.message}")
    return float(res.fun)


# --- pgRouting ----------------------------------------------------------------------------------


def pgrouting_part(rng: np.random.Generator) -> dict[str, Any]:
    build, _city, graph = build_part(PG_NODES)
    conninfo = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{PG_DB}"')
    try:
        with psycopg.connect(conninfo.rsplit("/", 1)[0] + f"/{PG_DB}", autocommit=True) as conn:
            out = _pg_compare(conn, graph, rng)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    out["graph"] = build
    build_s = build["build_s"]
    for name in ("nearest_k", "driving_distance"):
        part = out[name]
        ours, pg = part["ours_ms"]["median"], part["pgrouting_ms"]["median"]
        part["pgrouting_over_ours"] = round(pg / ours, 1) if ours else None
        part["pgrouting_over_ours_with_build"] = round(pg / (ours + build_s * 1000), 2)
    return out


def _pg_compare(conn: Any, graph: roads.RoadGraph, rng: np.random.Generator) -> dict[str, Any]:
    conn.execute("CREATE EXTENSION pgrouting CASCADE")  # Debian's build requires PostGIS
    version = conn.execute("SELECT pgr_version()").fetchone()[0]
    coo = graph.forward.tocoo()
    conn.execute(
        "CREATE TABLE edges (id bigint primary key, source bigint, target bigint, "
        "cost float8, reverse_cost float8)"
    )
    with conn.cursor().copy("COPY edges FROM STDIN") as copy:
        for i, (u, v, c) in enumerate(
            zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True)
        ):
            copy.write_row((i + 1, u + 1, v + 1, c, -1.0))  # one row per direction: precomputed
    conn.execute("ANALYZE edges")
    edges_sql = "SELECT id, source, target, cost, reverse_cost FROM edges"
    stations = rng.choice(graph.n_nodes, 50, replace=False)
    incident = int(rng.integers(graph.n_nodes))
    resources = [
        routing.Resource(str(s), str(s), float(graph.lon[s]), float(graph.lat[s])) for s in stations
    ]
    sql_near = (
        "SELECT start_vid, agg_cost FROM pgr_dijkstraNearCost(%s, %s::bigint[], "
        "%s::bigint, true, cap => 5) ORDER BY agg_cost"
    )
    pg_times, pg_rows = _timed(
        lambda: conn.execute(
            sql_near, (edges_sql, [int(s) + 1 for s in stations], incident + 1)
        ).fetchall(),
        REPEATS,
    )
    ours_times, answer = _timed(
        lambda: routing.nearest(
            graph,
            float(graph.lon[incident]),
            float(graph.lat[incident]),
            resources,
            direction=routing.TO_POINT,
            k=5,
        ),
        REPEATS,
    )
    ours = [(int(r.resource.id) + 1, r.travel_time_s) for r in answer.results]
    near_equal = len(ours) == len(pg_rows) and all(
        a == int(b[0]) and abs(t - float(b[1])) <= 1e-6 * max(1.0, t)
        for (a, t), b in zip(ours, pg_rows, strict=False)
    )

    starts = stations[:5]
    # the nearest start per node: every start's driving distance, the least cost per node.
    # (equicost => true should give the same in one pass, but pgRouting 3.4's assigns some nodes
    # to a farther start — pgr_dijkstra agrees with us there; it is counted below, not used.)
    sql_dd = (
        "SELECT node, min(agg_cost) FROM pgr_drivingDistance(%s, %s::bigint[], "
        "300, true, equicost => false) GROUP BY node"
    )
    pg_dd_times, dd_rows = _timed(
        lambda: conn.execute(sql_dd, (edges_sql, [int(s) + 1 for s in starts])).fetchall(), REPEATS
    )
    ours_dd_times, near = _timed(
        lambda: routing.nearest_source_everywhere(graph, starts, limit_s=300), REPEATS
    )
    reached = np.flatnonzero(np.isfinite(near.time_s))
    pg_cost = {int(r[0]) - 1: float(r[1]) for r in dd_rows}
    dd_equal = set(pg_cost) == set(reached.tolist()) and all(
        abs(pg_cost[n] - near.time_s[n]) <= 1e-6 * max(1.0, near.time_s[n]) for n in reached
    )
    equicost = conn.execute(
        "SELECT node, agg_cost FROM pgr_drivingDistance(%s, %s::bigint[], 300, true, "
        "equicost => true)",
        (edges_sql, [int(s) + 1 for s in starts]),
    ).fetchall()
    equicost_wrong = sum(
        1
        for node, cost in equicost
        if not abs(float(cost) - pg_cost.get(int(node) - 1, np.inf)) <= 1e-6 * max(1.0, cost)
    )
    return {
        "pgrouting_version": version,
        "edges_rows": int(coo.nnz),
        "nearest_k": {
            "query": "pgr_dijkstraNearCost, 5 of 50 stations to one incident",
            "pgrouting_ms": _stats(pg_times, 1000),
            "ours_ms": _stats(ours_times, 1000),
            "answers_equal": near_equal,
        },
        "driving_distance": {
            "query": "pgr_drivingDistance, 5 starts, 300 s, least agg_cost per node",
            "equicost_true_nodes_not_nearest": equicost_wrong,
            "reached_nodes": int(reached.size),
            "pgrouting_ms": _stats(pg_dd_times, 1000),
            "ours_ms": _stats(ours_dd_times, 1000),
            "answers_equal": dd_equal,
        },
    }


# --- verdict ------------------------------------------------------------------------------------


def judge(out: dict[str, Any]) -> dict[str, Any]:
    near_part = out.get("nearest_station_everywhere") or {}
    near = near_part.get("seconds") or {}
    iso = (out.get("isochrone_5min") or {}).get("ms") or {}
    evac = out.get("evacuation") or {}
    pg = out.get("pgrouting") or {}
    checks = [
        (
            "nearest_station_everywhere_s",
            near.get("median"),
            "<=",
            TARGETS["nearest_station_everywhere_s"],
        ),
        (
            "nearest_station_everywhere_identical_to_scipy",
            1
            if _all_true(near_part, "times_identical_to_scipy", "sources_differ_only_on_ties")
            else 0,
            "==",
            1,
        ),
        ("isochrone_5min_ms", iso.get("median"), "<=", TARGETS["isochrone_5min_ms"]),
        ("evacuation_s", (evac.get("seconds") or {}).get("median"), "<=", TARGETS["evacuation_s"]),
        ("evacuation_equal_to_highs", 1 if evac.get("equal_to_highs") is True else 0, "==", 1),
    ]
    errors = [
        f"{name}: {part['error']}"
        for name, part in out.items()
        if isinstance(part, dict) and "error" in part
    ]
    for name in ("nearest_k", "driving_distance"):
        if "error" in pg or "skipped" in pg:  # an error is counted above; a skip is a choice
            break
        if (pg.get(name) or {}).get("answers_equal") is not True:
            errors.append(f"pgrouting.{name}: answers differ from ours")
    return verdict(checks, errors)


def _all_true(part: dict[str, Any], *keys: str) -> bool:
    return all(part.get(key) is True for key in keys)


def _part(out: dict[str, Any], name: str, fn: Callable[[], dict[str, Any]]) -> None:
    try:
        out[name] = fn()
    except Exception as exc:  # noqa: BLE001  # a failing part is reported and fails the verdict
        out[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}


def _city_parts(out: dict[str, Any], rng: np.random.Generator) -> None:
    build, city, graph = build_part(N_NODES)
    out["graph"] = build
    _part(out, "nearest_station_everywhere", lambda: nearest_everywhere_part(graph, rng))
    _part(out, "isochrone_5min", lambda: isochrone_part(city, graph, rng))
    _part(out, "evacuation", lambda: evacuation_part(city, graph, rng))


def main() -> None:
    rng = np.random.default_rng(16)
    out: dict[str, Any] = {
        "benchmark": "routing",
        "nodes": N_NODES,
        "repeats": REPEATS,
        "targets": TARGETS,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "timed": TIMED,
        "not_timed": NOT_TIMED,
    }
    _city_parts(out, rng)  # the 1M graph is freed on return, before pgRouting's graph
    if os.environ.get("BENCH_PGROUTING", "1") != "0":
        _part(out, "pgrouting", lambda: pgrouting_part(rng))
    else:
        out["pgrouting"] = {"skipped": "BENCH_PGROUTING=0"}
    out["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    out.update(judge(out))
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
