"""Menu entries of the warnings capability: (href, text key)."""

NAV: tuple[tuple[str, str], ...] = (
    ("/warnings/list", "nav_warnings_list"),
    ("/warnings/new", "nav_warnings_new"),
    ("/warnings/coverage", "nav_warnings_coverage"),
    ("/public/warnings", "nav_warnings_public"),
)
