"""HTTP hardening applied before any route runs: security headers, body size caps, hostile numbers.

One pure ASGI middleware (no per-request Starlette objects: telemetry posts pass through it
thousands of times a second) that
- adds the security headers to every answer (pages, API, static files, errors);
- refuses a body larger than its cap with 413 before the application reads it: at once when
  Content-Length says so, otherwise as soon as the streamed bytes pass the cap;
- answers 404 for a path id and 422 for a query value that no database integer can hold
  (≥ 2⁶³: SQLite raises OverflowError, PostgreSQL an out-of-range error), and 422 for an
  overlong query value (SQLite refuses LIKE patterns over 50,000 characters).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from safecity.core.config import get_settings
from safecity.core.errors import invalid
from safecity.hazards import uploads
from safecity.monitoring.settings import get_monitoring_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Only our own origin: no inline script (pages pass data in <script type="application/json">),
# style attributes allowed (Leaflet and the charts position elements with them) but no
# <style> elements, nothing may frame us.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "style-src-attr 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]

INT_LIMIT = 2**63 - 1
Q_MAX = 200  # a search box, not a document
QUERY_VALUE_MAX = 8192
_INTEGER = re.compile(r"[+-]?\d{19,}")  # 19 digits is the shortest that can pass 2⁶³ - 1
_LONG_DIGITS = re.compile(r"\d{19}")  # one search spares the usual path a split


def body_limits() -> tuple[int, int]:
    """(multipart cap, any other body's cap) in bytes, from the settings that govern uploads."""

    slack = 1024 * 1024  # form fields and multipart framing around the files
    files = max(
        get_settings().max_upload_mb * 1024 * 1024, uploads.MAX_PHOTOS * uploads.MAX_PHOTO_BYTES
    )
    # Telemetry refuses (and dead-letters) bodies over http_max_bytes itself; it must see them.
    return files + slack, get_monitoring_settings().http_max_bytes + slack


class BodyTooLarge(HTTPException):
    """413 with the cap in both languages; the app's HTTP error handler shows `zh`."""

    def __init__(self, limit: int) -> None:
        mb = f"{limit / 1048576:.0f}"
        super().__init__(413, f"request body larger than {mb} MB; nothing was read")
        self.zh = f"请求体超过 {mb} MB 上限，未被接收"


def _oversized_int(value: str) -> bool:
    return bool(_INTEGER.fullmatch(value)) and abs(int(value)) > INT_LIMIT


def query_problem(scope: Scope) -> tuple[int, str, str, str] | None:
    """(status, field, zh, en) for a path or query value no handler could use, else None."""
    path = scope.get("path", "")
    if _LONG_DIGITS.search(path) and any(_oversized_int(s) for s in path.split("/")):
        return 404, "path", "对象不存在", "object not found"
    raw = scope.get("query_string", b"")
    if not raw:
        return None
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if _oversized_int(value):
            return 422, key, f"{key}：数值超出范围", f"{key}: number out of range"
        limit = Q_MAX if key == "q" else QUERY_VALUE_MAX
        if len(value) > limit:
            return 422, key, f"{key}：长度不能超过{limit}", f"{key}: at most {limit} characters"
    return None


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class Hardening:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.limits: tuple[int, int] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in SECURITY_HEADERS if h[0] not in present),
                ]
            await send(message)

        problem = query_problem(scope)  # scope["path"] is already percent-decoded
        if problem:
            status, field, zh, en = problem
            code = "not_found" if status == 404 else "invalid"
            body: dict[str, Any] = {"error": code, "message": zh, "message_en": en}
            if status == 422:
                body = {
                    **body,
                    "message": "输入有误：" + zh,
                    "message_en": "invalid input: " + en,
                    "detail": [{"field": field, "message": zh, "message_en": en}],
                }
            await _json(send, status, body)
            return
        limit, declared = self._limit(scope)
        if declared is not None and declared > limit:
            exc = BodyTooLarge(limit)
            await _json(
                send, 413, {"error": "too_large", "message": exc.zh, "message_en": exc.detail}
            )
            return
        await self.app(scope, _capped(receive, limit), send_with_headers)

    def _limit(self, scope: Scope) -> tuple[int, int | None]:
        """(this request's body cap, its declared Content-Length if any)."""
        if self.limits is None:
            self.limits = body_limits()
        multipart, declared = False, None
        for name, value in scope.get("headers", ()):
            if name == b"content-type":
                multipart = value.startswith(b"multipart/")
            elif name == b"content-length":
                declared = int(value) if value.isdigit() else None
        return self.limits[0] if multipart else self.limits[1], declared


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # FastAPI passes HTTPExceptions raised while reading the body through unchanged,
                # so the app's handler answers 413 in the usual bilingual shape.
                raise BodyTooLarge(limit)
        return message

    return capped


def add_input_safety_nets(app: Any) -> None:
    """Input no handler can use must answer 422, never 500, wherever it was noticed.

    The guards above catch the usual places; these catch the rest: JSON nested deeper than the
    parser's recursion limit, and numbers in a body that the database cannot store.
    """

    def answer(zh: str, en: str) -> JSONResponse:
        return JSONResponse(invalid("body", zh, en).body(), status_code=422)

    async def too_deep(_request: Any, _exc: Exception) -> JSONResponse:
        return answer("请求体：嵌套层数过多", "body: nested too deeply")

    async def out_of_range(_request: Any, _exc: Exception) -> JSONResponse:
        return answer("请求体：数值超出范围", "body: a value is out of range")

    app.add_exception_handler(RecursionError, too_deep)
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)
