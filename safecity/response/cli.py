"""`safecity response …`: reporting clocks that are due or overdue, and accident records."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the main `safecity` app."""
    group = typer.Typer(help="Emergency command (应急指挥).", no_args_is_help=True)
    app.add_typer(group, name="response")

    @group.command("overdue")
    def overdue() -> None:
        """Open production-safety accidents with reports past their Decree 493 deadline."""
        from safecity.core.clock import utcnow  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up
        from safecity.core.scope import SYSTEM  # noqa: PLC0415 CLI start-up
        from safecity.response import service  # noqa: PLC0415 CLI start-up

        now = utcnow()
        out = []
        with session_scope() as session:
            page = service.list_incidents(
                session, SYSTEM, service.Filters(open_only=True, size=service.MAX_PAGE_SIZE)
            )
            for inc, n in service.overdue_counts(session, page.items, now).items():
                if n:
                    out.append({"incident_id": inc, "missing_reports": n})
        typer.echo(json.dumps({"overdue": out}, ensure_ascii=False))

    @group.command("records")
    def records_cmd(
        year: int = typer.Option(..., help="Calendar year (Beijing time)."),
        division: str = typer.Option("", help="GB/T 2260 code; empty for all."),
        final_only: bool = typer.Option(False, help="Only closed incidents (final counts)."),
    ) -> None:
        """Accident records of a year as JSON lines (what the plan indicators read)."""
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up
        from safecity.response.records import accident_records  # noqa: PLC0415 CLI start-up

        with session_scope() as session:
            for r in accident_records(session, year, division or None, final_only=final_only):
                typer.echo(json.dumps(r.as_dict(), ensure_ascii=False))
