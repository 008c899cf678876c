"""Menu entries of the risk capability (pages in safecity/risk/*/views.py), in menu order: (href, text
key, who may open it — see safecity/web/access.py)."""

from safecity.risk.points.kind import RISK_POINT
from safecity.web.access import May, analysis, staff

NAV: tuple[tuple[str, str, May], ...] = (
    ("/risk/points", "nav_risk_points", staff),
    ("/risk/major-hazards", "nav_major_hazards", staff),
    ("/risk/lists", "nav_four_lists", analysis),
    ("/risk/map", "nav_risk_map", analysis),
    ("/risk/white-paper", "nav_white_paper", analysis),
    ("/risk/calculator", "nav_risk_calc", analysis),
)

# Layers on the one map (一张图): (name, GeoJSON URL, Chinese, English).
MAP_LAYERS: tuple[tuple[str, str, str, str], ...] = (
    (
        "risk-districts",
        "/api/v1/risk/map?unit=district",
        "区县风险等级（四色）",
        "District risk level",
    ),
    ("risk-hazards", "/api/v1/risk/map/hazards", "重大危险源", "Major hazard installations"),
    # risk points by their assessed level, from the kind's generic layer (the major hazards keep
    # their own markers layer: it carries R, the grade and the 500 m exposure the kind lacks)
    ("risk-points", f"{RISK_POINT.api_url}/layer", RISK_POINT.zh, RISK_POINT.en),
)

START_PAGES = {"risk_analyst": "/risk/lists"}  # the four lists the analyst keeps
