"""Menu entries of the warnings capability: (href, text key, who may open it)."""

from safecity.warnings.rules import DRAFTER_ROLES
from safecity.warnings.service import SHAPE  # late: the service imports much of the app
from safecity.web.access import May, analysis, everyone, roles, scoped

NAV: tuple[tuple[str, str, May], ...] = (
    ("/warnings", "nav_warnings_list", scoped(lambda: _shape())),
    ("/warnings/new", "nav_warnings_new", roles(DRAFTER_ROLES)),
    ("/warnings/coverage", "nav_warnings_coverage", analysis),
    ("/public/warnings", "nav_warnings_public", everyone),
)

# Layers on the one map (一张图): (name, GeoJSON URL, Chinese, English).
MAP_LAYERS: tuple[tuple[str, str, str, str], ...] = (
    ("warnings", "/api/v1/warnings/public", "生效预警", "Warnings in force"),
)


def _shape():  # type: ignore[no-untyped-def]
    return SHAPE
