"""`safecity enforcement …`: verify a 双随机 draw from the recorded proof, classify enterprises."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    enf = typer.Typer(help="Supervision and enforcement (监管执法).", no_args_is_help=True)

    @enf.command("draw")
    def draw_cmd(
        verify: int = typer.Option(
            ..., "--verify", help="re-run draw ID and compare (exit 1 on failure)"
        ),
    ) -> None:
        """Re-run a recorded draw from its revealed seed and pools; pass or the first difference."""
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.core.errors import NotFound  # noqa: PLC0415 CLI start-up
        from safecity.enforcement import selection  # noqa: PLC0415 CLI start-up

        with session_scope() as session:
            try:
                ok, checks = selection.verify_draw(session, verify)
            except NotFound:
                typer.echo(
                    json.dumps(
                        {"draw_id": verify, "ok": False, "error": "no drawn draw with this id"}
                    )
                )
                raise typer.Exit(2) from None
        typer.echo(
            json.dumps(
                {"draw_id": verify, "ok": ok, "checks": [c.__dict__ for c in checks]},
                ensure_ascii=False,
                indent=2,
            )
        )
        if not ok:
            raise typer.Exit(1)

    @enf.command("classify")
    def classify_cmd(
        division: str = typer.Option("", help="division code (default: the whole city)"),
    ) -> None:
        """Recompute every enterprise's supervision class (overrides are kept)."""
        from safecity.core.clock import utcnow  # noqa: PLC0415 CLI start-up
        from safecity.core.config import get_settings  # noqa: PLC0415 CLI start-up
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up
        from safecity.core.scope import Principal  # noqa: PLC0415 CLI start-up
        from safecity.enforcement import supervision  # noqa: PLC0415 CLI start-up

        with session_scope() as session:
            city = get_settings().city_code
            system = Principal(0, "system", "admin", city)
            counts = supervision.classify(session, system, utcnow(), division or city)
        typer.echo(json.dumps({"classes": counts}))

    config = typer.Typer(
        help="The city's discretion table and class scheme (files, with the examples as default).",
        no_args_is_help=True,
    )

    @config.command("show")
    def config_show(
        what: str = typer.Argument("discretion", help="discretion | scheme"),
    ) -> None:
        """Print the table in force as JSON (a starting point for the city's own file)."""
        from safecity.enforcement import settings  # noqa: PLC0415 CLI start-up

        loaded = settings.loaded()
        if what == "scheme":
            data, source = settings.scheme_as_dict(loaded.scheme), loaded.scheme_source
        elif what == "discretion":
            data, source = settings.table_as_dict(loaded.table), loaded.discretion_source
        else:
            raise typer.BadParameter("discretion or scheme")
        typer.echo(f"// source: {source}", err=True)
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))

    @config.command("check")
    def config_check(
        path: str = typer.Argument(..., help="a JSON or TOML file"),
        what: str = typer.Option("discretion", help="discretion | scheme"),
    ) -> None:
        """Validate a city's file; every bad cell is named (exit 1)."""
        from pathlib import Path  # noqa: PLC0415 CLI start-up

        from safecity.enforcement import settings  # noqa: PLC0415 CLI start-up

        try:
            data = settings.read_file(Path(path))
            parse = settings.parse_scheme if what == "scheme" else settings.parse_table
            parsed = parse(data, path)
        except (OSError, ValueError) as exc:
            errors = (
                exc.errors if isinstance(exc, settings.ConfigError) else [("file", "", str(exc))]
            )
            typer.echo(
                json.dumps(
                    {
                        "ok": False,
                        "errors": [
                            dict(zip(("field", "zh", "en"), e, strict=True)) for e in errors
                        ],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
            raise typer.Exit(1) from None
        size = (
            {"classes": list(parsed.classes)}
            if isinstance(parsed, settings.classes.Scheme)
            else {"violations": len(parsed.violations)}
        )
        typer.echo(json.dumps({"ok": True, **size}, ensure_ascii=False))

    enf.add_typer(config, name="config")
    app.add_typer(enf, name="enforcement")
