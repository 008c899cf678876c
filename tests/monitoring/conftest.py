"""Monitoring fixtures: a few sensors in the seeded city with known device tokens."""

from __future__ import annotations

import json
import os
import socket

import pytest
from sqlalchemy.orm import Session

from safecity.monitoring.models import Sensor
from safecity.monitoring.telemetry import hash_token
from safecity.registry.models import GridCell
from tests.brokers import MosquittoBroker

T0_MS = 1_795_424_400_000  # 2026-11-23 09:00 UTC, the suite's NOW


def token_of(device_id: str) -> str:
    return f"tok-{device_id}"


def msg(device: str, ts: int, value: object, token: str | None = None, **extra: object) -> tuple:
    """One device message as the pipeline receives it: (device id, JSON body)."""
    body = {
        "token": token if token is not None else token_of(device),
        "ts": ts,
        "value": value,
        **extra,
    }
    return device, json.dumps(body).encode()


def make_sensors(
    session: Session, count: int = 4, sensor_type: str = "gas", prefix: str = "GAS"
) -> list[Sensor]:
    cell = session.query(GridCell).filter_by(code="370602-0001").one()
    sensors = [
        Sensor(
            device_id=f"{prefix}-{i:04d}",
            name=f"燃气探头{i}",
            sensor_type=sensor_type,
            division_code="370602",
            grid_cell_id=cell.id,
            facility="测试管网",
            lon=121.36 + i * 0.001,
            lat=37.46,
            status="active",
            token_hash=hash_token(token_of(f"{prefix}-{i:04d}")),
            archived=False,
        )
        for i in range(1, count + 1)
    ]
    session.add_all(sensors)
    session.commit()
    return sensors


@pytest.fixture
def sensors(session: Session, city: dict) -> list[Sensor]:
    return make_sensors(session)


def service_up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, port: int) -> None:
    """Broker tests run against the real service; on CI a missing one is a failure."""
    if service_up(port):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} unreachable at 127.0.0.1:{port} (CI=true: failing, not skipping)")
    pytest.skip(f"{name} not reachable")


# Mosquitto with deploy/mosquitto/safecity.conf on a free port (kept under its old name).
Broker = MosquittoBroker
