"""Imports every capability's models so metadata (and Alembic) sees all tables."""

from __future__ import annotations

import importlib

from safecity.plugins import collect


def model_modules() -> list[str]:
    """``safecity.core.models`` and each plug-in's model modules (safecity_models)."""
    return ["safecity.core.models", *collect("safecity_models")]


def import_all() -> None:
    for name in model_modules():
        importlib.import_module(name)
