"""The emergency-command capability plugged into SafeCity: its standard files (see
safecity.plugins.Conventional) — models, API and page routers, menu, start page and map layer
(nav.py), texts, CLI, demo and the overdue-report job (jobs.py)."""

from __future__ import annotations

from safecity.plugins import Conventional


class Response(Conventional):
    order = 70
    text_prefix = "rs_"


plugin = Response(__name__)
