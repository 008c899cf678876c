"""Evacuation plans: optimal against HiGHS, capacity kept, shortfall reported as unassigned."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from safecity.core.errors import Invalid
from safecity.resources import evacuation, roads, synthetic
from safecity.resources.evacuation import Candidates
from tests.resources.helpers import highs_evacuation


def _random_instance(
    rng: np.random.Generator, n_cells: int, n_shelters: int, room: float
) -> tuple[np.ndarray, np.ndarray, Candidates]:
    pop = rng.integers(0, 300, n_cells)
    cap = rng.integers(50, 600, n_shelters)
    # total room = ``room`` × people (0 → every shelter could take everyone)
    cap = (cap * pop.sum() / cap.sum() * room).astype(np.int64) if room else cap + pop.sum()
    k = min(3, n_shelters)
    cell = np.repeat(np.arange(n_cells), k)
    shelter = np.concatenate([rng.choice(n_shelters, k, replace=False) for _ in range(n_cells)])
    arcs = Candidates(cell=cell, shelter=shelter, time_s=rng.integers(30, 1800, cell.size))
    return pop, cap, arcs


@pytest.mark.parametrize("seed, room", [(1, 0), (2, 1.3), (3, 1.1), (4, 0.7), (5, 0.5), (6, 0.9)])
def test_plan_is_optimal_like_highs_and_keeps_capacity(seed: int, room: float) -> None:
    rng = np.random.default_rng(seed)
    pop, cap, arcs = _random_instance(rng, 60, 12, room)
    plan = evacuation.assign(pop, cap, arcs)
    best, most_housable = highs_evacuation(pop, cap, arcs, plan.overflow_cost)
    assert plan.solver_cost == pytest.approx(best, abs=1e-6 * max(1.0, best))
    assert plan.assigned_people == pytest.approx(most_housable)  # nobody left out needlessly
    assert plan.assigned_people + plan.unassigned_people == pop.sum()
    if room == 0 or room < 1:
        assert (plan.unassigned_people > 0) == (room < 1 and room > 0)
    for fill in plan.shelter_fill:
        assert fill["people"] <= fill["capacity"]
    per_cell = np.zeros(pop.size, dtype=np.int64)
    for f in plan.flows:
        per_cell[f["cell"]] += f["people"]
    for u in plan.unassigned:
        per_cell[u["cell"]] += u["people"]
        assert u["reason"] == "capacity"
    assert np.array_equal(per_cell, pop)
    assert plan.total_person_time_s == sum(f["people"] * f["time_s"] for f in plan.flows)


def test_a_cell_with_no_shelter_in_reach_is_unassigned_with_that_reason() -> None:
    arcs = Candidates(cell=np.array([0]), shelter=np.array([0]), time_s=np.array([100]))
    plan = evacuation.assign([40, 25], [100], arcs)
    assert plan.flows == [{"cell": 0, "shelter": 0, "people": 40, "time_s": 100}]
    assert plan.unassigned == [{"cell": 1, "people": 25, "reason": "no_shelter_in_reach"}]
    assert plan.shelter_fill == [{"shelter": 0, "people": 40, "capacity": 100}]


def test_the_nearer_shelter_fills_first_then_the_next() -> None:
    # two cells, shelter 0 near both but holds 50; the plan sends the cell that loses most
    arcs = Candidates(
        cell=np.array([0, 0, 1, 1]),
        shelter=np.array([0, 1, 0, 1]),
        time_s=np.array([100, 1000, 100, 200]),
    )
    plan = evacuation.assign([50, 50], [50, 100], arcs)
    flows = {(f["cell"], f["shelter"]): f["people"] for f in plan.flows}
    assert flows == {(0, 0): 50, (1, 1): 50}
    assert plan.total_person_time_s == 50 * 100 + 50 * 200


@pytest.mark.parametrize(
    "pop, cap, field",
    [([-1], [10], "population"), ([1.5], [10], "population"), ([1], [-10], "capacity")],
)
def test_bad_counts_are_refused(pop: list, cap: list, field: str) -> None:
    arcs = Candidates(cell=np.array([0]), shelter=np.array([0]), time_s=np.array([1]))
    with pytest.raises(Invalid) as err:
        evacuation.assign(pop, cap, arcs)
    assert err.value.errors[0].field == field


def test_candidate_arcs_are_the_k_nearest_by_travel_time() -> None:
    c = synthetic.city(2_500, seed=5, bridges=2)
    g = roads.build_graph(c.segments)
    rng = np.random.default_rng(5)
    cells = rng.choice(g.n_nodes, 40, replace=False)
    shelters = rng.choice(g.n_nodes, 15, replace=False)
    arcs = evacuation.candidate_arcs(g, cells, shelters, k=3, max_time_s=400, batch=4)
    full = dijkstra(g.forward, indices=cells)[:, shelters]  # cell → shelter, whole graph
    for i in range(cells.size):
        ours = sorted(arcs.time_s[arcs.cell == i].tolist())
        finite = np.sort(full[i][full[i] <= 400])[:3]
        assert ours == np.ceil(finite).astype(int).tolist()
        for s, t in zip(arcs.shelter[arcs.cell == i], arcs.time_s[arcs.cell == i], strict=True):
            assert t == np.ceil(full[i, s])
