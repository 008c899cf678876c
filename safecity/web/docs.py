"""The interactive API docs (Swagger UI) served from the swagger-ui-py package, never a CDN."""

from __future__ import annotations

import importlib.util
from html import escape
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_URL = "/static/swagger"


def swagger_dir() -> Path:
    # find_spec, not import: the package's __init__ pulls in its framework adapters.
    spec = importlib.util.find_spec("swagger_ui")
    assert spec is not None and spec.submodule_search_locations, "swagger-ui-py is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def docs_html(title: str, openapi_url: str) -> str:
    # No inline script (the CSP forbids it): the start-up code is a static file that reads
    # the document's URL from a data attribute.
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>
<link rel="icon" href="{SWAGGER_URL}/favicon-32x32.png">
<link rel="stylesheet" href="{SWAGGER_URL}/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
<script src="{SWAGGER_URL}/swagger-ui-bundle.js"></script>
<script src="/static/js/swagger-init.js"></script>
</body></html>"""


def mount_docs(app: FastAPI) -> None:
    app.mount(SWAGGER_URL, StaticFiles(directory=swagger_dir()), name="swagger")

    @app.get("/api/v1/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_html(app.title + " — 接口文档", app.openapi_url or ""))
