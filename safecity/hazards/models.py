"""Tables of the hazards capability."""

from __future__ import annotations

from safecity.core.db import Base  # noqa: F401
