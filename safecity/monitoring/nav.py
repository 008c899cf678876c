"""Menu entries of the monitoring capability: (href, text key, who may open it)."""

from safecity.web.access import May, staff

NAV: tuple[tuple[str, str, May], ...] = (
    ("/monitoring/alarms", "nav_mon_alarms", staff),
    ("/monitoring/sensors", "nav_mon_sensors", staff),
)

# Layers on the one map (一张图): (name, GeoJSON URL, Chinese, English).
MAP_LAYERS: tuple[tuple[str, str, str, str], ...] = (
    ("alarms", "/api/v1/monitoring/map/alarms", "未关闭报警", "Open alarms"),
    ("sensors", "/api/v1/monitoring/map/sensors", "监测传感器", "Sensors"),
)
