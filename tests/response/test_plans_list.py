"""The plans list shows one row per plan: a plan being revised is its version in force with a
badge linking the draft of its next version, not two rows; the versions are on the plan's page.
SQLite and PostgreSQL."""

from __future__ import annotations

import re

from tests.conftest import csrf_of, login, web_login
from tests.response.conftest import PLAN

API = "/api/v1/response"


def _rows(html: str) -> list[int]:
    table = html.split('id="plans"', 1)[1].split("</table>", 1)[0]
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', table)]


def _draft_links(html: str) -> list[tuple[int, int, str]]:
    return [
        (int(row), int(draft), text)
        for row, draft, text in re.findall(
            r'<tr data-id="(\d+)">(?:(?!</tr>).)*?<a class="tag rs-draft" '
            r'href="/response/plans/(\d+)"[^>]*>([^<]*)</a>',
            html,
            re.S,
        )
    ]


def test_a_revised_plan_is_one_row_with_its_draft(rs_city, client, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    headers = login(client, "commander")
    v1 = client.post(f"{API}/plans", json=PLAN, headers=headers).json()["id"]
    assert client.post(f"{API}/plans/{v1}/approve", headers=headers).status_code == 200
    other = {**PLAN, "name": "烟台市森林火灾应急预案"}  # never approved: a draft of its own
    lone = client.post(f"{API}/plans", json=other, headers=headers).json()["id"]
    revised = {**PLAN, "tasks": [{**PLAN["tasks"][0], "due_minutes": 20}, PLAN["tasks"][1]]}
    v2 = client.put(f"{API}/plans/{v1}", json=revised, headers=headers).json()["id"]
    assert v2 not in (v1, lone)

    web_login(client, "commander")
    page = client.get("/response/plans").text
    assert sorted(_rows(page)) == sorted([v1, lone])  # v2 is not a row of its own
    assert _draft_links(page) == [(v1, v2, "草稿 v2")]
    assert '<span class="count-badge">2</span>' in page
    # the plan's page lists both versions
    detail = client.get(f"/response/plans/{v1}").text
    assert re.findall(r'<li data-id="(\d+)" data-status="(\w+)"', detail) == [
        (str(v1), "approved"),
        (str(v2), "draft"),
    ]
    # approved, v2 is the plan's row and v1 (retired) is gone from the list
    token = csrf_of(page)
    approved = client.post(
        f"/response/plans/{v2}/approve", data={"csrf": token}, follow_redirects=False
    )
    assert approved.status_code == 303
    page = client.get("/response/plans").text
    assert sorted(_rows(page)) == sorted([v2, lone]) and _draft_links(page) == []
