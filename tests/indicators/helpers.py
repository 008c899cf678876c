"""Helpers of the indicators tests: import a set, record statistics, seed records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from safecity.hazards import final_counts
from safecity.hazards.models import HiddenDanger
from safecity.indicators import service
from safecity.indicators.definitions import load_shipped
from safecity.indicators.models import IndicatorSetRow
from safecity.indicators.service import StatIn
from tests.conftest import NOW, principal


def shipped_text(city: str) -> str:
    from importlib import resources  # noqa: PLC0415 kept beside its one use

    load_shipped(city)  # validated
    return resources.files("safecity.indicators").joinpath(f"data/{city}.toml").read_text("utf-8")


def import_yantai(session: Session, username: str = "admin") -> IndicatorSetRow:
    result = service.import_set(session, principal(session, username), shipped_text("yantai"), NOW)
    session.commit()
    return result.set


def stats(session: Session, rows: list[tuple[str, int, str, Any]], username: str = "admin") -> Any:
    report = service.record_statistics(
        session,
        principal(session, username),
        [StatIn(d, y, name, v, "测试统计公报") for d, y, name, v in rows],
        NOW,
    )
    session.commit()
    return report


def hidden_danger(
    session: Session,
    division: str,
    reported: datetime,
    status: str = "registered",
    grade: str = "general",
    closed_late: bool | None = None,
) -> HiddenDanger:
    beijing = reported.astimezone(service.BEIJING)
    hd = HiddenDanger(
        title=f"测试隐患 {division} {beijing:%Y-%m-%d}",
        source="inspection",
        status=status,
        grade=grade,
        division_code=division,
        reported_at=reported,
        month=f"{beijing:%Y-%m}",
        closed_late=closed_late,
        closed_at=reported + timedelta(days=10) if status == "closed" else None,
        updated_at=reported,
    )
    session.add(hd)
    session.flush()
    if status in ("closed", "rejected"):  # as the hazards service does on every close
        final_counts.count_final(session, hd)
    return hd


def at(year: int, month: int = 6, day: int = 1) -> datetime:
    return datetime(year, month, day, 2, 0, tzinfo=UTC)
