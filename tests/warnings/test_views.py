"""Warnings pages through the ASGI client: public page without login, drafting with the form,
approval and issue buttons, delivery status, coverage, CAP import from the page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import csrf_of as _csrf
from tests.conftest import login, web_login

DATA = Path(__file__).parent / "data"


@pytest.fixture
def web(client: Any) -> Any:
    client.headers["accept"] = "text/html,application/xhtml+xml"
    return client


def _form(**changes: Any) -> dict[str, Any]:
    data = {
        "event_type": "rainstorm",
        "level": "orange",
        "division_code": "370602",
        "headline": "芝罘区暴雨橙色预警",
        "description": "未来 3 小时降雨量将达 50 毫米以上。",
        "instruction": "远离低洼地带。",
        "effective": "2026-11-23T17:00",
        "expires": "2099-11-24T17:00",
        "area_desc": "芝罘区北部",
        "polygon": json.dumps(
            [[121.365, 37.46], [121.385, 37.46], [121.385, 37.53], [121.365, 37.53]]
        ),
    }
    data.update(changes)
    return data


def test_draft_approve_issue_through_the_pages(web: Any) -> None:
    web_login(web, "admin")  # drafts; the commander approves (separation of duties)
    page = web.get("/warnings/new")
    assert page.status_code == 200 and 'id="w-draw-map"' in page.text
    csrf = _csrf(page.text)
    bad = web.post(
        "/warnings/new", data=_form(csrf=csrf, headline="", polygon=""), follow_redirects=False
    )
    assert bad.status_code == 422 and "标题" in bad.text and "预警区域" in bad.text
    resp = web.post("/warnings/new", data=_form(csrf=csrf), follow_redirects=False)
    assert resp.status_code == 303
    url = resp.headers["location"]

    got = web.get(f"/api/v1{url}", headers=login(web, "commander")).json()
    assert got["effective"].startswith("2026-11-23T09:00:00")  # 17:00 Beijing, stored in UTC
    detail = web.get(url).text
    assert "2026-11-23 17:00" in detail
    # The commander sees who is covered before issuing: half the grid cell and the school.
    assert 'data-figure="population">1,500<' in detail and "学校 1" in detail
    for action in ("submit", "approve", "issue"):
        if action == "approve":
            web.cookies.clear()
            web_login(web, "commander")
            csrf = _csrf(web.get(url).text)
        assert f'action="{url}/{action}"' in web.get(url).text
        resp = web.post(f"{url}/{action}", data={"csrf": csrf}, follow_redirects=False)
        assert resp.status_code == 303, resp.text
    detail = web.get(url).text
    assert 'data-status="issued"' in detail and "cap.xml" in detail
    assert re.search(r'data-channel="sms" data-status="logged"', detail)
    assert 'data-figure="coverage_simulated">100.0%' in detail
    # Issuing twice from a stale page is refused as a conflict, nothing is sent again.
    again = web.post(f"{url}/submit", data={"csrf": csrf}, follow_redirects=False)
    assert again.status_code == 409
    # Without the CSRF token the post is refused.
    assert web.post(f"{url}/cancel", data={}, follow_redirects=False).status_code == 403
    public = web.get("/public/warnings?division=370602", cookies={})
    assert "芝罘区暴雨橙色预警" in public.text
    cov = web.get("/warnings/coverage").text
    assert "100.0%" in cov
    web.cookies.clear()
    anon = web.get("/public/warnings?division=370602")
    assert anon.status_code == 200 and "芝罘区暴雨橙色预警" in anon.text
    assert 'name="viewport"' in anon.text and "w-card w-orange" in anon.text
    assert web.get("/public/warnings?division=370613").text.count("w-card w-") == 0
    assert web.get("/warnings/list", follow_redirects=False).status_code == 303  # to login


def test_district_officer_cannot_approve_and_imports_are_for_the_city(web: Any) -> None:
    web_login(web, "zhifu")
    page = web.get("/warnings/new")
    csrf = _csrf(page.text)
    resp = web.post("/warnings/new", data=_form(csrf=csrf, level="red"), follow_redirects=False)
    url = resp.headers["location"]
    web.post(f"{url}/submit", data={"csrf": csrf})
    detail = web.get(url).text
    assert f'action="{url}/approve"' not in detail
    assert web.post(f"{url}/approve", data={"csrf": csrf}).status_code == 403
    assert "导入外部 CAP 预警" not in web.get("/warnings/list").text
    web.cookies.clear()
    web_login(web, "commander")
    csrf = _csrf(web.get("/warnings/list").text)
    resp = web.post(
        "/warnings/import",
        data={"csrf": csrf},
        files={"file": ("met.xml", (DATA / "cap11_met.xml").read_bytes(), "text/xml")},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    listing = web.get(resp.headers["location"]).text
    assert "已导入 1 条" in listing and "山东省气象台发布大风橙色预警" in listing


def test_detail_names_people_by_display_name_with_the_username_on_hover(
    web: Any, session: Any
) -> None:
    from safecity.core.models import User  # noqa: PLC0415 test-local: only this test renames users

    for user in session.query(User).filter(User.username.in_(["admin", "commander"])):
        user.display_name = {"admin": "李起草", "commander": "王指挥"}[user.username]
    session.commit()
    web_login(web, "admin")
    csrf = _csrf(web.get("/warnings/new").text)
    url = web.post("/warnings/new", data=_form(csrf=csrf), follow_redirects=False).headers[
        "location"
    ]
    web.post(f"{url}/submit", data={"csrf": csrf}, follow_redirects=False)
    web.cookies.clear()
    web_login(web, "commander")
    csrf = _csrf(web.get(url).text)
    assert (
        web.post(f"{url}/approve", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    )
    detail = web.get(url).text
    assert '<span class="person" title="admin">李起草</span>' in detail  # 起草
    assert '<span class="person" title="commander">王指挥</span>' in detail  # 审核
    assert "<dd>admin ·" not in detail and "<dd>commander ·" not in detail
