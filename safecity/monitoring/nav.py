"""Menu entries of the monitoring capability: (href, text key, who may open it)."""

from safecity.core.kinds import map_layers, nav_entries
from safecity.monitoring.kinds import KINDS
from safecity.web.access import May, staff

NAV: tuple[tuple[str, str, May], ...] = (
    ("/monitoring/alarms", "nav_mon_alarms", staff),
    *nav_entries(KINDS),
)

# Layers on the one map (一张图): (name, GeoJSON URL, Chinese, English).
MAP_LAYERS: tuple[tuple[str, str, str, str], ...] = (
    ("alarms", "/api/v1/monitoring/map/alarms", "未关闭报警", "Open alarms"),
    *map_layers(KINDS),
)
