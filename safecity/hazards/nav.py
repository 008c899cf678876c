"""Menu entries of the hazards capability: (href, text key, who may open it)."""

from safecity.hazards.stats import summary_fits
from safecity.hazards.workflow import ASSESSORS, REPORTERS
from safecity.web.access import May, everyone, roles, staff

NAV: tuple[tuple[str, str, May], ...] = (
    ("/hazards", "nav_hd_list", staff),
    ("/hazards/report", "nav_hd_report", lambda who: who.role in REPORTERS),
    ("/hazards?status=reported&source=public_report", "nav_hd_triage", roles(ASSESSORS)),
    ("/hazards/tasks", "nav_hd_tasks", staff),
    ("/hazards/checklists", "nav_hd_checklists", staff),
    ("/hazards/stats", "nav_hd_stats", summary_fits),
    ("/hazards/inbox", "nav_hd_inbox", everyone),
)

# The one map: open hidden dangers in scope (the kind's layer, fetched when switched on).
MAP_LAYERS: tuple[tuple[str, str, str, str], ...] = (
    ("hazards", "/api/v1/hazards/layer", "未销号隐患", "Open hidden dangers"),
)
