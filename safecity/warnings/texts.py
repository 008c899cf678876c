"""UI text of the warnings pages: key -> (Chinese, English), merged into web.i18n.TEXT."""

TEXTS: dict[str, tuple[str, str]] = {}
