"""The city's own resource targets (resources.settings): a city that asks 2.5 m² of shelter per
resident gets a different shortfall than the 2.0 default, warehouse tier minimums, the
fire-rescue staff share and the coverage radii come from the settings, the page and the API
say what each figure was judged against and where that came from, an explicit query value
still overrides (422 when bad), and a bad setting refuses the load and the server's start with
the field named in Chinese and English. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from safecity.cli import app
from safecity.core.config import get_settings
from safecity.core.db import reset_engine
from safecity.resources import service
from safecity.resources import settings as targets
from safecity.web.app import create_app
from tests.conftest import login, web_login
from tests.factories import NOW
from tests.resources.conftest import who

# Zhifu (370602) has 900,000 residents and Laishan (370613) 400,000 in the seeded city.
ZHIFU_SHELTER_M2 = 2_000_000.0


@pytest.fixture
def fresh(monkeypatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Targets read again after each change of the environment, and reset afterwards."""
    monkeypatch.delenv("SAFECITY_CONFIG", raising=False)
    for name in targets.ResourcesSettings.model_fields:
        monkeypatch.delenv(f"SAFECITY_RESOURCES_{name.upper()}", raising=False)
    targets.loaded.cache_clear()
    yield
    targets.loaded.cache_clear()
    get_settings.cache_clear()


def _shelter(session: Session, name: str, division: str, area: float, lon: float, lat: float):  # type: ignore[no-untyped-def]
    return service.create_resource(
        session,
        who(session, "admin"),
        "shelters",
        {"name": name, "lon": lon, "lat": lat, "division_code": division}
        | {"effective_area_m2": area, "shelter_class": "fixed_long"},
        NOW,
    )


def _row(gaps: dict, code: str) -> dict:
    return next(r for r in gaps["divisions"] if r["division_code"] == code)


def test_a_city_asking_2_5_square_metres_gets_its_own_shortfall(
    session: Session, rs_city, fresh, monkeypatch
) -> None:
    _shelter(session, "世纪广场避难场所", "370602", ZHIFU_SHELTER_M2, 121.38, 37.50)
    session.commit()
    default = service.gaps(session, who(session, "commander"), today=NOW.date())
    # 900,000 × 2.0 = 1,800,000 m² needed, 2,000,000 held: no shortfall;
    # Laishan holds none: 400,000 × 2.0 = 800,000 m² short
    assert _row(default, "370602")["shelter_area_target_m2"] == 1_800_000.0
    assert _row(default, "370602")["shelter_area_short_m2"] == 0.0
    assert _row(default, "370613")["shelter_area_short_m2"] == 800_000.0
    assert default["targets"]["shelter_area_per_resident_m2"] == {
        "value": 2.0,
        "source": "default",
        "where": "",
    }

    monkeypatch.setenv("SAFECITY_RESOURCES_SHELTER_AREA_PER_RESIDENT_M2", "2.5")
    targets.reload()
    city = service.gaps(session, who(session, "commander"), today=NOW.date())
    # 900,000 × 2.5 = 2,250,000 m² needed − 2,000,000 held = 250,000 m² short;
    # Laishan 400,000 × 2.5 = 1,000,000 m² short
    assert _row(city, "370602")["shelter_area_target_m2"] == 2_250_000.0
    assert _row(city, "370602")["shelter_area_short_m2"] == 250_000.0
    assert _row(city, "370613")["shelter_area_short_m2"] == 1_000_000.0
    assert city["area_per_resident_m2"] == 2.5
    assert city["targets"]["shelter_area_per_resident_m2"] == {
        "value": 2.5,
        "source": "env",
        "where": "SAFECITY_RESOURCES_SHELTER_AREA_PER_RESIDENT_M2",
    }
    # an explicit value for this one answer still wins, and says so
    asked = service.gaps(
        session, who(session, "commander"), area_per_resident_m2=2.0, today=NOW.date()
    )
    assert _row(asked, "370602")["shelter_area_short_m2"] == 0.0
    assert asked["targets"]["shelter_area_per_resident_m2"]["source"] == "query"


def test_qingdao_and_liaocheng_plans_ask_2_5_unless_the_city_sets_otherwise(
    session: Session, rs_city, fresh, monkeypatch, tmp_path
) -> None:
    _shelter(session, "世纪广场避难场所", "370602", ZHIFU_SHELTER_M2, 121.38, 37.50)
    session.commit()
    monkeypatch.setenv("SAFECITY_CITY_CODE", "370200")  # an installation for Qingdao
    get_settings.cache_clear()
    t = targets.reload().targets["shelter_area_per_resident_m2"]
    assert (t.value, t.source) == (2.5, "plan") and "Qingdao" in t.where
    gaps = service.gaps(session, who(session, "commander"), today=NOW.date())
    assert _row(gaps, "370602")["shelter_area_short_m2"] == 250_000.0
    # the city's settings file wins over the built-in plan
    conf = tmp_path / "safecity.toml"
    conf.write_text("[resources]\nshelter_area_per_resident_m2 = 2.2\n", encoding="utf-8")
    monkeypatch.setenv("SAFECITY_CONFIG", str(conf))
    t = targets.reload().targets["shelter_area_per_resident_m2"]
    assert (t.value, t.source) == (2.2, "file") and str(conf) in t.where
    gaps = service.gaps(session, who(session, "commander"), today=NOW.date())
    # 900,000 × 2.2 = 1,980,000 m² needed, 2,000,000 held: none short; Laishan 880,000
    assert _row(gaps, "370602")["shelter_area_short_m2"] == 0.0
    assert _row(gaps, "370613")["shelter_area_short_m2"] == 880_000.0


def test_tier_minimums_staff_share_and_capacity_area_from_the_settings(
    session: Session, rs_city, fresh, monkeypatch, tmp_path
) -> None:
    conf = tmp_path / "safecity.toml"
    conf.write_text(
        "[resources]\n"
        "warehouse_city_min_m2 = 8000\n"
        "warehouse_district_min_m2 = 3000\n"
        "warehouse_town_min_m2 = 250\n"
        "fire_staff_per_population_pct = 0.05\n"
        "shelter_area_per_person_m2 = 2.0\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SAFECITY_CONFIG", str(conf))
    targets.reload()
    admin = who(session, "admin")
    for name, tier, area in (("市级库", "city", 6000), ("芝罘区库", "district", 2400)):
        service.create_resource(
            session,
            admin,
            "warehouses",
            {"name": name, "lon": 121.38, "lat": 37.50, "division_code": "370602"}
            | {"tier": tier, "floor_area_m2": area},
            NOW,
        )
    service.create_resource(
        session,
        admin,
        "warehouses",
        {"name": "某镇储备点", "lon": 121.38, "lat": 37.50, "division_code": "370602"}
        | {"tier": "town", "floor_area_m2": 200},
        NOW,
    )
    shelter = _shelter(session, "小广场", "370602", 1001.0, 121.38, 37.50)
    session.commit()
    # capacity derived from the area: 1001 m² ÷ 2.0 m² per person = 500 people (1.5 → 667)
    assert shelter.capacity == 500
    gaps = service.gaps(session, who(session, "commander"), today=NOW.date())
    assert gaps["tier_minimum_m2"] == {
        "city": 8000.0,
        "district": 3000.0,
        "town": 250.0,
        "village": 0.0,
    }
    assert gaps["city_warehouse_short_m2"] == 2000.0  # 8000 − 6000
    zhifu = _row(gaps, "370602")
    assert zhifu["district_warehouse_short_m2"] == 600.0  # 3000 − 2400
    assert zhifu["town_warehouse_short_m2"] == 50.0  # no towns registered: 250 − 200 per store
    assert zhifu["fire_staff_target"] == 450  # 900,000 × 0.05 %
    assert _row(gaps, "370613")["fire_staff_target"] == 200  # 400,000 × 0.05 %
    assert gaps["targets"]["warehouse_town_min_m2"]["source"] == "file"


def test_coverage_radius_is_the_citys_setting(
    session: Session, rs_city, fresh, monkeypatch
) -> None:
    # one aviation base at Zhifu's grid cell: Laishan's cell is about 12.7 km away
    service.create_resource(
        session,
        who(session, "admin"),
        "rescue-teams",
        {"name": "航空救援基地", "lon": 121.365, "lat": 37.465, "division_code": "370602"}
        | {"team_type": "aviation"},
        NOW,
    )
    session.commit()
    found = service.coverage(session, who(session, "commander"), "aviation")
    assert found["covered_share"] == 1.0 and found["limit_m"] == 50_000.0
    assert found["target"] == {"name": "aviation_km", "value": 50.0, "source": "default"} | {
        "where": ""
    }
    monkeypatch.setenv("SAFECITY_RESOURCES_AVIATION_KM", "10")
    targets.reload()
    found = service.coverage(session, who(session, "commander"), "aviation")
    assert found["limit_m"] == 10_000.0
    assert [u["division"] for u in found["uncovered"]] == ["370613"]
    assert found["covered_share"] == 0.6  # 3,000 of 5,000 people
    assert found["target"]["source"] == "env"


@pytest.mark.parametrize(
    ("env", "value", "zh", "en"),
    [
        ("SHELTER_AREA_PER_RESIDENT_M2", "0", "人均避难场所面积：应大于0", "must be > 0"),
        ("SHELTER_AREA_PER_PERSON_M2", "abc", "避难人员人均使用面积：应为数字", "must be a number"),
        ("RELOCATION_PEOPLE", "-5", "紧急转移安置人数：应不小于0", "must be ≥ 0"),
        ("FIRE_RESCUE_MINUTES", "inf", "消防救援到场时间", "fire-rescue arrival time"),
        ("RELOCATION_KIT", '{"1010101": 0}', "每单位安置人数应在 0–1000 之间", "people per unit"),
        ("RELOCATION_KIT", '{"1010101": 4', "转移安置物资标准：不是有效的 JSON", "not valid JSON"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_field(
    fresh, monkeypatch, env: str, value: str, zh: str, en: str
) -> None:
    monkeypatch.setenv(f"SAFECITY_RESOURCES_{env}", value)
    with pytest.raises(targets.ConfigError) as exc:
        targets.reload()
    assert zh in str(exc.value) and en in str(exc.value)
    assert exc.value.errors[0][0] == env.lower()


def test_a_misspelt_name_in_the_file_is_refused(fresh, monkeypatch, tmp_path) -> None:
    conf = tmp_path / "safecity.toml"
    conf.write_text("[resources]\nshelter_area_per_residnet_m2 = 2.5\n", encoding="utf-8")
    monkeypatch.setenv("SAFECITY_CONFIG", str(conf))
    with pytest.raises(targets.ConfigError) as exc:
        targets.reload()
    assert "shelter_area_per_residnet_m2" in str(exc.value)
    assert "是不允许的字段" in str(exc.value) and "is not an allowed field" in str(exc.value)


def test_the_server_refuses_to_start_with_a_bad_target(
    database_url, engine, city, fresh, monkeypatch
) -> None:
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    monkeypatch.setenv("SAFECITY_RESOURCES_AVIATION_KM", "-50")
    reset_engine()
    try:
        with pytest.raises(targets.ConfigError) as exc, TestClient(create_app()):
            pass
        assert "航空救援覆盖半径：应大于0" in str(exc.value)
        assert "aviation rescue radius: must be > 0" in str(exc.value)
    finally:
        reset_engine()


def test_api_and_page_say_what_they_judged_against(
    client, session: Session, rs_city, fresh, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _shelter(session, "世纪广场避难场所", "370602", ZHIFU_SHELTER_M2, 121.38, 37.50)
    session.commit()
    monkeypatch.setenv("SAFECITY_RESOURCES_SHELTER_AREA_PER_RESIDENT_M2", "2.5")
    monkeypatch.setenv("SAFECITY_RESOURCES_RELOCATION_PEOPLE", "80000")
    targets.reload()
    headers = login(client, "commander")
    body = client.get("/api/v1/resources/gaps", headers=headers).json()
    assert _row(body, "370602")["shelter_area_short_m2"] == 250_000.0
    assert body["relocation_people_target"] == 80_000
    assert body["targets"]["relocation_people"]["source"] == "env"
    asked = client.get(
        "/api/v1/resources/gaps?area_per_resident_m2=2&relocation_people=1000", headers=headers
    ).json()
    assert _row(asked, "370602")["shelter_area_short_m2"] == 0.0
    assert asked["relocation_people_target"] == 1000
    assert asked["targets"]["shelter_area_per_resident_m2"]["source"] == "query"
    for bad, field in (
        ("area_per_resident_m2=0", "area_per_resident_m2"),
        ("area_per_resident_m2=abc", "area_per_resident_m2"),
        ("relocation_people=-1", "relocation_people"),
    ):
        r = client.get(f"/api/v1/resources/gaps?{bad}", headers=headers)
        assert r.status_code == 422, bad
        assert [e["field"] for e in r.json()["detail"]] == [field]
        assert r.json()["detail"][0]["message"] and r.json()["detail"][0]["message_en"]

    assert web_login(client, "commander", next="/resources/coverage").status_code in (302, 303)
    page = client.get("/resources/coverage").text
    assert 'data-target="shelter_area_per_resident_m2" data-source="env"' in page
    assert "2.5 m²" in page and "环境变量 SAFECITY_RESOURCES_SHELTER_AREA_PER_RESIDENT_M2" in page
    assert 'data-target="fire_rescue_minutes" data-source="default"' in page
    assert "消防 5 分钟到场" in page
    monkeypatch.setenv("SAFECITY_RESOURCES_FIRE_RESCUE_MINUTES", "8")
    targets.reload()
    page = client.get("/resources/coverage").text
    assert "消防 8 分钟到场" in page and "5 分钟" not in page


def test_the_targets_command_shows_them_and_names_a_bad_one(fresh, monkeypatch) -> None:
    monkeypatch.setenv("SAFECITY_RESOURCES_FOREST_FIRE_KM", "3")
    r = CliRunner().invoke(app, ["resources", "targets"])
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert shown["forest_fire_km"] == {
        "value": 3.0,
        "source": "env",
        "where": "SAFECITY_RESOURCES_FOREST_FIRE_KM",
    }
    assert shown["relocation_people"] == {"value": 60_000, "source": "default", "where": ""}
    monkeypatch.setenv("SAFECITY_RESOURCES_FOREST_FIRE_KM", "0")
    r = CliRunner().invoke(app, ["resources", "targets"])
    assert r.exit_code == 1
    assert "forest_fire_km: 森林消防队伍到场距离：应大于0" in r.stderr
