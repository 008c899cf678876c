"""Menu entries of the risk capability (safecity/risk/views.py), in menu order: (href, text
key, who may open it — see safecity/web/access.py)."""

from safecity.web.access import May, analysis, staff

NAV: tuple[tuple[str, str, May], ...] = (
    ("/risk/points", "nav_risk_points", staff),
    ("/risk/major-hazards", "nav_major_hazards", staff),
    ("/risk/lists", "nav_four_lists", analysis),
    ("/risk/map", "nav_risk_map", analysis),
    ("/risk/white-paper", "nav_white_paper", analysis),
    ("/risk/calculator", "nav_risk_calc", analysis),
)
