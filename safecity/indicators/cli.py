"""`safecity indicators …` (import a set, import statistics, show values) and
`safecity report evaluation --plan NAME --year Y`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from safecity.core.scope import operator  # the machine's operator, as every command acts


def _group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    for group in app.registered_groups:
        if group.name == name and group.typer_instance is not None:
            return group.typer_instance
    sub = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


def _fail(exc: Exception) -> None:
    from safecity.core.errors import Invalid, SafeCityError  # noqa: PLC0415 CLI start-up

    if isinstance(exc, Invalid):
        for e in exc.errors:
            row = f"第{e.row}行 row {e.row} " if e.row else ""
            typer.echo(f"{row}{e.field}: {e.zh} / {e.en}", err=True)
    elif isinstance(exc, SafeCityError):
        typer.echo(f"{exc.zh} / {exc.en}", err=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    ind = _group(app, "indicators", "Plan indicators (规划指标): sets, statistics, values.")
    report = _group(app, "report", "Reports (报告).")

    @ind.command("import")
    def import_set(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
        """Import (or re-import) an indicator set from its TOML file (导入指标集)."""
        from safecity.core.clock import utcnow  # noqa: PLC0415 CLI start-up
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up
        from safecity.core.errors import SafeCityError  # noqa: PLC0415 CLI start-up
        from safecity.indicators import service  # noqa: PLC0415 CLI start-up

        try:
            with session_scope() as session:
                r = service.import_set(session, operator(), file.read_text("utf-8"), utcnow())
                out = {
                    "set_id": r.set.id,
                    "city": r.set.city,
                    "created": r.created,
                    "updated": r.updated,
                    "removed": r.removed,
                    "unchanged": len(r.unchanged),
                }
        except SafeCityError as exc:
            _fail(exc)
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")

    @ind.command("statistics")
    def import_statistics(
        file: Path = typer.Argument(..., exists=True, dir_okay=False),
        source: str = typer.Option("", help="Source when the file has no 来源 column."),
    ) -> None:
        """Import yearly statistics from XLSX (导入统计数据); a changed value is a correction."""
        from safecity.core.clock import utcnow  # noqa: PLC0415 CLI start-up
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up
        from safecity.core.errors import SafeCityError  # noqa: PLC0415 CLI start-up
        from safecity.indicators import service  # noqa: PLC0415 CLI start-up

        try:
            with session_scope() as session:
                items = service.parse_statistics_xlsx(file.read_bytes(), source)
                out = service.record_statistics(session, operator(), items, utcnow()).as_dict()
        except SafeCityError as exc:
            _fail(exc)
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")

    @ind.command("values")
    def values(
        plan: str = typer.Option(..., help="The set's city key, e.g. yantai."),
        year: int = typer.Option(...),
        division: str = typer.Option(None, help="One division (default: every one)."),
    ) -> None:
        """Print every indicator's value and status for a year as JSON lines."""
        from safecity.core.clock import utcnow  # noqa: PLC0415 CLI start-up
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up
        from safecity.core.errors import SafeCityError  # noqa: PLC0415 CLI start-up
        from safecity.indicators import service  # noqa: PLC0415 CLI start-up

        try:
            with session_scope() as session:
                set_id = _set_id(session, plan)
                ev = service.evaluate(session, operator(), set_id, utcnow(), [year], division)
                for c in ev.cells.values():
                    d = c.as_dict()
                    d.pop("inputs")
                    sys.stdout.write(json.dumps(d, ensure_ascii=False) + "\n")
        except SafeCityError as exc:
            _fail(exc)

    @report.command("evaluation")
    def evaluation(
        plan: str = typer.Option(..., help="The set's city key, e.g. yantai."),
        year: int = typer.Option(...),
        out: Path = typer.Option(Path("."), file_okay=False, help="Folder for DOCX and PDF."),
    ) -> None:
        """Write the plan evaluation report (中期/总结评估) of a year as DOCX and PDF."""
        from urllib.parse import unquote  # noqa: PLC0415 CLI start-up

        from safecity.core.clock import utcnow  # noqa: PLC0415 CLI start-up
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up
        from safecity.core.errors import SafeCityError  # noqa: PLC0415 CLI start-up
        from safecity.indicators import report as rep  # noqa: PLC0415 CLI start-up

        out.mkdir(parents=True, exist_ok=True)
        try:
            with session_scope() as session:
                set_id = _set_id(session, plan)
                for fmt in ("docx", "pdf"):
                    content, _media, name = rep.build(
                        session, operator(), set_id, year, utcnow(), fmt
                    )
                    path = out / Path(unquote(name)).name
                    path.write_bytes(content)
                    typer.echo(f"已生成 written {path}")
        except SafeCityError as exc:
            _fail(exc)


def _set_id(session: object, plan: str) -> int:
    from sqlalchemy import select  # noqa: PLC0415 CLI start-up

    from safecity.core.errors import NotFound  # noqa: PLC0415 CLI start-up
    from safecity.indicators.models import IndicatorSetRow  # noqa: PLC0415 CLI start-up

    found = session.scalar(select(IndicatorSetRow.id).where(IndicatorSetRow.city == plan))  # type: ignore[attr-defined]
    if found is None:
        raise NotFound(f"指标集 {plan}", f"indicator set {plan}")
    return int(found)
