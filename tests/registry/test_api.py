"""Registry API: scoping on every read and write, field-level 422s, 409s, audit of writes."""

from sqlalchemy import select

from safecity.core.models import AuditEntry
from tests.conftest import login
from tests.factories import uscc


def _ids(resp) -> set[str]:  # type: ignore[no-untyped-def]
    assert resp.status_code == 200, resp.text
    return {item["division_code"] for item in resp.json()["items"]}


def test_city_admin_sees_its_districts_only(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/enterprises", headers=login(client, "admin"))
    assert resp.json()["total"] == 5
    assert _ids(resp) == {"370602", "370613"}  # not Qingdao's 370202


def test_district_officer_sees_only_own_district(client) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "zhifu")
    resp = client.get("/api/v1/enterprises", headers=h)
    assert resp.json()["total"] == 3 and _ids(resp) == {"370602"}
    divs = client.get("/api/v1/divisions", headers=h).json()["items"]
    assert [d["code"] for d in divs] == ["370602"]
    cells = client.get("/api/v1/grid-cells", headers=h).json()["items"]
    assert {c["division_code"] for c in cells} == {"370602"}


def test_out_of_scope_detail_is_404_and_write_is_403(client, city) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "zhifu")
    laishan = client.get(
        "/api/v1/enterprises", headers=login(client, "admin"), params={"division": "370613"}
    ).json()["items"][0]
    assert client.get(f"/api/v1/enterprises/{laishan['id']}", headers=h).status_code == 404
    assert (
        client.patch(
            f"/api/v1/enterprises/{laishan['id']}", json={"name": "改名企业"}, headers=h
        ).status_code
        == 404
    )
    body = {
        "name": "莱山新企业有限公司",
        "uscc": uscc("370613", 99),
        "industry_code": "26",
        "division_code": "370613",
    }
    resp = client.post("/api/v1/enterprises", json=body, headers=h)
    assert resp.status_code == 403 and "管辖范围" in resp.json()["message"]


def test_moving_an_enterprise_out_of_scope_is_refused(client, city) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "zhifu")
    own = client.get("/api/v1/enterprises", headers=h).json()["items"][0]
    resp = client.patch(
        f"/api/v1/enterprises/{own['id']}", json={"division_code": "370613"}, headers=h
    )
    assert resp.status_code == 403
    after = client.get(f"/api/v1/enterprises/{own['id']}", headers=h).json()
    assert after["division_code"] == "370602"


def test_liaison_and_enterprise_officer_scopes(client, city) -> None:  # type: ignore[no-untyped-def]
    lh = login(client, "liaison")
    liaison = client.get("/api/v1/enterprises", headers=lh).json()
    assert liaison["total"] == 1 and liaison["items"][0]["industry_section"] == "G"
    mine = liaison["items"][0]["id"]
    assert client.get(f"/api/v1/enterprises/{mine}", headers=lh).status_code == 200
    resp = client.patch(f"/api/v1/enterprises/{mine}", json={"employees": 40}, headers=lh)
    assert resp.status_code == 200, resp.text
    chem = city["enterprises"][0].id  # section C: outside a transport liaison's industry
    assert client.get(f"/api/v1/enterprises/{chem}", headers=lh).status_code == 404
    officer = client.get("/api/v1/enterprises", headers=login(client, "enterprise")).json()
    assert [e["id"] for e in officer["items"]] == [city["own_enterprise_id"]]
    public = client.get("/api/v1/enterprises", headers=login(client, "public")).json()
    assert public["total"] == 0


def test_enterprise_officer_edits_own_but_not_creates(client, city) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "enterprise")
    own = city["own_enterprise_id"]
    resp = client.patch(f"/api/v1/enterprises/{own}", json={"safety_officer": "王强"}, headers=h)
    assert resp.status_code == 200 and resp.json()["safety_officer"] == "王强"
    body = {
        "name": "另一家企业有限公司",
        "uscc": uscc("370602", 77),
        "industry_code": "26",
        "division_code": "370602",
    }
    assert client.post("/api/v1/enterprises", json=body, headers=h).status_code == 403


def test_invalid_uscc_gives_field_message_in_chinese(client) -> None:  # type: ignore[no-untyped-def]
    good = uscc("370602", 50)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    body = {
        "name": "芝罘新企业有限公司",
        "uscc": bad,
        "industry_code": "26",
        "division_code": "370602",
        "lon": 121.4,
        "lat": 137.5,
    }
    resp = client.post("/api/v1/enterprises", json=body, headers=login(client, "admin"))
    assert resp.status_code == 422
    detail = {d["field"]: d for d in resp.json()["detail"]}
    assert (
        "校验码错误" in detail["uscc"]["message"]
        and "统一社会信用代码" in detail["uscc"]["message"]
    )
    assert "check character" in detail["uscc"]["message_en"]
    assert "纬度" in detail["lat"]["message"]
    total = client.get("/api/v1/enterprises", headers=login(client, "admin")).json()["total"]
    assert total == 5  # nothing written


def test_create_is_audited_with_before_and_after(client, session) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "zhifu")
    body = {
        "name": "芝罘新企业有限公司",
        "uscc": uscc("370602", 51),
        "industry_code": "2614",
        "division_code": "370602",
        "scale": "中型",
    }
    resp = client.post("/api/v1/enterprises", json=body, headers=h)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["industry_section"] == "C" and created["scale"] == "medium"
    client.patch(f"/api/v1/enterprises/{created['id']}", json={"employees": 120}, headers=h)
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "enterprise", AuditEntry.object_id == str(created["id"]))
        .order_by(AuditEntry.seq)
    ).all()
    assert [e.action for e in entries] == ["create", "update"]
    assert all(e.actor == "zhifu" for e in entries)
    assert entries[1].before["employees"] is None and entries[1].after["employees"] == 120


def test_duplicate_uscc_and_unknown_division_are_field_errors(client, city) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "admin")
    existing = city["enterprises"][0].uscc
    body = {
        "name": "重复企业有限公司",
        "uscc": existing,
        "industry_code": "26",
        "division_code": "370699",
    }
    resp = client.post("/api/v1/enterprises", json=body, headers=h)
    assert resp.status_code == 422
    fields = {d["field"] for d in resp.json()["detail"]}
    assert fields == {"uscc", "division_code"}


def test_archive_twice_is_conflict_and_hides_from_list(client, city) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "admin")
    eid = city["enterprises"][1].id
    assert client.post(f"/api/v1/enterprises/{eid}/archive", headers=h).status_code == 200
    assert client.post(f"/api/v1/enterprises/{eid}/archive", headers=h).status_code == 409
    listed = client.get("/api/v1/enterprises", headers=h).json()
    assert eid not in {e["id"] for e in listed["items"]} and listed["total"] == 4
    archived = client.get("/api/v1/enterprises", headers=h, params={"archived": "1"}).json()
    assert eid in {e["id"] for e in archived["items"]}


def test_read_only_roles_cannot_write(client, city) -> None:  # type: ignore[no-untyped-def]
    eid = city["enterprises"][0].id
    resp = client.patch(
        f"/api/v1/enterprises/{eid}",
        json={"name": "指挥长改名"},
        headers=login(client, "commander"),
    )
    assert resp.status_code == 403


def test_filter_sort_and_page(client) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "admin")
    resp = client.get(
        "/api/v1/enterprises",
        headers=h,
        params={"industry_code": "26", "sort": "-name", "size": 2, "page": 1},
    )
    data = resp.json()
    assert data["total"] == 3 and len(data["items"]) == 2
    names = [i["name"] for i in data["items"]]
    assert names == sorted(names, reverse=True)
    page2 = client.get(
        "/api/v1/enterprises",
        headers=h,
        params={"industry_code": "26", "sort": "-name", "size": 2, "page": 2},
    ).json()
    assert len(page2["items"]) == 1 and page2["items"][0]["name"] not in names


def test_map_layers_are_scoped(client) -> None:  # type: ignore[no-untyped-def]
    admin = client.get("/api/v1/map/layers/divisions", headers=login(client, "admin")).json()
    assert {f["properties"]["code"] for f in admin["features"]} == {"370602", "370613"}
    zhifu = client.get("/api/v1/map/layers/enterprises", headers=login(client, "zhifu")).json()
    assert len(zhifu["features"]) == 3
    assert {f["properties"]["division_code"] for f in zhifu["features"]} == {"370602"}
    assert client.get("/api/v1/map/layers/nope", headers=login(client, "admin")).status_code == 404
