"""Bilingual input errors shared by the pure emergency-command rules (mapped to 422 by callers)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

__all__ = ["FieldError", "ResponseInputError", "require_aware"]


class FieldError(NamedTuple):
    """One rejected field; ``field`` is a path such as ``levels[1].when.any[0].op``."""

    field: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message_zh": self.message_zh, "message_en": self.message_en}


class ResponseInputError(ValueError):
    """Input the rules cannot work with; ``errors`` names every bad field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message_en}" for e in self.errors))

    @classmethod
    def one(cls, field: str, zh: str, en: str) -> ResponseInputError:
        return cls([FieldError(field, zh, en)])

    def as_list(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.errors]

    def message(self) -> str:
        """Chinese first, English after — one line per field, for a terminal."""
        return "\n".join(f"{e.field}: {e.message_zh} / {e.message_en}" for e in self.errors)


def require_aware(field: str, value: Any) -> datetime:
    """Naive times are ambiguous (local? UTC?) — every time here must carry its offset."""
    if not isinstance(value, datetime):
        raise ResponseInputError.one(field, f"{field} 必须是时间", f"{field} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ResponseInputError.one(
            field,
            f"{field} 必须带时区",
            f"{field} must be timezone-aware (naive time is ambiguous)",
        )
    return value
