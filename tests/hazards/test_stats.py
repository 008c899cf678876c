"""Statistics over a hand-made set with hand-computed figures, scope, page and XLSX export."""

from __future__ import annotations

import io
from datetime import timedelta
from unittest import mock

from openpyxl import load_workbook

from safecity.core.scope import Principal
from safecity.hazards import final_counts, service, stats
from safecity.hazards.models import HiddenDanger
from tests.conftest import login, principal
from tests.factories import NOW
from tests.hazards.helpers import staff_login as web_login

D = timedelta(days=1)


def hd(division: str, status: str, grade: str | None, month: str, **kw) -> HiddenDanger:  # type: ignore[no-untyped-def]
    return HiddenDanger(
        title="t",
        source="enforcement",
        status=status,
        grade=grade,
        division_code=division,
        industry_section=kw.pop("section", "C"),
        reported_at=NOW - 60 * D,
        month=month,
        updated_at=NOW,
        escalation_level=0,
        **kw,
    )


def seed(session) -> None:  # type: ignore[no-untyped-def]
    session.add_all(
        [
            # 芝罘区: 3 closed (2 on time: 10 and 20 days; 1 late: 30 days), 1 overdue, 1 rejected
            hd("370602", "closed", "general", "2026-09", closed_late=False, days_to_close=10.0),
            hd("370602", "closed", "general", "2026-09", closed_late=False, days_to_close=20.0),
            hd(
                "370602",
                "closed",
                "major",
                "2026-10",
                closed_late=True,
                days_to_close=30.0,
                supervisor_division_code="370602",
            ),
            hd("370602", "rectifying", "general", "2026-10", deadline=NOW - 2 * D),
            hd("370602", "rejected", None, "2026-10"),
            # 莱山区: 1 registered not yet due, 1 reported (untriaged), 1 public-place danger
            hd(
                "370613",
                "registered",
                "major",
                "2026-11",
                deadline=NOW + 5 * D,
                supervisor_division_code="370613",
            ),
            hd("370613", "reported", None, "2026-11"),
            hd("370613", "submitted", "general", "2026-11", deadline=NOW - D, section=None),
        ]
    )
    session.flush()
    final_counts.rebuild_final(session)
    session.commit()


def test_figures_by_hand(hz_city, session) -> None:
    seed(session)
    city = Principal(1, "admin", "admin", "370600")
    data = stats.dashboard(session, city, stats.Params(), NOW)
    t = data["totals"]
    assert t["total"] == 8 and t["closed"] == 3 and t["major"] == 2 and t["supervised"] == 2
    # counted = everything but reported and rejected = 6; closed 3 → 50 %
    assert t["counted"] == 6 and t["rectification_rate"] == 50.0
    assert t["on_time_rate"] == 66.7  # 2 of 3 closed on time
    assert t["avg_days_to_close"] == 20.0  # (10 + 20 + 30) / 3
    # the rectifying one past its deadline; the submitted one was handed in, so not overdue
    assert t["overdue"] == 1
    zhifu = {r["key"]: r for r in data["by_division"]}["370602"]
    assert (
        zhifu["label"] == "芝罘区" and zhifu["total"] == 5 and zhifu["rectification_rate"] == 75.0
    )
    months = [(r["key"], r["total"]) for r in data["by_month"]]
    assert months == [("2026-09", 2), ("2026-10", 3), ("2026-11", 3)]
    industries = {r["label"]: r["total"] for r in data["by_industry"]}
    assert industries == {"制造业": 7, "公共区域": 1}
    only = stats.dashboard(
        session,
        Principal(2, "laishan", "district_officer", "370613"),
        stats.Params(grade="major"),
        NOW,
    )
    assert only["totals"]["total"] == 1 and only["by_division"][0]["key"] == "370613"


def test_api_page_and_export(hz_city, client, session) -> None:
    seed(session)
    headers = login(client, "zhifu")
    data = client.get("/api/v1/hazards/stats", headers=headers).json()
    assert data["totals"]["total"] == 5
    bad = client.get("/api/v1/hazards/stats?from=2026-9", headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "from"
    xlsx = client.get("/api/v1/hazards/stats/export?grade=general", headers=headers)
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["总体", "按区划", "按行业", "按等级", "按月份"]
    assert wb["总体"]["B1"].value == 3  # three general ones in 芝罘区
    assert wb["按区划"]["A2"].value == "芝罘区"
    client.cookies.clear()

    web_login(client, "zhifu")
    page = client.get("/hazards/stats")
    assert page.status_code == 200 and "<svg" in page.text and 'data-kpi="total">5<' in page.text


def test_summary_matches_live_figures(hz_city, session) -> None:

    seed(session)
    city = Principal(1, "admin", "admin", "370600")

    def both() -> tuple[dict, dict]:
        p = stats.Params()
        fast = stats.dashboard(session, city, p, NOW)
        live = stats.dashboard(session, Principal(1, "admin", "admin", "370600"), p, NOW)

        with mock.patch.object(stats, "summary_fits", return_value=False):
            live = stats.dashboard(session, city, p, NOW)
        return fast, live

    fast, live = both()
    assert fast == live
    # a closing through the service updates the summary in the same transaction
    submitted = session.query(HiddenDanger).filter_by(status="submitted").one()
    service.transition(session, principal(session, "laishan"), submitted.id, "accept", {}, [], NOW)
    session.commit()
    fast, live = both()
    assert fast == live and fast["totals"]["closed"] == 4
    assert fast["totals"]["on_time_rate"] == 50.0  # submitted after its deadline: late
