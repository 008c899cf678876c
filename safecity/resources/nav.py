"""Menu entries of the emergency resources capability (href, text key, who may open it) and its
layers on the one map: the analyses and stock pages, then the five kinds."""

from safecity.core.kinds import map_layers, nav_entries
from safecity.resources.kinds import KINDS
from safecity.web.access import May, admin, analysis, staff

NAV: tuple[tuple[str, str, May], ...] = (
    ("/resources/analysis", "nav_res_analysis", analysis),
    ("/resources/coverage", "nav_res_coverage", analysis),
    ("/resources/stock", "nav_res_stock", staff),
    ("/resources/transfers", "nav_res_transfers", staff),
    ("/resources/shelter-status", "nav_res_shelter_status", staff),
    ("/resources/roads", "nav_res_roads", admin),
    *nav_entries(KINDS),
)

# Layers on the one map (一张图): (name, GeoJSON URL, Chinese, English).
MAP_LAYERS: tuple[tuple[str, str, str, str], ...] = tuple(map_layers(KINDS))
