"""The monitoring capability plugged into SafeCity: its standard files (see
safecity.plugins.Conventional); its routers come first of all, with the devices' ingest; it
says which alarm a hidden danger came from."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from safecity.hookspecs import hookimpl
from safecity.plugins import Conventional


class Monitoring(Conventional):
    order = 40
    text_prefix = "mon_"
    routers = ("api:ingest_router", "api:router", "views:router")

    @hookimpl(tryfirst=True)
    def safecity_routers(self) -> Iterable[Any]:
        # First of all routers: devices post readings more often than anything else.
        return super().safecity_routers()

    @hookimpl
    def safecity_origin(self, session: Any, object_type: str, object_id: Any) -> Any:
        """A hidden danger opened from an alarm came from that alarm."""
        if object_type != "hidden_danger":
            return None
        alarm_id = self.part("links:alarm_for_hidden_danger")(session, object_id)
        return None if alarm_id is None else ("alarm", alarm_id)


plugin = Monitoring(__name__)
