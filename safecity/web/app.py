"""Assembles the FastAPI application: API routers, web pages, static assets, error mapping."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import xstatic.pkg.leaflet as xs_leaflet
import xstatic.pkg.leaflet_markercluster as xs_cluster
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from safecity import __version__
from safecity.capabilities import modules, register_handlers
from safecity.core.api import router as core_router
from safecity.core.errors import Invalid, SafeCityError, TooManyRequests, Unauthorized
from safecity.core.security import LoginThrottle
from safecity.core.validation import translate
from safecity.monitoring.api import ingest_router
from safecity.registry.api import router as registry_router
from safecity.risk.api import router as risk_router
from safecity.risk.lists_api import router as lists_api
from safecity.risk.lists_views import router as lists_pages
from safecity.risk.views import router as risk_pages
from safecity.risk.whitepaper_views import router as white_paper_router
from safecity.web import openapi
from safecity.web.docs import mount_docs
from safecity.web.hardening import Hardening, add_input_safety_nets
from safecity.web.views import error_page

STATIC = Path(__file__).parent / "static"
_HTTP_ZH = {404: "页面或接口不存在", 405: "不支持该请求方法", 400: "请求有误"}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _error_response(request: Request, exc: SafeCityError) -> Response:
    if _wants_html(request):
        if isinstance(exc, Unauthorized):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
        return error_page(request, exc)
    headers = {}
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def create_app() -> FastAPI:
    app = FastAPI(
        title="SafeCity 城市安全风险监测预警与应急管理平台 API",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served from local assets below: nothing may come from a CDN
        redoc_url=None,
    )

    # Map layers are megabytes of GeoJSON; compressing them makes the map load 5-10x faster.
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    # Outermost: security headers on every answer, body caps and hostile numbers before routing.
    app.add_middleware(Hardening)
    add_input_safety_nets(app)
    app.state.login_throttle = LoginThrottle.from_settings()
    mount_docs(app)
    openapi.install(app)  # the error body and file downloads as they really are

    @app.exception_handler(SafeCityError)
    async def _safecity_error(request: Request, exc: SafeCityError) -> Response:
        return _error_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Unknown URLs and wrong methods get the same bilingual shape as our own errors.
        zh = getattr(exc, "zh", None) or _HTTP_ZH.get(exc.status_code, "请求无法处理")
        err = SafeCityError(zh, str(exc.detail))
        err.status, err.code = exc.status_code, "http_error"
        return _error_response(request, err)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = translate(exc.errors(), skip_loc_prefix=1)
        return _error_response(request, Invalid(errors))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    # First: routes are matched in order, and these two are called the most (probes, devices).
    app.include_router(ingest_router)

    app.include_router(core_router)
    app.include_router(registry_router)

    app.include_router(white_paper_router)

    app.include_router(risk_router)
    app.include_router(risk_pages)
    app.include_router(lists_api)
    app.include_router(lists_pages)
    for module in modules("api") + modules("views"):
        app.include_router(module.router)
    # The same hook the ingestion processes call (monitoring.runners), at assembly and at every
    # start (a stopped app's handlers are made inert by the risk router's shutdown).
    register_handlers()
    app.router.add_event_handler("startup", register_handlers)
    try:
        from safecity.web.views import router as web_router  # noqa: PLC0415 web pages optional while the UI is assembled (ImportError guard)
    except ImportError:  # web pages are optional while the UI is being assembled
        web_router = None
    if web_router is not None:
        app.include_router(web_router)

    app.mount("/static/leaflet", StaticFiles(directory=xs_leaflet.BASE_DIR), name="leaflet")
    app.mount("/static/markercluster", StaticFiles(directory=xs_cluster.BASE_DIR), name="cluster")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    return app
