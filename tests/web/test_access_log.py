"""`safecity serve`'s access log: device telemetry posts stay out of it unless asked for."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from typer.testing import CliRunner

from safecity.cli import app


def _served_log_config(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import uvicorn  # noqa: PLC0415 uvicorn loaded only when a server starts

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    result = CliRunner().invoke(app, ["serve", "--port", "8999"])
    assert result.exit_code == 0, result.output
    return seen.get("log_config") or {}


def _logged(config: dict[str, Any], path: str, status: int) -> bool:
    """Whether uvicorn's access handler, as configured, would print this request."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", path, "1.1", status),
        None,
    )
    filters = config.get("handlers", {}).get("access", {}).get("filters", [])
    return all(config["filters"][name]["()"]().filter(record) for name in filters)


def test_device_posts_are_left_out_of_the_access_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFECITY_ACCESS_LOG_DEVICES", raising=False)
    config = _served_log_config(monkeypatch)
    assert config, "serve passes no log configuration to uvicorn"
    assert not _logged(config, "/api/v1/telemetry", 202)
    assert _logged(config, "/api/v1/telemetry", 500)  # a failing device is still seen
    assert _logged(config, "/api/v1/telemetry", 401)
    assert _logged(config, "/login", 200) and _logged(config, "/monitoring/alarms", 200)


def test_device_posts_logged_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFECITY_ACCESS_LOG_DEVICES", "true")
    assert _logged(_served_log_config(monkeypatch), "/api/v1/telemetry", 202)
