"""`safecity` sub-commands of the monitoring capability: mqtt, ingest, simulate, purge-readings."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the main `safecity` app."""

    @app.command("mqtt")
    def mqtt_cmd(
        consumers: int = typer.Option(1, help="Consumer processes (one per core)."),
        forward_nats: bool = typer.Option(
            False, help="Relay into JetStream instead of processing here (run `safecity ingest`)."
        ),
    ) -> None:
        """Consume device telemetry from the MQTT broker (shared subscription, QoS 1)."""
        from safecity.monitoring.runners import run_many, run_mqtt_consumer  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.monitoring.settings import get_monitoring_settings  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        if consumers == 1:
            run_mqtt_consumer(0, None, None, "safecity", forward_nats)
            return
        if get_monitoring_settings().mqtt_protocol == 4:
            # MQTT 3.1.1 has no shared subscriptions: every consumer would get every reading.
            raise typer.BadParameter(
                "--consumers > 1 needs MQTT 5 shared subscriptions; with "
                "NATS (MQTT 3.1.1) run one consumer with --forward-nats "
                "and `safecity ingest --workers N`",
                param_hint="--consumers",
            )
        raise typer.Exit(
            run_many(run_mqtt_consumer, consumers, None, None, "safecity", forward_nats, True)
        )

    @app.command("ingest")
    def ingest_cmd(
        workers: int = typer.Option(1, help="Worker processes sharing the stream."),
    ) -> None:
        """Consume telemetry from the NATS JetStream work-queue stream (scale-out)."""
        from safecity.monitoring.runners import run_many, run_nats_worker  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        if workers == 1:
            run_nats_worker(0, 1)
        else:  # a worker that dies is restarted (logged); see runners.run_many
            raise typer.Exit(run_many(run_nats_worker, workers, workers))

    @app.command("simulate")
    def simulate_cmd(
        sensors: int = typer.Option(1000, help="Number of simulated devices."),
        rate: float = typer.Option(1000, help="Readings per second, all devices together."),
        via: str = typer.Option("mqtt", help="mqtt | http | nats"),
        duration: float = typer.Option(60, help="Seconds to run."),
        url: str = typer.Option("http://127.0.0.1:8000", help="Base URL for --via http."),
        anomalies: bool = typer.Option(
            True,
            help="Script a gas leak, pipe burst, bridge "
            "overload, elevator trapping and a vehicle off route.",
        ),
    ) -> None:
        """Publish realistic readings (diurnal pattern, noise, scripted anomalies)."""
        from safecity.monitoring import simulate  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        if via not in ("mqtt", "http", "nats"):
            raise typer.BadParameter("--via must be mqtt, http or nats")
        stats = simulate.run(
            sensors=sensors, rate=rate, via=via, duration=duration, url=url, anomalies=anomalies
        )
        typer.echo(json.dumps(stats, ensure_ascii=False))

    @app.command("purge-readings")
    def purge_cmd() -> None:
        """Retention: delete raw readings older than SAFECITY_MONITORING_RETENTION_DAYS."""
        from safecity.core.clock import epoch_ms  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.core.db import get_engine  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.monitoring.settings import get_monitoring_settings  # noqa: PLC0415 CLI start-up: each command loads only what it needs
        from safecity.monitoring.store import purge_before  # noqa: PLC0415 CLI start-up: each command loads only what it needs

        days = get_monitoring_settings().retention_days
        cutoff = epoch_ms() - days * 86_400_000
        with get_engine().begin() as conn:
            removed = purge_before(conn, cutoff)
        typer.echo(json.dumps({"removed": removed, "retention_days": days}))
