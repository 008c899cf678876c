"""The one job runner: runs on its interval, outlives a failing run, stops when asked; each run
is its own transaction; on SQLite jobs take turns; `safecity jobs run-once` for cron."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import typer
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from safecity.core import jobs
from safecity.core.jobs import Job, Runner
from safecity.core.models import Notification
from tests.conftest import NOW


def _wait(cond: Any, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)


@contextmanager
def _no_db() -> Iterator[Any]:
    yield None


def test_runs_repeatedly_outlives_a_failing_run_and_stops() -> None:
    calls: list[datetime] = []

    def work(session: Any, now: datetime) -> int:
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("first run breaks")
        return len(calls)

    runner = Runner([Job("test.work", 0.02, work)], _no_db, clock=lambda: NOW)
    runner.start()
    _wait(lambda: len(calls) >= 3)
    runner.stop()
    assert len(calls) >= 3  # the exception in run 1 did not end the thread
    assert all(not t.is_alive() for t in runner.threads)
    state = runner.state["test.work"]
    assert state.failures == 1 and state.history[0].error == "RuntimeError: first run breaks"
    assert state.last is not None and state.last.ok and state.last.result == state.runs
    assert calls[0] == NOW  # the runner's clock, passed in
    stopped_at = len(calls)
    time.sleep(0.1)
    assert len(calls) == stopped_at


def test_interval_zero_is_left_to_cron_and_at_start_runs_at_once() -> None:
    ran: list[str] = []
    runner = Runner(
        [
            Job("test.cron-only", 0, lambda s, n: ran.append("cron-only")),
            Job("test.warm", 0, lambda s, n: ran.append("warm"), at_start=True, cron=False),
            Job("test.slow", 60, lambda s, n: ran.append("slow")),
        ],
        _no_db,
    )
    runner.start()
    _wait(lambda: "warm" in ran)
    runner.stop()
    assert ran == ["warm"]  # slow waits a whole minute first; cron-only never runs in serve
    assert [t.name for t in runner.threads] == ["job:test.warm", "job:test.slow"]


def test_serial_jobs_never_overlap() -> None:
    inside, overlaps, runs = [0], [0], [0]
    lock = threading.Lock()

    def work(session: Any, now: datetime) -> None:
        with lock:
            inside[0] += 1
            overlaps[0] += inside[0] > 1
        time.sleep(0.01)
        with lock:
            inside[0] -= 1
            runs[0] += 1

    runner = Runner([Job(f"test.{i}", 0.005, work) for i in range(4)], _no_db, serial=True)
    runner.start()
    _wait(lambda: runs[0] >= 20)
    runner.stop()
    assert runs[0] >= 20 and overlaps[0] == 0


def test_each_run_is_one_transaction(session: Session, engine: Any) -> None:
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    @contextmanager
    def scope() -> Iterator[Session]:
        s = factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def write(s: Session, now: datetime, fail: bool = False) -> None:
        s.execute(
            insert(Notification), [{"user_id": 1, "kind": "t", "title": "x", "created_at": now}]
        )
        if fail:
            raise ValueError("half done")

    ok = jobs.run(Job("test.ok", 1, write), NOW, scope)
    bad = jobs.run(Job("test.bad", 1, lambda s, n: write(s, n, True)), NOW, scope)
    assert ok.ok and not bad.ok and bad.error == "ValueError: half done"
    assert session.scalar(select(func.count()).select_from(Notification)) == 1

    def batches(s: Session, now: datetime) -> None:
        step = jobs.transactions(s)
        with step() as one:
            write(one, now)
        with pytest.raises(ValueError), step() as two:
            write(two, now, True)
        with step() as three:
            write(three, now)

    assert jobs.run(Job("test.batches", 1, batches), NOW, scope).ok
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Notification)) == 3


def test_intervals_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFECITY_JOB_INTERVALS", '{"test.a": 0, "test.b": 2.5}')
    a, b, c = (Job(f"test.{n}", 300, lambda s, t: None) for n in "abc")
    assert (jobs.interval_of(a), jobs.interval_of(b), jobs.interval_of(c)) == (0.0, 2.5, 300.0)


def test_ticking_clock_starts_at_now() -> None:
    tick = jobs.ticking(NOW)
    first = tick()
    time.sleep(0.02)
    assert NOW <= first < tick() and (tick() - NOW).total_seconds() < 5


class _Plugins:
    def __init__(self, declared: list[Job]) -> None:
        self.declared, self.handlers = declared, 0

    def collect(self, name: str) -> list[Job]:
        assert name == "safecity_jobs"
        return self.declared

    def register_handlers(self) -> None:
        self.handlers += 1


def test_run_once_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, datetime]] = []

    def job(name: str, fail: bool = False) -> Any:
        def run(session: Any, now: datetime) -> dict[str, int]:
            seen.append((name, now))
            if fail:
                raise RuntimeError("boom")
            return {"done": 1}

        return run

    plugins = _Plugins(
        [
            Job("hazards.escalation", 300, job("esc")),
            Job("warnings.dispatch", 15, job("dispatch")),
            Job("monitoring.warm-start", 0, job("warm"), at_start=True, cron=False),
        ]
    )
    monkeypatch.setattr(jobs, "_plugins", lambda: plugins)
    monkeypatch.setattr(jobs, "session_scope", _no_db)
    app = typer.Typer()
    app.command("noop")(lambda: None)  # a group needs a sibling to be a sub-command
    jobs.register_cli(app)
    cli = CliRunner()

    res = cli.invoke(app, ["jobs", "run-once", "--at", "2026-11-23T17:00:00+08:00"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == {
        "hazards": {"escalation": {"done": 1}},
        "warnings": {"dispatch": {"done": 1}},
    }
    assert seen == [("esc", NOW), ("dispatch", NOW)]  # cron jobs only, at the time given
    assert plugins.handlers == 1  # events the jobs publish reach their handlers

    seen.clear()
    res = cli.invoke(app, ["jobs", "run-once", "monitoring.warm-start", "--at", "2026-11-23T09:00"])
    assert res.exit_code == 0 and seen == [("warm", datetime(2026, 11, 23, 9, tzinfo=UTC))]
    assert cli.invoke(app, ["jobs", "run-once", "no.such"]).exit_code == 2
    assert cli.invoke(app, ["jobs", "run-once", "--at", "yesterday"]).exit_code == 2

    plugins.declared.append(Job("risk.broken", 60, job("broken", fail=True)))
    res = cli.invoke(app, ["jobs", "run-once"])
    assert res.exit_code == 1
    assert json.loads(res.output)["risk"] == {"broken": {"error": "RuntimeError: boom"}}

    listing = cli.invoke(app, ["jobs", "list"]).output.splitlines()
    assert listing[0].split()[:4] == ["hazards.escalation", "every", "300", "s"]
    assert "not in serve" in listing[2] and "cron" not in listing[2]


def test_work_runs_jobs_in_the_foreground(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    plugins = _Plugins(
        [
            Job("a.once", 0, lambda s, n: ran.append("a"), at_start=True),
            Job("b.other", 0, lambda s, n: ran.append("b"), at_start=True),
        ]
    )
    monkeypatch.setattr(jobs, "_plugins", lambda: plugins)
    monkeypatch.setattr(jobs, "session_scope", _no_db)
    app = typer.Typer()
    app.command("noop")(lambda: None)
    jobs.register_cli(app)
    res = CliRunner().invoke(app, ["jobs", "work", "a.once"])
    # the only thread (an at-start job with no interval) ends, and so does the worker
    assert res.exit_code == 0 and ran == ["a"] and "running a.once" in res.output
    assert CliRunner().invoke(app, ["jobs", "work", "zz"]).exit_code == 2
