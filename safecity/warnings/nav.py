"""Menu entries of the warnings capability: (href, text key)."""

NAV: tuple[tuple[str, str], ...] = (
    ("/warnings/list", "nav_warnings_list"),
    ("/warnings/new", "nav_warnings_new"),
    ("/warnings/coverage", "nav_warnings_coverage"),
    ("/public/warnings", "nav_warnings_public"),
)

# Layers on the one map (一张图): (name, GeoJSON URL, Chinese, English).
MAP_LAYERS: tuple[tuple[str, str, str, str], ...] = (
    ("warnings", "/api/v1/warnings/public", "生效预警", "Warnings in force"),
)
