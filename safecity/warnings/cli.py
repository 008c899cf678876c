"""`safecity warnings …`: import CAP alerts/feeds, run the delivery dispatcher, export CAP."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the main `safecity` app."""
    warnings_app = typer.Typer(
        help="Early warnings (预警发布): CAP import/export, dispatch.", no_args_is_help=True
    )
    app.add_typer(warnings_app, name="warnings")

    @warnings_app.command("import")
    def import_(
        file: Path = typer.Argument(
            ..., exists=True, dir_okay=False, help="A CAP 1.0/1.1/1.2 alert or an Atom/RSS feed"
        ),
        dry_run: bool = typer.Option(False, help="Check the file and write nothing."),
    ) -> None:
        """Import another agency's CAP alerts as external warnings (all or nothing).

        Exits 1 when the file is refused (dry run or not), 0 when it is accepted.
        """
        from safecity.core.clock import utcnow  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.core.errors import Invalid  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.core.scope import operator  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.warnings import cap, service  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        data = file.read_bytes()
        if len(data) > cap.MAX_BYTES:
            typer.echo(f"文件超过 {cap.MAX_BYTES // 1024} KB 上限 / file too large", err=True)
            raise typer.Exit(1)
        try:
            with session_scope() as session:
                report = service.import_cap(session, operator(), data, utcnow())
                if dry_run:  # the same checks and report as a real import, then nothing kept
                    session.rollback()
        except Invalid as exc:
            for e in exc.errors:
                typer.echo(f"{e.zh}\n  {e.en}", err=True)
            raise typer.Exit(1) from None
        for ref in report.unknown_references:
            typer.echo(
                f"未找到所引用的预警（已记录）/ referenced message not held (recorded): {ref}",
                err=True,
            )
        for item in report.not_applied:
            typer.echo(f"{item['reason']} / {item['reason_en']}: {item['reference']}", err=True)
        typer.echo(json.dumps({**report.as_dict(), "dry_run": dry_run}, ensure_ascii=False))

    @warnings_app.command("dispatch")
    def dispatch(
        loop: bool = typer.Option(False, help="Keep running (the delivery worker)."),
        interval: float = typer.Option(5.0, help="Seconds between runs with --loop."),
    ) -> None:
        """Send pending deliveries and expire warnings past their time; resumes after restarts."""
        from safecity.core import jobs  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.core.clock import utcnow  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.warnings import dispatch  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        job = jobs.Job("warnings.dispatch", interval, dispatch.dispatch_job)
        while True:
            # The job runner's form: a failing round is logged and the loop goes on.
            outcome = jobs.run(job, utcnow())
            typer.echo(
                json.dumps(outcome.result if outcome.ok else outcome.as_dict(), ensure_ascii=False)
            )
            if not loop:
                raise typer.Exit(0 if outcome.ok else 1)
            time.sleep(interval)

    @warnings_app.command("export")
    def export(warning_id: int, file: Path = typer.Argument(..., dir_okay=False)) -> None:
        """Write the CAP 1.2 XML of an issued warning to a file."""
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.warnings.models import Warning  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        with session_scope() as session:
            w = session.get(Warning, warning_id)
            if w is None or not w.cap_xml:
                typer.echo("没有该预警的 CAP 报文 / no CAP message for that warning", err=True)
                raise typer.Exit(1)
            file.write_text(w.cap_xml, encoding="utf-8")
        typer.echo(str(file))
