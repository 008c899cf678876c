"""The indicators API and pages on SQLite and PostgreSQL: typed bodies, scope 403/404, 422 in
both languages, versioned corrections by XLSX, drill-down, vital signs, the report."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.indicators.models import Statistic
from safecity.monitoring.models import Alarm
from tests.conftest import NOW, csrf_of, login, web_login
from tests.indicators.helpers import at, hidden_danger, shipped_text

pytestmark = pytest.mark.usefixtures("frozen_clock")
API = "/api/v1/indicators"


def _import(client, who: str = "analyst") -> int:  # type: ignore[no-untyped-def]
    r = client.post(
        f"{API}/sets", json={"toml": shipped_text("yantai")}, headers=login(client, who)
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["created"]) == 13
    return r.json()["set_id"]


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_import_roles_and_scope(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        f"{API}/sets", json={"toml": shipped_text("yantai")}, headers=login(client, "zhifu")
    )
    assert r.status_code == 403
    set_id = _import(client)
    assert client.get(f"{API}/sets", headers=login(client, "enterprise")).status_code == 403
    assert client.get(f"{API}/sets/{set_id}", headers=login(client, "qdadmin")).status_code == 404
    body = client.get(f"{API}/sets/{set_id}", headers=login(client, "zhifu")).json()
    assert body["city"] == "yantai" and body["indicators"][2]["key"] == "fire_deaths_per_100k"
    assert body["indicators"][0]["inputs"] == ["gdp_100m_yuan", "production_safety_deaths"]
    # a Qingdao admin may not import Yantai's set: the set's division is outside their scope
    r = client.post(
        f"{API}/sets", json={"toml": shipped_text("yantai")}, headers=login(client, "qdadmin")
    )
    assert r.status_code == 403


def test_values_by_hand_and_scope(client) -> None:  # type: ignore[no-untyped-def]
    set_id = _import(client)
    admin = login(client, "admin")
    r = client.post(
        f"{API}/statistics",
        json={
            "items": [
                {
                    "division_code": "370602",
                    "year": 2025,
                    "input": "fire_deaths",
                    "value": 1,
                    "source": "2025年统计公报",
                },
                {
                    "division_code": "370602",
                    "year": 2025,
                    "input": "resident_population",
                    "value": "800,000",
                    "source": "2025年统计公报",
                },
            ]
        },
        headers=admin,
    )
    assert r.status_code == 200 and r.json()["created"] == 2
    # 1 / 800,000 × 100,000 = 0.125 < 0.2: on track
    r = client.get(f"{API}/sets/{set_id}/values", params={"year": 2025}, headers=admin)
    cell = next(
        c
        for c in r.json()["cells"]
        if c["key"] == "fire_deaths_per_100k" and c["division"] == "370602"
    )
    assert cell["value"] == 0.125 and cell["status"] == "on_track"
    # the district officer of Laishan sees only Laishan
    r = client.get(
        f"{API}/sets/{set_id}/values", params={"year": 2025}, headers=login(client, "laishan")
    )
    assert {c["division"] for c in r.json()["cells"]} == {"370613"}
    r = client.get(
        f"{API}/sets/{set_id}/values",
        params={"year": 2025, "division": "370602"},
        headers=login(client, "laishan"),
    )
    assert r.status_code == 404


def test_bad_statistics_422_in_both_languages(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        f"{API}/statistics",
        json={
            "items": [
                {
                    "division_code": "370602",
                    "year": 2025,
                    "input": "resident_population",
                    "value": -1,
                    "source": "x",
                }
            ]
        },
        headers=login(client, "admin"),
    )
    assert r.status_code == 422
    body = r.json()
    assert body["detail"][0]["field"] == "value"
    assert "负数" in body["message"] and "negative" in body["message_en"]
    assert session.scalar(select(Statistic.id)) is None


def test_patch_indicator(client) -> None:  # type: ignore[no-untyped-def]
    set_id = _import(client)
    url = f"{API}/sets/{set_id}/indicators/deaths_per_100m_gdp"
    r = client.patch(url, json={"target_change_percent": "5"}, headers=login(client, "analyst"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "target.change_percent"
    r = client.patch(url, json={"binding": "binding"}, headers=login(client, "laishan"))
    assert r.status_code == 403
    r = client.patch(
        url, json={"binding": "binding", "base_value": "0.0123"}, headers=login(client, "analyst")
    )
    assert r.status_code == 200 and r.json()["binding"] == "binding"
    assert r.json()["base_value"] == "0.0123"


def test_xlsx_import_and_correction_history(client) -> None:  # type: ignore[no-untyped-def]
    admin = login(client, "admin")
    first = _xlsx(
        [
            ["区划代码", "年份", "常住人口", "地区生产总值（亿元）", "来源"],
            ["370602", 2024, 900000, 1100.5, "2024年统计年鉴"],
            ["370613", 2024, 400000, 600, "2024年统计年鉴"],
        ]
    )
    r = client.post(f"{API}/statistics/import", files={"file": ("s.xlsx", first)}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 4
    fix = _xlsx([["division_code", "year", "resident_population"], ["370602", 2024, 905000]])
    r = client.post(
        f"{API}/statistics/import",
        files={"file": ("s.xlsx", fix)},
        data={"source": "2024年统计年鉴（修订）"},
        headers=admin,
    )
    assert r.json()["corrected"] == 1 and r.json()["created"] == 0
    hist = client.get(
        f"{API}/statistics/370602/2024/resident_population/history", headers=admin
    ).json()
    assert [(h["version"], h["value"], h["superseded_at"] is None) for h in hist] == [
        (2, "905000", True),
        (1, "900000", False),
    ]
    bad = _xlsx([["division_code", "year", "population"], ["370602", 2024, 1]])
    r = client.post(f"{API}/statistics/import", files={"file": ("s.xlsx", bad)}, headers=admin)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "population"


def test_vitals_by_hand(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    # two open major hidden dangers in Zhifu, one past its deadline; one general in Laishan,
    # overdue too; one closed (not counted)
    a = hidden_danger(session, "370602", at(2026, 10), grade="major")
    a.deadline = NOW - timedelta(days=2)
    hidden_danger(session, "370602", at(2026, 11), grade="major")
    b = hidden_danger(session, "370613", at(2026, 9))
    b.deadline = NOW - timedelta(days=30)
    hidden_danger(session, "370602", at(2026, 8), status="closed", grade="major")
    for level, hours, div in (("red", 2, "370602"), ("orange", 5, "370602"), ("red", 30, "370613")):
        session.add(
            Alarm(
                division_code=div,
                rule="threshold",
                level=level,
                peak_level=level,
                status="active",
                first_ts=0,
                last_ts=0,
                raised_at=NOW - timedelta(hours=hours),
                updated_at=NOW,
            )
        )
    session.commit()
    v = client.get(f"{API}/vitals", headers=login(client, "admin")).json()
    assert v["hidden_dangers"] == {"open": 3, "open_major": 2, "overdue": 2, "overdue_major": 1}
    assert v["alarms"]["last_24h"] == {"red": 1, "orange": 1, "yellow": 0, "blue": 0}
    assert v["alarms"]["open"] == 3
    z = client.get(f"{API}/vitals", headers=login(client, "zhifu")).json()
    assert z["hidden_dangers"]["open"] == 2 and z["alarms"]["open"] == 2
    assert client.get(f"{API}/vitals", headers=login(client, "enterprise")).status_code == 403


def test_drill_down_and_report(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    set_id = _import(client)
    admin = login(client, "admin")
    client.post(
        f"{API}/statistics",
        json={
            "items": [
                {"division_code": "370600", "year": y, "input": n, "value": v, "source": "公报"}
                for y in (2020, 2024, 2025)
                for n, v in (("road_traffic_deaths", 300 - 10 * (y - 2020)), ("vehicles_10k", 250))
            ]
        },
        headers=admin,
    )
    r = client.get(
        f"{API}/sets/{set_id}/values/road_deaths_per_10k_vehicles/370600/2025", headers=admin
    )
    assert r.status_code == 200
    d = r.json()
    # base 300/250 = 1.2; target min(1.0, 1.2 × 0.92 = 1.104) = 1.0; 2025: 250/250 = 1.0 on track
    assert d["cell"]["base_value"] == 1.2 and d["cell"]["target"] == 1.0
    assert d["cell"]["value"] == 1.0 and d["cell"]["status"] == "on_track"
    assert [h["value"] for h in d["history"]["road_traffic_deaths"]] == ["250"]
    r = client.get(f"{API}/sets/{set_id}/report", params={"year": 2025}, headers=admin)
    assert r.status_code == 200
    z = zipfile.ZipFile(io.BytesIO(r.content))
    xml = z.read("word/document.xml").decode()
    assert "2025年度总结评估报告" in xml and "道路交通万车死亡率" in xml
    assert "达到进度" in xml
    r = client.get(
        f"{API}/sets/{set_id}/report", params={"year": 2025, "format": "pdf"}, headers=admin
    )
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"


def test_pages(client) -> None:  # type: ignore[no-untyped-def]
    set_id = _import(client)
    assert web_login(client, "analyst", next="/indicators").status_code == 303
    page = client.get("/indicators")
    assert page.status_code == 200 and "亿元国内生产总值生产安全事故死亡率" in page.text
    assert client.get(f"/indicators/{set_id}/fire_deaths_per_100k").status_code == 200
    wall = client.get("/indicators/wall")
    assert wall.status_code == 200 and "城市运行体征" in wall.text
    stream = client.get("/indicators/wall/stream", params={"once": 1})
    assert stream.text.startswith("retry: 5000\ndata: {")
    stats = client.get("/indicators/statistics")
    token = csrf_of(stats.text)
    r = client.post(
        "/indicators/statistics",
        data={
            "csrf": token,
            "division_code": "370602",
            "year": "2025",
            "input": "fire_deaths",
            "value": "-3",
            "source": "x",
        },
    )
    assert r.status_code == 422 and "不能为负数" in r.text
    assert client.get("/indicators/report").status_code == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"divisions": None}, "divisions"),
        ({"divisions": []}, "divisions"),
        ({"period_start": None}, "period"),
        ({"formula": None}, "formula"),
        ({"direction": None}, "direction"),
    ],
)
def test_patch_null_of_a_required_field_is_a_field_error(client, changes, field) -> None:  # type: ignore[no-untyped-def]
    """The fuzzer sent ``divisions: null`` and got a 500; every required field refuses null."""
    set_id = _import(client)
    url = f"{API}/sets/{set_id}/indicators/deaths_per_100m_gdp"
    before = client.get(f"{API}/sets/{set_id}", headers=login(client, "analyst")).json()
    r = client.patch(url, json=changes, headers=login(client, "analyst"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"].startswith(field), r.json()
    after = client.get(f"{API}/sets/{set_id}", headers=login(client, "analyst")).json()
    assert after == before
