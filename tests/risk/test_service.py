"""Risk point service on SQLite and PostgreSQL: scope, audit, assessment approval, settings,
enterprise level, major hazard units."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import clock, kinds_service
from safecity.core.errors import Conflict, Forbidden, Invalid, NotFound
from safecity.core.kinds_service import ListParams
from safecity.core.models import AuditEntry, User
from safecity.core.security import to_principal
from safecity.registry.models import GridCell
from safecity.risk.major_hazards import service as hazard_service
from safecity.risk.major_hazards.kind import MAJOR_HAZARD
from safecity.risk.models import MajorHazard, RiskPoint
from safecity.risk.points import enterprise
from safecity.risk.points import service as point_service
from safecity.risk.points.kind import RISK_POINT
from tests.factories import NOW


def who(session: Session, username: str):  # type: ignore[no-untyped-def]
    return to_principal(session.scalar(select(User).where(User.username == username)))


def ent_id(city: dict, index: int) -> int:
    return city["enterprises"][index].id


def make_point(
    session: Session, city: dict, username: str = "analyst", index: int = 0, **extra: object
) -> RiskPoint:
    data = {
        "name": "液氨储罐区",
        "owner_kind": "enterprise",
        "enterprise_id": ent_id(city, index),
        "hazard_factors": [{"category": "物的因素", "description": "储罐腐蚀泄漏"}],
        "accident_types": ["中毒和窒息", "容器爆炸", "其他爆炸"],
        "control_measures": [
            {
                "type": "engineering",
                "description": "设置氨气泄漏报警仪",
                "level": "车间级",
                "person": "王海",
            }
        ],
        "review_date": "2027-06-30",
        **extra,
    }
    point = kinds_service.create_object(session, who(session, username), RISK_POINT, data, NOW)
    session.flush()
    return point


def test_create_derives_owner_fields_and_audits(session: Session, city: dict) -> None:
    point = make_point(session, city)
    ent = city["enterprises"][0]
    assert point.division_code == ent.division_code == "370602"
    assert point.industry_code == "26"
    assert (point.lon, point.lat) == (ent.lon, ent.lat)
    assert point.accident_types == ["poisoning", "vessel_explosion", "other_explosion"]
    assert point.hazard_factors == [{"category": "material", "description": "储罐腐蚀泄漏"}]
    assert point.control_measures[0]["level"] == "workshop"
    assert point.review_date == date(2027, 6, 30)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.object_type == "risk_point"))
    assert entry.action == "create" and entry.actor == "analyst"
    assert entry.after["name"] == "液氨储罐区"


def test_bad_input_names_fields(session: Session, city: dict) -> None:
    with pytest.raises(Invalid) as err:
        kinds_service.create_object(
            session,
            who(session, "analyst"),
            RISK_POINT,
            {
                "name": "",
                "owner_kind": "enterprise",
                "enterprise_id": ent_id(city, 0),
                "accident_types": ["飞碟撞击"],
                "control_measures": [{"type": "magic", "description": "x"}],
            },
            NOW,
        )
    fields = {e.field for e in err.value.errors}
    assert {"name", "accident_types", "control_measures.0.type"} <= fields
    assert any("飞碟撞击" in e.zh for e in err.value.errors)
    with pytest.raises(Invalid) as err:
        kinds_service.create_object(
            session,
            who(session, "analyst"),
            RISK_POINT,
            {"name": "x", "owner_kind": "enterprise", "enterprise_id": 99999},
            NOW,
        )
    assert err.value.errors[0].field == "enterprise_id"


def test_scope_rules(session: Session, city: dict) -> None:
    zhifu_point = make_point(session, city, index=0)  # 芝罘区, the enterprise officer's own
    other_zhifu = make_point(session, city, index=1, name="反应釜")
    laishan_point = make_point(session, city, index=3, name="莱山罐区")
    make_point(session, city, index=2, name="危货运输车辆")  # industry 54 (section G)
    session.commit()

    def names(username: str) -> set[str]:
        page = kinds_service.list_objects(session, who(session, username), RISK_POINT, ListParams())
        return {p.name for p in page.items}

    assert names("analyst") == {"液氨储罐区", "反应釜", "莱山罐区", "危货运输车辆"}
    assert names("zhifu") == {"液氨储罐区", "反应釜", "危货运输车辆"}
    assert names("liaison") == {"危货运输车辆"}  # a department liaison sees its own industry
    assert names("laishan") == {"莱山罐区"}
    assert names("enterprise") == {"液氨储罐区"}
    assert names("public") == set()
    assert names("qdadmin") == set()
    with pytest.raises(NotFound):
        point_service.get_point(session, who(session, "laishan"), zhifu_point.id)
    with pytest.raises(NotFound):
        point_service.get_point(session, who(session, "enterprise"), other_zhifu.id)
    with pytest.raises(NotFound):
        point_service.get_point(session, who(session, "public"), zhifu_point.id)
    # writes: enterprise officers only for their own enterprise, never outside scope
    with pytest.raises(Forbidden):
        make_point(session, city, username="enterprise", index=1)
    with pytest.raises(Forbidden):
        make_point(session, city, username="laishan", index=0)
    with pytest.raises(Forbidden):
        make_point(session, city, username="public", index=0)
    with pytest.raises(Forbidden):
        kinds_service.update_object(
            session,
            who(session, "laishan"),
            RISK_POINT,
            laishan_point.id,
            {"enterprise_id": ent_id(city, 0)},
            NOW,
        )
    own = make_point(session, city, username="enterprise", index=0, name="自建风险点")
    updated = kinds_service.update_object(
        session, who(session, "enterprise"), RISK_POINT, own.id, {"name": "自建风险点（改）"}, NOW
    )
    assert updated.name == "自建风险点（改）"
    assert laishan_point.id


def test_filters_sort_and_overdue(session: Session, city: dict) -> None:
    make_point(session, city, index=0, name="甲", review_date="2026-01-01")
    make_point(session, city, index=3, name="乙", review_date="2027-01-01")
    area = kinds_service.create_object(
        session,
        who(session, "analyst"),
        RISK_POINT,
        {"name": "丙 网格风险", "owner_kind": "area", "grid_cell_id": _grid_id(session)},
        NOW,
    )
    session.commit()
    analyst = who(session, "analyst")

    def list_(principal: Any, **params: Any) -> Any:
        return kinds_service.list_objects(session, principal, RISK_POINT, ListParams(**params))

    with clock.frozen(NOW):  # 2026-11-23: the review of 2026-01-01 is overdue
        page = list_(analyst, filters={"overdue": "1"})
    assert [p.name for p in page.items] == ["甲"]
    page = list_(analyst, division="370613")
    assert [p.name for p in page.items] == ["乙"]
    page = list_(analyst, filters={"owner_kind": "area"})
    assert [p.id for p in page.items] == [area.id] and area.division_code == "370602"
    page = list_(analyst, filters={"industry": "C"})
    assert {p.name for p in page.items} == {"甲", "乙"}
    page = list_(analyst, filters={"industry": "G"})
    assert page.total == 0
    page = list_(analyst, sort="name", desc=True, size=2)
    assert page.total == 3 and len(page.items) == 2


def _grid_id(session: Session) -> int:
    return session.scalar(select(GridCell.id).where(GridCell.division_code == "370602"))


def test_archive_twice_is_409(session: Session, city: dict) -> None:
    point = make_point(session, city)
    kinds_service.archive_object(session, who(session, "analyst"), RISK_POINT, point.id, NOW)
    with pytest.raises(Conflict):
        kinds_service.archive_object(session, who(session, "analyst"), RISK_POINT, point.id, NOW)
    kinds_service.archive_object(
        session, who(session, "analyst"), RISK_POINT, point.id, NOW, archived=False
    )
    assert point.archived is False


def test_approval_flow_and_level_from_latest_approved(session: Session, city: dict) -> None:
    point = make_point(session, city, username="zhifu")
    zhifu, analyst = who(session, "zhifu"), who(session, "analyst")
    first = point_service.assess(
        session, zhifu, point.id, {"method": "lec", "L": 6, "E": 6, "C": 15}, NOW
    )
    assert first.status == "draft" and first.score == 540 and first.level == "red"
    assert first.result["factors"]["L"]["zh"] == "相当可能"
    assert point.level is None  # a draft does not grade the point
    with pytest.raises(Forbidden):
        point_service.decide(session, zhifu, first.id, True, NOW)  # only analysts approve
    with pytest.raises(NotFound):  # other city: outside scope, existence not revealed
        point_service.decide(session, who(session, "qdadmin"), first.id, True, NOW)
    point_service.decide(session, analyst, first.id, True, NOW)
    assert (point.level, point.level_assessment_id) == ("red", first.id)
    with pytest.raises(Conflict):
        point_service.decide(session, analyst, first.id, True, NOW)
    with pytest.raises(Conflict):
        point_service.decide(session, analyst, first.id, False, NOW)
    later = NOW + timedelta(days=30)
    second = point_service.assess(
        session, zhifu, point.id, {"method": "matrix", "L": 2, "S": 4}, later
    )
    assert (second.score, second.level) == (8, "blue")
    point_service.decide(session, analyst, second.id, False, later)
    assert point.level == "red"  # rejected: the approved one stays
    third = point_service.assess(
        session, zhifu, point.id, {"method": "matrix", "L": 3, "S": 4}, later + timedelta(days=1)
    )
    point_service.decide(session, analyst, third.id, True, later)
    assert (point.level, point.level_assessment_id) == ("yellow", third.id)
    actions = [
        e.action
        for e in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == "risk_point", AuditEntry.object_id == str(point.id))
            .order_by(AuditEntry.seq)
        )
    ]
    assert actions == ["create", "level", "level"]
    level_entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "level").order_by(AuditEntry.seq)
    ).all()[-1]
    assert level_entry.before["level"] == "red" and level_entry.after["level"] == "yellow"


def test_only_listed_lec_values(session: Session, city: dict) -> None:
    point = make_point(session, city)
    with pytest.raises(Invalid) as err:
        point_service.assess(
            session,
            who(session, "analyst"),
            point.id,
            {"method": "lec", "L": 5, "E": 6, "C": 15},
            NOW,
        )
    assert err.value.errors[0].field == "L" and "10、6、3" in err.value.errors[0].zh
    with pytest.raises(Invalid):
        point_service.assess(
            session, who(session, "analyst"), point.id, {"method": "matrix", "L": 6, "S": 1}, NOW
        )
    with pytest.raises(Invalid):
        point_service.assess(session, who(session, "analyst"), point.id, {"method": "fmea"}, NOW)


def test_settings_validated_and_used(session: Session, city: dict) -> None:
    analyst = who(session, "analyst")
    view = point_service.settings_view(session, analyst)
    assert view["lec_bands"]["is_default"] and view["lec_bands"]["thresholds"] == [70, 160, 320]
    with pytest.raises(Invalid) as err:
        point_service.set_setting(
            session, analyst, "lec_bands", {"thresholds": [160, 70, 320]}, NOW
        )
    assert err.value.errors[0].field == "lec_bands.thresholds"
    with pytest.raises(Invalid):
        point_service.set_setting(
            session,
            analyst,
            "risk_matrix",
            {"thresholds": {"red_min": 9, "orange_min": 15, "yellow_min": 20}},
            NOW,
        )
    with pytest.raises(Forbidden):
        point_service.set_setting(
            session, who(session, "zhifu"), "lec_bands", {"thresholds": [1, 2, 3]}, NOW
        )
    point_service.set_setting(
        session, analyst, "lec_bands", {"thresholds": [50, 150, 300], "closed": "left"}, NOW
    )
    point = make_point(session, city)
    row = point_service.assess(
        session, analyst, point.id, {"method": "lec", "L": 3, "E": 6, "C": 3}, NOW
    )
    assert row.score == 54 and row.level == "yellow"  # blue with the default bands (D ≤ 70)
    assert (
        session.scalar(select(AuditEntry.action).where(AuditEntry.object_type == "risk_setting"))
        == "update"
    )
    point_service.set_setting(session, analyst, "lec_bands", None, NOW)
    assert point_service.settings_view(session, analyst)["lec_bands"]["is_default"]


def test_enterprise_inherent_level(session: Session, city: dict) -> None:
    assert enterprise.inherent_level({}, {}) is None
    assert enterprise.inherent_level({"blue": 3, "yellow": 1}, {}) == "yellow"
    assert enterprise.inherent_level({"blue": 3}, {4: 1}) == "yellow"
    assert enterprise.inherent_level({"yellow": 3}, {3: 1}) == "orange"
    assert enterprise.inherent_level({"orange": 1}, {2: 1}) == "red"
    point = make_point(session, city)
    analyst = who(session, "analyst")
    row = point_service.assess(
        session, analyst, point.id, {"method": "matrix", "L": 3, "S": 5}, NOW
    )
    point_service.decide(session, analyst, row.id, True, NOW)
    result = enterprise.enterprise_level(session, analyst, ent_id(city, 0))
    assert result["level"] == "orange" and result["risk_points_by_level"]["orange"] == 1
    with pytest.raises(NotFound):
        enterprise.enterprise_level(session, who(session, "laishan"), ent_id(city, 0))


UNIT = {
    "name": "液氯储罐区",
    "unit_kind": "storage",
    "substances": [{"name": "液氯", "quantity_t": 10}, {"cas": "7664-41-7", "quantity_t": 5}],
}


def test_major_hazard_saved_with_r_and_level(session: Session, city: dict) -> None:
    analyst = who(session, "analyst")
    hazard = kinds_service.create_object(
        session, analyst, MAJOR_HAZARD, {**UNIT, "enterprise_id": ent_id(city, 0)}, NOW
    )
    # Table 1: 液氯 Q = 5 t, 氨 Q = 10 t → S = 10/5 + 5/10 = 2.5 (major).
    # Table 3: β(氯) = 4, β(氨) = 2; nobody lives near the seeded enterprise → α = 0.5.
    # R = 0.5 × (4 × 2 + 2 × 0.5) = 4.5 → 四级.
    assert hazard.s_value == pytest.approx(2.5) and hazard.is_major
    assert hazard.exposed_population_computed == 0 and hazard.alpha == 0.5
    assert hazard.r_value == pytest.approx(4.5) and hazard.level == 4
    assert [t["name"] for t in hazard.result["terms"]] == ["氯", "氨"]
    # the analyst records 60 people: α = 1.5 for 50–99 → R = 13.5 → 三级
    with pytest.raises(Invalid) as err:
        hazard_service.override_exposure(
            session, analyst, hazard.id, {"exposed_population": 60}, NOW
        )
    assert "理由" in err.value.errors[0].zh
    with pytest.raises(Forbidden):
        hazard_service.override_exposure(
            session,
            who(session, "zhifu"),
            hazard.id,
            {"exposed_population": 60, "reason": "现场核实"},
            NOW,
        )
    hazard_service.override_exposure(
        session,
        analyst,
        hazard.id,
        {"exposed_population": 60, "reason": "现场核实外来务工人员"},
        NOW,
    )
    assert (hazard.exposed_population, hazard.exposed_population_computed) == (60, 0)
    assert hazard.alpha == 1.5 and hazard.r_value == pytest.approx(13.5) and hazard.level == 3
    # editing keeps the override and regrades: 液氯 50 t → S = 10.5, R = 1.5 × (40 + 1) = 61.5
    kinds_service.update_object(
        session,
        analyst,
        MAJOR_HAZARD,
        hazard.id,
        {"substances": [{"name": "液氯", "quantity_t": 50}, {"cas": "7664-41-7", "quantity_t": 5}]},
        NOW,
    )
    assert hazard.level == 2 and hazard.r_value == pytest.approx(61.5)
    assert enterprise.enterprise_level(session, analyst, ent_id(city, 0))["level"] == "red"
    actions = [
        e.action
        for e in session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == "major_hazard")
            .order_by(AuditEntry.seq)
        )
    ]
    assert actions == ["create", "override_exposure", "update"]


def test_major_hazard_bad_rows_are_named(session: Session, city: dict) -> None:
    analyst = who(session, "analyst")
    with pytest.raises(Invalid) as err:
        kinds_service.create_object(
            session,
            analyst,
            MAJOR_HAZARD,
            {
                **UNIT,
                "enterprise_id": ent_id(city, 0),
                "substances": [
                    {"name": "液氯", "quantity_t": 1},
                    {"name": "不存在的物质X", "quantity_t": 2},
                    {"name": "氨", "quantity_t": -3},
                    {"name": "甲醇"},
                ],
            },
            NOW,
        )
    rows = {e.row for e in err.value.errors}
    assert rows == {2, 3, 4}
    assert all(e.field.startswith("substances[") for e in err.value.errors)
    assert session.scalar(select(MajorHazard.id)) is None
    with pytest.raises(Forbidden):
        kinds_service.create_object(
            session,
            who(session, "enterprise"),
            MAJOR_HAZARD,
            {**UNIT, "enterprise_id": ent_id(city, 1)},
            NOW,
        )
