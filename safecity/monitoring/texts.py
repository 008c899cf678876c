"""UI text of the monitoring pages: key -> (Chinese, English), merged into web.i18n.TEXT."""

TEXTS: dict[str, tuple[str, str]] = {}
