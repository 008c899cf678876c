"""The enforcement pages render for the roles that use them and refuse the others."""

from __future__ import annotations

import pytest

from safecity.enforcement import casework, inspecting, selection
from tests.conftest import NOW, login, principal, web_login


@pytest.fixture
def data(session, enf):  # type: ignore[no-untyped-def]
    zhifu = principal(session, "zhifu")
    d = selection.run_draw(
        session, zhifu, selection.create_draw(session, zhifu, {"share": "1"}, NOW).id, NOW
    )
    selection.publish_draw(session, zhifu, d.id, NOW)
    c = casework.open_case(
        session,
        zhifu,
        {
            "enterprise_id": enf["enterprises"][0].id,
            "violation": "training",
            "circumstance": "minor",
            "facts": "未培训",
        },
        NOW,
    )
    casework.take_step(session, principal(session, "head"), c.id, "file", {}, NOW)
    session.commit()
    insp = inspecting.list_inspections(session, zhifu)[0][0]
    return {"draw": d.id, "case": c.id, "inspection": insp.id}


def test_pages_by_role(client, data, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    pages = [
        "/enforcement",
        "/enforcement/classes",
        "/enforcement/plans",
        "/enforcement/inspectors",
        "/enforcement/draws",
        f"/enforcement/draws/{data['draw']}",
        "/enforcement/inspections",
        f"/enforcement/inspections/{data['inspection']}",
        "/enforcement/cases",
        f"/enforcement/cases/{data['case']}",
        "/enforcement/stats",
    ]
    assert web_login(client, "insp2").status_code == 303
    for url in pages:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
    page = client.get(f"/enforcement/cases/{data['case']}").text
    assert "立案审批表" in page and "应急罚〔2026〕370602-0001号" in page
    history = page.split('id="history"', 1)[1].split("</ol>", 1)[0]
    assert "执法head（" in history and ">head" not in history and " head（" not in history
    client.cookies.clear()
    assert web_login(client, "enterprise").status_code == 303
    assert client.get("/enforcement/cases").status_code == 200
    assert client.get(f"/enforcement/cases/{data['case']}").status_code == 200  # its own enterprise
    assert client.get("/enforcement/draws").status_code == 403
    client.cookies.clear()
    public = client.get(f"/public/enforcement/draws/{data['draw']}")  # no login
    assert (
        public.status_code == 200
        and "验证通过" in public.text
        and "测试企业1有限公司" in public.text
    )


def test_statistics_year_out_of_range(client, data, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    """Years the fuzzer sent (-243, 41442) were 500s: the API refuses them, the page shows this
    year."""
    headers = login(client, "insp2")
    for path in ("/api/v1/enforcement/stats", "/api/v1/enforcement/stats.xlsx"):
        for year in (-243, 41442, 1999):
            r = client.get(path, params={"year": year}, headers=headers)
            assert r.status_code == 422, (path, year, r.text)
            assert r.json()["detail"][0]["field"] == "year"
    ok = client.get("/api/v1/enforcement/stats", params={"year": 2026}, headers=headers)
    assert ok.status_code == 200 and ok.json()["year"] == 2026
    assert web_login(client, "insp2").status_code == 303
    page = client.get("/enforcement/stats", params={"year": -243})
    assert page.status_code == 200 and "2026" in page.text
