"""Alarm events leave the ingestion thread: one handler thread per pipeline runs them after commit.

Why: each handler (an area's risk signal, a warning draft) costs database round-trips per
alarm. Run in the batch's thread they held ingestion: 2,000 alarm events of a gas storm kept
the MQTT consumer 39 s behind the broker (bench/ingest.py, alarm_storm). Here the batch hands
its committed events over and goes on; the handlers catch up behind it.

- Bounded: at most `max_pending` events wait. A batch that would exceed it waits for room
  (back-pressure, counted in `stats["waited"]`) instead of growing memory without end.
- Order: one thread, events in commit order (a sensor's raise before its clear).
- Failures: a handler that raises is logged and retried alone (`retry_delays_s`); after the
  last try it is logged as given up.
- Crash: queued events live in memory. They are re-derivable from the alarms table, which the
  batch committed before handing them over: `replay()` (run when an ingestion process starts)
  publishes AlarmRaised for every open alarm whose condition holds and AlarmCleared for every
  alarm cleared in the last `REPLAY_CLEARED` — the handlers are idempotent per alarm, so what
  had been handled before the crash is a no-op.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from safecity.core import events
from safecity.monitoring.models import Alarm

log = logging.getLogger(__name__)
MAX_PENDING = 50_000  # ~200 bytes each: a storm of every sensor of a city fits
RETRY_DELAYS_S = (1.0, 5.0, 30.0)
REPLAY_CLEARED = timedelta(hours=24)  # a restart comes well within this

# Calls the handlers of one event; returns the ones that failed (to be retried alone).
Deliver = Callable[[events.Event], list[events.Handler]]


def deliver_with(publish: Callable[[events.Event], None]) -> Deliver:
    """`publish` as a Deliver: the bus's own deliver keeps handlers apart; any other callable
    (a test's list.append, a gate) is one handler, retried as a whole."""
    if publish is events.publish:
        return events.deliver

    def deliver(event: events.Event) -> list[events.Handler]:
        try:
            publish(event)
        except Exception:
            log.exception("event handler failed for %r", event)
            return [publish]
        return []

    return deliver


class Handoff:
    def __init__(
        self,
        deliver: Deliver,
        *,
        max_pending: int = MAX_PENDING,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
        name: str = "alarm-events",
    ) -> None:
        self.deliver = deliver
        self.max_pending = max_pending
        self.retry_delays_s = retry_delays_s
        self.name = name
        self.stats: Counter[str] = Counter()
        self._queue: deque[events.Event] = deque()
        # (due, seq, event, handler, attempt) of handlers that failed and wait for another try
        self._retries: list[tuple[float, int, events.Event, events.Handler, int]] = []
        self._busy = 0  # events taken by the thread and not finished
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    # -- the ingestion side ------------------------------------------------------------------

    def submit(self, batch: Iterable[events.Event]) -> None:
        """Queue a committed batch's events; waits only while `max_pending` are queued."""
        batch = list(batch)
        if not batch:
            return
        waited = False
        with self._cond:
            self._ensure_thread()
            for event in batch:
                if len(self._queue) >= self.max_pending:
                    self.stats["waited"] += not waited  # batches that had to wait
                    waited = True
                    self._cond.notify_all()
                    while len(self._queue) >= self.max_pending:
                        self._cond.wait()
                self._queue.append(event)
                self.stats["submitted"] += 1
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        """Events queued or being handled, retries not counted."""
        with self._cond:
            return len(self._queue) + self._busy

    def drain(self, timeout: float = 10.0, retries: bool = False) -> bool:
        """Wait until every queued event was handled (and, with `retries`, every retry ran)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy or (retries and self._retries):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def replay(
        self, db: Engine, now: datetime, sensors: set[int] | None = None, cells: bool = True
    ) -> int:
        """Queue the events the alarms table implies (see the module text) for alarms of
        `sensors` (None: all) and, with `cells`, of grid cells; returns how many."""
        since = now - REPLAY_CLEARED

        def mine(alarm_sensor: int | None) -> bool:
            if alarm_sensor is None:
                return cells
            return sensors is None or alarm_sensor in sensors

        with Session(db) as session:
            open_ = session.scalars(
                select(Alarm)
                .where(Alarm.open_key.is_not(None), Alarm.condition_active.is_(True))
                .order_by(Alarm.updated_at, Alarm.id)
            ).all()
            cleared = session.execute(
                select(Alarm.id, Alarm.sensor_id, Alarm.cleared_at)
                .where(Alarm.condition_active.is_(False), Alarm.cleared_at >= since)
                .order_by(Alarm.cleared_at, Alarm.id)
            ).all()
            batch: list[events.Event] = [
                events.AlarmCleared(_utc(at), str(alarm_id))
                for alarm_id, sensor, at in cleared
                if mine(sensor)
            ]
            batch += [
                events.AlarmRaised(
                    _utc(a.updated_at),
                    str(a.id),
                    a.level,
                    a.division_code,
                    a.lon,
                    a.lat,
                    a.grid_cell_id,
                    a.enterprise_id,
                    a.rule,
                )
                for a in open_
                if mine(a.sensor_id)
            ]
        self.submit(batch)
        self.stats["replayed"] += len(batch)
        return len(batch)

    # -- the handler thread ------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._due():
                    wait = self._retries[0][0] - time.monotonic() if self._retries else None
                    self._cond.wait(wait)
                retry = heapq.heappop(self._retries) if self._due() else None
                event = None if retry else self._queue.popleft()
                self._busy += 1
                self._cond.notify_all()  # room for a waiting submit()
            try:
                if retry is not None:
                    self._retry(*retry[2:])
                else:
                    assert event is not None
                    self._first(event)
            except Exception:  # the thread must outlive any surprise
                log.exception("alarm event hand-off failed")
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _due(self) -> bool:
        return bool(self._retries) and self._retries[0][0] <= time.monotonic()

    def _first(self, event: events.Event) -> None:
        for handler in self.deliver(event):
            self._schedule(event, handler, 0)
        self.stats["handled"] += 1

    def _retry(self, event: events.Event, handler: events.Handler, attempt: int) -> None:
        self.stats["retried"] += 1
        try:
            handler(event)
        except Exception:
            log.exception("event handler %s failed again for %r", handler, event)
            self._schedule(event, handler, attempt + 1)

    def _schedule(self, event: events.Event, handler: events.Handler, attempt: int) -> None:
        if attempt >= len(self.retry_delays_s):
            self.stats["given_up"] += 1
            log.error(
                "gave up on %s for %r after %d tries; the next start of ingestion derives "
                "it again from the alarms table",
                handler,
                event,
                attempt + 1,
            )
            return
        self.stats["failed"] += 1
        with self._cond:
            due = time.monotonic() + self.retry_delays_s[attempt]
            heapq.heappush(self._retries, (due, self.stats["failed"], event, handler, attempt))
            self._cond.notify_all()


def _utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were stored as UTC, and handlers
    (the warning draft among them) refuse naive times."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
