"""Old home of ``scope_divisions`` (now in web.kinds_views), kept for its importers.

The registry's pages are its kinds' generic ones, mounted by the app with every other kind.
"""

from __future__ import annotations

from safecity.web.kinds_views import scope_divisions

__all__ = ["scope_divisions"]
