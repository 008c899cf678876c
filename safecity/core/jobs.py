"""The one job runner: periodic work every capability declares through the ``safecity_jobs``
hook — hidden-danger deadlines, warning deliveries, monitoring roll-ups, …

A ``Job`` is a name, an interval and ``run(session, now)``. ``safecity serve`` runs each job in
a background thread every ``interval`` seconds (on SQLite one job at a time: one writer), and
``safecity jobs run-once [NAME]`` runs them once, for cron. Every run gets its own session
(committed when it returns, rolled back when it raises), is logged with its outcome and
duration, and a failing run never stops the runner: the next one comes at its time.

Jobs must be safe to run twice at once (several ``serve`` workers, or cron next to ``serve``):
claim work with a conditional UPDATE or SELECT … FOR UPDATE SKIP LOCKED, insert with
ON CONFLICT DO NOTHING, and work from "what is due by now", not "since the last run".
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from sqlalchemy.orm import Session

from safecity.core.clock import utcnow
from safecity.core.config import Settings
from safecity.core.db import get_engine, session_scope

log = logging.getLogger("safecity.jobs")
SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Job:
    """``interval``: seconds between runs in ``serve`` (0 or less: ``serve`` leaves it to cron).
    ``at_start``: ``serve`` also runs it once as soon as it starts. ``cron``: ``jobs run-once``
    runs it (off for work that only means something inside the server process)."""

    name: str
    interval: float
    run: Callable[[Session, datetime], Any]
    description: str = ""
    at_start: bool = False
    cron: bool = True


@dataclass
class Outcome:
    job: str
    started_at: datetime
    seconds: float
    ok: bool
    result: Any = None
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "seconds": round(self.seconds, 3)}
        if self.ok:
            out["result"] = self.result
        else:
            out["error"] = self.error
        return out


@dataclass
class State:
    """What the runner knows about one job (for an operator's status view and for tests)."""

    runs: int = 0
    failures: int = 0
    last: Outcome | None = None
    history: list[Outcome] = field(default_factory=list)


def plugin_jobs() -> list[Job]:
    """Every job the plug-ins declare (``safecity_jobs``), in plug-in order."""
    # The plug-in manager sits above core (it imports every capability); core reaches it by
    # name at run time, as the manager itself reaches the capabilities.
    return list(_plugins().collect("safecity_jobs"))


def run(job: Job, now: datetime, factory: SessionFactory | None = None) -> Outcome:
    """Run ``job`` once in its own session; never raises (the outcome says what happened)."""
    factory = factory or session_scope
    start = time.monotonic()
    try:
        with factory() as session:
            result = job.run(session, now)
    except Exception as exc:  # a job must outlive one bad run; the log keeps the reason
        log.exception("job %s failed", job.name)
        return Outcome(job.name, now, time.monotonic() - start, False, None, _describe(exc))
    outcome = Outcome(job.name, now, time.monotonic() - start, True, result)
    level = logging.INFO if _worth_saying(result) else logging.DEBUG
    log.log(level, "job %s done in %.2fs: %s", job.name, outcome.seconds, result)
    return outcome


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _worth_saying(result: Any) -> bool:
    # A round that found nothing to do is logged at DEBUG, so a quiet city has a quiet log.
    if isinstance(result, dict):
        return any(_worth_saying(v) for v in result.values())
    if isinstance(result, list | tuple | set):
        return bool(result)
    return bool(result)


def ticking(now: datetime) -> Callable[[], datetime]:
    """A clock that starts at ``now`` and moves on with the machine's: for a job whose run takes
    a while and stamps each step (a delivery sent three minutes into the run says so)."""
    start = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - start)


def transactions(session: Session) -> SessionFactory:
    """A session factory for code that works in several transactions (batches, one delivery
    at a time): each ``with`` block is one transaction on the job's own session, committed at
    its end and rolled back if it raises."""

    @contextmanager
    def one() -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    return one


def interval_of(job: Job, settings: Settings | None = None) -> float:
    """The job's interval, or the one SAFECITY_JOB_INTERVALS sets for it."""
    overrides = (settings or Settings()).job_intervals
    return float(overrides.get(job.name, job.interval))


class Runner:
    """Runs jobs in background threads until stopped."""

    def __init__(
        self,
        jobs: Iterable[Job],
        factory: SessionFactory | None = None,
        clock: Callable[[], datetime] = utcnow,
        *,
        serial: bool = False,
        intervals: dict[str, float] | None = None,
        keep: int = 20,
    ) -> None:
        self.jobs = list(jobs)
        self.factory, self.clock, self.keep = factory, clock, keep
        self.intervals = intervals if intervals is not None else {}
        # SQLite has one writer: the jobs take turns instead of failing with "database is locked".
        self.lock: threading.Lock | None = threading.Lock() if serial else None
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.state: dict[str, State] = {j.name: State() for j in self.jobs}

    def start(self) -> None:
        for job in self.jobs:
            interval = self.intervals.get(job.name, job.interval)
            if interval <= 0 and not job.at_start:
                log.info("job %s: not run by the server (interval %s)", job.name, interval)
                continue
            thread = threading.Thread(
                target=self._loop, args=(job, interval), name=f"job:{job.name}", daemon=True
            )
            self.threads.append(thread)
            thread.start()

    def _loop(self, job: Job, interval: float) -> None:
        if job.at_start:
            self.run_now(job)
        if interval <= 0:
            return
        # Wait one interval first so a freshly started server settles before the first run.
        while not self.stop_event.wait(interval):
            self.run_now(job)

    def run_now(self, job: Job) -> Outcome:
        if self.lock is None:
            outcome = run(job, self.clock(), self.factory)
        else:
            with self.lock:
                if self.stop_event.is_set():
                    return Outcome(job.name, self.clock(), 0.0, True, "stopped")
                outcome = run(job, self.clock(), self.factory)
        st = self.state[job.name]
        st.runs += 1
        st.failures += 0 if outcome.ok else 1
        st.last = outcome
        st.history = [*st.history, outcome][-self.keep :]
        return outcome

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=timeout)


# ---------------------------------------------------------------- the server's runner


def start_background(jobs: Iterable[Job] | None = None) -> Runner:
    """Start a runner over every plug-in's jobs (or ``jobs``) in this server process."""
    settings = Settings()
    declared = list(plugin_jobs() if jobs is None else jobs)
    runner = Runner(
        declared,
        serial=get_engine().dialect.name == "sqlite",
        intervals={j.name: interval_of(j, settings) for j in declared},
    )
    runner.start()
    return runner


def server_handlers() -> tuple[Callable[[], None], Callable[[], None]]:
    """(startup, shutdown) for one web app: its own runner, stopped when the app stops."""
    held: list[Runner] = []

    def start() -> None:
        held.append(start_background())

    def stop() -> None:
        while held:
            held.pop().stop()

    return start, stop


def run_once(
    now: datetime, names: Iterable[str] = (), factory: SessionFactory | None = None
) -> dict[str, Outcome]:
    """Every cron job once (or the ones named, cron or not), one after another, in plug-in
    order; unknown names raise KeyError."""
    declared = plugin_jobs()
    wanted = list(names)
    by_name = {j.name: j for j in declared}
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise KeyError(", ".join(missing))
    chosen = [by_name[n] for n in wanted] if wanted else [j for j in declared if j.cron]
    return {j.name: run(j, now, factory) for j in chosen}


def _plugins() -> Any:
    return importlib.import_module("safecity.plugins")


# ---------------------------------------------------------------- `safecity jobs`


def _parse_at(text: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def nested(outcomes: dict[str, Outcome]) -> dict[str, Any]:
    """{"hazards.escalation": …} → {"hazards": {"escalation": result}}: one block per capability;
    a failed run shows {"error": …}."""
    out: dict[str, Any] = {}
    for name, o in outcomes.items():
        group, _, short = name.partition(".")
        out.setdefault(group, {})[short or group] = o.result if o.ok else {"error": o.error}
    return out


def register_cli(app: typer.Typer) -> None:
    """``safecity jobs list`` and ``safecity jobs run-once [NAME…] [--at TIME]``."""
    jobs_app = typer.Typer(
        help="Scheduled jobs (定时任务); `serve` runs them in the background.", no_args_is_help=True
    )
    app.add_typer(jobs_app, name="jobs")

    @jobs_app.command("list")
    def list_jobs() -> None:
        """Every declared job with its interval in `serve` and whether cron runs it."""
        settings = Settings()
        for j in plugin_jobs():
            every = interval_of(j, settings)
            when = f"every {every:g} s" if every > 0 else "not in serve"
            typer.echo(f"{j.name:32} {when:18} {'cron' if j.cron else '    '}  {j.description}")

    @jobs_app.command("work")
    def work(
        names: list[str] = typer.Argument(None, help="Only these jobs (default: all)."),
    ) -> None:
        """Run the jobs on their intervals in the foreground until stopped (Ctrl-C): a worker
        beside web processes whose own jobs are turned off (SAFECITY_JOB_INTERVALS)."""
        _plugins().register_handlers()
        declared = plugin_jobs()
        unknown = sorted(set(names or ()) - {j.name for j in declared})
        if unknown:
            typer.echo(f"unknown job: {', '.join(unknown)}", err=True)
            raise typer.Exit(2)
        runner = start_background([j for j in declared if not names or j.name in names])
        typer.echo(f"running {', '.join(j.name for j in runner.jobs)} (Ctrl-C stops)")
        try:
            while any(t.is_alive() for t in runner.threads):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            runner.stop()

    @jobs_app.command("run-once")
    def run_once_cmd(
        names: list[str] = typer.Argument(None, help="Only these jobs (default: every cron job)."),
        at: str = typer.Option("", help="Pretend it is this time (ISO 8601; UTC when no zone)."),
    ) -> None:
        """Run the scheduled jobs once (for cron); prints each job's result as JSON and exits 1
        when one failed."""
        now = _parse_at(at) if at else utcnow()
        if now is None:
            typer.echo("--at: not an ISO 8601 time", err=True)
            raise typer.Exit(2)
        # Jobs publish events (an overdue hidden danger raises its area's dynamic risk).
        _plugins().register_handlers()
        try:
            outcomes = run_once(now, names or ())
        except KeyError as exc:
            typer.echo(f"unknown job: {exc.args[0]}", err=True)
            raise typer.Exit(2) from None
        typer.echo(json.dumps(nested(outcomes), ensure_ascii=False, default=str))
        if not all(o.ok for o in outcomes.values()):
            raise typer.Exit(1)
