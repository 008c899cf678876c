"""The resources capability's start-up work (run by the kernel's job runner in `serve`): the
city's targets are checked as the server starts, and the road engine is warmed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from safecity.core.jobs import Job
from safecity.resources import network, roads, routing
from safecity.resources import settings as targets


def _tiny_graph() -> roads.RoadGraph:
    """Three nodes on two streets, one of them one-way: built as every imported graph is, so
    its arrays have the types the kernel is compiled for."""
    return roads.build_graph(
        roads.Segments(
            lon=np.array([121.40, 121.401, 121.402]),
            lat=np.array([37.50, 37.50, 37.50]),
            u=np.array([0, 1], dtype=np.int64),
            v=np.array([1, 2], dtype=np.int64),
            speed_kmh=np.array([40.0, 40.0]),
            oneway=np.array([0, 1], dtype=np.int8),
        )
    )


def warm_start(session: Session, now: datetime) -> dict[str, Any]:
    """Compile the nearest-source kernel (numba's import and JIT, about a second in a fresh
    process) and build the active road network's graph, so the first nearest or coverage
    question does not pay for them. A failure is logged by the runner; the question that
    comes first then does the same work itself."""
    tiny = _tiny_graph()
    for out in (True, False):  # forces go out from sources, people go in to shelters
        routing.nearest_source_everywhere(tiny, [0], from_sources=out)
    done: dict[str, Any] = {"kernel": True, "graph_nodes": 0}
    if network.active(session) is not None:
        graph = network.graph(session)
        routing.nearest_source_everywhere(graph, [0], limit_s=60.0)
        done["graph_nodes"] = graph.n_nodes
    return done


def declared() -> list[Job]:
    # Read afresh as the server starts: a bad target refuses the start with every bad field
    # named (settings.ConfigError), instead of failing the first gap analysis a user opens.
    loaded = targets.reload()
    if not loaded.settings.warm_start:
        return []
    return [
        Job("resources.warm_start", 0, warm_start, "路网预热 road engine warm start",
            at_start=True, cron=False)
    ]  # fmt: skip
