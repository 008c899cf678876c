"""Objects of every capability spread over the test city (tests/factories.seed_city), so a
scope test can see whether anything outside a role's scope comes back.

Each enterprise of seed_city (districts 370602 / 370613 / Qingdao's 370202, industries C, G, F)
gets a risk point, a major hazard installation, a hidden danger, an inspection task, a sensor
with an open alarm and a risk signal; each district also gets a grid-owned risk point, a
public-area hidden danger, a sensor of no enterprise and a warning.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.models import User
from safecity.hazards.models import (
    Checklist,
    ChecklistItem,
    HiddenDanger,
    InspectionPlan,
    InspectionTask,
)
from safecity.monitoring.models import Alarm, Sensor
from safecity.registry.models import Enterprise, GridCell
from safecity.risk.models import MajorHazard, RiskPoint, RiskSignal
from safecity.warnings.models import Warning
from tests.factories import NOW

T0_MS = 1_795_424_400_000  # NOW in epoch milliseconds

# Roles the walker logs in as, beyond seed_city's users.
EXTRA_USERS = {
    "duty": ("duty_officer", "370600", None, None),
    "inspector": ("inspector", "370600", None, None),
    "grid": ("grid_member", "370602", None, None),
    "liaison26": ("department_liaison", "370600", None, "26"),
}


def seed_everything(session: Session, password_hash: str) -> None:
    for name, (role, division, ent, industry) in EXTRA_USERS.items():
        session.add(
            User(
                username=name,
                display_name=name,
                password_hash=password_hash,
                role=role,
                division_code=division,
                enterprise_id=ent,
                industry=industry,
                created_at=NOW,
            )
        )
    cells = {c.division_code: c for c in session.scalars(select(GridCell))}
    checklist = Checklist(name="通用排查表", division_code="370600", created_at=NOW)
    session.add(checklist)
    session.flush()
    session.add(
        ChecklistItem(checklist_id=checklist.id, seq=1, text="消防通道畅通", category="fire")
    )
    plan = InspectionPlan(
        name="企业月度自查",
        checklist_id=checklist.id,
        division_code="370600",
        frequency="monthly",
        assignee_kind="enterprise",
        start_date=date(2026, 1, 1),
        active=True,
        created_at=NOW,
    )
    session.add(plan)
    session.flush()
    for e in session.scalars(select(Enterprise).order_by(Enterprise.id)):
        _enterprise_objects(session, e, plan, cells.get(e.division_code))
    for division in ("370602", "370613", "370202"):
        _area_objects(session, division, cells.get(division))
    session.commit()


def _enterprise_objects(
    session: Session, e: Enterprise, plan: InspectionPlan, cell: GridCell | None
) -> None:
    tag = f"E{e.id}"
    session.add_all(
        [
            RiskPoint(
                name=f"{tag}储罐区",
                owner_kind="enterprise",
                enterprise_id=e.id,
                industry_code=e.industry_code,
                division_code=e.division_code,
                level="orange",
                lon=e.lon,
                lat=e.lat,
                archived=False,
                created_at=NOW,
                updated_at=NOW,
            ),
            MajorHazard(
                enterprise_id=e.id,
                name=f"{tag}液氨罐区",
                unit_kind="storage",
                substances=[],
                division_code=e.division_code,
                lon=e.lon,
                lat=e.lat,
                s_value=12.0,
                is_major=True,
                r_value=30.0,
                level=3,
                alpha=1.0,
                exposed_population=10,
                exposed_population_computed=10,
                result={},
                assessed_at=NOW,
                archived=False,
            ),
            HiddenDanger(
                title=f"{tag}消防通道堵塞",
                source="self_inspection",
                status="reported",
                division_code=e.division_code,
                enterprise_id=e.id,
                industry_section=e.industry_section,
                industry_code=e.industry_code,
                reported_at=NOW,
                month="2026-11",
                updated_at=NOW,
            ),
            InspectionTask(
                plan_id=plan.id,
                checklist_id=plan.checklist_id,
                enterprise_id=e.id,
                division_code=e.division_code,
                assignee_kind="enterprise",
                period="2026-11",
                due_date=date(2026, 11, 30),
                status="open",
            ),
            RiskSignal(
                source="alarm",
                source_ref=f"sig-{tag}",
                division_code=e.division_code,
                enterprise_id=e.id,
                grid_cell_id=cell.id if cell else None,
                severity="orange",
                created_at=NOW,
                lon=e.lon,
                lat=e.lat,
                active=True,
            ),
        ]
    )
    _sensor_with_alarm(session, tag, e.division_code, e.id, cell)


def _area_objects(session: Session, division: str, cell: GridCell | None) -> None:
    tag = f"A{division}"
    session.add_all(
        [
            RiskPoint(
                name=f"{tag}人员密集场所",
                owner_kind="area",
                division_code=division,
                grid_cell_id=cell.id if cell else None,
                level="yellow",
                lon=121.4,
                lat=37.5,
                archived=False,
                created_at=NOW,
                updated_at=NOW,
            ),
            HiddenDanger(
                title=f"{tag}井盖缺失",
                source="grid_patrol",
                status="reported",
                division_code=division,
                reported_at=NOW,
                month="2026-11",
                updated_at=NOW,
            ),
            Warning(
                event_type="rainstorm",
                level="blue",
                headline=f"{tag}暴雨蓝色预警",
                division_code=division,
                kind="local",
                status="draft",
                created_at=NOW,
                updated_at=NOW,
            ),
        ]
    )
    _sensor_with_alarm(session, tag, division, None, cell)


def _sensor_with_alarm(
    session: Session, tag: str, division: str, enterprise_id: int | None, cell: GridCell | None
) -> None:
    sensor = Sensor(
        device_id=f"DEV-{tag}",
        name=f"{tag}燃气探头",
        sensor_type="gas",
        division_code=division,
        enterprise_id=enterprise_id,
        grid_cell_id=cell.id if cell else None,
        lon=121.4,
        lat=37.5,
        status="active",
        archived=False,
    )
    session.add(sensor)
    session.flush()
    session.add(
        Alarm(
            division_code=division,
            sensor_id=sensor.id,
            enterprise_id=enterprise_id,
            rule="threshold",
            level="orange",
            peak_level="orange",
            first_ts=T0_MS,
            last_ts=T0_MS,
            raised_at=NOW - timedelta(minutes=5),
            updated_at=NOW,
            status="active",
            open_key=f"{sensor.id}:threshold",
            lon=121.4,
            lat=37.5,
            message=f"{tag}浓度超标",
        )
    )
