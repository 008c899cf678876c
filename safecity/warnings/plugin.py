"""The warnings capability plugged into SafeCity: its standard files (see
safecity.plugins.Conventional), its jobs (expire old warnings, send pending deliveries) and
the handler that drafts a warning from a red or orange alarm, and who may draft one."""

from __future__ import annotations

from typing import Any

from safecity.hookspecs import hookimpl
from safecity.plugins import Conventional


class Warnings(Conventional):
    order = 50
    text_prefix = "w_"
    jobs = "dispatch:declared"
    event_handlers = ("alarms:register",)

    @hookimpl
    def safecity_may(self, who: Any, step: str) -> bool | None:
        """Who may draft a warning (an alarm's page offers it)."""
        if step != "warning.draft":
            return None
        return bool(who.role in self.part("rules:DRAFTER_ROLES"))


plugin = Warnings(__name__)
