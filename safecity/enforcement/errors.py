"""Bilingual errors of the enforcement rules.

Input errors reuse :class:`safecity.response.errors.FieldError` (one rejected field, zh + en) and
subclass ``ResponseInputError`` so a caller that maps it to 422 maps these too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from safecity.response import errors as _response
from safecity.response.errors import FieldError, ResponseInputError

__all__ = ["EnforcementInputError", "FieldError", "RoleError", "StateError", "require_aware"]


class EnforcementInputError(ResponseInputError):
    """Input the rules cannot work with (422); ``errors`` names every bad field."""


class StateError(Exception):
    """A step the case's state does not allow, or an edit to a closed case (409)."""

    def __init__(self, zh: str, en: str) -> None:
        self.message_zh, self.message_en = zh, en
        super().__init__(en)

    def message(self) -> str:
        return f"{self.message_zh} / {self.message_en}"


class RoleError(StateError):
    """The step exists in this state but the acting role may not take it (403)."""


def require_aware(field: str, value: Any) -> datetime:
    """The response rules' check (naive times are ambiguous), raising this module's error."""
    try:
        return _response.require_aware(field, value)
    except ResponseInputError as exc:
        raise EnforcementInputError(exc.errors) from None
