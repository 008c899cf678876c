"""Accident reporting clocks (事故报告时限) of Decree 493, evaluated at a given ``now``.

Pure domain logic: no I/O, no database; the caller passes ``now`` (``safecity.core.clock``).

《生产安全事故报告和调查处理条例》 (State Council Decree No. 493):

* art. 9 — 单位负责人接到报告后，应当于1小时内向事故发生地县级以上人民政府安全生产监督管理
  部门和负有安全生产监督管理职责的有关部门报告.  The clock starts when the unit head is told,
  not when the accident happens; a report received at any level from the county up counts
  (art. 9 para. 2 lets people on site report directly in an emergency).
* art. 10 — how far up an accident goes: 一般 to the districted city (设区的市级), 较大 to the
  province, 重大 and 特别重大 to the State Council department; 必要时可以越级上报 (a higher
  level receiving the report satisfies the steps below it).
* art. 11 — 逐级上报事故情况，每级上报的时间不得超过2小时: each level has 2 hours from its own
  receipt; a level that received late starts the next clock late, it does not borrow time.
* art. 13 — 自事故发生之日起30日内，事故造成的伤亡人数发生变化的，应当及时补报。道路交通事故、
  火灾事故自发生之日起7日内 …: casualty changes inside the window need a follow-up report.

Choices where the texts leave room (each is a parameter or documented here):

* "1小时内" / "不得超过2小时" include the end point: a report at exactly 1:00:00 is on time,
  at 1:00:01 late (Chinese legal usage: 以内 includes the number, cf. Criminal Law art. 99).
* Day counting for art. 13 follows the Civil Code art. 201: 开始的当日不计入, so for an accident
  on 1 March (any hour) day 1 is 2 March and the 7-day window ends at the end of 8 March, the
  30-day window at the end of 31 March — local days, China Standard Time (UTC+8, no DST) by
  default (``tz``).
* "及时补报" gives no number; SafeCity expects the follow-up within ``followup_grace``
  (default 24 hours) after the change becomes known.  A change outside the window needs none.
* Status words: ``pending`` (the step's clock has not started: the level below has not received
  the report), ``due`` (running, not yet reported), ``on_time``, ``late`` (迟报: reported after
  the deadline), ``missing`` (漏报: deadline passed and nothing received), ``not_required``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Any

from safecity.core.clock import BEIJING
from safecity.response.errors import FieldError, ResponseInputError, require_aware
from safecity.response.grading import parse_grade

__all__ = [
    "CHINA_STANDARD_TIME",
    "LEVELS",
    "ClockStatus",
    "FollowupStatus",
    "followup_clocks",
    "followup_window_end",
    "report_chain",
    "reporting_clocks",
    "top_level",
]

CHINA_STANDARD_TIME = BEIJING  # UTC+8, no daylight saving: the platform's one zone
UNIT_HEAD_LIMIT = timedelta(hours=1)  # art. 9
STEP_LIMIT = timedelta(hours=2)  # art. 11
DEFAULT_FOLLOWUP_GRACE = timedelta(hours=24)  # "及时" — SafeCity's choice

# (key, zh, en) from the unit up; art. 10 names the top for each grade.
LEVELS: tuple[tuple[str, str, str], ...] = (
    ("unit", "事故发生单位", "the unit where the accident happened"),
    ("county", "县级安全生产监管部门", "county-level regulator"),
    ("city", "设区的市级安全生产监管部门", "districted-city regulator"),
    ("province", "省级安全生产监管部门", "provincial regulator"),
    ("national", "国务院安全生产监管部门", "State Council regulator"),
)
_RANK = {k: i for i, (k, _, _) in enumerate(LEVELS)}
_NAME = {k: (zh, en) for k, zh, en in LEVELS}
_TOP = {
    "ordinary": "city",
    "relatively_serious": "province",
    "serious": "national",
    "extraordinary": "national",
}

STATUS_TEXT = {
    "pending": ("未开始（下级尚未收到）", "not started (the level below has not received it)"),
    "due": ("待报", "due"),
    "on_time": ("按时", "on time"),
    "late": ("迟报", "late"),
    "missing": ("漏报（逾期未报）", "missing (deadline passed, not reported)"),
    "not_required": ("无需补报", "not required"),
}


def top_level(grade: Any) -> str:
    """Art. 10: the highest level an accident of ``grade`` is reported to."""
    return _TOP[parse_grade(grade).key]


def report_chain(grade: Any) -> list[tuple[str, str, timedelta]]:
    """The steps (from, to, limit) for ``grade``: unit→county 1 h, then 2 h per level."""
    top = _RANK[top_level(grade)]
    keys = [k for k, _, _ in LEVELS[: top + 1]]
    return [(a, b, UNIT_HEAD_LIMIT if a == "unit" else STEP_LIMIT) for a, b in pairwise(keys)]


@dataclass(frozen=True)
class ClockStatus:
    step: str  # "unit→county"
    to_level: str
    article: str
    started_at: datetime | None
    deadline: datetime | None
    reported_at: datetime | None
    status: str
    skipped: bool = False  # satisfied by a higher level (越级上报)

    def explanation(self) -> tuple[str, str]:
        frm, to = self.step.split("→")
        szh, sen = STATUS_TEXT[self.status]
        zh = f"{_NAME[frm][0]}→{_NAME[to][0]}（{self.article}）：{szh}"
        en = f"{_NAME[frm][1]} → {_NAME[to][1]} ({self.article}): {sen}"
        if self.deadline is not None:
            zh += f"，时限 {self.deadline.isoformat()}"
            en += f", deadline {self.deadline.isoformat()}"
        if self.skipped:
            zh += "，由更高一级收到（越级上报）"
            en += ", received by a higher level (reported over the head)"
        return zh, en

    def as_dict(self) -> dict[str, Any]:
        zh, en = self.explanation()
        return {
            "step": self.step,
            "to_level": self.to_level,
            "article": self.article,
            "started_at": _iso(self.started_at),
            "deadline": _iso(self.deadline),
            "reported_at": _iso(self.reported_at),
            "status": self.status,
            "status_zh": STATUS_TEXT[self.status][0],
            "skipped": self.skipped,
            "explanation_zh": zh,
            "explanation_en": en,
        }


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _status(deadline: datetime | None, reported: datetime | None, now: datetime) -> str:
    if reported is not None:
        return "on_time" if deadline is None or reported <= deadline else "late"
    if deadline is None:
        return "pending"
    return "due" if now <= deadline else "missing"


def _check_received(received: Mapping[str, Any], now: datetime) -> dict[str, datetime]:
    errors: list[FieldError] = []
    out: dict[str, datetime] = {}
    for level, at in received.items():
        field = f"received.{level}"
        if level not in _RANK or level == "unit":
            errors.append(
                FieldError(
                    field,
                    f"未知的上报层级 {level!r}（county/city/province/national）",
                    f"unknown level {level!r}",
                )
            )
            continue
        try:
            t = require_aware(field, at)
        except ResponseInputError as exc:
            errors.extend(exc.errors)
            continue
        if t > now:
            errors.append(
                FieldError(field, "接报时间不能晚于当前时间", "a receipt cannot be in the future")
            )
            continue
        out[level] = t
    if errors:
        raise ResponseInputError(errors)
    return out


def _skipped(frm: str, to: str, reported: datetime | None, got: Mapping[str, datetime]) -> bool:
    """越级: the step is met by a report that bypassed ``frm`` or ``to`` (art. 10 para. 3).

    The unit's step is never a skip: art. 9 lets it report to any level from the county up.
    """
    return frm != "unit" and reported is not None and (frm not in got or to not in got)


def reporting_clocks(
    grade: Any, unit_head_informed_at: datetime, received: Mapping[str, datetime], now: datetime
) -> list[ClockStatus]:
    """Every upward step for ``grade`` with its deadline and status at ``now``.

    ``received`` maps a level (county, city, province, national) to when it received the report.
    """
    now = require_aware("now", now)
    start = require_aware("unit_head_informed_at", unit_head_informed_at)
    if start > now:
        raise ResponseInputError.one(
            "unit_head_informed_at", "时间不能晚于当前时间", "cannot be in the future"
        )
    got = _check_received(received, now)
    out: list[ClockStatus] = []
    for frm, to, limit in report_chain(grade):
        started = start if frm == "unit" else got.get(frm)
        at_or_above = [t for lv, t in got.items() if _RANK[lv] >= _RANK[to]]
        reported = min(at_or_above) if at_or_above else None
        deadline = started + limit if started is not None else None
        article = "第九条" if frm == "unit" else "第十一条"
        out.append(
            ClockStatus(
                f"{frm}→{to}",
                to,
                article,
                started,
                deadline,
                reported,
                _status(deadline, reported, now),
                skipped=_skipped(frm, to, reported, got),
            )
        )
    return out


# --------------------------------------------------------------------------- follow-ups


def followup_window_end(
    occurred_at: datetime, road_traffic_or_fire: bool, tz: tzinfo = CHINA_STANDARD_TIME
) -> datetime:
    """End (exclusive) of the art. 13 window: the start of local day 8 or 31 after the accident."""
    occurred = require_aware("occurred_at", occurred_at)
    days = 7 if road_traffic_or_fire else 30
    local_day = occurred.astimezone(tz).date()
    # Civil Code art. 201: the first day is not counted, so day N ends at the start of day N+1.
    return datetime.combine(local_day + timedelta(days=days + 1), time(0), tzinfo=tz)


@dataclass(frozen=True)
class FollowupStatus:
    change_at: datetime
    window_end: datetime
    deadline: datetime | None
    reported_at: datetime | None
    status: str
    days: int

    def as_dict(self) -> dict[str, Any]:
        szh, sen = STATUS_TEXT[self.status]
        if self.status == "not_required":
            zh = f"伤亡变化发生在事故发生之日起{self.days}日之后：{szh}"
            en = f"casualty change after the {self.days}-day window: {sen}"
        else:
            zh = (
                f"事故发生之日起{self.days}日内伤亡人数变化，应当及时补报（第十三条）："
                f"{szh}，时限 {self.deadline.isoformat() if self.deadline else ''}"
            )
            en = (
                f"casualty change within {self.days} days needs a follow-up report (art. 13): "
                f"{sen}, deadline {self.deadline.isoformat() if self.deadline else ''}"
            )
        return {
            "change_at": _iso(self.change_at),
            "window_end": _iso(self.window_end),
            "deadline": _iso(self.deadline),
            "reported_at": _iso(self.reported_at),
            "status": self.status,
            "status_zh": szh,
            "explanation_zh": zh,
            "explanation_en": en,
        }


def followup_clocks(
    occurred_at: datetime,
    road_traffic_or_fire: bool,
    changes: Sequence[datetime],
    followups: Sequence[datetime],
    now: datetime,
    followup_grace: timedelta = DEFAULT_FOLLOWUP_GRACE,
    tz: tzinfo = CHINA_STANDARD_TIME,
) -> list[FollowupStatus]:
    """One status per casualty change: the first follow-up at or after it answers it."""
    now = require_aware("now", now)
    occurred = require_aware("occurred_at", occurred_at)
    end = followup_window_end(occurred, road_traffic_or_fire, tz)
    days = 7 if road_traffic_or_fire else 30
    reports = sorted(require_aware(f"followups[{i}]", t) for i, t in enumerate(followups))
    errors = [
        FieldError(f"followups[{i}]", "续报时间不能晚于当前时间", "cannot be in the future")
        for i, t in enumerate(followups)
        if t > now
    ]
    out: list[FollowupStatus] = []
    for i, raw in enumerate(changes):
        change = require_aware(f"changes[{i}]", raw)
        if change < occurred or change > now:
            errors.append(
                FieldError(
                    f"changes[{i}]",
                    "伤亡变化时间必须在事故发生之后、当前时间之前",
                    "a change must lie between the accident and now",
                )
            )
            continue
        if change >= end:
            out.append(FollowupStatus(change, end, None, None, "not_required", days))
            continue
        deadline = change + followup_grace
        reported = next((t for t in reports if t >= change), None)
        out.append(
            FollowupStatus(change, end, deadline, reported, _status(deadline, reported, now), days)
        )
    if errors:
        raise ResponseInputError(errors)
    return out
