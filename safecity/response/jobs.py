"""Emergency command's background job, run by the one job runner (safecity.core.jobs)."""

from __future__ import annotations

from safecity.core.jobs import Job
from safecity.response.service import remind_overdue_reports


def declared() -> list[Job]:
    return [
        Job(
            "response.overdue-reports",
            300,
            remind_overdue_reports,
            "事故报告逾期提醒（第493号令时限）",
        )
    ]
