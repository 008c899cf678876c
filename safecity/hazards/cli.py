"""`safecity` sub-commands of the hazards capability: `safecity jobs run-once` (for cron) and
`safecity hazards escalate`."""

from __future__ import annotations

import json
from datetime import datetime

import typer


def _jobs_app(app: typer.Typer) -> typer.Typer:
    """The shared `jobs` group (another capability may have created it already)."""
    for group in app.registered_groups:
        if group.name == "jobs" and group.typer_instance is not None:
            return group.typer_instance
    jobs_app = typer.Typer(
        help="Scheduled jobs (定时任务); `serve` runs them in the background.", no_args_is_help=True
    )
    app.add_typer(jobs_app, name="jobs")
    return jobs_app


def run_all(now: datetime) -> dict[str, object]:
    """Every hazards job once: inspection tasks for the current period, then escalation."""
    from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.hazards import jobs  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    out: dict[str, object] = {}
    try:
        from safecity.hazards import checks  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        with session_scope() as session:
            out["inspection_tasks"] = checks.generate_tasks(session, now)
    except ImportError:  # checklists not installed
        pass
    try:  # overdue events raise the area's dynamic risk when the risk capability is installed
        from safecity.risk import dynamic  # noqa: PLC0415 optional capability (ImportError when it is not installed)

        dynamic.register()
    except ImportError:
        pass
    out["escalation"] = jobs.run_once(session_scope, now).as_dict()
    return out


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the main `safecity` app."""
    jobs_app = _jobs_app(app)

    @jobs_app.command("run-once")
    def run_once(
        at: str = typer.Option("", help="Pretend it is this UTC time (ISO 8601)."),
    ) -> None:
        """Run the scheduled jobs once (for cron): inspection tasks, hidden-danger deadlines."""
        from safecity.core.clock import utcnow  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.hazards.workflow import parse_time  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        now = parse_time(at) if at else utcnow()
        if now is None:
            typer.echo("--at: not an ISO 8601 time", err=True)
            raise typer.Exit(2)
        typer.echo(json.dumps({"hazards": run_all(now)}, ensure_ascii=False))
