"""Sensors as a kind: list / filter / detail / form / import / export / map layer come from the
generic machinery (core.kinds); monitoring adds what only a sensor has — a device token issued
on creation, the latest reading and open alarms beside each row, a vehicle drawn where it last
reported, and the time-series panel on the detail page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.core.errors import FieldError
from safecity.core.kinds import Credential, Kind
from safecity.core.scope import Principal, division_prefix
from safecity.monitoring.alarms import STATUSES as ALARM_STATUSES
from safecity.monitoring.catalog import TYPES
from safecity.monitoring.models import Alarm, Sensor, SensorLatest
from safecity.monitoring.pipeline import current_rules
from safecity.monitoring.rules import LEVEL_ZH, RULE_EN, RULE_ZH, effective_rule
from safecity.monitoring.schemas import SENSOR_TYPES, STATUSES, SensorIn
from safecity.monitoring.telemetry import hash_token, new_token
from safecity.registry import service as registry
from safecity.registry.models import Enterprise, GridCell

SENSOR_WRITERS = frozenset(
    {"admin", "district_officer", "risk_analyst", "department_liaison", "enterprise_officer"}
)
# A sensor's industry is its enterprise's (a sensor of no enterprise is no liaison's).
SHAPE = registry.industry_shape(Sensor.division_code, Sensor.enterprise_id)
_CHUNK = 500  # more ids than fit one IN (…): latest values and open alarms are read whole


def _issue_token() -> tuple[dict[str, Any], str]:
    token = new_token()
    return {"token_hash": hash_token(token)}, token


def _check_references(
    session: Session, values: dict[str, Any], row: int | None
) -> list[FieldError]:
    """The grid cell exists inside the sensor's division; the enterprise exists."""
    errors: list[FieldError] = []
    cell = values.get("grid_cell_id")
    if cell is not None:
        grid = session.get(GridCell, cell)
        code = values.get("division_code") or ""
        if grid is None or not grid.division_code.startswith(division_prefix(code)):
            errors.append(
                FieldError(
                    "grid_cell_id",
                    f"网格编号：{cell} 不存在或不在该区划内",
                    f"grid cell ID: {cell} not found in this division",
                    row,
                )
            )
    ent = values.get("enterprise_id")
    if ent is not None and session.get(Enterprise, ent) is None:
        errors.append(
            FieldError(
                "enterprise_id",
                f"企业编号：{ent} 不存在",
                f"enterprise ID: {ent} does not exist",
                row,
            )
        )
    return errors


# The latest reading of each sensor as a plain row (sensor_id, ts, value, lon, lat).
_LATEST = (
    SensorLatest.sensor_id,
    SensorLatest.ts,
    SensorLatest.value,
    SensorLatest.lon,
    SensorLatest.lat,
)


def latest_of(session: Session, ids: list[int]) -> dict[int, Any]:
    """The latest reading of each of `ids` that has one: rows with .ts, .value, .lon, .lat.
    More ids than one IN (…) holds (a map layer of every sensor) read the table once (one row
    per sensor) instead of chunk by chunk."""
    if not ids:
        return {}
    if len(ids) > _CHUNK:
        wanted = set(ids)
        rows = session.execute(select(*_LATEST)).all()
        return {r.sensor_id: r for r in rows if r.sensor_id in wanted}
    stmt = select(*_LATEST).where(SensorLatest.sensor_id.in_(ids))
    return {r.sensor_id: r for r in session.execute(stmt)}


def _open_alarms(session: Session, ids: list[int]) -> dict[int, int]:
    """Open alarms per sensor of `ids` (as latest_of: one grouped query for many ids)."""
    if not ids:
        return {}
    stmt = (
        select(Alarm.sensor_id, func.count())
        .where(Alarm.open_key.is_not(None))
        .group_by(Alarm.sensor_id)
    )
    if len(ids) > _CHUNK:
        wanted = set(ids)
        return {sid: n for sid, n in session.execute(stmt).all() if sid in wanted}
    return {sid: n for sid, n in session.execute(stmt.where(Alarm.sensor_id.in_(ids))).all()}


def reading_text(value: float | None, unit: str) -> tuple[str, str] | None:
    """A reading as staff read it: "30 %LEL", or 报警/正常 for a 0/1 switch."""
    if value is None:
        return None
    if unit == "0/1":
        return ("报警", "alarm") if value else ("正常", "normal")
    text = f"{value:g} {unit}".strip()
    return (text, text)


def _extras(session: Session, sensors: Sequence[Any]) -> dict[Any, dict[str, Any]]:
    ids = [s.id for s in sensors]
    latest = latest_of(session, ids)
    open_alarms = _open_alarms(session, ids)
    _version, rule_set = current_rules(session)
    out: dict[Any, dict[str, Any]] = {}
    for s in sensors:
        stype = TYPES.get(s.sensor_type)
        unit = stype.unit if stype else ""
        last = latest.get(s.id)
        out[s.id] = {
            "quantity": stype.quantity if stype else "",
            "unit": unit,
            "last_ts": last.ts if last else None,
            "last_value": last.value if last else None,
            "latest": reading_text(last.value if last else None, unit),
            "open_alarms": open_alarms.get(s.id, 0),
            "rule": effective_rule(rule_set, s.sensor_type, s.rule_override),
            "rule_override": s.rule_override,
            "route": s.route,
        }
    return out


def _layer_point(session: Session, sensors: Sequence[Any]) -> dict[Any, tuple[float, float]]:
    """Moving sensors (vehicles) are drawn where they last reported."""
    latest = latest_of(session, [s.id for s in sensors])
    return {
        sid: (r.lon, r.lat) for sid, r in latest.items() if r.lon is not None and r.lat is not None
    }


def _detail_context(session: Session, _who: Principal, sensor: Any) -> dict[str, Any]:
    """The time-series panel: type, thresholds in force, latest value, the last 20 alarms."""
    _version, rule_set = current_rules(session)
    alarms = list(
        session.scalars(
            select(Alarm).where(Alarm.sensor_id == sensor.id).order_by(Alarm.id.desc()).limit(20)
        )
    )
    latest = session.get(SensorLatest, sensor.id)
    return {
        "stype": TYPES.get(sensor.sensor_type),
        "rule": effective_rule(rule_set, sensor.sensor_type, sensor.rule_override),
        "latest": latest,
        "latest_at": datetime.fromtimestamp(latest.ts / 1000, UTC) if latest else None,
        "alarms": alarms,
        "statuses": ALARM_STATUSES,
        "rule_zh": RULE_ZH,
        "rule_en": RULE_EN,
        "level_zh": LEVEL_ZH,
        "alarm_points": [
            {"ts": a.first_ts, "value": a.value, "level": a.level}
            for a in alarms
            if a.first_ts is not None and a.value is not None
        ],
    }


SENSOR = Kind(
    name="sensor",
    plural="sensors",
    prefix="monitoring",
    model=Sensor,
    schema=SensorIn,
    zh="监测传感器",
    en="Sensor",
    columns=(
        "id",
        "device_id",
        "name",
        "sensor_type",
        "division_code",
        "grid_cell_id",
        "enterprise_id",
        "facility",
        "lon",
        "lat",
        "install_date",
        "status",
    ),
    labels={
        "device_id": ("设备编号", "device ID"),
        "sensor_type": ("传感器类型", "sensor type"),
        "grid_cell_id": ("网格编号", "grid cell ID"),
        "enterprise_id": ("企业编号", "enterprise ID"),
        "facility": ("所属设施", "facility"),
        "install_date": ("安装日期", "install date"),
        "status": ("状态", "status"),
        "latest": ("最新读数", "latest reading"),
        "open_alarms": ("未关闭报警", "open alarms"),
    },
    choices={"sensor_type": SENSOR_TYPES, "status": STATUSES},
    exact_filters=("sensor_type", "status", "enterprise_id"),
    search=("device_id", "name", "facility"),
    sortable=("device_id", "name", "sensor_type", "install_date", "updated_at"),
    default_sort="device_id",
    natural_key="device_id",
    writers=SENSOR_WRITERS,
    shape=SHAPE,
    check_references=_check_references,
    credential=Credential(issue=_issue_token, field="token"),
    list_columns=(
        "device_id",
        "name",
        "sensor_type",
        "division_code",
        "facility",
        "status",
        "latest",
        "open_alarms",
    ),
    extras=_extras,
    extra_fields={
        "quantity": str,
        "unit": str,
        "last_ts": int,
        "last_value": float,
        "open_alarms": int,
        "rule": dict[str, Any],
        "rule_override": dict[str, Any],
        "route": dict[str, Any],
    },
    layer_point=_layer_point,
    map_props=("id", "name", "sensor_type", "device_id", "last_value", "unit"),
    detail_template="monitoring/sensor_panel.html",
    detail_context=_detail_context,
    hints={
        "device_id": "设备上报遥测时使用的编号，字母、数字、._- ，全市唯一",
        "sensor_type": "如 gas（可燃气体浓度）、water_pressure（供水管网压力），可填中文名称",
        "grid_cell_id": "可选：所在网格的编号（须在该行政区划内）",
        "enterprise_id": "可选：所属企业的编号",
    },
    example={
        "device_id": "TEST-GAS-01",
        "name": "芝罘路燃气探头",
        "sensor_type": "gas",
        "division_code": "370602",
        "facility": "芝罘路燃气管线",
        "lon": 121.39,
        "lat": 37.53,
        "install_date": "2025-06-01",
        "status": "active",
    },
)

KINDS: tuple[Kind, ...] = (SENSOR,)
