"""The statistics page lists the statistics in force a page at a time (50 rows), filtered by
division (it and the divisions inside it), year and input, within the reader's scope; an
unknown input in the address is 422 with the reason."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from safecity.indicators import service
from tests.conftest import login, principal, web_login
from tests.indicators.helpers import stats

INPUTS = ("resident_population", "gdp_100m_yuan", "vehicles_10k")
DIVISIONS = ("370600", "370602", "370613")
YEARS = range(2013, 2026)  # 3 divisions x 13 years x 3 inputs = 117 statistics


def _seed(session: Session) -> None:
    rows = []
    for d in DIVISIONS:
        for i, y in enumerate(YEARS):
            rows += [
                (d, y, "resident_population", 1_000_000 + 1000 * i),
                (d, y, "gdp_100m_yuan", 500 + i),
                (d, y, "vehicles_10k", 30 + i),
            ]
    stats(session, rows)


def _rows(html: str) -> list[tuple[str, str, str]]:
    body = html[html.index('id="stats-table"') :].split("</tbody>")[0]
    return re.findall(r"<tr>\s*<td>(\d+)</td><td>(\d+)</td><td>([^<]*)</td>", body)


def test_pages_and_filters(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _seed(session)
    web_login(client, "analyst", next="/indicators/statistics")
    first = client.get("/indicators/statistics")
    assert first.status_code == 200
    rows = _rows(first.text)
    assert len(rows) == 50
    assert "117" in first.text.split('class="count-badge"')[1][:40]  # the total, not the page
    assert "第 1 / 3 页" in first.text
    assert [int(r[1]) for r in rows] == sorted((int(r[1]) for r in rows), reverse=True)
    last = _rows(client.get("/indicators/statistics", params={"page": 3}).text)
    assert len(last) == 17
    beyond = _rows(client.get("/indicators/statistics", params={"page": 99}).text)
    assert beyond == last  # a page past the end shows the last
    seen = {
        r for p in (1, 2, 3) for r in _rows(client.get(f"/indicators/statistics?page={p}").text)
    }
    assert len(seen) == 117  # every statistic on exactly one page

    by_year = _rows(client.get("/indicators/statistics", params={"year": 2020}).text)
    assert len(by_year) == 9 and {r[1] for r in by_year} == {"2020"}
    by_input = client.get("/indicators/statistics", params={"input": "vehicles_10k"})
    assert len(_rows(by_input.text)) == 39 and "第 1 / 1 页" not in by_input.text
    zhifu = _rows(
        client.get(
            "/indicators/statistics", params={"division": "370602", "input": "gdp_100m_yuan"}
        ).text
    )
    assert len(zhifu) == 13 and {r[0] for r in zhifu} == {"370602"}
    city = client.get("/indicators/statistics", params={"division": "370600", "year": 2024})
    assert {r[0] for r in _rows(city.text)} == set(DIVISIONS)  # a city holds its districts

    bad = client.get("/indicators/statistics", params={"input": "nonsense"})
    assert bad.status_code == 422 and "未知输入" in bad.text


def test_a_district_officer_pages_only_their_district(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _seed(session)
    page = service.page_statistics(session, principal(session, "zhifu"), page=1, size=10)
    assert page.total == 39 and page.pages == 4 and len(page.items) == 10
    assert {s.division_code for s in page.items} == {"370602"}
    web_login(client, "zhifu", next="/indicators/statistics")
    other = client.get("/indicators/statistics", params={"division": "370613"})
    assert other.status_code == 200 and _rows(other.text) == []


def test_the_api_pages_and_filters_like_the_page(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _seed(session)
    url = "/api/v1/indicators/statistics"
    analyst = login(client, "analyst")
    first = client.get(url, params={"size": 50}, headers=analyst).json()
    assert (first["total"], first["page"], first["size"], len(first["items"])) == (117, 1, 50, 50)
    keys = {
        (s["division_code"], s["year"], s["input"])
        for p in (1, 2, 3)
        for s in client.get(url, params={"page": p, "size": 50}, headers=analyst).json()["items"]
    }
    assert len(keys) == 117  # every statistic on exactly one page
    years = [s["year"] for s in first["items"]]
    assert years == sorted(years, reverse=True)  # newest year first
    zhifu = client.get(url, params={"division": "370602", "year": 2020}, headers=analyst).json()
    assert zhifu["total"] == 3 and {s["division_code"] for s in zhifu["items"]} == {"370602"}
    own = client.get(url, params={"division": "370600"}, headers=login(client, "zhifu")).json()
    assert own["total"] == 39 and {s["division_code"] for s in own["items"]} == {"370602"}
    for bad in ({"input": "nonsense"}, {"size": 501}, {"page": 0}, {"year": -243}):
        r = client.get(url, params=bad, headers=analyst)
        assert r.status_code == 422, (bad, r.text)
