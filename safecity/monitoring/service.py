"""Monitoring use cases: scoped sensor registry (create/edit/import/credentials), rule versions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from safecity.core import audit, scope
from safecity.core.errors import FieldError, Forbidden, Invalid, NotFound
from safecity.core.scope import Principal, division_prefix
from safecity.core.sql import code_within
from safecity.core.validation import translate
from safecity.monitoring import rules
from safecity.monitoring.catalog import TYPES
from safecity.monitoring.models import RuleVersion, Sensor, SensorLatest
from safecity.monitoring.telemetry import hash_token
from safecity.registry import io as registry_io
from safecity.registry import service as registry
from safecity.registry.kinds import Kind
from safecity.registry.models import Division, Enterprise, GridCell

SENSOR_WRITERS = frozenset(
    {"admin", "district_officer", "risk_analyst", "department_liaison", "enterprise_officer"}
)
RULE_EDITORS = frozenset({"admin", "risk_analyst"})
STATUSES = {
    "active": ("在用", "active"),
    "maintenance": ("维护中", "maintenance"),
    "disabled": ("停用", "disabled"),
}
LABELS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"),
    "device_id": ("设备编号", "device ID"),
    "name": ("名称", "name"),
    "sensor_type": ("传感器类型", "sensor type"),
    "division_code": ("行政区划代码", "division code"),
    "grid_cell_id": ("网格编号", "grid cell ID"),
    "enterprise_id": ("企业编号", "enterprise ID"),
    "facility": ("所属设施", "facility"),
    "lon": ("经度", "longitude"),
    "lat": ("纬度", "latitude"),
    "install_date": ("安装日期", "install date"),
    "status": ("状态", "status"),
    "archived": ("已归档", "archived"),
    "updated_at": ("更新时间", "updated"),
    "created_at": ("创建时间", "created"),
}
COLUMNS = (
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
)
MAX_PAGE = 500


class SensorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    device_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1, max_length=200)
    sensor_type: str
    division_code: str = Field(min_length=6, max_length=12)
    grid_cell_id: int | None = None
    enterprise_id: int | None = None
    facility: str = Field(default="", max_length=200)
    lon: float | None = Field(default=None, ge=73, le=136)
    lat: float | None = Field(default=None, ge=3, le=54)
    install_date: date | None = None
    status: str = "active"

    @field_validator("sensor_type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in TYPES:
            raise ValueError("未知的传感器类型|unknown sensor type")
        return value

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        if value not in STATUSES:
            raise ValueError(
                "状态应为 active、maintenance 或 disabled|status must be active, "
                "maintenance or disabled"
            )
        return value

    @model_validator(mode="after")
    def _both(self) -> SensorIn:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("经度和纬度应同时填写|longitude and latitude go together")
        return self


class _SensorKind(Kind):
    def label(self, column: str) -> tuple[str, str]:
        return LABELS.get(column, (column, column))


SENSOR_KIND = _SensorKind(
    name="sensor",
    plural="sensors",
    model=Sensor,
    schema=SensorIn,
    zh="传感器",
    en="Sensor",
    key="id",
    natural_key="device_id",
    columns=COLUMNS,
)


@dataclass
class Page:
    items: list[Sensor]
    total: int
    page: int
    size: int


def _validate(data: dict[str, Any], row: int | None = None) -> dict[str, Any]:
    try:
        return SensorIn.model_validate(data).model_dump()
    except ValidationError as exc:
        raise Invalid(translate(exc.errors(), LABELS, row=row)) from None


# A sensor's industry is its enterprise's (a sensor of no enterprise is no liaison's).
SHAPE = registry.industry_shape(Sensor.division_code, Sensor.enterprise_id)


def scope_clause(principal: Principal) -> Any:
    return scope.clause(principal, SHAPE)


def sees(
    session: Session, principal: Principal, division_code: str | None, enterprise_id: int | None
) -> bool:
    """The one-object check for a sensor (or an alarm) at this division and enterprise."""
    industry = (
        registry.enterprise_industry(session, enterprise_id) if principal.liaison_industry else None
    )
    return scope.sees(
        principal, SHAPE, division_code, enterprise_id=enterprise_id, industry_code=industry
    )


def visible(session: Session, principal: Principal, sensor: Sensor) -> bool:
    return sees(session, principal, sensor.division_code, sensor.enterprise_id)


def list_sensors(
    session: Session,
    principal: Principal,
    *,
    q: str | None = None,
    sensor_type: str | None = None,
    division: str | None = None,
    status: str | None = None,
    enterprise_id: int | None = None,
    page: int = 1,
    size: int = 50,
) -> Page:
    stmt: Select[Any] = select(Sensor).where(scope_clause(principal), Sensor.archived.is_(False))
    if enterprise_id is not None:
        stmt = stmt.where(Sensor.enterprise_id == enterprise_id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(Sensor.name.like(like), Sensor.device_id.like(like), Sensor.facility.like(like))
        )
    if sensor_type:
        stmt = stmt.where(Sensor.sensor_type == sensor_type)
    if division:
        stmt = stmt.where(code_within(Sensor.division_code, division_prefix(division)))
    if status:
        stmt = stmt.where(Sensor.status == status)
    size = max(1, min(size, MAX_PAGE))
    page = max(1, page)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(
        session.scalars(stmt.order_by(Sensor.device_id).offset((page - 1) * size).limit(size))
    )
    return Page(items, total, page, size)


def get_sensor(session: Session, principal: Principal, sensor_id: int) -> Sensor:
    sensor = session.get(Sensor, sensor_id)
    if sensor is None or sensor.archived or not visible(session, principal, sensor):
        raise NotFound("传感器", "sensor")
    return sensor


def to_dict(sensor: Sensor, latest: SensorLatest | None = None) -> dict[str, Any]:
    data = {c: getattr(sensor, c) for c in COLUMNS}
    stype = TYPES.get(sensor.sensor_type)
    data["quantity"], data["unit"] = (stype.quantity, stype.unit) if stype else ("", "")
    data["rule_override"] = sensor.rule_override
    data["route"] = sensor.route
    if latest is not None:
        data["last_ts"], data["last_value"] = latest.ts, latest.value
    return data


def _check_write(session: Session, principal: Principal, values: dict[str, Any]) -> None:
    """Role (403), then where the values put the sensor: a caller may only place a sensor
    where they would see it (403; an existing sensor outside scope was already a 404)."""
    if principal.role not in SENSOR_WRITERS:
        raise Forbidden("当前角色无权修改传感器", "your role may not change sensors")
    if (
        principal.role == "enterprise_officer"
        and values.get("enterprise_id") != principal.enterprise_id
    ):
        raise Forbidden(
            "企业安全员只能登记本企业的传感器",
            "you may only register your own enterprise's sensors",
        )
    if not sees(session, principal, values.get("division_code"), values.get("enterprise_id")):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")


def _check_references(
    session: Session, values: dict[str, Any], row: int | None = None, exclude_id: int | None = None
) -> None:
    errors: list[FieldError] = []
    code = values["division_code"]
    if session.get(Division, code) is None:
        errors.append(
            FieldError(
                "division_code",
                f"行政区划代码：{code} 不存在",
                f"division code: {code} does not exist",
                row,
            )
        )
    cell = values.get("grid_cell_id")
    if cell is not None:
        grid = session.get(GridCell, cell)
        if grid is None or not grid.division_code.startswith(division_prefix(code)):
            errors.append(
                FieldError(
                    "grid_cell_id",
                    f"网格编号：{cell} 不存在或不在该区划内",
                    f"grid cell: {cell} not found in this division",
                    row,
                )
            )
    ent = values.get("enterprise_id")
    if ent is not None and session.get(Enterprise, ent) is None:
        errors.append(
            FieldError(
                "enterprise_id", f"企业编号：{ent} 不存在", f"enterprise: {ent} does not exist", row
            )
        )
    stmt = select(Sensor.id).where(Sensor.device_id == values["device_id"])
    if exclude_id is not None:
        stmt = stmt.where(Sensor.id != exclude_id)
    if session.scalar(stmt) is not None:
        errors.append(FieldError("device_id", "设备编号：已存在", "device ID: already exists", row))
    if errors:
        raise Invalid(errors)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def create_sensor(
    session: Session, principal: Principal, data: dict[str, Any], now: datetime
) -> tuple[Sensor, str]:
    """A new sensor and its device credential (shown once; only the hash is stored)."""
    values = _validate(data)
    _check_write(session, principal, values)
    _check_references(session, values)
    token = new_token()
    sensor = Sensor(
        **values, token_hash=hash_token(token), archived=False, created_at=now, updated_at=now
    )
    session.add(sensor)
    session.flush()
    _audit(session, principal, sensor, "create", None, now)
    return sensor, token


def update_sensor(
    session: Session, principal: Principal, sensor_id: int, patch: dict[str, Any], now: datetime
) -> Sensor:
    sensor = get_sensor(session, principal, sensor_id)
    before = to_dict(sensor)
    extra = {k: patch.pop(k) for k in ("rule_override", "route") if k in patch}
    current = {f: getattr(sensor, f) for f in SensorIn.model_fields}
    values = _validate({**current, **patch})
    _check_write(session, principal, values)
    _check_references(session, values, exclude_id=sensor.id)
    if "rule_override" in extra and extra["rule_override"] is not None:
        errors = rules.validate_rule(extra["rule_override"], "rule_override")
        if errors:
            raise Invalid(errors)
    if "route" in extra and extra["route"] is not None:
        route = extra["route"]
        if not (
            isinstance(route, dict)
            and route.get("type") == "LineString"
            and rules.corridor_polygon(route, 10) is not None
        ):
            raise Invalid(
                [
                    FieldError(
                        "route", "路线应为 GeoJSON LineString", "route must be a GeoJSON LineString"
                    )
                ]
            )
    for name, value in {**values, **extra}.items():
        setattr(sensor, name, value)
    sensor.updated_at = now
    session.flush()
    _audit(session, principal, sensor, "update", before, now)
    return sensor


def rotate_token(session: Session, principal: Principal, sensor_id: int, now: datetime) -> str:
    sensor = get_sensor(session, principal, sensor_id)
    _check_write(session, principal, to_dict(sensor))
    token = new_token()
    sensor.token_hash = hash_token(token)
    sensor.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="rotate_token",
        object_type="sensor",
        object_id=sensor.id,
        before=None,
        after={"device_id": sensor.device_id},
        now=now,
    )
    return token


def _audit(
    session: Session,
    principal: Principal,
    sensor: Sensor,
    action: str,
    before: dict[str, Any] | None,
    now: datetime,
) -> None:
    audit.record(
        session,
        actor=principal.username,
        action=action,
        object_type="sensor",
        object_id=sensor.id,
        before=before,
        after=to_dict(sensor),
        now=now,
    )


# ---------------------------------------------------------------------------------------------
# Import: the registry's readers, our own validation, all-or-nothing
# ---------------------------------------------------------------------------------------------


def import_sensors(
    session: Session, principal: Principal, filename: str, content: bytes, now: datetime
) -> dict[str, Any]:
    """Create sensors from XLSX/CSV; any bad row → Invalid listing every row, nothing written.

    Returns the created device ids with their new credentials (shown once).
    """
    if principal.role not in SENSOR_WRITERS:
        raise Forbidden("当前角色无权导入传感器", "your role may not import sensors")
    _columns, rows = registry_io._read(SENSOR_KIND, filename or "", content)
    if not rows:
        raise Invalid([FieldError("file", "文件：没有数据行", "file: no data rows")])
    ftypes = registry_io._field_types(SENSOR_KIND)
    ftypes["install_date"] = "str"
    errors: list[FieldError] = []
    planned: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row in rows:
        errors.extend(row.errors)
        data = {
            k: registry_io._convert(ftypes.get(k, "str"), v)
            for k, v in row.cells.items()
            if k in SensorIn.model_fields and not registry_io._is_blank(v)
        }
        try:
            values = _validate(data, row.number)
            _check_write(session, principal, values)
            _check_references(session, values, row.number)
        except Invalid as exc:
            errors.extend(registry_io._row_errors(exc.errors, row.number))
            continue
        except Forbidden as exc:
            errors.append(FieldError("division_code", exc.zh, exc.en, row.number))
            continue
        if values["device_id"] in seen:
            errors.append(
                FieldError(
                    "device_id",
                    f"设备编号：{values['device_id']} 在文件中重复"
                    f"（第{seen[values['device_id']]}行）",
                    "device ID: appears twice in the file",
                    row.number,
                )
            )
            continue
        seen[values["device_id"]] = row.number
        planned.append(values)
    if errors:
        raise Invalid(errors[: registry_io.MAX_REPORTED_ERRORS])
    created = []
    for values in planned:
        token = new_token()
        sensor = Sensor(
            **values, token_hash=hash_token(token), archived=False, created_at=now, updated_at=now
        )
        session.add(sensor)
        created.append((sensor, token))
    session.flush()
    audit.record_many(
        session,
        principal.username,
        [audit.Change("sensor", s.id, "create", None, to_dict(s)) for s, _ in created],
        now,
    )
    return {
        "ok": True,
        "created": len(created),
        "credentials": [{"device_id": s.device_id, "token": t} for s, t in created],
    }


# ---------------------------------------------------------------------------------------------
# Rules: versioned, validated, edited by analysts
# ---------------------------------------------------------------------------------------------


def save_rules(
    session: Session, principal: Principal, definition: Any, note: str, now: datetime
) -> RuleVersion:
    if principal.role not in RULE_EDITORS:
        raise Forbidden("只有风险管理员可以修改报警规则", "only risk analysts may edit alarm rules")
    errors = rules.validate_rule_set(definition)
    if errors:
        raise Invalid(errors)
    latest = session.scalar(select(func.max(RuleVersion.version))) or 0
    version = RuleVersion(
        version=latest + 1,
        definition=definition,
        author=principal.username,
        note=note[:1000],
        created_at=now,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="update",
        object_type="alarm_rules",
        object_id=version.version,
        before=None,
        after=definition,
        now=now,
    )
    return version


def rule_versions(session: Session) -> list[RuleVersion]:
    return list(session.scalars(select(RuleVersion).order_by(RuleVersion.version.desc()).limit(50)))
