"""Typed answers (core.schemas.Out) write every time in their body as isoformat, nested models
included, and walk the body once: the outermost model, not each model nested in it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from safecity.core import schemas
from safecity.core.schemas import Out

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TEXT = "2026-11-23T09:00:00+00:00"


class Leaf(Out):
    at: str


class Body(Out):
    leaf: Leaf
    leaves: list[Leaf]


def test_times_anywhere_are_written_nested_models_and_extras_alike() -> None:
    body = Body.model_validate({"leaf": {"at": AT}, "leaves": [{"at": AT}], "extra": {"t": [AT]}})
    assert body.model_dump() == {
        "leaf": {"at": TEXT},
        "leaves": [{"at": TEXT}],
        "extra": {"t": [TEXT]},
    }
    assert Leaf.model_validate({"at": AT}).at == TEXT  # a model on its own walks itself
    assert schemas._WRITTEN.get() is False  # nothing left set after validation


def test_the_body_is_walked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    walked: list[object] = []
    real = schemas._as_written

    def counting(value: object) -> object:  # counts walks, not the walk's own recursion
        walked.append(value)
        monkeypatch.setattr(schemas, "_as_written", real)
        try:
            return real(value)
        finally:
            monkeypatch.setattr(schemas, "_as_written", counting)

    monkeypatch.setattr(schemas, "_as_written", counting)
    data = {"leaf": {"at": AT}, "leaves": [{"at": AT}, {"at": AT}]}
    Body.model_validate(data)
    assert walked == [data]  # the outermost model only, not Leaf three times more
    with pytest.raises(ValueError):
        Body.model_validate({"leaf": {"at": 5}, "leaves": []})
    assert schemas._WRITTEN.get() is False  # reset when validation fails too
