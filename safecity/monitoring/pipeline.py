"""The one ingestion pipeline every front end feeds: decode → store → evaluate rules → alarms.

A batch is one transaction: readings, dead letters and alarm changes commit together, and the
caller acknowledges the messages (MQTT PUBACK, JetStream ack) only after the commit, so a crash
at any point means redelivery, which the (sensor, ts) key turns into a no-op.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine as DbEngine
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from safecity.core import events
from safecity.core.clock import utcnow
from safecity.monitoring import alarms as alarm_service
from safecity.monitoring import rules
from safecity.monitoring.catalog import TYPES, default_rules
from safecity.monitoring.handoff import Handoff, deliver_with
from safecity.monitoring.models import (
    Alarm,
    DeadLetter,
    RuleVersion,
    Sensor,
    SensorLatest,
)
from safecity.monitoring.settings import get_monitoring_settings
from safecity.monitoring.store import rollup, write_parts
from safecity.monitoring.telemetry import Decoded, Decoder, Device, Rejection
from safecity.registry.models import GridCell

log = logging.getLogger(__name__)
RELOAD_EVERY_S = 5.0
ROLLUP_SLICE = 500_000
VACUUM_INBOX_EVERY_S = 60.0
SWEEP_EVERY_S = 5.0


@dataclass
class Result:
    accepted: int = 0
    inserted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    transitions: int = 0

    @property
    def duplicates(self) -> int:
        return self.accepted - self.inserted


GROUP_MAX = 16  # requests stored together at most
GROUPS_IN_FLIGHT = 2  # groups one pipeline stores at once on PostgreSQL (SQLite: one writer)


@dataclass(eq=False)  # tickets are compared by identity
class _Ticket:
    decoded: Decoded
    sensors: frozenset[int]
    done: bool = False
    result: Result | None = None
    error: BaseException | None = None

    def outcome(self) -> Result:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def _concat(parts: list[Decoded]) -> Decoded:
    return Decoded(
        *(
            np.concatenate([getattr(d, name) for d in parts])
            for name in ("sensor_ids", "ts", "values", "lon", "lat")
        ),
        rejected=[r for d in parts for r in d.rejected],
    )


def _spread(decoded: Decoded) -> bool:
    """True when the batch's readings fall in many different (sensor, minute) aggregate rows
    (single readings from many sensors): worth deferring to the roll-up, which folds several
    seconds at once. A gateway's run of one sensor's readings touches a few rows: fold now."""
    if len(decoded) < 8:
        return True
    keys = (decoded.sensor_ids << 32) | (decoded.ts // 60_000)
    return len(np.unique(keys)) * 4 > len(keys)


def current_rules(session: Session) -> tuple[int, dict[str, Any]]:
    """(version, rule set) in force: the newest saved version, else the built-in defaults."""
    row = session.scalars(select(RuleVersion).order_by(RuleVersion.version.desc()).limit(1)).first()
    if row is None:
        return 0, default_rules()
    merged = default_rules()
    merged.update(row.definition)
    return row.version, merged


class Pipeline:
    def __init__(
        self,
        db: DbEngine,
        *,
        retention_days: float = 400,
        owns: Callable[[str], bool] | None = None,
        publish: Callable[[events.Event], None] = events.publish,
        rollup_interval_s: float | None = None,
    ) -> None:
        self.db = db
        interval = (
            get_monitoring_settings().rollup_interval_s
            if rollup_interval_s is None
            else rollup_interval_s
        )
        self.deferred = db.dialect.name == "postgresql" and interval > 0
        self.rollup_interval_s = interval
        self._rolled_at = 0.0
        self._owns_all = owns is None
        self.owns = owns or (lambda _device: True)
        self.publish = publish
        # Alarm events are handled on their own thread after the commit, never in the batch's
        # (monitoring/handoff.py): a storm of alarms must not hold the readings behind it.
        self.handoff = Handoff(deliver_with(publish))
        self.devices: dict[str, Device] = {}
        self.device_by_token: dict[str, str] = {}  # token hash → device id (HTTP front end)
        self.sensors: dict[int, alarm_service.SensorInfo] = {}
        self.cells: dict[int, tuple[str, float | None, float | None]] = {}
        self.decoder = Decoder(self.devices, retention_days)
        self.engine = rules.Engine()
        self.slot_of = np.full(1, -1, np.int64)
        self.signature: tuple[Any, ...] = ()
        self.totals: Counter[str] = Counter()
        self._checked_at = 0.0
        self._swept_at = 0.0
        self._vacuumed_at = time.monotonic()
        self._group = threading.Condition()
        # Batches (the consumer's thread) and the offline sweep (the ticker's thread) both
        # change the rule engine's state; one at a time.
        self._engine_lock = threading.RLock()
        self._waiting: list[_Ticket] = []
        self._flying: list[frozenset[int]] = []  # sensors of each group being stored
        self.groups_in_flight = GROUPS_IN_FLIGHT if db.dialect.name == "postgresql" else 1
        self.reload(force=True)

    # -- registry and rules -----------------------------------------------------------------

    def _signature(self, session: Session) -> tuple[Any, ...]:
        sensors = session.execute(
            select(
                func.count(Sensor.id).filter(Sensor.archived.is_(False)),
                func.max(Sensor.updated_at),
            )
        ).one()
        version = session.scalar(select(func.max(RuleVersion.version)))
        return (*sensors, version)

    def reload(self, force: bool = False) -> bool:
        """Pick up new or edited sensors and rule versions; keeps alarm state of known sensors."""
        with self._engine_lock, Session(self.db) as session:
            sig = self._signature(session)
            if not force and sig == self.signature:
                return False
            _version, rule_set = current_rules(session)
            rows = list(session.scalars(select(Sensor).where(Sensor.archived.is_(False))))
            self.cells = {
                c.id: (c.division_code, c.lon, c.lat)
                for c in session.execute(
                    select(GridCell.id, GridCell.division_code, GridCell.lon, GridCell.lat)
                )
            }
            fresh = self.engine.specs == [] or force
            self._load_sensors(rows, rule_set)
            if fresh:
                self._restore(session)
            self.signature = sig
        return True

    def _load_sensors(self, rows: list[Sensor], rule_set: dict[str, Any]) -> None:
        devices: dict[str, Device] = {}
        specs: list[rules.SensorSpec] = []
        infos: dict[int, alarm_service.SensorInfo] = {}
        for s in rows:
            stype = TYPES.get(s.sensor_type)
            devices[s.device_id] = Device(
                s.device_id,
                s.id,
                s.token_hash,
                stype.quantity if stype else "",
                s.status == "active",
            )
            infos[s.id] = alarm_service.SensorInfo(
                s.id,
                s.name,
                s.sensor_type,
                s.division_code,
                s.grid_cell_id,
                s.enterprise_id,
                s.lon,
                s.lat,
            )
            if self.owns(s.device_id):
                specs.append(
                    rules.SensorSpec(
                        s.id,
                        s.sensor_type,
                        rules.effective_rule(rule_set, s.sensor_type, s.rule_override),
                        s.grid_cell_id,
                        s.route,
                    )
                )
        # Swapped, not updated in place: HTTP callers decode in their own threads meanwhile.
        self.devices = devices
        self.decoder.devices = devices
        self.device_by_token = {d.token_hash: d.device_id for d in devices.values() if d.token_hash}
        self.sensors = infos
        self.engine.configure(specs)
        biggest = max(infos, default=0)
        self.slot_of = np.full(biggest + 1, -1, np.int64)
        for sid, slot in self.engine.slot.items():
            if sid <= biggest:
                self.slot_of[sid] = slot

    def _restore(self, session: Session) -> None:
        """After a restart: the latest reading and open alarm levels of every owned sensor."""
        for row in session.execute(
            select(SensorLatest.sensor_id, SensorLatest.ts, SensorLatest.value)
        ):
            self.engine.restore(row.sensor_id, row.ts, row.value)
        for alarm in session.scalars(
            select(Alarm).where(Alarm.open_key.is_not(None), Alarm.condition_active.is_(True))
        ):
            if alarm.sensor_id is not None:
                self.engine.restore(
                    alarm.sensor_id,
                    None,
                    None,
                    {alarm.rule: rules.LEVEL_NUM.get(alarm.level, 0)},
                    alarm.first_ts,
                )
            elif alarm.rule == "gas_leak" and alarm.grid_cell_id is not None:
                self.engine.cells_alarming.add(alarm.grid_cell_id)

    def reset_state(self) -> None:
        """Rebuild the engine from the database (after a failed batch left it ahead)."""
        self.engine = rules.Engine()
        self.signature = ()
        self.reload(force=True)

    # -- processing -------------------------------------------------------------------------

    def process(
        self,
        messages: Iterable[tuple[str | None, bytes | str | dict]],
        source: str,
        *,
        trusted: bool = False,
        now: datetime | None = None,
        max_bytes: int | None = None,
    ) -> Result:
        clock = now or utcnow()
        now_ms = int(clock.timestamp() * 1000)
        if time.monotonic() - self._checked_at > RELOAD_EVERY_S:
            self._checked_at = time.monotonic()
            self.reload()
        kwargs = {"max_bytes": max_bytes} if max_bytes else {}
        decoded = self.decoder.decode(messages, now_ms, trusted=trusted, **kwargs)
        return self.store(decoded, source, clock)

    def store(self, decoded: Decoded, source: str, clock: datetime) -> Result:
        return self._store_parts([decoded], source, clock)[0]

    def _store_parts(self, parts: list[Decoded], source: str, clock: datetime) -> list[Result]:
        """Store several callers' batches in one transaction; one Result per caller.

        The readings are written before the rule engine's lock is taken, so another group's
        writes can run meanwhile (submit() never lets two groups in flight share a sensor, so
        their rows and aggregate rows are disjoint). Rules, alarms and the commit happen under
        the lock: alarm changes are committed in the order the engine made them."""
        results = [Result(accepted=len(d)) for d in parts]
        for result, d in zip(results, parts, strict=True):
            result.rejected.update(r.reason for r in d.rejected)
        decoded = parts[0] if len(parts) == 1 else _concat(parts)
        owner = np.repeat(np.arange(len(parts), dtype=np.int32), [len(d) for d in parts])
        with self.db.connect() as conn:  # leaving it without commit rolls back
            transaction = conn.begin()
            stored = write_parts(
                conn,
                decoded.sensor_ids,
                decoded.ts,
                decoded.values,
                decoded.lon,
                decoded.lat,
                owner,
                len(parts),
                self.deferred and _spread(decoded),
            )
            with self._engine_lock:
                try:
                    session = Session(bind=conn)
                    pending = self._evaluate(session, decoded, clock)
                    self._dead_letters(session, decoded.rejected, source, clock)
                    session.flush()
                    transaction.commit()
                except Exception:
                    self.reset_state()  # the engine moved ahead of what was committed
                    raise
        self.handoff.submit(pending[0])
        with self._engine_lock:  # two groups may finish at once: the counters stay exact
            for result, n in zip(results, stored.tolist(), strict=True):
                result.inserted = n
                result.transitions = len(pending[1])
                self.totals["accepted"] += result.accepted
                self.totals["inserted"] += result.inserted
                self.totals.update({f"rejected_{k}": v for k, v in result.rejected.items()})
        return results

    def submit(
        self,
        messages: list[tuple[str | None, bytes | str | dict]],
        source: str,
        *,
        trusted: bool = False,
        max_bytes: int | None = None,
    ) -> Result:
        """process() for concurrent callers (HTTP requests): group commit.

        Each caller decodes its own messages in its own thread. Callers then queue; whoever
        finds a free slot (GROUPS_IN_FLIGHT) stores the waiting batches, up to GROUP_MAX, in one
        transaction: the fixed cost of a transaction (commit, the alarm bookkeeping) is paid
        once per group instead of once per request, and while one group waits for the database
        the next one is written. Each caller still gets its own counts.
        """
        clock = utcnow()
        if time.monotonic() - self._checked_at > RELOAD_EVERY_S:
            self._checked_at = time.monotonic()
            self.reload()
        kwargs = {"max_bytes": max_bytes} if max_bytes else {}
        decoded = self.decoder.decode(
            messages, int(clock.timestamp() * 1000), trusted=trusted, **kwargs
        )
        ticket = _Ticket(decoded, frozenset(np.unique(decoded.sensor_ids).tolist()))
        with self._group:
            self._waiting.append(ticket)
        while True:
            with self._group:
                while not ticket.done:
                    group = self._take()
                    if group:
                        break
                    self._group.wait()
                else:
                    return ticket.outcome()
            try:
                self._run_group(group, source)
            finally:
                with self._group:
                    self._flying.remove(self._flying_of(group))
                    self._group.notify_all()

    def _take(self) -> list[_Ticket]:
        """The next group, called with self._group held: the longest run of waiting tickets
        (oldest first) that shares no sensor with a group in flight, so that the readings of one
        sensor are evaluated in the order they came and two groups never wait on each other's
        rows. Empty when every slot is busy or the oldest ticket must wait."""
        if len(self._flying) >= self.groups_in_flight:
            return []
        busy = frozenset().union(*self._flying)
        group: list[_Ticket] = []
        for t in self._waiting[:GROUP_MAX]:
            if t.sensors & busy:
                break
            group.append(t)
        if group:
            del self._waiting[: len(group)]
            self._flying.append(self._flying_of(group))
        return group

    @staticmethod
    def _flying_of(group: list[_Ticket]) -> frozenset[int]:
        return frozenset().union(*(t.sensors for t in group))

    def _run_group(self, group: list[_Ticket], source: str) -> None:
        try:
            results = self._store_parts([t.decoded for t in group], source, utcnow())
            for ticket, result in zip(group, results, strict=True):
                ticket.result = result
        except Exception as exc:  # noqa: BLE001  # every caller of the group learns it failed
            for ticket in group:
                ticket.error = exc
        for ticket in group:
            ticket.done = True

    def replay_events(self, now: datetime | None = None) -> int:
        """Hand the events the alarms table implies to the handlers again (an ingestion process
        starting: whatever a crashed one had queued but not handled). Only this pipeline's own
        sensors' alarms, so that parallel workers do not handle one alarm twice at once; alarms
        of a grid cell (no sensor) only in a pipeline that owns every device."""
        return self.handoff.replay(
            self.db, now or utcnow(), sensors=set(self.engine.slot), cells=self._owns_all
        )

    def drain_events(self, timeout: float = 10.0) -> bool:
        """Wait until the handlers caught up with every committed alarm event."""
        return self.handoff.drain(timeout)

    def _evaluate(
        self, session: Session, decoded: Decoded, clock: datetime
    ) -> tuple[list[events.Event], list[rules.Transition]]:
        sid = decoded.sensor_ids
        known = sid < len(self.slot_of)
        slots = np.where(known, self.slot_of[np.where(known, sid, 0)], -1)
        owned = slots >= 0
        transitions = self.engine.evaluate(
            slots[owned],
            decoded.ts[owned],
            decoded.values[owned],
            decoded.lon[owned],
            decoded.lat[owned],
        )
        if time.monotonic() - self._swept_at > SWEEP_EVERY_S:
            self._swept_at = time.monotonic()
            transitions += self.engine.sweep_offline(int(clock.timestamp() * 1000))
        out = alarm_service.apply_transitions(session, transitions, self.sensors, self.cells, clock)
        alarm_service.touch_repeats(
            session, self._repeats(slots[owned], decoded, owned, transitions)
        )
        return out, transitions

    def _repeats(
        self,
        slots: np.ndarray,
        decoded: Decoded,
        owned: np.ndarray,
        transitions: list[rules.Transition],
    ) -> list[tuple[str, int, float]]:
        """Latest reading of each sensor whose threshold alarm simply continues."""
        if not len(slots):
            return []
        ongoing = self.engine.s.active["threshold"][slots] > 0
        if not ongoing.any():
            return []
        changed = {t.sensor_id for t in transitions if t.rule == "threshold"}
        sid, ts, val = decoded.sensor_ids[owned], decoded.ts[owned], decoded.values[owned]
        latest: dict[int, tuple[int, float]] = {}
        for k in np.flatnonzero(ongoing).tolist():
            s = int(sid[k])
            if s not in changed and (s not in latest or ts[k] > latest[s][0]):
                latest[s] = (int(ts[k]), float(val[k]))
        return [(f"{s}:threshold", t, v) for s, (t, v) in latest.items()]

    def rollup(self) -> int:
        """Fold the inbox into the aggregates and latest values (deferred mode); rows folded.
        Whoever runs the pipeline calls this every rollup_interval_s from another thread
        (runners' ticker, the web app's periodic task), so batches never wait for it."""
        self._rolled_at = time.monotonic()
        done = 0
        while True:  # in slices, so a long backlog never makes one huge transaction
            with self.db.begin() as conn:
                n = rollup(conn, ROLLUP_SLICE)
            done += n or 0
            if not n or n < ROLLUP_SLICE:  # emptied, or another process is rolling up
                break
        if time.monotonic() - self._vacuumed_at > VACUUM_INBOX_EVERY_S:
            # The inbox is emptied by DELETE: its dead rows must be vacuumed for the space to be
            # reused. Autovacuum does it when enabled (the migration tunes it); some installs
            # turn autovacuum off, so the roll-up does it too (cheap: the table stays small).
            self._vacuumed_at = time.monotonic()
            with self.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM readings_inbox"))
        return done

    def tick(self, now: datetime | None = None) -> int:
        """Periodic work without new readings: the offline sweep and the roll-up.
        Returns transitions written."""
        if self.deferred:
            self.rollup()
        clock = now or utcnow()
        with self._engine_lock:  # the ticker thread and the batches share the rule state
            transitions = self.engine.sweep_offline(int(clock.timestamp() * 1000))
            self._swept_at = time.monotonic()
            if not transitions:
                return 0
            try:
                with self.db.begin() as conn:
                    session = Session(bind=conn)
                    pending = alarm_service.apply_transitions(
                        session, transitions, self.sensors, self.cells, clock
                    )
                    session.flush()
            except Exception:
                self.reset_state()  # the sweep moved the state ahead of the database
                raise
        self.handoff.submit(pending)
        return len(transitions)

    @staticmethod
    def _dead_letters(
        session: Session, rejected: list[Rejection], source: str, clock: datetime
    ) -> None:
        if not rejected:
            return
        session.execute(
            insert(DeadLetter),
            [
                {
                    "received_at": clock,
                    "source": source,
                    "device_id": (r.device_id or "")[:64] or None,
                    "reason": r.reason,
                    "detail": r.detail[:500],
                    "payload": r.payload,
                }
                for r in rejected
            ],
        )
