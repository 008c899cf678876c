"""The OpenAPI document as the API really answers: SafeCity's error body, XLSX downloads.

FastAPI documents its own 422 body ({"detail": [{loc, msg, type}]}) and every Response-returning
route as JSON; SafeCity answers errors with {error, message, message_en, detail} and exports as
files. Clients generated from the document, and the fuzzer, need the truth.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from safecity.core import apidoc

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY = {"schema": {"type": "string", "format": "binary"}}

# (path pattern, media types of its 200 answer) for routes that return files.
FILE_ANSWERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        r"^/api/v1/(divisions|grid-cells|enterprises|protected-targets)/export$",
        (XLSX, "text/csv", "application/geo+json"),
    ),
    (r"/template$", (XLSX,)),
    (r"^/api/v1/risk/points/export$", (XLSX,)),
    (r"^/api/v1/hazards/stats/export$", (XLSX,)),
)

ERRORS = {
    "400": "请求有误 / malformed request",
    "401": "未登录或凭据失效 / login required",
    "403": "无权执行此操作 / not allowed (visible but outside the role or scope)",
    "404": "对象不存在或不在管辖范围内 / not found (or outside the caller's scope)",
    "409": "当前状态不允许此操作 / illegal state change",
    "422": "输入有误，逐字段说明 / invalid input, with field-level messages",
}
WRITE_ERRORS = {"413": "请求体超过上限 / request body too large"}


class FieldProblem(BaseModel):
    field: str = Field(description="字段名（导入时为列名）/ field name (column when importing)")
    message: str = Field(description="中文说明 / message in Chinese")
    message_en: str = Field(description="English message")
    row: int | None = Field(None, description="导入文件中的行号 / row of an imported file")


class ErrorBody(BaseModel):
    """Every error answer of the API (4xx and 5xx)."""

    error: str = Field(description="not_found, forbidden, unauthorized, conflict, invalid, …")
    message: str = Field(description="中文说明 / message in Chinese")
    message_en: str = Field(description="English message")
    detail: list[FieldProblem] | None = Field(None, description="422: one entry per problem")


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


def _fix_operation(path: str, method: str, op: dict[str, Any]) -> None:
    responses = op.setdefault("responses", {})
    wanted = {**ERRORS, **(WRITE_ERRORS if method in ("post", "put", "patch") else {})}
    for status, description in wanted.items():
        current = responses.get(status)
        if current is None or "HTTPValidationError" in str(current):
            responses[status] = _error_response(description)
    for pattern, media in FILE_ANSWERS:
        ok = responses.get("200")
        if (
            method == "get"
            and ok
            and re.search(pattern, path)
            and set(ok.get("content", {})) <= {"application/json"}
        ):
            ok["content"] = {m: BINARY for m in media}


def describe(schema: dict[str, Any]) -> dict[str, Any]:
    apidoc.complete(schema)  # bodies the services validate themselves, by their models
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(body.pop("$defs", {}))
    components["ErrorBody"] = body
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            if isinstance(op, dict) and "responses" in op:
                _fix_operation(path, method, op)
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused not in str(schema["paths"]):
            components.pop(unused, None)
    return schema


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
