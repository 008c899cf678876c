"""Bilingual input errors of the pure indicator rules (callers map them to 422)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

__all__ = ["FieldError", "IndicatorInputError"]


class FieldError(NamedTuple):
    """One rejected field; ``field`` is a path such as ``indicator[2].target.value``."""

    field: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message_zh": self.message_zh, "message_en": self.message_en}


class IndicatorInputError(ValueError):
    """A definition, formula or value the rules cannot work with; names every bad field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message_en}" for e in self.errors))

    @classmethod
    def one(cls, field: str, zh: str, en: str) -> IndicatorInputError:
        return cls([FieldError(field, zh, en)])

    @property
    def fields(self) -> list[str]:
        return [e.field for e in self.errors]

    def as_list(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.errors]
