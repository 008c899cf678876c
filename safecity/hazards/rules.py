"""Pure rules of the hazards capability: deadline escalation steps, inspection recurrence and
risk-based frequency, report defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from safecity.core.clock import BEIJING
from safecity.hazards.workflow import ON_THE_CLOCK, as_utc

# ---------------------------------------------------------------- escalation

# (step, offset from the deadline): remind the responsible person 3 days before; on the day the
# deadline passes tell them and publish HiddenDangerOverdue; 3 days later the supervising
# department; 7 days later the division's officer.
STEPS: tuple[tuple[str, timedelta], ...] = (
    ("remind", timedelta(days=-3)),
    ("overdue", timedelta(0)),
    ("department", timedelta(days=3)),
    ("division", timedelta(days=7)),
)
STEP_LABELS = {
    "remind": ("临期提醒", "Deadline near"),
    "overdue": ("已逾期", "Overdue"),
    "department": ("升级至监管部门", "Escalated to department"),
    "division": ("升级至属地政府", "Escalated to division officer"),
}
LEVEL_OF = {name: i + 1 for i, (name, _) in enumerate(STEPS)}


def next_escalation(deadline: datetime | None, level: int, status: str) -> datetime | None:
    """When the next escalation step after `level` becomes due (None: nothing left to do)."""
    if deadline is None or status not in ON_THE_CLOCK or level >= len(STEPS):
        return None
    return as_utc(deadline) + STEPS[level][1]


def due_steps(deadline: datetime, level: int, now: datetime) -> list[str]:
    """Steps due now after `level` — all of them at once when catching up after downtime;
    a reminder that comes after its deadline has passed is skipped (the overdue notice says more)."""
    at = as_utc(now)
    due = [name for name, offset in STEPS[level:] if as_utc(deadline) + offset <= at]
    if "overdue" in due and "remind" in due:
        due.remove("remind")
    return due


# ---------------------------------------------------------------- recurrence

FREQUENCIES: dict[str, tuple[str, str]] = {
    "daily": ("每日", "Daily"),
    "weekly": ("每周", "Weekly"),
    "monthly": ("每月", "Monthly"),
    "quarterly": ("每季度", "Quarterly"),
}
ORDER = ("quarterly", "monthly", "weekly", "daily")
# Default risk rule: a red (major-risk) enterprise is inspected two steps more often, orange one.
DEFAULT_RISK_RULE = {"red": 2, "orange": 1, "yellow": 0, "blue": 0}


def frequency_for(base: str, risk_level: str | None, rule: dict[str, int] | None = None) -> str:
    """The plan's frequency raised by the enterprise's risk level (configurable steps)."""
    steps = (rule or DEFAULT_RISK_RULE).get(risk_level or "", 0)
    i = min(ORDER.index(base) + max(0, int(steps)), len(ORDER) - 1)
    return ORDER[i]


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    due: date


def period_of(frequency: str, day: date) -> Period:
    """The period containing `day` and its due date (the period's last day)."""
    if frequency == "daily":
        return Period(day.isoformat(), day, day)
    if frequency == "weekly":
        start = day - timedelta(days=day.weekday())
        iso = day.isocalendar()
        return Period(f"{iso.year}-W{iso.week:02d}", start, start + timedelta(days=6))
    if frequency == "monthly":
        start = day.replace(day=1)
        nxt = (start + timedelta(days=32)).replace(day=1)
        return Period(f"{day.year}-{day.month:02d}", start, nxt - timedelta(days=1))
    if frequency == "quarterly":
        q = (day.month - 1) // 3
        start = date(day.year, 3 * q + 1, 1)
        nxt = date(day.year + (q == 3), (3 * q + 3) % 12 + 1, 1)
        return Period(f"{day.year}-Q{q + 1}", start, nxt - timedelta(days=1))
    raise ValueError(frequency)


def periods_between(frequency: str, start: date, end: date) -> list[Period]:
    """Every period from the one containing `start` to the one containing `end`."""
    out: list[Period] = []
    day = start
    while day <= end:
        p = period_of(frequency, day)
        out.append(p)
        day = p.due + timedelta(days=1)
    return out


# ---------------------------------------------------------------- reports

DEFAULT_SOURCE = {
    "enterprise_officer": "self_inspection",
    "grid_member": "grid_patrol",
    "inspector": "enforcement",
    "public": "public_report",
}


def default_source(role: str) -> str:
    return DEFAULT_SOURCE.get(role, "enforcement")


def month_of(at: datetime) -> str:
    return as_utc(at).astimezone(BEIJING).strftime("%Y-%m")


def beijing_day(at: datetime) -> date:
    return as_utc(at).astimezone(BEIJING).date()


def rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None
