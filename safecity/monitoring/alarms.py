"""Alarms: engine transitions → alarm rows (raise, repeat, escalate, clear) and the human lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, object_session

from safecity.core import audit, events, scope
from safecity.core.errors import Conflict, Forbidden, NotFound
from safecity.core.scope import Principal
from safecity.monitoring.catalog import TYPES
from safecity.monitoring.models import Alarm, AlarmAction, Sensor
from safecity.monitoring.rules import LEVEL_ZH, LEVELS, RULE_EN, RULE_ZH, Transition
from safecity.registry import service as registry

STATUSES = {
    "active": ("待确认", "active"),
    "acknowledged": ("已确认", "acknowledged"),
    "handling": ("处置中", "handling"),
    "resolved": ("已解除", "resolved"),
    "false_alarm": ("误报", "false alarm"),
}
# action -> (allowed from, to)
LIFECYCLE: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({"active"}), "acknowledged"),
    "handle": (frozenset({"acknowledged"}), "handling"),
    "resolve": (frozenset({"handling"}), "resolved"),
    "false_alarm": (frozenset({"active", "acknowledged", "handling"}), "false_alarm"),
}
CLOSED = frozenset({"resolved", "false_alarm"})
HANDLERS = frozenset(
    {
        "admin",
        "commander",
        "duty_officer",
        "district_officer",
        "grid_member",
        "risk_analyst",
        "enterprise_officer",
    }
)


def next_status(current: str, action: str) -> str:
    """The lifecycle as a pure function: the new status, or Conflict (409) when illegal."""
    if action not in LIFECYCLE:
        raise Conflict(f"未知操作：{action}", f"unknown action: {action}")
    allowed, target = LIFECYCLE[action]
    if current not in allowed:
        zh_from = STATUSES.get(current, (current,))[0]
        raise Conflict(
            f"报警当前为“{zh_from}”，不能执行该操作", f"alarm is {current}; cannot {action}"
        )
    return target


@dataclass(frozen=True)
class SensorInfo:
    sensor_id: int
    name: str
    sensor_type: str
    division_code: str
    grid_cell_id: int | None
    enterprise_id: int | None
    lon: float | None
    lat: float | None


def open_key(t: Transition) -> str:
    return (
        f"{t.sensor_id}:{t.rule}" if t.sensor_id is not None else f"cell{t.grid_cell_id}:{t.rule}"
    )


def _message(t: Transition, info: SensorInfo | None) -> tuple[str, str]:
    level = LEVELS[t.level]
    if info is None:
        return (
            f"网格 {t.grid_cell_id}：2 个及以上燃气探测器 60 秒内相继报警，{LEVEL_ZH[level]}",
            f"grid cell {t.grid_cell_id}: two or more gas detectors alarmed within 60 s",
        )
    stype = TYPES.get(info.sensor_type)
    unit = stype.unit if stype else ""
    zh, en = _reading(t.value, unit)
    return (
        f"{info.name}：{RULE_ZH[t.rule]}{LEVEL_ZH[level]}报警{zh}",
        f"{info.name}: {RULE_EN[t.rule]} {level} alarm{en}",
    )


# Units staff read in a message: "31000persons" and "3code" were glued internal unit names.
_UNIT_WORDS = {"persons": ("人", "people"), "code": ("", "")}


def _reading(value: float | None, unit: str) -> tuple[str, str]:
    if value is None:
        return "", ""
    if unit == "0/1":  # a switch (smoke, water, door): the reading is the state itself
        return ("（触发）", " (triggered)") if value else ("（正常）", " (normal)")
    if unit == "code":
        return f"（状态码 {value:g}）", f" (status code {value:g})"
    zh, en = _UNIT_WORDS.get(unit, (unit, unit))
    return f" {value:,g} {zh}".rstrip(), f" {value:,g} {en}".rstrip()


def _event_raised(alarm: Alarm, now: datetime) -> events.AlarmRaised:
    return events.AlarmRaised(
        now,
        str(alarm.id),
        alarm.level,
        alarm.division_code,
        alarm.lon,
        alarm.lat,
        alarm.grid_cell_id,
        alarm.enterprise_id,
        alarm.rule,
    )


def apply_transitions(
    session: Session,
    transitions: list[Transition],
    sensors: dict[int, SensorInfo],
    cells: dict[int, tuple[str, float | None, float | None]],
    now: datetime,
) -> list[events.Event]:
    """Write the engine's level changes; returns the events to publish after commit."""
    if not transitions:
        return []
    keys = sorted({open_key(t) for t in transitions})
    found = {
        a.open_key: a
        for a in session.scalars(select(Alarm).where(Alarm.open_key.in_(keys)).with_for_update())
    }
    ordered = sorted(transitions, key=lambda tr: tr.ts)
    fresh = _new_alarms(session, ordered, found, sensors, cells, now)
    out: list[events.Event] = []
    actions: list[AlarmAction] = []
    for t in ordered:
        key = open_key(t)
        alarm = found.get(key)
        level = LEVELS[t.level]
        if key in fresh:  # not raised yet at this reading: a clear before it changes nothing
            if t.level == 0:
                continue
            fresh.discard(key)
            actions.append(
                AlarmAction(
                    alarm_id=alarm.id,
                    at=now,
                    actor="system",
                    action="raise",
                    to_status="active",
                    level=level,
                    note=alarm.message,
                )
            )
            out.append(_event_raised(alarm, now))
            continue
        if t.level == 0:
            if alarm is not None and alarm.condition_active:
                alarm.condition_active = False
                alarm.cleared_at = now
                alarm.updated_at = now
                actions.append(
                    AlarmAction(
                        alarm_id=alarm.id,
                        at=now,
                        actor="system",
                        action="clear",
                        level=alarm.level,
                        note="",
                    )
                )
                out.append(events.AlarmCleared(now, str(alarm.id)))
            continue
        assert alarm is not None  # _new_alarms made every alarm a raise needs
        rising = LEVELS.index(level) > LEVELS.index(alarm.level) or not alarm.condition_active
        alarm.level = level
        if LEVELS.index(level) > LEVELS.index(alarm.peak_level):
            alarm.peak_level = level
        alarm.condition_active = True
        alarm.cleared_at = None
        alarm.value = t.value
        alarm.last_ts = t.ts
        alarm.occurrences += 1
        alarm.updated_at = now
        alarm.message, alarm.message_en = _message(t, sensors.get(t.sensor_id or -1))
        actions.append(
            AlarmAction(
                alarm_id=alarm.id,
                at=now,
                actor="system",
                action="escalate" if rising else "update",
                level=level,
                note=alarm.message,
            )
        )
        if rising:
            out.append(_event_raised(alarm, now))
    session.add_all(actions)
    return out


def _new_alarms(
    session: Session,
    ordered: list[Transition],
    found: dict[str, Alarm],
    sensors: dict[int, SensorInfo],
    cells: dict[int, tuple[str, float | None, float | None]],
    now: datetime,
) -> set[str]:
    """Insert the batch's new alarms at once (each from its first raising reading) and add them
    to `found`; returns their keys. One flush for all of them: a flush per alarm was a database
    round-trip per alarm inside the ingestion transaction (2 s for 500 alarms of a gas storm)."""
    fresh: set[str] = set()
    for t in ordered:
        key = open_key(t)
        if t.level > 0 and key not in found:
            found[key] = _new_alarm(session, t, sensors.get(t.sensor_id or -1), cells, now, key)
            fresh.add(key)
    if fresh:
        session.flush()  # the ids the actions and events name
    return fresh


def _new_alarm(
    session: Session,
    t: Transition,
    info: SensorInfo | None,
    cells: dict[int, tuple[str, float | None, float | None]],
    now: datetime,
    key: str,
) -> Alarm:
    zh, en = _message(t, info)
    if info is not None:
        where = {
            "division_code": info.division_code,
            "lon": info.lon,
            "lat": info.lat,
            "grid_cell_id": info.grid_cell_id,
            "enterprise_id": info.enterprise_id,
        }
    else:
        division, lon, lat = cells.get(t.grid_cell_id or -1, ("", None, None))
        where = {
            "division_code": division,
            "lon": lon,
            "lat": lat,
            "grid_cell_id": t.grid_cell_id,
            "enterprise_id": None,
        }
    level = LEVELS[t.level]
    alarm = Alarm(
        open_key=key,
        sensor_id=t.sensor_id,
        rule=t.rule,
        level=level,
        peak_level=level,
        status="active",
        condition_active=True,
        value=t.value,
        message=zh,
        message_en=en,
        first_ts=t.ts,
        last_ts=t.ts,
        occurrences=1,
        raised_at=now,
        updated_at=now,
        **where,
    )
    session.add(alarm)
    return alarm


def touch_repeats(session: Session, repeats: list[tuple[str, int, float]]) -> None:
    """Readings that keep an alarm's condition true: the alarm shows the latest value and count."""
    if not repeats:
        return
    table = Alarm.__table__
    session.connection().execute(
        update(table)
        .where(table.c.open_key == _bind("k"))
        .values(last_ts=_bind("t"), value=_bind("v"), occurrences=table.c.occurrences + 1),
        [{"k": k, "t": t, "v": v} for k, t, v in repeats],
    )


def _bind(name: str) -> Any:
    return bindparam(name)


# ---------------------------------------------------------------------------------------------
# Human lifecycle
# ---------------------------------------------------------------------------------------------


# An alarm is scoped as its sensor: division, enterprise, the enterprise's industry.
SHAPE = registry.industry_shape(Alarm.division_code, Alarm.enterprise_id)


def scope_clause(principal: Principal) -> Any:
    return scope.clause(principal, SHAPE)


def recent_counts(
    session: Session, principal: Principal, now: datetime, hours: int = 24
) -> dict[str, Any]:
    """The alarms the caller may see raised in the last ``hours`` by peak level, and how many
    are not closed (the city's vital signs)."""
    where = scope_clause(principal)
    by_level = dict(
        session.execute(
            select(Alarm.peak_level, func.count())
            .where(where, Alarm.raised_at >= now - timedelta(hours=hours))
            .group_by(Alarm.peak_level)
        ).all()
    )
    still_open = session.scalar(select(func.count()).where(where, Alarm.status != "closed"))
    return {"by_level": {k: int(v) for k, v in by_level.items()}, "open": int(still_open or 0)}


def visible(session: Session, principal: Principal, alarm: Alarm) -> bool:
    industry = (
        registry.enterprise_industry(session, alarm.enterprise_id)
        if principal.liaison_industry
        else None
    )
    return scope.sees(
        principal,
        SHAPE,
        alarm.division_code,
        enterprise_id=alarm.enterprise_id,
        industry_code=industry,
    )


def get_alarm(session: Session, principal: Principal, alarm_id: int) -> Alarm:
    alarm = session.get(Alarm, alarm_id)
    if alarm is None or not visible(session, principal, alarm):
        raise NotFound("报警", "alarm")
    return alarm


def to_dict(alarm: Alarm) -> dict[str, Any]:
    out = {
        c: getattr(alarm, c)
        for c in (
            "id",
            "sensor_id",
            "grid_cell_id",
            "enterprise_id",
            "division_code",
            "rule",
            "level",
            "peak_level",
            "status",
            "condition_active",
            "value",
            "message",
            "message_en",
            "lon",
            "lat",
            "first_ts",
            "last_ts",
            "occurrences",
            "raised_at",
            "updated_at",
            "cleared_at",
            "closed_at",
            "closed_by",
            "hidden_danger_id",
        )
    }
    out["sensor_type"] = _sensor_type(alarm)  # the console groups repeats by rule and kind
    return out


def _sensor_type(alarm: Alarm) -> str:

    if alarm.sensor_id is None:
        return "gas"  # a grid cell's joint alarm comes from its gas detectors
    session = object_session(alarm)
    sensor = session.get(Sensor, alarm.sensor_id) if session is not None else None
    return sensor.sensor_type if sensor is not None else ""


def act(
    session: Session, principal: Principal, alarm_id: int, action: str, note: str, now: datetime
) -> tuple[Alarm, list[events.Event]]:
    """acknowledge / handle / resolve / false_alarm, with who, when and a note; audited.

    Returns the events to publish once the caller has committed (handlers open their own
    transactions, which would wait on ours).
    """
    alarm = get_alarm(session, principal, alarm_id)
    if principal.role not in HANDLERS:
        raise Forbidden("当前角色无权处置报警", "your role may not handle alarms")
    before = to_dict(alarm)
    target = next_status(alarm.status, action)
    session.add(
        AlarmAction(
            alarm_id=alarm.id,
            at=now,
            actor=principal.username,
            action=action,
            from_status=alarm.status,
            to_status=target,
            level=alarm.level,
            note=note[:2000],
        )
    )
    alarm.status = target
    alarm.updated_at = now
    if target in CLOSED:
        alarm.open_key = None
        alarm.closed_at = now
        alarm.closed_by = principal.username
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action=f"alarm_{action}",
        object_type="alarm",
        object_id=alarm.id,
        before=before,
        after=to_dict(alarm),
        now=now,
    )
    if target in CLOSED and alarm.condition_active:
        return alarm, [events.AlarmCleared(now, str(alarm.id))]
    return alarm, []


GROUP_MAX = 1000


def acknowledge_group(
    session: Session, principal: Principal, alarm_ids: list[int], note: str, now: datetime
) -> list[Alarm]:
    """Acknowledge a console group (repeats of one rule on one kind of sensor) in one action.

    Each alarm gets its own history line and audit entry, as if acknowledged one by one; those
    no longer waiting for acknowledgement (someone else got there first) are left as they are.
    Conflict (409) when none of them is waiting."""
    if principal.role not in HANDLERS:
        raise Forbidden("当前角色无权处置报警", "your role may not handle alarms")
    ids = sorted(set(alarm_ids))[:GROUP_MAX]
    waiting = [
        a.id
        for a in session.scalars(
            select(Alarm).where(
                Alarm.id.in_(ids), Alarm.status == "active", scope_clause(principal)
            )
        )
    ]
    if not waiting:
        raise Conflict("这组报警已无待确认项", "no alarm in this group is waiting")
    tag = f"批量确认 {len(waiting)} 条同类报警 / group of {len(waiting)}"
    text = f"{tag}：{note}" if note.strip() else tag
    return [act(session, principal, i, "acknowledge", text, now)[0] for i in waiting]


# An alarm may open a hidden danger unless it was a false alarm; open ones move to handling.
LINKABLE = frozenset({"active", "acknowledged", "handling", "resolved"})
LINK_MOVES = {"active": "handling", "acknowledged": "handling"}


def check_linkable(alarm: Alarm) -> None:
    """Conflict (409) unless the alarm may open a hidden danger now."""
    if alarm.hidden_danger_id is not None:
        raise Conflict(
            f"该报警已转为隐患 #{alarm.hidden_danger_id}",
            f"alarm already opened hidden danger #{alarm.hidden_danger_id}",
        )
    if alarm.status not in LINKABLE:
        zh_from = STATUSES.get(alarm.status, (alarm.status,))[0]
        raise Conflict(
            f"报警当前为“{zh_from}”，不能转为隐患",
            f"alarm is {alarm.status}; cannot open a hidden danger",
        )


def link_hidden_danger(
    session: Session, principal: Principal, alarm: Alarm, hidden_danger_id: int, now: datetime
) -> Alarm:
    """Record the hidden danger the alarm opened; an open alarm is now being handled."""
    check_linkable(alarm)
    before = to_dict(alarm)
    target = LINK_MOVES.get(alarm.status, alarm.status)
    session.add(
        AlarmAction(
            alarm_id=alarm.id,
            at=now,
            actor=principal.username,
            action="hidden_danger",
            from_status=alarm.status,
            to_status=target,
            level=alarm.level,
            note=f"#{hidden_danger_id}",
        )
    )
    alarm.hidden_danger_id = hidden_danger_id
    alarm.status = target
    alarm.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="alarm_hidden_danger",
        object_type="alarm",
        object_id=alarm.id,
        before=before,
        after=to_dict(alarm),
        now=now,
    )
    return alarm


def history(session: Session, alarm: Alarm) -> list[AlarmAction]:
    return list(
        session.scalars(
            select(AlarmAction).where(AlarmAction.alarm_id == alarm.id).order_by(AlarmAction.id)
        )
    )
