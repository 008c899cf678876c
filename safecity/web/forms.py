"""Edit forms generated from a kind's input schema: field widgets, parsing posted values, errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from pydantic.fields import FieldInfo
from starlette.datastructures import FormData

from safecity.core.errors import FieldError, Invalid
from safecity.core.kinds import Kind
from safecity.core.kinds_service import validate
from safecity.web.i18n import pick

TEXTAREAS = ("note", "geometry")
DIVISION_SELECTS = ("division_code", "parent_code")


@dataclass(frozen=True)
class FormField:
    name: str
    widget: str  # text, number, select, division, checkbox, textarea, geojson
    required: bool
    step: str = ""
    options: tuple[tuple[str, str, str], ...] = ()  # (value, zh, en)
    has_default: bool = False  # a select with a default needs no empty "choose" option


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(the non-None type, whether None is allowed) of an annotation like `int | None`."""
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not NoneType]
        return (args[0] if args else str), len(args) < len(get_args(annotation))
    return annotation, False


def _widget(kind: Kind, name: str, info: FieldInfo) -> FormField:
    base, _nullable = _base_type(info.annotation)
    required = info.is_required()
    if name in kind.choices:
        opts = tuple((k, zh, en) for k, (zh, en) in kind.choices[name].items())
        default = None if required else info.get_default(call_default_factory=True)
        return FormField(
            name, "select", required, options=opts, has_default=default not in (None, "")
        )
    if name in DIVISION_SELECTS:
        return FormField(name, "division", required)
    if name == "geometry":
        return FormField(name, "geojson", required)
    if base is bool:
        return FormField(name, "checkbox", False)
    if base in (int, float):
        return FormField(name, "number", required, step="1" if base is int else "any")
    return FormField(name, "textarea" if name in TEXTAREAS else "text", required)


# Location inputs go last, next to the map they are picked on (the schema lists them first).
_LAST = ("lon", "lat", "geometry")


def form_fields(kind: Kind) -> list[FormField]:
    names = list(kind.schema.model_fields)
    names = [n for n in names if n not in _LAST] + [n for n in _LAST if n in names]
    return [_widget(kind, n, kind.schema.model_fields[n]) for n in names]


def defaults(kind: Kind) -> dict[str, str]:
    """A new object's form starts from the schema's defaults (e.g. scale = small)."""
    out: dict[str, str] = {}
    for name, info in kind.schema.model_fields.items():
        value = None if info.is_required() else info.get_default(call_default_factory=True)
        if isinstance(value, bool):
            out[name] = "on" if value else ""
        elif value not in (None, ""):
            out[name] = str(value)
    return out


def values_of(kind: Kind, obj: Any) -> dict[str, str]:
    """An existing object's values as the strings the form inputs show."""
    out: dict[str, str] = {}
    for name in kind.schema.model_fields:
        value = getattr(obj, name, None)
        if value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "on" if value else ""
        elif isinstance(value, dict):
            out[name] = json.dumps(value, ensure_ascii=False)
        else:
            out[name] = str(value)
    return out


def raw_values(kind: Kind, form: FormData) -> dict[str, str]:
    return {n: str(form.get(n) or "").strip() for n in kind.schema.model_fields}


def parse(kind: Kind, raw: dict[str, str]) -> dict[str, Any]:
    """Posted strings → input for the service; empty optional fields fall back to their default.

    The whole input is validated here, before the service sees it, because the edit service
    merges a patch over the stored values: an emptied required field would silently keep its
    old value instead of being reported, and every problem should show at once.
    """
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field in form_fields(kind):
        info = kind.schema.model_fields[field.name]
        value = raw.get(field.name, "")
        if field.widget == "checkbox":
            data[field.name] = value in ("on", "true", "1")
        elif value == "" and not field.required:
            data[field.name] = info.get_default(call_default_factory=True)
        elif field.widget == "geojson":
            data[field.name] = _geojson(kind, value, errors)
        elif value != "":
            data[field.name] = value  # an empty required field stays absent: "为必填项"
    try:
        validate(kind, data)
    except Invalid as exc:
        errors.extend(exc.errors)
    if errors:
        raise Invalid(errors)
    return data


def _geojson(kind: Kind, value: str, errors: list[FieldError]) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        zh, en = kind.label("geometry")
        errors.append(FieldError("geometry", f"{zh}：不是有效的 JSON", f"{en}: is not valid JSON"))
        return None


def field_messages(
    exc: Invalid,
    labels: dict[str, tuple[str, str]],
    lang: str,
) -> tuple[dict[str, list[str]], list[str]]:
    """Split errors into messages beside their field (label prefix dropped) and general ones."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for err in exc.errors:
        text = pick((err.zh, err.en), lang)
        name = err.field.split(".")[0]
        if name in labels:
            prefix = pick(labels[name], lang) + ("：" if lang != "en" else ": ")
            by_field.setdefault(name, []).append(text.removeprefix(prefix))
        else:
            general.append(text.removeprefix("body：").removeprefix("body: "))
    return by_field, general
