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
from safecity.core import jobs
from safecity.core.api import router as core_router
from safecity.core.errors import Invalid, SafeCityError, TooManyRequests, Unauthorized
from safecity.core.security import LoginThrottle
from safecity.core.validation import translate
from safecity.plugins import collect, register_handlers
from safecity.web import heap, openapi
from safecity.web.docs import mount_docs
from safecity.web.hardening import Hardening, add_input_safety_nets
from safecity.web.kinds_views import routers_for
from safecity.web.views import error_page
from safecity.web.views import router as web_router

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

    # Every capability's routers, in plug-in order (monitoring's device ingestion first: it is
    # called the most), then every kind's generic API and pages (after them, so a capability's
    # own /risk/points/matrix is not read as a kind's /{key}), then the platform's own.
    for router in collect("safecity_routers"):
        app.include_router(router)
    for router in routers_for(collect("safecity_kinds")):
        app.include_router(router)
    app.include_router(core_router)
    # The same hook the ingestion processes call (monitoring.runners), at assembly and at every
    # start (a stopped app's handlers are made inert by the risk router's shutdown).
    register_handlers()
    app.router.add_event_handler("startup", register_handlers)
    # The one job runner: every plug-in's periodic jobs in background threads while it runs.
    start_jobs, stop_jobs = jobs.server_handlers()
    app.router.add_event_handler("startup", start_jobs)
    app.router.add_event_handler("shutdown", stop_jobs)
    # `serve` only: long-lived objects kept out of full garbage collections (web/heap.py).
    settle_heap, stop_settling = heap.server_handlers()
    app.router.add_event_handler("startup", settle_heap)
    app.router.add_event_handler("shutdown", stop_settling)
    app.include_router(web_router)

    app.mount("/static/leaflet", StaticFiles(directory=xs_leaflet.BASE_DIR), name="leaflet")
    app.mount("/static/markercluster", StaticFiles(directory=xs_cluster.BASE_DIR), name="cluster")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    return app
