"""Request and response bodies of the platform's own API (login, the current user, users,
audit log), and the building blocks capabilities use for theirs (``Out``, ``IsoTime``, GeoJSON),
so the OpenAPI document describes every body."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    WithJsonSchema,
    model_validator,
)

# A time in an answer: ISO 8601 as Python writes it ("…+00:00"), as the API always has.
IsoTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


_PLAIN = (str, int, float, bool, type(None))
# Set while an Out model validates a body it has already walked for times.
_WRITTEN: ContextVar[bool] = ContextVar("safecity_times_written", default=False)


def _as_written(value: Any) -> Any:
    """`value` with every datetime in it written as isoformat and tuples as lists. Copy on
    write: a dict or list with nothing to change is returned as it is, so the plain properties
    of thousands of map features cost one type check per value, not a copy each. GeoJSON
    coordinates are numbers only (RFC 7946) and most of a map layer: they are not walked."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        changed: dict[Any, Any] | None = None
        for k, v in value.items():
            if type(v) in _PLAIN or k == "coordinates":
                continue
            w = _as_written(v)
            if w is not v:
                if changed is None:
                    changed = dict(value)
                changed[k] = w
        return value if changed is None else changed
    if isinstance(value, list):
        copy: list[Any] | None = None
        for i, v in enumerate(value):
            if type(v) in _PLAIN:
                continue
            w = _as_written(v)
            if w is not v:
                if copy is None:
                    copy = list(value)
                copy[i] = w
        return value if copy is None else copy
    if isinstance(value, tuple):
        return [_as_written(v) for v in value]
    return value


class Out(BaseModel):
    """Base of response models: the fields a client can rely on are declared; a service may add
    more (they pass through), so typing an answer never drops what it carried. Times anywhere
    in it are written as they were before the answer had a model (isoformat)."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="wrap")
    @classmethod
    def _times_as_before(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        # The outermost answer walks its whole body once; the models nested in it (a layer's
        # features and their properties) then find it written and do not walk it again.
        if _WRITTEN.get() or not isinstance(data, dict):
            return handler(data)
        written = _WRITTEN.set(True)
        try:
            return handler(_as_written(data))
        finally:
            _WRITTEN.reset(written)


class Feature(Out):
    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None = Field(description="GeoJSON geometry (WGS-84)")
    properties: dict[str, Any]


class FeatureCollection(Out):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = Field(description="always bearer")
    expires_at: str = Field(description="ISO 8601, UTC")


class StatusOut(BaseModel):
    status: str


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    role_zh: str
    role_en: str
    division_code: str
    scope_prefix: str = Field(description="division codes starting with this are in scope")
    enterprise_id: int | None
    industry: str | None


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    division_code: str
    enterprise_id: int | None
    industry: str | None
    active: bool


class AuditEntryOut(BaseModel):
    seq: int
    ts: str = Field(description="ISO 8601")
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str


class AuditVerifyOut(BaseModel):
    ok: bool
    checked: int
    problems: list[str]
