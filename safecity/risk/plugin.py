"""The risk capability plugged into SafeCity: its rooms' routers (points, major hazards, four
lists, areas, white paper), menu, map layers and start page (nav.py), demo, and the handlers
that move area risk with alarms and hidden dangers."""

from __future__ import annotations

from safecity.plugins import Conventional


class Risk(Conventional):
    order = 20
    # The white paper first: its paths would otherwise be taken for /risk/{id}.
    routers = (
        "whitepaper.views:router",
        "points.api:router",
        "major_hazards.api:router",
        "points.views:router",
        "major_hazards.views:router",
        "lists.api:router",
        "areas.api:router",
        "lists.views:router",
        "areas.views:router",
    )
    # AlarmRaised/Cleared, HiddenDangerOverdue/Closed → area risk
    event_handlers = ("areas.dynamic:register",)


plugin = Risk(__name__)
