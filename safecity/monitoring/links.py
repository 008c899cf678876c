"""Alarm → hidden danger (隐患): an alarm opens a hidden danger through the hazards service.

The hidden danger is reported the way hazards reports every hidden danger (scope, audit,
timeline, assessors notified), with source "monitoring_alarm" and its place, enterprise and
text taken from the alarm unless the caller gives them; the alarm keeps its id and, if it was
still open, moves to "handling".
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.apidoc import json_body
from safecity.core.deps import db, now, principal
from safecity.core.errors import Forbidden, Invalid, invalid
from safecity.core.scope import Principal
from safecity.core.validation import translate
from safecity.hazards import service as hazards
from safecity.hazards import workflow as wf
from safecity.hazards.schemas import LABELS
from safecity.monitoring import alarms as alarm_service
from safecity.monitoring.models import Alarm, Sensor
from safecity.monitoring.schemas import AlarmHiddenDangerOut

router = APIRouter(prefix="/monitoring", tags=["monitoring"])  # under api.router's /api/v1
DB = Annotated[Session, Depends(db, scope="function")]
Who = Annotated[Principal, Depends(principal)]
Now = Annotated[datetime, Depends(now)]
SOURCE = "monitoring_alarm"
CATEGORY_OF = {
    "gas": "gas",
    "pipe_pressure": "gas",
    "smoke": "fire",
    "temperature": "fire",
    "hydrant_pressure": "fire",
    "residual_current": "electrical",
    "bridge_strain": "structure",
    "bridge_deflection": "structure",
    "elevator": "equipment",
    "water_pressure": "equipment",
    "vehicle": "traffic",
}
_LABELS = {**LABELS, "grade": ("隐患等级", "grade")}


class OpenIn(BaseModel):
    """What the caller may set; everything else comes from the alarm."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=2, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    grade: str | None = None
    category: str | None = None
    enterprise_id: int | None = None
    address: str | None = Field(default=None, max_length=300)

    @field_validator("grade")
    @classmethod
    def _grade(cls, v: str | None) -> str | None:
        if v and v not in wf.GRADES:
            raise ValueError("取值应为 general（一般）或 major（重大）|must be general or major")
        return v or None


def parse(data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid("body", "请求体：应为对象", "body: must be an object")
    try:
        return OpenIn.model_validate(data).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise Invalid(translate(exc.errors(), _LABELS)) from None


def report_data(session: Session, alarm: Alarm, given: dict[str, Any]) -> dict[str, Any]:
    """The hazards report for this alarm: the caller's fields over the alarm's."""
    sensor_type = (
        session.scalar(select(Sensor.sensor_type).where(Sensor.id == alarm.sensor_id))
        if alarm.sensor_id is not None
        else ("gas" if alarm.rule == "gas_leak" else None)
    )
    value = "" if alarm.value is None else f"，读数 {alarm.value:g}"
    data: dict[str, Any] = {
        "title": (alarm.message or f"监测报警 #{alarm.id}")[:200],
        "description": f"由监测报警 #{alarm.id} 转入：{alarm.message}{value}"[:4000],
        "category": CATEGORY_OF.get(sensor_type or "", "other"),
        "source": SOURCE,
        "enterprise_id": alarm.enterprise_id,
        "grid_cell_id": alarm.grid_cell_id,
        "division_code": alarm.division_code,
        "lon": alarm.lon,
        "lat": alarm.lat,
    }
    if "grade" in given:
        data["suggested_grade"] = given["grade"]
    data.update({k: v for k, v in given.items() if k != "grade"})
    return data


def open_hidden_danger(
    session: Session, who: Principal, alarm_id: int, body: Any, now: datetime
) -> tuple[Alarm, Any]:
    """Create the hidden danger (through the hazards service) and link it; a refusal
    (404/403/422/409) writes nothing."""
    alarm_service.get_alarm(session, who, alarm_id)  # 404 outside the caller's scope
    if who.role not in alarm_service.HANDLERS or who.role not in wf.REPORTERS:
        raise Forbidden("当前角色无权将报警转为隐患", "your role may not open hidden dangers")
    given = parse(body if body is not None else {})
    alarm = session.get(Alarm, alarm_id, with_for_update=True, populate_existing=True)
    assert alarm is not None
    alarm_service.check_linkable(alarm)
    hd = hazards.report(session, who, report_data(session, alarm, given), [], now)
    alarm_service.link_hidden_danger(session, who, alarm, hd.id, now)
    return alarm, hd


def alarm_for_hidden_danger(session: Session, hidden_danger_id: int) -> int | None:
    """The alarm that opened this hidden danger, if any (for the hidden-danger page)."""
    return session.scalar(
        select(Alarm.id).where(Alarm.hidden_danger_id == hidden_danger_id).limit(1)
    )


@router.post(
    "/alarms/{alarm_id}/hidden-danger",
    status_code=201,
    summary="报警转为隐患 / open a hidden danger from an alarm",
    openapi_extra=json_body(OpenIn, required=False),
)
def create(
    alarm_id: int, session: DB, who: Who, at: Now, body: Annotated[Any, Body()] = None
) -> AlarmHiddenDangerOut:
    alarm, hd = open_hidden_danger(session, who, alarm_id, body, at)
    out = {
        "alarm_id": alarm.id,
        "hidden_danger_id": hd.id,
        "alarm": alarm_service.to_dict(alarm),
        "hidden_danger": hazards.to_dict(hd, at),
    }
    session.commit()
    return out
