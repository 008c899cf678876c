"""Evacuation: people of grid cells assigned to shelters within capacity, least person-travel-time.

A min-cost flow (OR-Tools ``SimpleMinCostFlow``, integer seconds): cell → shelter arcs for the k
nearest candidate shelters of each cell by travel time (people walk or drive FROM the cell TO the
shelter), shelter → sink arcs with the shelter's capacity, and a cell → sink overflow arc whose
cost exceeds any possible saving, so the plan first houses as many people as capacity and
candidates allow, then minimises total person-seconds; the overflow flow is reported apart as
"unassigned", never hidden in a shelter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow
from scipy.sparse.csgraph import dijkstra

from safecity.core.errors import invalid
from safecity.resources.roads import RoadGraph
from safecity.resources.routing import nearest_source_everywhere


@dataclass
class Candidates:
    """Arcs cell → shelter with integer travel seconds (cell and shelter are input positions)."""

    cell: np.ndarray
    shelter: np.ndarray
    time_s: np.ndarray


@dataclass
class Plan:
    flows: list[dict[str, int]]  # {"cell", "shelter", "people", "time_s"}
    shelter_fill: list[dict[str, int]]  # {"shelter", "people", "capacity"}
    unassigned: list[dict[str, Any]]  # {"cell", "people", "reason"}
    total_person_time_s: int
    assigned_people: int
    unassigned_people: int
    overflow_cost: int
    solver_cost: int = field(repr=False, default=0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "direction": "from_point",
            "total_person_time_s": self.total_person_time_s,
            "assigned_people": self.assigned_people,
            "unassigned_people": self.unassigned_people,
            "flows": self.flows,
            "shelter_fill": self.shelter_fill,
            "unassigned": self.unassigned,
        }


def candidate_arcs(
    graph: RoadGraph,
    cell_nodes: Sequence[int] | np.ndarray,
    shelter_nodes: Sequence[int] | np.ndarray,
    *,
    k: int = 5,
    max_time_s: float = 1800.0,
    batch: int = 64,
    first_limit_s: float = 120.0,
) -> Candidates:
    """The k nearest shelters (by time from the cell to the shelter) of each cell, within T.

    Exact: a Dijkstra from every shelter on the transposed graph, bounded by a limit L that
    starts small and doubles (up to T) only for the cells that still have fewer than k shelters
    within L — a cell's k best within L are its k best overall. Each round runs on the subgraph
    of nodes within L of those cells: every node of a cell→shelter path of at most L lies there.
    """
    cells = np.asarray(cell_nodes, dtype=np.int64)
    shelters = np.asarray(shelter_nodes, dtype=np.int64)
    if k < 1 or not max_time_s > 0:
        raise invalid("k", "候选数与时间上限必须为正", "k and max_time_s must be positive")
    parts: list[Candidates] = []
    todo = np.arange(cells.size)
    limit = min(float(first_limit_s), float(max_time_s))
    while todo.size and shelters.size:
        found = _within(graph, cells[todo], shelters, limit, batch)
        count = np.isfinite(found).sum(axis=1)
        done = (count >= min(k, shelters.size)) | (limit >= max_time_s)
        if done.any():
            best = _k_best(found[done], k)
            parts.append(Candidates(todo[done][best.cell], best.shelter, best.time_s))
        todo = todo[~done]
        limit = min(limit * 2, float(max_time_s))
    if not parts:
        return Candidates(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))
    return Candidates(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("cell", "shelter", "time_s"))
    )


def _within(
    graph: RoadGraph, cells: np.ndarray, shelters: np.ndarray, limit: float, batch: int
) -> np.ndarray:
    """cells × shelters travel times (cell → shelter), inf beyond ``limit``."""
    times = np.full((cells.size, shelters.size), np.inf)
    region = np.flatnonzero(
        np.isfinite(nearest_source_everywhere(graph, cells, limit_s=limit).time_s)
    )
    local = np.full(graph.n_nodes, -1, dtype=np.int64)
    local[region] = np.arange(region.size)
    inside = np.flatnonzero(local[shelters] >= 0)
    if inside.size == 0:
        return times
    back = graph.backward[region][:, region]
    for start in range(0, inside.size, batch):
        part = inside[start : start + batch]
        dist = dijkstra(back, indices=local[shelters[part]], limit=limit)
        times[:, part] = dist[:, local[cells]].T
    return times


def _k_best(times: np.ndarray, k: int) -> Candidates:
    """The k smallest finite times per cell (row) of a cells × shelters matrix."""
    k = min(k, times.shape[1])
    best = (
        np.argpartition(times, k - 1, axis=1)[:, :k]
        if k < times.shape[1]
        else np.broadcast_to(np.arange(times.shape[1]), times.shape)
    )
    cell = np.repeat(np.arange(times.shape[0]), k)
    shelter = best.ravel()
    t = times[cell, shelter]
    ok = np.isfinite(t)
    return Candidates(cell=cell[ok], shelter=shelter[ok], time_s=np.ceil(t[ok]).astype(np.int64))


def assign(
    population: Sequence[int] | np.ndarray, capacity: Sequence[int] | np.ndarray, arcs: Candidates
) -> Plan:
    """Least total person-seconds assignment within capacities; the rest unassigned."""
    pop = _counts(population, "population")
    cap = _counts(capacity, "capacity")
    if arcs.cell.size and (
        arcs.cell.max() >= pop.size or arcs.shelter.max() >= cap.size or arcs.time_s.min() < 0
    ):
        raise invalid(
            "arcs",
            "候选路线引用了不存在的网格或避难场所",
            "candidate arcs refer to unknown cells or shelters",
        )
    n_cells, n_shelters = pop.size, cap.size
    sink = n_cells + n_shelters
    max_time = int(arcs.time_s.max()) if arcs.time_s.size else 0
    # above any saving a rerouting chain could make: it crosses each shelter at most once
    overflow = (max_time + 1) * (min(n_cells, n_shelters) + 1) + 1
    flow = min_cost_flow.SimpleMinCostFlow()
    cells = np.arange(n_cells, dtype=np.int64)
    tails = np.concatenate([arcs.cell, n_cells + np.arange(n_shelters), cells])
    heads = np.concatenate(
        [n_cells + arcs.shelter, np.full(n_shelters, sink), np.full(n_cells, sink)]
    )
    caps = np.concatenate([pop[arcs.cell], cap, pop])
    costs = np.concatenate(
        [arcs.time_s, np.zeros(n_shelters, np.int64), np.full(n_cells, overflow)]
    )
    arc_ids = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.concatenate([pop, np.zeros(n_shelters, np.int64), [-int(pop.sum())]])
    flow.set_nodes_supplies(np.arange(sink + 1), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow did not solve: status {status}")
    return _plan(flow.flows(arc_ids), arcs, pop, cap, overflow, int(flow.optimal_cost()))


def _counts(values: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or (
        arr.size
        and (not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.floor(arr)))
    ):
        raise invalid(
            name, "人数与容量必须为非负整数", f"{name} must be non-negative whole numbers"
        )
    return arr.astype(np.int64)


def _plan(
    flows: np.ndarray,
    arcs: Candidates,
    pop: np.ndarray,
    cap: np.ndarray,
    overflow: int,
    solver_cost: int,
) -> Plan:
    m, n_shelters = arcs.cell.size, cap.size
    moved = flows[:m]
    fill = flows[m : m + n_shelters]
    left = flows[m + n_shelters :]
    used = np.flatnonzero(moved)
    has_arc = np.zeros(pop.size, dtype=bool)
    has_arc[arcs.cell] = True
    return Plan(
        flows=[
            {
                "cell": int(arcs.cell[i]),
                "shelter": int(arcs.shelter[i]),
                "people": int(moved[i]),
                "time_s": int(arcs.time_s[i]),
            }
            for i in used
        ],
        shelter_fill=[
            {"shelter": s, "people": int(fill[s]), "capacity": int(cap[s])}
            for s in range(n_shelters)
        ],
        unassigned=[
            {
                "cell": int(c),
                "people": int(left[c]),
                "reason": "capacity" if has_arc[c] else "no_shelter_in_reach",
            }
            for c in np.flatnonzero(left)
        ],
        total_person_time_s=int((moved * arcs.time_s).sum()),
        assigned_people=int(moved.sum()),
        unassigned_people=int(left.sum()),
        overflow_cost=overflow,
        solver_cost=solver_cost,
    )
