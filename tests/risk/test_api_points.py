"""Risk REST API and pages through the ASGI client on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from safecity.core.models import AuditEntry
from safecity.risk.models import MajorHazard, RiskPoint
from tests.conftest import PASSWORD, login

POINT = {
    "name": "氯气汽化间",
    "owner_kind": "enterprise",
    "hazard_factors": [{"category": "environment", "description": "通风不良"}],
    "accident_types": ["poisoning"],
    "control_measures": [
        {"type": "ppe", "description": "佩戴正压式空气呼吸器", "level": "post", "person": "李强"}
    ],
    "review_date": "2026-10-01",
}


def _count(engine: Any, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def test_point_crud_scope_and_audit(client: Any, city: dict, engine: Any) -> None:
    own = city["own_enterprise_id"]
    analyst, laishan, officer, public = (
        login(client, u) for u in ("analyst", "laishan", "enterprise", "public")
    )
    resp = client.post("/api/v1/risk/points", json={**POINT, "enterprise_id": own}, headers=officer)
    assert resp.status_code == 201, resp.text
    point = resp.json()
    assert point["division_code"] == "370602" and point["level"] is None
    pid = point["id"]
    assert client.get(f"/api/v1/risk/points/{pid}", headers=laishan).status_code == 404
    assert client.get(f"/api/v1/risk/points/{pid}", headers=public).status_code == 404
    assert client.get("/api/v1/risk/points", headers=public).json()["total"] == 0
    resp = client.patch(f"/api/v1/risk/points/{pid}", json={"name": "x"}, headers=laishan)
    assert resp.status_code == 404  # outside scope: 404 for reads and writes alike
    assert client.post(f"/api/v1/risk/points/{pid}/archive", headers=laishan).status_code == 404
    assert (
        client.post(
            f"/api/v1/risk/points/{pid}/assessments",
            headers=laishan,
            json={"method": "matrix", "L": 1, "S": 1},
        ).status_code
        == 404
    )
    assert (
        client.patch("/api/v1/risk/points/999999", json={"name": "x"}, headers=laishan).status_code
        == 404
    )
    other = city["enterprises"][1].id
    resp = client.post(
        "/api/v1/risk/points", json={**POINT, "enterprise_id": other}, headers=officer
    )
    assert resp.status_code == 403
    resp = client.post(
        "/api/v1/risk/points",
        json={**POINT, "enterprise_id": own, "accident_types": ["雷击"]},
        headers=officer,
    )
    assert resp.status_code == 422
    body = resp.json()
    assert body["detail"][0]["field"] == "accident_types" and "雷击" in body["detail"][0]["message"]
    assert body["detail"][0]["message_en"]
    resp = client.get("/api/v1/risk/points?overdue=1&level=none&sort=-name", headers=analyst)
    assert [p["id"] for p in resp.json()["items"]] == [pid]
    resp = client.get(f"/api/v1/risk/points?enterprise_id={own}", headers=analyst)
    assert resp.json()["enterprise_level"]["level"] is None
    # the typed page keeps the answer as it was: no enterprise_level unless filtered by one
    page = client.get("/api/v1/risk/points", headers=analyst).json()
    assert "enterprise_level" not in page and page["items"][0]["hazard_factors"] == [
        {"category": "environment", "description": "通风不良"}
    ]
    assert client.post(f"/api/v1/risk/points/{pid}/archive", headers=officer).status_code == 200
    assert client.post(f"/api/v1/risk/points/{pid}/archive", headers=officer).status_code == 409
    assert client.get("/api/v1/risk/points", headers=analyst).json()["total"] == 0
    assert _count(engine, AuditEntry) == 2


def test_assessment_approval_over_http(client: Any, city: dict) -> None:
    own = city["own_enterprise_id"]
    zhifu, analyst = login(client, "zhifu"), login(client, "analyst")
    pid = client.post(
        "/api/v1/risk/points", json={**POINT, "enterprise_id": own}, headers=zhifu
    ).json()["id"]
    resp = client.post(
        f"/api/v1/risk/points/{pid}/assessments",
        json={"method": "lec", "L": 3, "E": 6, "C": 7},
        headers=zhifu,
    )
    assert resp.status_code == 201, resp.text
    draft = resp.json()
    # D = 3 × 6 × 7 = 126 → 70 < D ≤ 160 → 一般风险 (yellow); classic band 显著危险
    assert draft["score"] == 126 and draft["level"] == "yellow" and draft["status"] == "draft"
    assert draft["result"]["classic_band"]["zh"] == "显著危险"
    resp = client.post(
        f"/api/v1/risk/points/{pid}/assessments",
        json={"method": "lec", "L": 4, "E": 6, "C": 7},
        headers=zhifu,
    )
    assert resp.status_code == 422 and resp.json()["detail"][0]["field"] == "L"
    aid = draft["id"]
    assert client.post(f"/api/v1/risk/assessments/{aid}/approve", headers=zhifu).status_code == 403
    assert (
        client.post(f"/api/v1/risk/assessments/{aid}/approve", headers=analyst).status_code == 200
    )
    assert (
        client.post(f"/api/v1/risk/assessments/{aid}/approve", headers=analyst).status_code == 409
    )
    detail = client.get(f"/api/v1/risk/points/{pid}", headers=zhifu).json()
    assert detail["level"] == "yellow" and detail["assessments"][0]["status"] == "approved"
    level = client.get(f"/api/v1/risk/enterprises/{own}/level", headers=zhifu).json()
    assert level["level"] == "yellow" and "最严重" in level["rule"]
    assert (
        client.get(
            f"/api/v1/risk/enterprises/{own}/level", headers=login(client, "laishan")
        ).status_code
        == 404
    )


def test_settings_api(client: Any, city: dict) -> None:
    analyst = login(client, "analyst")
    view = client.get("/api/v1/risk/settings", headers=analyst).json()
    assert view["city"] == "370600" and view["risk_matrix"]["is_default"]
    resp = client.put(
        "/api/v1/risk/settings/risk_matrix",
        headers=analyst,
        json={"levels": [["blue"] * 5] * 4 + [["red", "blue", "blue", "blue", "blue"]]},
    )
    assert resp.status_code == 422  # not monotone
    resp = client.put(
        "/api/v1/risk/settings/risk_matrix",
        headers=analyst,
        json={"thresholds": {"red_min": 16, "orange_min": 10, "yellow_min": 4}},
    )
    assert resp.status_code == 200 and not resp.json()["risk_matrix"]["is_default"]
    assert (
        client.put(
            "/api/v1/risk/settings/risk_matrix",
            headers=login(client, "zhifu"),
            json={"thresholds": {"red_min": 20}},
        ).status_code
        == 403
    )
    resp = client.delete("/api/v1/risk/settings/risk_matrix", headers=analyst)
    assert resp.status_code == 200 and resp.json()["risk_matrix"]["is_default"]
    assert client.put("/api/v1/risk/settings/other", headers=analyst, json={}).status_code == 404


UNITS = {
    "units": [
        {
            "name": "罐区",
            "kind": "storage",
            "substances": [{"name": "液氯", "quantity_t": 5}, {"name": "甲醇", "quantity_t": 250}],
        }
    ],
    "exposed_population": 30,
}


def test_identify_endpoint_matches_the_cli(client: Any, city: dict, tmp_path: Path) -> None:
    resp = client.post("/api/v1/risk/hazmat/identify", json=UNITS, headers=login(client, "analyst"))
    assert resp.status_code == 200
    api = resp.json()
    # 液氯 5/5 + 甲醇 250/500 = 1.5; R = α(30 people: 1.2) × (4 × 1 + β(甲醇) × 0.5)
    unit = api["units"][0]
    assert unit["S"] == 1.5 and unit["is_major"]
    file = tmp_path / "units.json"
    file.write_text(json.dumps(UNITS, ensure_ascii=False), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "safecity.cli", "calc", "hazmat", str(file)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == api
    bad = {
        "units": [
            {
                "name": "罐区",
                "kind": "storage",
                "substances": [
                    {"name": "液氯", "quantity_t": 5},
                    {"name": "月球土壤", "quantity_t": 1},
                ],
            }
        ],
        "exposed_population": 30,
    }
    resp = client.post("/api/v1/risk/hazmat/identify", json=bad, headers=login(client, "analyst"))
    assert resp.status_code == 422
    detail = resp.json()["detail"][0]
    assert detail["field"] == "units[0].substances[1].name" and detail["row"] == 2
    assert "月球土壤" in detail["message"]


def test_major_hazard_api(client: Any, city: dict, engine: Any) -> None:
    analyst = login(client, "analyst")
    own = city["own_enterprise_id"]
    resp = client.post(
        "/api/v1/risk/major-hazards",
        headers=analyst,
        json={
            "enterprise_id": own,
            "name": "液氨罐区",
            "unit_kind": "storage",
            "substances": [{"name": "液氨", "quantity_t": 20}, {"name": "氨", "quantity_t": -1}],
        },
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["row"] == 2 and _count(engine, MajorHazard) == 0
    resp = client.post(
        "/api/v1/risk/major-hazards",
        headers=analyst,
        json={
            "enterprise_id": own,
            "name": "液氨罐区",
            "unit_kind": "storage",
            "substances": [{"name": "液氨", "quantity_t": 20}],
        },
    )
    assert resp.status_code == 201, resp.text
    hz = resp.json()
    # 液氨 Q = 10 t: S = 2; β(氨) = 2; no one within 500 m → α = 0.5; R = 0.5 × 4 = 2 → 四级
    assert (hz["S"], hz["R"], hz["level"], hz["alpha"]) == (2.0, 2.0, 4, 0.5)
    resp = client.post(
        f"/api/v1/risk/major-hazards/{hz['id']}/exposure",
        headers=analyst,
        json={"exposed_population": 150, "reason": "含临时施工人员"},
    )
    assert resp.json()["R"] == 8.0 and resp.json()["exposed_population_computed"] == 0
    assert (
        client.get(
            f"/api/v1/risk/major-hazards/{hz['id']}", headers=login(client, "laishan")
        ).status_code
        == 404
    )
    listed = client.get("/api/v1/risk/major-hazards?major=1", headers=analyst).json()
    assert listed["total"] == 1
    assert (
        client.post(
            f"/api/v1/risk/major-hazards/{hz['id']}/archive", headers=login(client, "enterprise")
        ).status_code
        == 200
    )
    assert (
        client.post(f"/api/v1/risk/major-hazards/{hz['id']}/archive", headers=analyst).status_code
        == 409
    )
    assert client.get("/api/v1/risk/major-hazards", headers=analyst).json()["total"] == 0


# ----------------------------------------------------------------------------- pages


@pytest.fixture
def web(client: Any) -> Any:
    client.headers["accept"] = "text/html,application/xhtml+xml"
    return client


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def web_login(web: Any, username: str) -> None:
    token = _csrf(web.get("/login").text)
    resp = web.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf": token, "next": "/map"},
        follow_redirects=False,
    )
    assert resp.status_code == 303


def test_pages_render_and_forms_work(web: Any, city: dict, engine: Any) -> None:
    web_login(web, "analyst")
    own = city["own_enterprise_id"]
    for path in (
        "/risk/points",
        "/risk/points/new",
        "/risk/points/import",
        "/risk/settings",
        "/risk/major-hazards",
        "/risk/major-hazards/new",
        "/risk/calculator",
        "/risk/calculator?tab=lec&L=6&E=6&C=15",
        "/risk/calculator?tab=matrix&ML=4&MS=5",
        "/risk/calculator?tab=hazmat&go=1&kind=storage&pop=60&n0=液氯&q0=10",
    ):
        resp = web.get(path)
        assert resp.status_code == 200, (path, resp.text[:500])
    assert "540" in web.get("/risk/calculator?tab=lec&L=6&E=6&C=15").text
    page = web.get("/risk/calculator?tab=hazmat&go=1&kind=storage&pop=60&n0=液氯&q0=10").text
    assert "三级" in page and "R = α" in page  # S = 2, R = 1.5 × 4 × 2 = 12
    bad = web.get("/risk/calculator?tab=lec&L=5&E=6&C=15")
    assert bad.status_code == 422 and "只能取表列值" in bad.text
    csrf = _csrf(web.get("/risk/points/new").text)
    form = {"csrf": csrf, "name": "", "owner_kind": "enterprise", "enterprise_id": str(own)}
    resp = web.post("/risk/points/new", data=form)
    assert resp.status_code == 422 and "为必填项" in resp.text
    form |= {
        "name": "光气合成釜",
        "hf_category_0": "material",
        "hf_desc_0": "釜体超压",
        "accident_types": ["poisoning", "vessel_explosion"],
        "cm_type_0": "engineering",
        "cm_desc_0": "设置紧急切断阀",
        "cm_level_0": "workshop",
        "cm_person_0": "赵工",
        "review_date": "2027-03-01",
    }
    resp = web.post("/risk/points/new", data=form, follow_redirects=False)
    assert resp.status_code == 303, resp.text[:800]
    url = resp.headers["location"]
    detail = web.get(url).text
    assert "光气合成釜" in detail and "设置紧急切断阀" in detail and "容器爆炸" in detail
    resp = web.post(
        url + "/assess",
        data={"csrf": csrf, "method": "matrix", "ML": "4", "MS": "5"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    aid = re.search(r"/risk/assessments/(\d+)/approve", web.get(url).text).group(1)
    resp = web.post(f"/risk/assessments/{aid}/approve", data={"csrf": csrf}, follow_redirects=False)
    assert resp.status_code == 303
    assert 'data-level="red"' in web.get(url).text
    assert web.post(f"/risk/assessments/{aid}/approve", data={"csrf": csrf}).status_code == 409
    with engine.connect() as conn:
        assert conn.scalar(select(RiskPoint.level)) == "red"
    resp = web.post(
        "/risk/settings",
        data={"csrf": csrf, "key": "lec_bands", "t1": "100", "t2": "50", "t3": "300"},
    )
    assert resp.status_code == 422 and "递增" in resp.text
    english = web.get("/lang/en?next=/risk/points", follow_redirects=True)
    assert "Risk points" in english.text


def test_hazard_pages(web: Any, city: dict) -> None:
    web_login(web, "analyst")
    csrf = _csrf(web.get("/risk/major-hazards/new").text)
    own = str(city["own_enterprise_id"])
    resp = web.post(
        "/risk/major-hazards/new",
        data={
            "csrf": csrf,
            "enterprise_id": own,
            "name": "液氯库",
            "unit_kind": "storage",
            "sub_name_0": "液氯",
            "sub_qty_0": "3",
            "sub_name_1": "7664-41-7",
            "sub_qty_1": "-2",
        },
    )
    assert resp.status_code == 422 and "不能为负数" in resp.text
    resp = web.post(
        "/risk/major-hazards/new",
        data={
            "csrf": csrf,
            "enterprise_id": own,
            "name": "液氯库",
            "unit_kind": "storage",
            "sub_name_0": "液氯",
            "sub_qty_0": "30",
        },
        follow_redirects=False,
    )
    assert resp.status_code == 303
    url = resp.headers["location"]
    page = web.get(url).text
    # S = 30/5 = 6, nobody within 500 m → α = 0.5, R = 0.5 × 4 × 6 = 12 → 三级
    assert "液氯库" in page and "三级" in page
    resp = web.post(url + "/exposure", data={"csrf": csrf, "exposed_population": "200"})
    assert resp.status_code == 422 and "理由" in resp.text
    resp = web.post(
        url + "/exposure",
        data={"csrf": csrf, "exposed_population": "200", "reason": "夜间施工人员"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    page = web.get(url).text  # α = 2 → R = 48 → still 三级; used 200, computed 0
    assert "夜间施工人员" in page and 'data-field="used">200' in page
