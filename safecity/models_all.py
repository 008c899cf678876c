"""Imports every capability's models so metadata (and Alembic) sees all tables."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "safecity.core.models",
    "safecity.registry.models",
    "safecity.risk.models",
    "safecity.hazards.models",
    "safecity.monitoring.models",
    "safecity.warnings.models",
)


def import_all() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
