"""The capabilities that plug into the app the same way (api, views, nav, texts, cli, demo modules)."""

from __future__ import annotations

import importlib
from types import ModuleType

# Order matters for the demo: a capability's demo data may use the ones before it.
CAPABILITIES = ("hazards", "monitoring", "warnings")


def modules(part: str) -> list[ModuleType]:
    """Each capability's `part` module (e.g. "api", "demo"), in CAPABILITIES order."""
    return [importlib.import_module(f"safecity.{name}.{part}") for name in CAPABILITIES]
