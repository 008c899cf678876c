"""Alarm rules as data, and the vectorised engine that evaluates a batch of readings (pure logic).

Levels are integers 0..4 (none, blue, yellow, orange, red). The engine keeps per-sensor state in
numpy arrays indexed by a slot; a batch is evaluated across sensors at once. Sensors whose readings
change no alarm jump to their end state in one vectorised pass; the rest loop only over the
position of a reading within its own sensor's sequence.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from safecity.core.errors import FieldError
from safecity.monitoring.catalog import TYPES

LEVELS = ("none", "blue", "yellow", "orange", "red")
LEVEL_ZH = {"none": "无", "blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
LEVEL_NUM = {name: i for i, name in enumerate(LEVELS)}
RULES = ("threshold", "rate", "stuck", "offline", "range", "overspeed", "off_route", "gas_leak")
RULE_ZH = {
    "threshold": "阈值",
    "rate": "变化速率",
    "stuck": "数值卡死",
    "offline": "离线",
    "range": "超出物理量程",
    "overspeed": "超速",
    "off_route": "偏离路线",
    "gas_leak": "疑似燃气泄漏",
}
RULE_EN = {
    "threshold": "threshold",
    "rate": "rate of change",
    "stuck": "stuck value",
    "offline": "offline",
    "range": "out of physical range",
    "overspeed": "over speed",
    "off_route": "off approved route",
    "gas_leak": "possible gas leak",
}
# Rules that come from readings (the others from sweeps or from several sensors together).
READING_RULES = ("threshold", "rate", "stuck", "range", "overspeed", "off_route", "offline")
RANGE_LEVEL = 2  # a faulty instrument is a yellow alarm: someone must go and look
STUCK_LEVEL = 1
OFFLINE_LEVEL = 2
OVERSPEED_LEVEL = 3
OFF_ROUTE_LEVEL = 3
GAS_LEAK_LEVEL = 4
GAS_LEAK_WINDOW_MS = 60_000
STUCK_EPSILON = 1e-9
RATE_MIN_DT_MS = 1000
_M_PER_DEG_LAT = 110_540.0
_M_PER_DEG_LON_EQ = 111_320.0

# ---------------------------------------------------------------------------------------------
# Rule definitions: validation
# ---------------------------------------------------------------------------------------------

_NUMBER_KEYS = ("blue", "yellow", "orange", "red")
_ALLOWED = {
    "direction",
    "blue",
    "yellow",
    "orange",
    "red",
    "hysteresis",
    "sustain_s",
    "offline_s",
    "stuck_s",
    "rate",
    "speed_limit",
    "corridor_m",
    "range",
}


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_rule(data: Any, where: str) -> list[FieldError]:
    """Problems with one sensor type's (or one sensor's) rule; [] when it is usable."""
    if not isinstance(data, dict):
        return [FieldError(where, f"{where}：应为对象", f"{where}: must be an object")]
    errors: list[FieldError] = []

    def bad(key: str, zh: str, en: str) -> None:
        errors.append(FieldError(f"{where}.{key}", f"{where}.{key}：{zh}", f"{where}.{key}: {en}"))

    for key in data:
        if key not in _ALLOWED:
            bad(key, "是不允许的字段", "is not an allowed field")
    direction = data.get("direction", "high")
    if direction not in ("high", "low", "abs"):
        bad("direction", "取值应为 high、low 或 abs", "must be high, low or abs")
    values = []
    for key in _NUMBER_KEYS:
        value = data.get(key)
        if value is None:
            continue
        if not _num(value):
            bad(key, "应为有限数字或空", "must be a finite number or null")
            continue
        values.append((key, float(value)))
    ordered = [v for _, v in values]
    if direction == "low":
        ordered = [-v for v in ordered]
    if any(b <= a for a, b in itertools.pairwise(ordered)):
        zh = "蓝、黄、橙、红阈值应依次" + ("降低" if direction == "low" else "升高")
        en = "blue < yellow < orange < red thresholds must " + (
            "decrease" if direction == "low" else "increase"
        )
        bad("red", zh, en)
    for key, low in (
        ("hysteresis", 0),
        ("sustain_s", 0),
        ("offline_s", 1),
        ("stuck_s", 1),
        ("speed_limit", 0),
        ("corridor_m", 1),
    ):
        value = data.get(key)
        if value is None:
            continue
        if not _num(value) or value < low:
            bad(key, f"应为不小于 {low} 的数字", f"must be a number ≥ {low}")
    rate = data.get("rate")
    if rate is not None:
        if not isinstance(rate, dict):
            bad("rate", "应为对象或空", "must be an object or null")
        else:
            if not _num(rate.get("per_min")) or rate.get("per_min", 0) <= 0:
                bad("rate.per_min", "应为正数", "must be a positive number")
            if rate.get("direction", "both") not in ("up", "down", "both"):
                bad("rate.direction", "取值应为 up、down 或 both", "must be up, down or both")
            if rate.get("level", "orange") not in LEVELS[1:]:
                bad(
                    "rate.level",
                    "取值应为 blue/yellow/orange/red",
                    "must be blue/yellow/orange/red",
                )
    rng = data.get("range")
    if rng is not None and not (
        isinstance(rng, list) and len(rng) == 2 and all(map(_num, rng)) and rng[0] < rng[1]
    ):
        bad("range", "应为 [下限, 上限]", "must be [low, high] with low < high")
    return errors


def validate_rule_set(data: Any) -> list[FieldError]:
    """The whole editable rule set: {sensor type: rule}."""
    if not isinstance(data, dict):
        return [FieldError("rules", "规则应为对象", "rules must be an object")]
    errors: list[FieldError] = []
    for code, rule in data.items():
        if code not in TYPES:
            errors.append(
                FieldError(code, f"{code}：未知的传感器类型", f"{code}: unknown sensor type")
            )
            continue
        errors.extend(validate_rule(rule, code))
    return errors


def effective_rule(
    rule_set: dict[str, Any], sensor_type: str, override: dict[str, Any] | None
) -> dict[str, Any]:
    """The type's rule with a sensor's own overrides laid over it."""
    merged = dict(rule_set.get(sensor_type) or {})
    if override:
        merged.update(override)
    return merged


# ---------------------------------------------------------------------------------------------
# Engine
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SensorSpec:
    """What the engine needs to know about one sensor."""

    sensor_id: int
    sensor_type: str
    rule: dict[str, Any]
    grid_cell_id: int | None = None
    route: dict[str, Any] | None = None  # GeoJSON LineString for vehicles


@dataclass(frozen=True)
class Transition:
    """An alarm level change: level 0 means the condition cleared."""

    sensor_id: int | None
    rule: str
    level: int
    ts: int
    value: float | None
    grid_cell_id: int | None = None


@dataclass
class _Params:
    sign: np.ndarray  # +1 high, -1 low (values and thresholds negated), 0 abs
    thr: np.ndarray  # (n, 4) thresholds, NaN for unused levels
    hyst: np.ndarray
    sustain: np.ndarray  # ms
    rate_lim: np.ndarray  # per ms, NaN when off
    rate_dir: np.ndarray  # +1 up, -1 down, 0 both
    rate_level: np.ndarray
    offline: np.ndarray  # ms, 0 off
    stuck: np.ndarray  # ms, 0 off
    rmin: np.ndarray
    rmax: np.ndarray
    speed: np.ndarray  # km/h, NaN off
    corridor: np.ndarray  # shapely polygons in local metres, None when off
    lat0: np.ndarray
    gas: np.ndarray
    cell: np.ndarray


def _local_xy(lon: np.ndarray, lat: np.ndarray, lat0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular metres: exact enough for a corridor of a few hundred metres."""
    return lon * _M_PER_DEG_LON_EQ * np.cos(np.radians(lat0)), lat * _M_PER_DEG_LAT


def corridor_polygon(route: dict[str, Any], width_m: float) -> tuple[Any, float] | None:
    try:
        line = shape(route)
    except Exception:  # noqa: BLE001  # a malformed route disables the rule, not the engine
        return None
    if line.is_empty:
        return None
    lat0 = float(line.centroid.y)
    coords = np.asarray(line.coords) if line.geom_type == "LineString" else None
    if coords is None:
        return None
    x, y = _local_xy(coords[:, 0], coords[:, 1], np.full(len(coords), lat0))
    return shapely.LineString(np.column_stack([x, y])).buffer(width_m), lat0


def _params(specs: list[SensorSpec]) -> _Params:
    n = len(specs)
    p = _Params(
        sign=np.ones(n),
        thr=np.full((n, 4), np.nan),
        hyst=np.zeros(n),
        sustain=np.zeros(n),
        rate_lim=np.full(n, np.nan),
        rate_dir=np.zeros(n),
        rate_level=np.zeros(n, np.int8),
        offline=np.zeros(n, np.int64),
        stuck=np.zeros(n, np.int64),
        rmin=np.full(n, -np.inf),
        rmax=np.full(n, np.inf),
        speed=np.full(n, np.nan),
        corridor=np.full(n, None, object),
        lat0=np.zeros(n),
        gas=np.zeros(n, bool),
        cell=np.full(n, -1, np.int64),
    )
    for i, spec in enumerate(specs):
        r = spec.rule
        direction = r.get("direction", "high")
        sign = {"high": 1.0, "low": -1.0, "abs": 0.0}.get(direction, 1.0)
        p.sign[i] = sign
        for k, key in enumerate(_NUMBER_KEYS):
            value = r.get(key)
            if value is not None:
                p.thr[i, k] = float(value) * (sign if sign else 1.0)
        p.hyst[i] = float(r.get("hysteresis") or 0)
        p.sustain[i] = float(r.get("sustain_s") or 0) * 1000
        rate = r.get("rate")
        if rate:
            p.rate_lim[i] = float(rate["per_min"]) / 60_000
            p.rate_dir[i] = {"up": 1, "down": -1}.get(rate.get("direction", "both"), 0)
            p.rate_level[i] = LEVEL_NUM.get(rate.get("level", "orange"), 3)
        p.offline[i] = int((r.get("offline_s") or 0) * 1000)
        p.stuck[i] = int((r.get("stuck_s") or 0) * 1000)
        stype = TYPES.get(spec.sensor_type)
        low, high = r.get("range") or ((stype.low, stype.high) if stype else (-np.inf, np.inf))
        p.rmin[i], p.rmax[i] = low, high
        if r.get("speed_limit"):
            p.speed[i] = float(r["speed_limit"])
        if spec.route and r.get("corridor_m"):
            built = corridor_polygon(spec.route, float(r["corridor_m"]))
            if built is not None:
                p.corridor[i], p.lat0[i] = built
        p.gas[i] = spec.sensor_type == "gas"
        p.cell[i] = spec.grid_cell_id if spec.grid_cell_id is not None else -1
    return p


@dataclass
class _State:
    last_ts: np.ndarray
    last_v: np.ndarray
    th_since: np.ndarray  # start of the current run above the lowest threshold, -1 outside
    stuck_since: np.ndarray
    ref_ts: np.ndarray
    ref_v: np.ndarray
    alarm_since: np.ndarray  # when the threshold alarm last rose from 0
    active: dict[str, np.ndarray] = field(default_factory=dict)  # rule -> level per slot


def _state(n: int) -> _State:
    return _State(
        last_ts=np.full(n, -1, np.int64),
        last_v=np.full(n, np.nan),
        th_since=np.full(n, -1, np.int64),
        stuck_since=np.full(n, -1, np.int64),
        ref_ts=np.full(n, -1, np.int64),
        ref_v=np.full(n, np.nan),
        active={r: np.zeros(n, np.int8) for r in READING_RULES},
        alarm_since=np.full(n, -1, np.int64),
    )


def _grow(arr: np.ndarray, n: int, fill: Any) -> np.ndarray:
    if len(arr) >= n:
        return arr
    extra = np.full(n - len(arr), fill, dtype=arr.dtype)
    return np.concatenate([arr, extra])


def _level_of(exceeded: np.ndarray) -> np.ndarray:
    """(m, 4) booleans → the highest level whose threshold is exceeded (0 if none)."""
    weights = np.arange(1, 5, dtype=np.int8)
    levels: np.ndarray = (exceeded * weights).max(axis=1).astype(np.int8)
    return levels


class Engine:
    """Per-sensor alarm state and the batch evaluation; no I/O, the caller passes time in."""

    def __init__(self, specs: list[SensorSpec] | None = None) -> None:
        self.slot: dict[int, int] = {}
        self.specs: list[SensorSpec] = []
        self.p = _params([])
        self.s = _state(0)
        self.cells_alarming: set[int] = set()
        self.collapse_quiet = True  # False: step every reading (the reference, for tests)
        if specs:
            self.configure(specs)

    # -- configuration ---------------------------------------------------------------------

    def configure(self, specs: list[SensorSpec]) -> None:
        """Set or replace sensors' rules; state of known sensors is kept."""
        for spec in specs:
            if spec.sensor_id in self.slot:
                self.specs[self.slot[spec.sensor_id]] = spec
            else:
                self.slot[spec.sensor_id] = len(self.specs)
                self.specs.append(spec)
        n = len(self.specs)
        self.p = _params(self.specs)
        s = self.s
        s.last_ts = _grow(s.last_ts, n, -1)
        s.last_v = _grow(s.last_v, n, np.nan)
        s.th_since = _grow(s.th_since, n, -1)
        s.stuck_since = _grow(s.stuck_since, n, -1)
        s.ref_ts = _grow(s.ref_ts, n, -1)
        s.ref_v = _grow(s.ref_v, n, np.nan)
        s.alarm_since = _grow(s.alarm_since, n, -1)
        for rule in READING_RULES:
            s.active[rule] = _grow(s.active[rule], n, 0)

    def restore(
        self,
        sensor_id: int,
        last_ts: int | None,
        last_value: float | None,
        levels: dict[str, int] | None = None,
        since: int | None = None,
    ) -> None:
        """Bring back what a previous process knew (latest reading, open alarms)."""
        i = self.slot.get(sensor_id)
        if i is None:
            return
        if last_ts is not None:
            self.s.last_ts[i] = last_ts
            self.s.last_v[i] = last_value if last_value is not None else np.nan
            self.s.stuck_since[i] = last_ts
            self.s.ref_ts[i] = last_ts
            self.s.ref_v[i] = self.s.last_v[i]
        for rule, level in (levels or {}).items():
            if rule in self.s.active:
                self.s.active[rule][i] = level
                if rule == "threshold" and level > 0:
                    self.s.th_since[i] = since if since is not None else (last_ts or 0)
                    self.s.alarm_since[i] = since if since is not None else (last_ts or 0)

    def sensor_ids(self) -> np.ndarray:
        return np.fromiter((s.sensor_id for s in self.specs), np.int64, len(self.specs))

    # -- evaluation -------------------------------------------------------------------------

    def evaluate(
        self,
        slots: np.ndarray,
        ts: np.ndarray,
        values: np.ndarray,
        lon: np.ndarray | None = None,
        lat: np.ndarray | None = None,
    ) -> list[Transition]:
        """Feed a batch (any order, several readings per sensor allowed); return level changes."""
        if len(slots) == 0:
            return []
        lon = lon if lon is not None else np.full(len(slots), np.nan)
        lat = lat if lat is not None else np.full(len(slots), np.nan)
        order = np.lexsort((ts, slots))
        slots, ts, values = slots[order], ts[order], values[order]
        lon, lat = lon[order], lat[order]
        # Late or repeated readings are stored but not evaluated (time only moves forward).
        starts = np.concatenate(([True], slots[1:] != slots[:-1]))
        fresh = (ts > self.s.last_ts[slots]) & (
            starts | np.concatenate(([True], ts[1:] != ts[:-1]))
        )
        slots, ts, values, lon, lat = slots[fresh], ts[fresh], values[fresh], lon[fresh], lat[fresh]
        if not len(slots):
            return []
        touched_gas = bool(self.p.gas[slots].any())
        latest = int(ts.max())
        if self.collapse_quiet:
            busy = self._settle_quiet_runs(slots, ts, values)
            slots, ts, values, lon, lat = slots[busy], ts[busy], values[busy], lon[busy], lat[busy]
        out: list[Transition] = []
        if len(slots):
            starts = np.concatenate(([True], slots[1:] != slots[:-1]))
            first = np.maximum.accumulate(np.where(starts, np.arange(len(slots)), 0))
            rank = np.arange(len(slots)) - first
            for r in range(int(rank.max()) + 1):
                idx = np.flatnonzero(rank == r)
                out.extend(self._step(slots[idx], ts[idx], values[idx], lon[idx], lat[idx]))
        if touched_gas:
            out.extend(self._gas_leak(latest))
        return out

    def _settle_quiet_runs(self, slots: np.ndarray, ts: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Sensors whose readings in this batch change no alarm: jump straight to their end state.

        Stepping reading by reading costs one numpy round per reading of the busiest sensor (a
        gateway posting 1,000 readings of one sensor means 1,000 rounds). A run is quiet when the
        sensor has no active alarm and no reading of it would raise one: in range, below every
        threshold less its hysteresis, no fast change (each reading at least a second after the
        one before), not stuck, not over speed, no route corridor. Then stepping through it would
        only move the state forward, which is set here at once. Returns the readings of the other
        sensors, which go through the stepwise evaluation (tests compare both for equality).
        """
        p, s = self.p, self.s
        n = len(slots)
        k = np.arange(n)
        starts = np.concatenate(([True], slots[1:] != slots[:-1]))
        ends = np.concatenate((slots[1:] != slots[:-1], [True]))
        start_of = np.maximum.accumulate(np.where(starts, k, 0))
        sign = p.sign[slots]
        x = np.where(sign == 0, np.abs(v), v * sign)
        calm = (v >= p.rmin[slots]) & (v <= p.rmax[slots])
        calm &= ~(x[:, None] >= p.thr[slots] - p.hyst[slots][:, None]).any(axis=1)
        calm &= ~(v > p.speed[slots])
        calm &= p.corridor[slots] == None  # noqa: E711 element-wise on an object array
        # Rate: against the state's reference for a run's first reading, else the previous one.
        ref_t = np.where(starts, s.ref_ts[slots], np.concatenate(([0], ts[:-1])))
        ref_v = np.where(starts, s.ref_v[slots], np.concatenate(([0.0], v[:-1])))
        has_prev = ref_t >= 0
        dt = np.where(has_prev, ts - ref_t, 1).astype(float)
        calm &= ~has_prev | (dt >= RATE_MIN_DT_MS)
        slope = (v - ref_v) / np.maximum(dt, 1.0)
        d = p.rate_dir[slots]
        signed = np.where(d == 0, np.abs(slope), slope * d)
        calm &= ~(has_prev & (signed >= p.rate_lim[slots] * (1 - 1e-9)))
        # Stuck: the value last changed at the latest reading that differs from the one before.
        prev_v = np.where(starts, s.last_v[slots], np.concatenate(([0.0], v[:-1])))
        changed = (starts & ~has_prev) | (np.abs(v - prev_v) > STUCK_EPSILON)
        last_change = np.maximum.accumulate(np.where(changed, k, -1))
        since = np.where(
            last_change >= start_of, ts[np.maximum(last_change, 0)], s.stuck_since[slots]
        )
        calm &= ~((p.stuck[slots] > 0) & ((ts - since) >= p.stuck[slots]))
        for rule in READING_RULES:
            calm &= s.active[rule][slots] == 0
        # A run is quiet only if every one of its readings is.
        bad_before = np.cumsum(~calm)
        bad_in_run = bad_before[ends] - np.concatenate(([0], bad_before))[start_of[ends]]
        quiet_run = np.repeat(bad_in_run == 0, np.diff(np.append(np.flatnonzero(starts), n)))
        last = np.flatnonzero(ends & quiet_run)
        i = slots[last]
        s.last_ts[i], s.last_v[i] = ts[last], v[last]
        s.ref_ts[i], s.ref_v[i] = ts[last], v[last]
        s.stuck_since[i] = since[last]
        s.th_since[i] = -1
        s.alarm_since[i] = -1
        return ~quiet_run

    def _step(
        self, i: np.ndarray, t: np.ndarray, v: np.ndarray, lon: np.ndarray, lat: np.ndarray
    ) -> list[Transition]:
        p, s = self.p, self.s
        new: dict[str, np.ndarray] = {}
        in_range = (v >= p.rmin[i]) & (v <= p.rmax[i])
        new["range"] = np.where(in_range, 0, RANGE_LEVEL).astype(np.int8)
        new["offline"] = np.zeros(len(i), np.int8)

        # Thresholds, made "higher is worse" by the sign; hysteresis lowers the clearing bar.
        sign = p.sign[i]
        x = np.where(sign == 0, np.abs(v), v * sign)
        thr = p.thr[i]
        up = _level_of(x[:, None] >= thr)
        down = _level_of(x[:, None] >= thr - p.hyst[i][:, None])
        prev = s.active["threshold"][i]
        level = np.maximum(up, np.minimum(prev, down))
        since = np.where(up > 0, np.where(s.th_since[i] >= 0, s.th_since[i], t), -1)
        # Sustained: a rise only counts once the value has stayed up for sustain ms.
        young = (t - since) < p.sustain[i]
        level = np.where((level > prev) & young & (up > 0), prev, level)
        level = np.where(in_range, level, prev)  # a faulty reading says nothing about the gas
        s.th_since[i] = since
        new["threshold"] = level.astype(np.int8)

        # The slope is taken against a reference reading at least a second old: over less
        # than that it is mostly jitter, and a 2 Hz sensor still sees a burst within 1 s.
        has_prev = s.ref_ts[i] >= 0
        dt = np.where(has_prev, t - s.ref_ts[i], 1).astype(float)
        slope = (v - s.ref_v[i]) / np.maximum(dt, 1.0)  # per ms
        d = p.rate_dir[i]
        signed = np.where(d == 0, np.abs(slope), slope * d)
        # Relative slack so 0.351 → 0.301 counts as the 0.05 it is written as (binary floats).
        fast = has_prev & in_range & (signed >= p.rate_lim[i] * (1 - 1e-9))  # NaN limit → False
        # Over less than a second a slope is mostly jitter: keep the rate state as it was.
        judged = ~has_prev | (dt >= RATE_MIN_DT_MS)
        new["rate"] = np.where(
            judged, np.where(fast, p.rate_level[i], 0), s.active["rate"][i]
        ).astype(np.int8)
        s.ref_ts[i] = np.where(judged, t, s.ref_ts[i])
        s.ref_v[i] = np.where(judged, v, s.ref_v[i])

        changed = ~has_prev | (np.abs(v - s.last_v[i]) > STUCK_EPSILON)
        s.stuck_since[i] = np.where(changed, t, s.stuck_since[i])
        stuck = (p.stuck[i] > 0) & ((t - s.stuck_since[i]) >= p.stuck[i])
        new["stuck"] = np.where(stuck, STUCK_LEVEL, 0).astype(np.int8)

        over = v > p.speed[i]  # NaN limit → False
        new["overspeed"] = np.where(over, OVERSPEED_LEVEL, 0).astype(np.int8)
        new["off_route"] = self._off_route(i, lon, lat)

        s.last_ts[i] = t
        s.last_v[i] = v
        rose = (s.active["threshold"][i] == 0) & (new["threshold"] > 0)
        s.alarm_since[i] = np.where(rose, t, np.where(new["threshold"] > 0, s.alarm_since[i], -1))
        return self._transitions(i, t, v, new)

    def _off_route(self, i: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        out = np.zeros(len(i), np.int8)
        geoms = self.p.corridor[i]
        mask = (geoms != None) & np.isfinite(lon) & np.isfinite(lat)  # noqa: E711 element-wise on an object array
        if mask.any():
            x, y = _local_xy(lon[mask], lat[mask], self.p.lat0[i][mask])
            inside = shapely.contains_xy(geoms[mask], x, y)
            out[mask] = np.where(inside, 0, OFF_ROUTE_LEVEL)
        # Without a position the vehicle's route state is unknown: keep what it was.
        out[~mask] = self.s.active["off_route"][i][~mask]
        return out

    def _transitions(
        self, i: np.ndarray, t: np.ndarray, v: np.ndarray, new: dict[str, np.ndarray]
    ) -> list[Transition]:
        out: list[Transition] = []
        for rule, level in new.items():
            old = self.s.active[rule][i]
            diff = np.flatnonzero(level != old)
            if len(diff):
                self.s.active[rule][i[diff]] = level[diff]
                for k in diff.tolist():
                    spec = self.specs[int(i[k])]
                    out.append(
                        Transition(
                            spec.sensor_id,
                            rule,
                            int(level[k]),
                            int(t[k]),
                            float(v[k]),
                            spec.grid_cell_id,
                        )
                    )
        return out

    def _gas_leak(self, now_ms: int) -> list[Transition]:
        """Two or more gas sensors of one grid cell whose alarms began within 60 s."""
        p, s = self.p, self.s
        alarming = np.flatnonzero(p.gas & (p.cell >= 0) & (s.active["threshold"] > 0))
        flagged: set[int] = set()
        if len(alarming) >= 2:
            cells, since = p.cell[alarming], s.alarm_since[alarming]
            order = np.lexsort((since, cells))
            cells, since = cells[order], since[order]
            close = (cells[1:] == cells[:-1]) & (np.diff(since) <= GAS_LEAK_WINDOW_MS)
            flagged = set(cells[1:][close].tolist())
        out = [
            Transition(None, "gas_leak", GAS_LEAK_LEVEL, now_ms, None, c)
            for c in sorted(flagged - self.cells_alarming)
        ]
        # The leak alarm ends when fewer than two of the cell's gas sensors still alarm.
        still = set(p.cell[alarming].tolist())
        counts = {c: int((p.cell[alarming] == c).sum()) for c in self.cells_alarming & still}
        ended = {c for c in self.cells_alarming if c not in still or counts.get(c, 0) < 2}
        out += [Transition(None, "gas_leak", 0, now_ms, None, c) for c in sorted(ended)]
        self.cells_alarming = (self.cells_alarming - ended) | flagged
        return out

    def sweep_offline(self, now_ms: int) -> list[Transition]:
        """Sensors silent for longer than their offline limit (run every few seconds)."""
        s, p = self.s, self.p
        silent = (p.offline > 0) & (s.last_ts >= 0) & (now_ms - s.last_ts >= p.offline)
        rising = np.flatnonzero(silent & (s.active["offline"] == 0))
        s.active["offline"][rising] = OFFLINE_LEVEL
        return [
            Transition(
                self.specs[k].sensor_id,
                "offline",
                OFFLINE_LEVEL,
                now_ms,
                None,
                self.specs[k].grid_cell_id,
            )
            for k in rising.tolist()
        ]
