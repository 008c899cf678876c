"""Menu entries of the monitoring capability: (href, text key); empty shows the group as upcoming."""

NAV: tuple[tuple[str, str], ...] = (
    ("/monitoring/alarms", "nav_mon_alarms"),
    ("/monitoring/sensors", "nav_mon_sensors"),
)

# Layers on the one map (一张图): (name, GeoJSON URL, Chinese, English).
MAP_LAYERS: tuple[tuple[str, str, str, str], ...] = (
    ("alarms", "/api/v1/monitoring/map/alarms", "未关闭报警", "Open alarms"),
    ("sensors", "/api/v1/monitoring/map/sensors", "监测传感器", "Sensors"),
)
