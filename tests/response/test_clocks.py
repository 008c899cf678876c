"""Decree 493 reporting clocks with fixed ``now`` values at the exact boundaries.

art. 9: 单位负责人接到报告后，应当于1小时内向…县级以上…部门报告.
art. 10: 一般 → 设区的市级, 较大 → 省级, 重大/特别重大 → 国务院…部门; 必要时可以越级上报.
art. 11: 逐级上报事故情况，每级上报的时间不得超过2小时.
art. 13: 自事故发生之日起30日内 … 道路交通事故、火灾事故自发生之日起7日内，伤亡人数发生变化的，
应当及时补报.  Day counting: Civil Code art. 201, 开始的当日不计入.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from safecity.response.clocks import (
    CHINA_STANDARD_TIME as CST,
)
from safecity.response.clocks import (
    followup_clocks,
    followup_window_end,
    report_chain,
    reporting_clocks,
)
from safecity.response.errors import ResponseInputError

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=CST)  # unit head told at 10:00 Beijing time
H, M, S = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)


def _unit_step(county_at: datetime | None, now: datetime) -> str:
    return reporting_clocks("ordinary", T0, {"county": county_at} if county_at else {}, now)[
        0
    ].status


@pytest.mark.parametrize(
    ("after", "status"),
    [
        (59 * M + 59 * S, "on_time"),  # 0:59:59 — inside 1小时内
        (H, "on_time"),  # 1:00:00 — "以内" includes the end point
        (H + S, "late"),  # 1:00:01 — 迟报
    ],
)
def test_unit_head_one_hour_art_9(after: timedelta, status: str) -> None:
    assert _unit_step(T0 + after, now=T0 + 2 * H) == status


@pytest.mark.parametrize(
    ("now_after", "status"),
    [
        (59 * M + 59 * S, "due"),
        (H, "due"),  # nothing received yet, clock still running
        (H + S, "missing"),  # deadline passed, nothing received → 漏报
    ],
)
def test_unreported_step_is_due_then_missing(now_after: timedelta, status: str) -> None:
    assert _unit_step(None, now=T0 + now_after) == status


def test_deadline_is_one_hour_after_the_unit_head_is_told() -> None:
    step = reporting_clocks("ordinary", T0, {}, T0)[0]
    assert step.deadline == datetime(2024, 3, 1, 11, 0, tzinfo=CST)
    assert step.as_dict()["explanation_zh"].startswith(
        "事故发生单位→县级安全生产监管部门（第九条）：待报"
    )


@pytest.mark.parametrize(
    ("grade", "top", "steps"),
    [
        ("ordinary", "city", 2),  # art. 10 (三) 一般事故上报至设区的市级
        ("relatively_serious", "province", 3),  # (二) 较大事故逐级上报至省级
        ("serious", "national", 4),  # (一) 重大事故 … 国务院
        ("extraordinary", "national", 4),
    ],
)
def test_chain_length_by_grade_art_10(grade: str, top: str, steps: int) -> None:
    chain = report_chain(grade)
    assert len(chain) == steps and chain[-1][1] == top
    assert chain[0][2] == H and all(limit == 2 * H for _, _, limit in chain[1:])


@pytest.mark.parametrize(
    ("city_after_county", "status"),
    [
        (2 * H, "on_time"),  # 不得超过2小时 — exactly 2 h is not over
        (2 * H + S, "late"),
    ],
)
def test_each_step_up_two_hours_art_11(city_after_county: timedelta, status: str) -> None:
    county = T0 + 30 * M
    clocks = reporting_clocks(
        "relatively_serious",
        T0,
        {"county": county, "city": county + city_after_county},
        now=T0 + 3 * H,
    )
    # the province's clock runs from the city's own receipt (2:30 or 2:30:01 after T0): due
    assert [c.status for c in clocks] == ["on_time", status, "due"]
    assert clocks[1].deadline == county + 2 * H
    assert clocks[2].started_at == county + city_after_county


def test_province_clock_pending_until_the_city_receives() -> None:
    clocks = reporting_clocks("relatively_serious", T0, {"county": T0 + 30 * M}, now=T0 + H)
    assert [c.status for c in clocks] == ["on_time", "due", "pending"]
    assert clocks[2].deadline is None


def test_next_clock_starts_from_the_actual_receipt_and_shows_due() -> None:
    county = T0 + 50 * M
    city = county + H
    clocks = reporting_clocks(
        "relatively_serious", T0, {"county": county, "city": city}, now=city + H
    )
    assert clocks[2].started_at == city and clocks[2].deadline == city + 2 * H
    assert clocks[2].status == "due"


def test_reporting_over_the_head_satisfies_the_steps_below() -> None:
    # art. 10 para. 3 越级上报: the city hears first, the county never does
    clocks = reporting_clocks("ordinary", T0, {"city": T0 + 40 * M}, now=T0 + 3 * H)
    assert [c.status for c in clocks] == ["on_time", "on_time"]
    assert clocks[0].reported_at == T0 + 40 * M and not clocks[0].skipped
    assert clocks[1].skipped and "越级" in clocks[1].as_dict()["explanation_zh"]


@pytest.mark.parametrize(
    ("received", "field"),
    [
        ({"county": T0 + 3 * H}, "received.county"),  # in the future of now
        ({"county": datetime(2024, 3, 1, 10, 30)}, "received.county"),  # naive
        ({"township": T0}, "received.township"),
    ],
)
def test_bad_receipts_are_refused(received: dict[str, datetime], field: str) -> None:
    with pytest.raises(ResponseInputError) as err:
        reporting_clocks("ordinary", T0, received, now=T0 + 2 * H)
    assert err.value.errors[0].field == field


# --------------------------------------------------------------------------- art. 13


@pytest.mark.parametrize(
    ("road_or_fire", "end"),
    [
        (True, datetime(2024, 3, 9, 0, 0, tzinfo=CST)),  # day 1 = 2 Mar … day 7 = 8 Mar
        (False, datetime(2024, 4, 1, 0, 0, tzinfo=CST)),  # day 30 = 31 Mar
    ],
)
def test_window_ends_after_day_7_or_30(road_or_fire: bool, end: datetime) -> None:
    assert followup_window_end(T0, road_or_fire) == end
    # the hour of the accident does not matter, only its local day (23:30 Beijing = 15:30 UTC)
    late_evening = datetime(2024, 3, 1, 15, 30, tzinfo=UTC)
    assert followup_window_end(late_evening, road_or_fire) == end


@pytest.mark.parametrize(
    ("road_or_fire", "change", "status"),
    [
        (True, datetime(2024, 3, 8, 23, 59, 59, tzinfo=CST), "missing"),  # day 7: needed
        (True, datetime(2024, 3, 9, 0, 0, 0, tzinfo=CST), "not_required"),  # day 8: outside
        (False, datetime(2024, 3, 31, 23, 59, 59, tzinfo=CST), "missing"),  # day 30: needed
        (False, datetime(2024, 4, 1, 0, 0, 0, tzinfo=CST), "not_required"),  # day 31: outside
    ],
)
def test_casualty_change_day_7_vs_8_and_30_vs_31(
    road_or_fire: bool, change: datetime, status: str
) -> None:
    now = datetime(2024, 4, 10, tzinfo=CST)  # long after, no follow-up filed
    [clock] = followup_clocks(T0, road_or_fire, [change], [], now)
    assert clock.status == status


@pytest.mark.parametrize(
    ("followup_after", "now_after", "status"),
    [
        (timedelta(hours=24), timedelta(days=3), "on_time"),  # within the 24 h grace
        (timedelta(hours=24, seconds=1), timedelta(days=3), "late"),
        (None, timedelta(hours=24), "due"),
        (None, timedelta(hours=24, seconds=1), "missing"),
    ],
)
def test_followup_status_within_grace(
    followup_after: timedelta | None, now_after: timedelta, status: str
) -> None:
    change = T0 + timedelta(days=2)
    followups = [change + followup_after] if followup_after is not None else []
    [clock] = followup_clocks(T0, False, [change], followups, change + now_after)
    assert clock.status == status and clock.deadline == change + timedelta(hours=24)


def test_a_followup_before_the_change_does_not_answer_it() -> None:
    change = T0 + timedelta(days=2)
    [clock] = followup_clocks(T0, False, [change], [change - H], change + timedelta(days=2))
    assert clock.status == "missing"


def test_change_before_the_accident_is_refused() -> None:
    with pytest.raises(ResponseInputError) as err:
        followup_clocks(T0, True, [T0 - H], [], T0 + H)
    assert err.value.errors[0].field == "changes[0]"
