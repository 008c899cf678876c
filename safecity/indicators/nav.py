"""Menu entries of the indicators capability: (href, text key, who may open it)."""

from safecity.core.scope import Principal
from safecity.indicators.service import READERS, STAT_WRITERS
from safecity.web.access import May


def readers(who: Principal) -> bool:
    return who.role in READERS


def stat_readers(who: Principal) -> bool:
    return who.role in READERS or who.role in STAT_WRITERS


NAV: tuple[tuple[str, str, May], ...] = (
    ("/indicators", "nav_ind_list", readers),
    ("/indicators/wall", "nav_ind_wall", readers),
    ("/indicators/statistics", "nav_ind_stats", stat_readers),
    ("/indicators/report", "nav_ind_report", readers),
    ("/indicators/sets", "nav_ind_sets", readers),
)
