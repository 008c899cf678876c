"""The enforcement API end to end: typed bodies, 409 on illegal steps, scope, public results."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from safecity.cli import app as cli_app
from safecity.enforcement.models import Draw
from tests.conftest import login


def test_draw_publish_and_verify_over_http(client, enf, frozen_clock, session) -> None:  # type: ignore[no-untyped-def]
    h = login(client, "zhifu")
    r = client.post("/api/v1/enforcement/draws", json={"share": "100%", "title": "测试"}, headers=h)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status"] == "committed" and d["seed"] is None and d["assignments"] == {}
    assert client.get(f"/api/v1/public/enforcement/draws/{d['id']}").status_code == 404
    r = client.post(f"/api/v1/enforcement/draws/{d['id']}/run", headers=h)
    assert r.status_code == 200 and len(r.json()["assignments"]) == 3
    again = client.post(f"/api/v1/enforcement/draws/{d['id']}/run", headers=h)
    assert again.status_code == 409 and again.json()["message_en"]
    assert client.post(f"/api/v1/enforcement/draws/{d['id']}/publish", headers=h).status_code == 200
    pub = client.get(f"/api/v1/public/enforcement/draws/{d['id']}")  # no login
    assert pub.status_code == 200
    body = pub.json()
    assert body["seed"] == r.json()["seed"] and len(body["assignments"]) == 3
    assert {a["enterprise"] for a in body["assignments"]} == {
        f"测试企业{i}有限公司" for i in (1, 2, 3)
    }
    v = client.get(f"/api/v1/public/enforcement/draws/{d['id']}/verify").json()
    assert v["ok"] and [c["name"] for c in v["checks"]] == [
        "order",
        "logged_commitment",
        "rerun",
        "published",
    ]
    # pools.json: the draw and the pools it ran on, typed rows (every target drawn at 100 %)
    pools = client.get(f"/api/v1/public/enforcement/draws/{d['id']}/pools.json").json()
    assert pools["draw"]["id"] == d["id"] and pools["draw"]["commitment"] == d["commitment"]
    drawn = r.json()["assignments"]
    assert len(drawn) == 3 and sorted(t[0] for t in pools["pools"]["targets"]) == sorted(drawn)
    assert all(len(t) == 5 and isinstance(t[4], bool) for t in pools["pools"]["targets"])
    insp1 = [
        str(enf["pool"]["insp1"]),
        "执法一科",
        "2028-12-31",
        [str(enf["enterprises"][0].id)],
        [],
    ]
    assert insp1 in pools["pools"]["inspectors"] and pools["pools"]["previous"] == {}
    # the CLI re-runs it too, and fails once the recorded seed is changed
    result = CliRunner().invoke(cli_app, ["enforcement", "draw", "--verify", str(d["id"])])
    assert result.exit_code == 0, result.output
    row = session.scalar(select(Draw))
    row.seed_hex = "00" * 32
    session.commit()
    result = CliRunner().invoke(cli_app, ["enforcement", "draw", "--verify", str(d["id"])])
    assert result.exit_code == 1 and '"ok": false' in result.output


def test_case_steps_out_of_order_and_scope(client, enf, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    ents = enf["enterprises"]
    insp = login(client, "insp2")
    r = client.post(
        "/api/v1/enforcement/cases",
        json={
            "enterprise_id": ents[0].id,
            "violation": "training",
            "circumstance": "serious",
            "facts": "未培训",
        },
        headers=insp,
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["state"], case["fine_min"], case["fine_max"]) == ("clue", 50000, 80000)
    assert case["allowed_steps"] == ["amend"]  # an inspector cannot file, only amend
    url = f"/api/v1/enforcement/cases/{case['id']}/steps"
    assert client.post(url, json={"step": "decide"}, headers=insp).status_code == 409
    assert client.post(url, json={"step": "file"}, headers=insp).status_code == 403
    head = login(client, "head")
    r = client.post(url, json={"step": "file"}, headers=head)
    assert r.status_code == 200 and r.json()["state"] == "filed"
    assert r.json()["number"].startswith("应急罚〔2026〕370602-")
    assert [d["kind"] for d in r.json()["documents"]] == ["case_filing"]
    docx = client.get(r.json()["documents"][0]["docx_url"], headers=head)
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    bad = client.post(url, json={"step": "extend", "days": 0, "reason": "x"}, headers=head)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "days"
    # scope: Laishan's officer does not see Zhifu's case; the enterprise officer sees its own
    assert (
        client.get(
            f"/api/v1/enforcement/cases/{case['id']}", headers=login(client, "laishan")
        ).status_code
        == 404
    )
    own = client.get("/api/v1/enforcement/cases", headers=login(client, "enterprise")).json()
    assert own["total"] == 1 and own["items"][0]["id"] == case["id"]
    assert (
        client.get("/api/v1/enforcement/draws", headers=login(client, "enterprise")).status_code
        == 403
    )


def test_openapi_types_the_enforcement_bodies(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/api/v1/openapi.json").json()
    post = doc["paths"]["/api/v1/enforcement/cases/{case_id}/steps"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/StepIn")
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("/CaseOut")
