"""The capabilities that plug into the app the same way (api, views, nav, texts, cli, demo modules)."""

from __future__ import annotations

import importlib
from types import ModuleType

# Order matters for the demo: a capability's demo data may use the ones before it.
CAPABILITIES = ("hazards", "monitoring", "warnings")

# Event subscribers (modules with an idempotent `register()`): every process that publishes
# events runs them — the web app and the ingestion processes (`safecity mqtt`/`ingest`) — by
# calling register_handlers(), so the two cannot drift apart.
HANDLERS = (
    "safecity.risk.dynamic",  # AlarmRaised/Cleared, HiddenDangerOverdue/Closed → area risk
    "safecity.warnings.alarms",  # a red/orange alarm drafts a warning
)


def modules(part: str) -> list[ModuleType]:
    """Each capability's `part` module (e.g. "api", "demo"), in CAPABILITIES order."""
    return [importlib.import_module(f"safecity.{name}.{part}") for name in CAPABILITIES]


def register_handlers() -> None:
    """Subscribe every event handler to the in-process bus; safe to call again (the bus
    ignores a handler it already has, and each register() only refreshes its own state)."""
    for name in HANDLERS:
        importlib.import_module(name).register()
