"""The duty roster page reads as people and places, not account names and codes."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import NOW, login, web_login


def test_roster_page_names_people_and_divisions(rs_city, client, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    start = NOW - timedelta(hours=1)
    answer = client.post(
        "/api/v1/response/roster",
        headers=login(client, "commander"),
        json={
            "division_code": "370602",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=12)).isoformat(),
            "officer_username": "duty",
            "leader": "李振华",
        },
    )
    assert answer.status_code == 201, answer.text
    client.headers["accept"] = "text/html"
    web_login(client, "commander")
    page = client.get("/response/roster").text
    on_duty = page.split('class="rs-on-duty"', 1)[1].split("</p>", 1)[0]
    assert "370602 芝罘区" in on_duty and "李振华" in on_duty
    assert "（duty）" not in on_duty  # the officer's name, not their account
    week = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert "<td>370602 芝罘区</td>" in week
