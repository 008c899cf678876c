"""A plan's export is one function: the plan page's buttons and the API answer the same file
(contents, type, name), within the same scope. SQLite and PostgreSQL."""

from __future__ import annotations

import inspect
import io
from urllib.parse import unquote

from openpyxl import load_workbook

from safecity.response import api, views
from tests.conftest import login, web_login
from tests.response.conftest import PLAN

API = "/api/v1/response"


def _contents(fmt: str, body: bytes) -> object:
    """What a file says: JSON as is; a workbook as its sheets' cell values (an XLSX's zip
    entries carry the wall-clock second they were written, so two exports of the same plan can
    differ in bytes)."""
    if fmt == "json":
        return body
    book = load_workbook(io.BytesIO(body), read_only=True)
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book}


def test_page_and_api_export_the_same_file(rs_city, client, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    plan = {**PLAN, "division_code": "370602"}  # 芝罘区's: 莱山区 does not see it
    made = client.post(f"{API}/plans", json=plan, headers=login(client, "commander"))
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    assert made.json()["division_code"] == "370602"
    headers = login(client, "commander")
    web_login(client, "commander")
    for fmt in ("json", "xlsx"):
        page = client.get(f"/response/plans/{pid}/export.{fmt}")
        by_api = client.get(f"{API}/plans/{pid}/export.{fmt}", headers=headers)
        assert page.status_code == by_api.status_code == 200
        assert len(page.content) > 100
        assert _contents(fmt, page.content) == _contents(fmt, by_api.content)
        for h in ("content-type", "content-disposition"):
            assert page.headers[h] == by_api.headers[h], h
        name = unquote(page.headers["content-disposition"].split("UTF-8''", 1)[1])
        assert name == f"预案-{PLAN['name']}-v1.{fmt}"
    # an unknown format and a plan out of scope: the same answers on both paths
    assert client.get(f"/response/plans/{pid}/export.csv").status_code == 404
    assert client.get(f"{API}/plans/{pid}/export.csv", headers=headers).status_code == 404
    client.cookies.clear()
    web_login(client, "laishan")
    assert client.get(f"/response/plans/{pid}/export.json").status_code == 404
    far = login(client, "laishan")
    assert client.get(f"{API}/plans/{pid}/export.json", headers=far).status_code == 404
    # one function writes the file: neither route builds it itself
    assert "plan_download(" in inspect.getsource(views.plan_export)
    assert "plan_download(" in inspect.getsource(api.export_plan)
    assert "plan_io.export(" not in inspect.getsource(views)
