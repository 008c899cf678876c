"""`safecity resources …` and `safecity roads import FILE`: the road network and the
travel-time questions from the command line (JSON out)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from safecity.core.scope import Principal


class _Operator(Principal):
    """The command line acts as an administrator over the whole installation."""

    @property
    def prefix(self) -> str:
        return ""


OPERATOR = _Operator(user_id=0, username="cli", role="admin", division_code="000000")


def _print(body: Any) -> None:
    typer.echo(json.dumps(body, ensure_ascii=False, indent=2, default=str))


def _import_roads(file: Path, name: str) -> None:
    from safecity.core.clock import utcnow  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.core.errors import SafeCityError  # noqa: PLC0415 CLI start-up: each command loads only what it needs
    from safecity.resources import network  # noqa: PLC0415 CLI start-up: each command loads only what it needs

    try:
        with session_scope() as session:
            row, graph = network.import_file(session, OPERATOR, file, utcnow(), name=name)
            out = {"id": row.id, "name": row.name, "nodes": row.nodes, "edges": row.edges}
            out["report"] = graph.report.as_dict()
    except SafeCityError as exc:
        typer.echo(f"{exc.zh} / {exc.en}", err=True)
        for e in getattr(exc, "errors", []):
            typer.echo(f"  {e.field}: {e.zh} / {e.en}", err=True)
        raise typer.Exit(1) from None
    _print(out)


def register(app: typer.Typer) -> None:
    rs = typer.Typer(help="Emergency resources (应急保障): road network, nearest, evacuation.")
    roads_app = typer.Typer(help="The road network (路网) routing runs on.")
    rs.add_typer(roads_app, name="roads")
    app.add_typer(rs, name="resources")
    top_roads = typer.Typer(help="The road network (路网): `safecity roads import FILE`.")
    app.add_typer(top_roads, name="roads")

    @roads_app.command("import")
    def roads_import(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".osm.pbf or GeoJSON"),
        name: str = typer.Option("", help="A name for the network (default: the file name)."),
    ) -> None:
        """Import an OSM extract (.osm.pbf) or GeoJSON LineStrings with OSM tags."""
        _import_roads(file, name)

    @top_roads.command("import")
    def roads_import_top(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".osm.pbf or GeoJSON"),
        name: str = typer.Option("", help="A name for the network (default: the file name)."),
    ) -> None:
        """Import an OSM extract (.osm.pbf) or GeoJSON LineStrings with OSM tags."""
        _import_roads(file, name)

    @rs.command("nearest")
    def nearest(
        kind: str = typer.Option(
            ..., help="shelters | rescue-teams | warehouses | equipment | experts"
        ),
        lon: float = typer.Option(...),
        lat: float = typer.Option(...),
        n: int = typer.Option(5, help="How many."),
        max_time_s: float | None = typer.Option(None, help="Only within this many seconds."),
        field: str | None = typer.Option(None, help="Experts of this field (hazchem, mine…)."),
        equipment_type: str | None = typer.Option(
            None, "--type", help="Equipment of this type (vehicle, pump, boat…)."
        ),
    ) -> None:
        """The nearest N resources by road travel time, as JSON."""
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.core.errors import SafeCityError  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.resources import service  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        try:
            with session_scope() as session:
                body = service.nearest(
                    session,
                    OPERATOR,
                    kind,
                    lon,
                    lat,
                    n=n,
                    max_time_s=max_time_s,
                    field=field,
                    equipment_type=equipment_type,
                )
        except SafeCityError as exc:
            typer.echo(f"{exc.zh} / {exc.en}", err=True)
            raise typer.Exit(1) from None
        keep = ("kind", "id", "name", "travel_time_s", "distance_m", "straight_m")
        per_kind = {"experts": ("field", "organisation", "phone"), "equipment": ("tracker_id",)}
        keep += per_kind.get(kind, ())
        _print(
            {
                "direction": body["direction"],
                "results": [{k: r[k] for k in keep} for r in body["results"]],
                "not_reached": body["not_reached"],
            }
        )

    @rs.command("evacuate")
    def evacuate(
        lon: float = typer.Option(...),
        lat: float = typer.Option(...),
        radius_m: float = typer.Option(2000.0),
    ) -> None:
        """An evacuation plan for the grid cells within the radius, as JSON."""
        from safecity.core.db import session_scope  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.resources import service  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        with session_scope() as session:
            plan = service.evacuation_plan(session, OPERATOR, center=(lon, lat), radius_m=radius_m)
        _print({k: v for k, v in plan.items() if k != "flows"} | {"flows": len(plan["flows"])})

    @rs.command("targets")
    def show_targets() -> None:
        """The city's targets the gap and coverage analyses judge against, each with where it
        came from (default, the city's plan, safecity.toml [resources], SAFECITY_RESOURCES_*);
        exits 1 naming every bad setting."""
        from safecity.resources import settings as targets  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        try:
            loaded = targets.load()
        except targets.ConfigError as exc:
            for field, zh, en in exc.errors:
                typer.echo(f"{field}: {zh} / {en}", err=True)
            raise typer.Exit(1) from None
        _print({name: t.as_dict() for name, t in loaded.targets.items()})
