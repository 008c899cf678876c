"""Menu entries and map layer of emergency command: (href, text key, who may open it)."""

from safecity.response.workflow import COMMANDERS, RECEIVERS
from safecity.web.access import May, roles, staff

DUTY_ROOM = RECEIVERS | {"commander"}


def _front(who) -> bool:  # type: ignore[no-untyped-def]
    """Government staff who work on incidents (enterprise and grid roles report elsewhere)."""
    return staff(who) and who.role not in ("enterprise_officer", "grid_member")


NAV: tuple[tuple[str, str, May], ...] = (
    ("/response/incidents", "rs_nav_incidents", _front),
    ("/response/incidents/new", "rs_nav_receive", roles(RECEIVERS)),
    ("/response/plans", "rs_nav_plans", _front),
    ("/response/roster", "rs_nav_roster", roles(DUTY_ROOM)),
)

# The commander lands on the incidents still open (处置中), not on 70 closed ones of the year.
START_PAGES = {"commander": "/response/incidents?open=1"}

MAP_LAYERS: tuple[tuple[str, str, str, str], ...] = (
    ("incidents", "/api/v1/response/map/incidents", "处置中的突发事件", "Incidents in progress"),
)

__all__ = ["COMMANDERS", "MAP_LAYERS", "NAV", "START_PAGES"]
