"""Typed bodies in the OpenAPI document for routes that read their JSON body themselves.

Most write routes hand the raw body to a service function, which checks the caller's scope and
role first and then validates with a Pydantic model, so that an outsider gets 404/403 before any
422 and the 422 names each field in Chinese and English. FastAPI cannot see that model; a route
names it with ``openapi_extra=json_body(Model)`` and ``complete`` puts it in the document (as a
component, like FastAPI's own), so clients can be generated from ``/api/v1/openapi.json``.
A route that also takes the same fields as a multipart form with files names the file fields
(``files=``), and the form is documented beside the JSON body.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

MARK = "x-safecity-body"
_models: dict[str, type[BaseModel]] = {}
_nested: dict[str, Any] = {}


def nested(defs: dict[str, Any]) -> None:
    """Schemas of nested models that an inline body schema names by
    ``#/components/schemas/<Model>`` (a kind's body): ``complete`` adds them as components."""
    _nested.update(defs)


def json_body(
    model: type[BaseModel], *, required: bool = True, files: dict[str, str] | None = None
) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body the service validates with ``model``;
    ``files`` (field name → description) when it also takes a multipart form with files."""
    _models[model.__name__] = model
    return {MARK: {"model": model.__name__, "required": required, "files": files or {}}}


def _form(body: dict[str, Any], files: dict[str, str]) -> dict[str, Any]:
    """The model's fields as form fields, plus the file fields (each may repeat)."""
    properties = dict(body.get("properties", {}))
    for name, description in files.items():
        properties[name] = {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": description,
        }
    form = {"type": "object", "properties": properties}
    if body.get("required"):
        form["required"] = body["required"]
    return form


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace each marked route's request body with its model (the app's openapi() calls this)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, sub in _nested.items():
        components.setdefault(name, sub)
    for ops in schema.get("paths", {}).values():
        for op in ops.values():
            mark = op.pop(MARK, None) if isinstance(op, dict) else None
            if not mark:
                continue
            model = _models[mark["model"]]
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(body.pop("$defs", {}))
            components[model.__name__] = body
            content: dict[str, Any] = {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            }
            if mark.get("files"):
                content["multipart/form-data"] = {"schema": _form(body, mark["files"])}
            op["requestBody"] = {"required": mark["required"], "content": content}
    return schema
