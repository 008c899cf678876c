"""Hidden-danger list: `sort` and filter values are checked — a hostile value is refused with a
field-level 422 (zh/en) in the API and on the page, never silently replaced by the default."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.hazards.helpers import staff_login

HOSTILE = [
    ("sort=reported_at;drop table users", "sort"),
    ("sort=password_hash", "sort"),
    ("sort=__class__", "sort"),
    ("sort=--id", "sort"),
    ("source=<script>", "source"),
    ("division=37' or '1'='1", "division"),
    ("size=100000", "size"),
    ("page=0", "page"),
]


@pytest.mark.parametrize(("query", "field"), HOSTILE)
def test_hostile_list_values_refused_in_api(hz_city, client, query, field) -> None:
    resp = client.get(f"/api/v1/hazards?{query}", headers=login(client, "zhifu"))
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"][0]
    assert detail["field"] == field and detail["message"] and detail["message_en"]


def test_sort_orders_the_list(hz_city, client) -> None:
    grid = login(client, "grid")
    for title in ("隐患甲", "隐患乙", "隐患丙"):
        resp = client.post(
            "/api/v1/hazards",
            json={
                "title": title,
                "category": "electrical",
                "enterprise_id": hz_city["own_enterprise_id"],
            },
            headers=grid,
        )
        assert resp.status_code == 201, resp.text
    headers = login(client, "zhifu")
    up = [h["id"] for h in client.get("/api/v1/hazards?sort=id", headers=headers).json()["items"]]
    down = [
        h["id"] for h in client.get("/api/v1/hazards?sort=-id", headers=headers).json()["items"]
    ]
    assert len(up) >= 3 and up == sorted(up) and down == sorted(up, reverse=True)


def test_hostile_sort_refused_on_page(hz_city, client) -> None:
    staff_login(client, "zhifu")
    assert client.get("/hazards?sort=-reported_at").status_code == 200
    page = client.get("/hazards?sort=password_hash", headers={"accept": "text/html"})
    assert page.status_code == 422 and "排序" in page.text
    en = client.get("/hazards?sort=password_hash&lang=en", headers={"accept": "text/html"})
    assert en.status_code == 422 and "sort" in en.text
