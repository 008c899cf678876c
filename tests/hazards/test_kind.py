"""Hidden dangers as a kind: what the generic machinery gives them beyond the standard tests —
a member of the public's own reports, the map layer of open ones only, overdue by the clock,
the old ledger address, export filtered like the list, and no import by any route."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from typer.testing import CliRunner

from safecity.cli import app
from safecity.core import clock
from safecity.hazards import service
from tests.conftest import login, principal
from tests.factories import NOW
from tests.hazards.helpers import registered


def _report(session, username: str, title: str) -> int:  # type: ignore[no-untyped-def]
    where = {"division_code": "370602", "lon": 121.39, "lat": 37.53}  # a point: on the map
    hd = service.report(session, principal(session, username), {"title": title, **where}, [], NOW)
    session.commit()
    return hd.id


def test_public_lists_and_reads_only_their_own_reports(hz_city, client, session) -> None:
    own = _report(session, "public", "小区楼道堆放杂物")
    staff = _report(session, "inspector", "加油站静电接地失效")
    h = login(client, "public")
    listed = client.get("/api/v1/hazards", headers=h).json()
    assert [i["id"] for i in listed["items"]] == [own] and listed["total"] == 1
    assert client.get(f"/api/v1/hazards/{own}", headers=h).status_code == 200
    assert client.get(f"/api/v1/hazards/{staff}", headers=h).status_code == 404
    layer = client.get("/api/v1/hazards/layer", headers=h).json()
    assert {f["properties"]["id"] for f in layer["features"]} <= {own}
    # the district officer sees both
    ids = {
        i["id"]
        for i in client.get("/api/v1/hazards", headers=login(client, "zhifu")).json()["items"]
    }
    assert {own, staff} <= ids


def test_layer_shows_open_ones_and_overdue_follows_the_clock(hz_city, client, session) -> None:
    late = registered(session, hz_city, NOW + timedelta(days=3))
    kept = _report(session, "inspector", "配电箱未上锁")
    gone = _report(session, "inspector", "误报：灭火器已更换")
    service.transition(
        session,
        principal(session, "inspector"),
        gone,
        "reject",
        {"note": "现场核实无隐患"},
        [],
        NOW,
    )
    session.commit()
    h = login(client, "admin")
    with clock.frozen(NOW):
        on_map = {
            f["properties"]["id"]
            for f in client.get("/api/v1/hazards/layer", headers=h).json()["features"]
        }
        assert {late, kept} <= on_map and gone not in on_map
        assert (
            client.get("/api/v1/hazards", params={"overdue": "1"}, headers=h).json()["total"] == 0
        )
    with clock.frozen(NOW + timedelta(days=4)):
        overdue = client.get("/api/v1/hazards", params={"overdue": "true"}, headers=h).json()
        assert [i["id"] for i in overdue["items"]] == [late] and overdue["items"][0]["overdue"]
    bad = client.get("/api/v1/hazards", params={"overdue": "maybe"}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "overdue"


def test_export_follows_the_list_filters_and_nothing_is_imported(hz_city, client, session) -> None:
    kept = _report(session, "inspector", "配电箱未上锁")
    gone = _report(session, "inspector", "误报：灭火器已更换")
    service.transition(
        session,
        principal(session, "inspector"),
        gone,
        "reject",
        {"note": "现场核实无隐患"},
        [],
        NOW,
    )
    session.commit()
    h = login(client, "admin")
    exported = client.get(
        "/api/v1/hazards/export", params={"format": "csv", "status": "reported"}, headers=h
    )
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    ids = {r[next(k for k in r if k.startswith("编号") or k == "id")] for r in rows}
    assert str(kept) in ids and str(gone) not in ids
    assert client.post(
        "/api/v1/hazards/import", headers=h, files={"file": ("a.csv", b"x")}
    ).status_code in (404, 405)
    assert client.get("/hazards/new").status_code in (401, 303, 404)  # no generic form


def test_old_ledger_address_redirects_with_its_query(hz_city, client) -> None:
    resp = client.get("/hazards/list?status=reported&source=public_report", follow_redirects=False)
    assert resp.status_code == 307
    assert resp.headers["location"] == "/hazards?status=reported&source=public_report"


def test_cli_refuses_to_import_hidden_dangers(tmp_path) -> None:
    rows = tmp_path / "hazards.csv"
    rows.write_text("title,division_code\n消防通道堵塞,370602\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "hazards", str(rows)])
    assert result.exit_code == 2 and "workflow" in result.output
