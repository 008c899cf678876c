"""The road engine is warmed when the server starts (resources.jobs): with
SAFECITY_RESOURCES_WARM_START (`serve` sets it) the job runner compiles the nearest-source
kernel and builds the active road graph in the background; without it nothing runs; a warm-up
that fails is logged and the server still starts. What is checked is that the work was done,
never how long it took. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from safecity.core.db import reset_engine
from safecity.resources import jobs, multisource, network
from safecity.resources import settings as targets
from safecity.web.app import create_app
from tests.factories import NOW
from tests.resources.conftest import river_town_geojson, who


def _import(session: Session, tmp_path) -> int:  # type: ignore[no-untyped-def]
    path = tmp_path / "town.geojson"
    path.write_text(json.dumps(river_town_geojson()), encoding="utf-8")
    row, _graph = network.import_file(session, who(session, "admin"), path, NOW)
    session.commit()
    network.forget()  # a fresh process: no graph built yet
    return row.nodes


def _cold() -> None:
    multisource._KERNEL = None  # as in a fresh process: numba not yet asked for the kernel


def _until(done: Callable[[], bool], seconds: float = 60.0) -> bool:
    # waits for the background thread's work to appear; how long it took is not asserted
    end = time.monotonic() + seconds
    while not done() and time.monotonic() < end:
        time.sleep(0.05)
    return done()


@pytest.fixture
def app_env(database_url, engine, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    monkeypatch.setenv("SAFECITY_ESCALATION_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("SAFECITY_WARNINGS_DISPATCH_INTERVAL_SECONDS", "0")
    reset_engine()
    yield
    reset_engine()
    targets.loaded.cache_clear()


def test_the_warm_up_is_declared_only_when_asked_for(monkeypatch) -> None:
    monkeypatch.delenv("SAFECITY_RESOURCES_WARM_START", raising=False)
    assert jobs.declared() == []
    monkeypatch.setenv("SAFECITY_RESOURCES_WARM_START", "true")
    (job,) = jobs.declared()
    assert job.name == "resources.warm_start"
    assert job.at_start and not job.cron and job.interval == 0  # once, as the server starts
    targets.loaded.cache_clear()


def test_warm_start_compiles_the_kernel_and_builds_the_graph(
    session: Session, rs_city, tmp_path
) -> None:
    # no road network yet: the kernel is still compiled
    _cold()
    assert jobs.warm_start(session, NOW) == {"kernel": True, "graph_nodes": 0}
    assert multisource._KERNEL is not None
    nodes = _import(session, tmp_path)
    _cold()
    assert jobs.warm_start(session, NOW) == {"kernel": True, "graph_nodes": nodes}
    assert multisource._KERNEL is not None
    assert [g.n_nodes for g in network._cache.values()] == [nodes]


def test_the_server_warms_the_road_engine_as_it_starts(
    session: Session, rs_city, city, app_env, tmp_path, monkeypatch
) -> None:
    nodes = _import(session, tmp_path)
    _cold()
    monkeypatch.setenv("SAFECITY_RESOURCES_WARM_START", "true")
    with TestClient(create_app()) as client:
        # built with no nearest or coverage question asked
        assert _until(lambda: bool(network._cache) and multisource._KERNEL is not None)
        assert [g.n_nodes for g in network._cache.values()] == [nodes]
        assert client.get("/healthz").status_code == 200


def test_without_the_setting_the_server_leaves_the_engine_cold(
    session: Session, rs_city, city, app_env, tmp_path, monkeypatch
) -> None:
    _import(session, tmp_path)
    monkeypatch.delenv("SAFECITY_RESOURCES_WARM_START", raising=False)
    with TestClient(create_app()) as client:
        assert client.get("/healthz").status_code == 200
    assert network._cache == {}


def test_a_failing_warm_up_is_logged_and_the_server_still_starts(
    session: Session, rs_city, city, app_env, tmp_path, monkeypatch, caplog
) -> None:
    _import(session, tmp_path)

    def broken(_session: Session) -> None:
        raise RuntimeError("road file gone")

    monkeypatch.setattr(network, "graph", broken)
    monkeypatch.setenv("SAFECITY_RESOURCES_WARM_START", "true")
    caplog.set_level(logging.ERROR, logger="safecity.jobs")

    def failed() -> bool:
        return any("resources.warm_start failed" in r.getMessage() for r in caplog.records)

    with TestClient(create_app()) as client:
        assert client.get("/healthz").status_code == 200
        assert _until(failed)
        assert any(r.exc_info and "road file gone" in str(r.exc_info[1]) for r in caplog.records)
