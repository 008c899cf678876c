"""Menu entries of the monitoring capability: (href, text key); empty shows the group as upcoming."""

NAV: tuple[tuple[str, str], ...] = (
    ("/monitoring/alarms", "nav_mon_alarms"),
    ("/monitoring/sensors", "nav_mon_sensors"),
)
