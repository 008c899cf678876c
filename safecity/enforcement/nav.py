"""Menu entries of the enforcement capability: (href, text key, who may open it)."""

from safecity.core.scope import Principal
from safecity.enforcement.common import GOVERNMENT
from safecity.web.access import May, everyone


def government(who: Principal) -> bool:
    return who.role in GOVERNMENT


def readers(who: Principal) -> bool:
    """Government staff, and enterprise officers for their own enterprise's records."""
    return who.role in GOVERNMENT or who.role == "enterprise_officer"


NAV: tuple[tuple[str, str, May], ...] = (
    ("/enforcement", "nav_enf_home", government),
    ("/enforcement/inspections", "nav_enf_inspections", readers),
    ("/enforcement/cases", "nav_enf_cases", readers),
    ("/enforcement/draws", "nav_enf_draws", government),
    ("/enforcement/plans", "nav_enf_plans", government),
    ("/enforcement/classes", "nav_enf_classes", government),
    ("/enforcement/inspectors", "nav_enf_inspectors", government),
    ("/enforcement/stats", "nav_enf_stats", government),
    ("/public/enforcement/draws", "nav_enf_public", everyone),
)

START_PAGES = {"inspector": "/enforcement"}  # the inspector's desk: own inspections, overdue cases
