"""Demo-city data of the warnings capability, loaded by `safecity demo` after the registry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


def load(session: Session, now: datetime, progress: Callable[[str, int, int], None] | None = None
         ) -> dict[str, Any]:
    """Load this capability's demo data; a second call does nothing (idempotent)."""
    return {}
