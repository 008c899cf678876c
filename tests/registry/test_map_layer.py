"""The registry's map layers read as plain rows of the drawn columns: the same features as built
from the ORM objects (outline if any, else the point, nothing without either; archived and city
level left out), and times in answers still written as before."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from safecity.core.schemas import _as_written
from safecity.registry.map import _PROPS
from safecity.registry.models import Division, Enterprise, GridCell, ProtectedTarget
from tests.conftest import login

MODELS = {
    "divisions": Division,
    "grid-cells": GridCell,
    "enterprises": Enterprise,
    "protected-targets": ProtectedTarget,
}
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[121.3, 37.5], [121.31, 37.5], [121.31, 37.51], [121.3, 37.5]]],
}


def _expected(session, name: str) -> list[dict]:  # type: ignore[no-untyped-def]
    model = MODELS[name]
    out = []
    for obj in session.scalars(select(model).where(model.archived.is_(False))):
        code = obj.code if name == "divisions" else obj.division_code
        if (name == "divisions" and obj.level == "city") or not code.startswith("3706"):
            continue  # the city outline is drawn apart; the admin's scope is Yantai (3706)
        geometry = getattr(obj, "geometry", None) or (
            None if obj.lon is None or obj.lat is None else
            {"type": "Point", "coordinates": [obj.lon, obj.lat]}
        )  # fmt: skip
        if geometry is not None:
            props = {p: getattr(obj, p) for p in _PROPS[name]}
            out.append({"type": "Feature", "geometry": geometry, "properties": props})
    return out


def _key(f: dict) -> str:
    return repr(sorted(f["properties"].items()))


def test_layers_answer_what_the_objects_hold(client, session, city) -> None:  # type: ignore[no-untyped-def]
    session.add_all(
        [
            GridCell(code="G-SHAPE", name="有轮廓", division_code="370602", population=120,
                     lon=121.305, lat=37.505, geometry=SQUARE),
            GridCell(code="G-POINT", name="只有中心点", division_code="370602", population=80,
                     lon=121.4, lat=37.52),
            GridCell(code="G-NONE", name="无位置", division_code="370602", population=5),
            GridCell(code="G-OLD", name="已归档", division_code="370602", population=5,
                     lon=121.4, lat=37.52, archived=True),
        ]
    )  # fmt: skip
    session.commit()
    headers = login(client, "admin")
    for name in MODELS:
        got = client.get(f"/api/v1/map/layers/{name}", headers=headers).json()
        assert got["layer"] == name
        want = _expected(session, name)
        assert sorted(got["features"], key=_key) == sorted(want, key=_key), name
    cells = client.get("/api/v1/map/layers/grid-cells", headers=headers).json()["features"]
    by_code = {f["properties"]["code"]: f for f in cells}
    assert by_code["G-SHAPE"]["geometry"] == SQUARE
    assert by_code["G-POINT"]["geometry"] == {"type": "Point", "coordinates": [121.4, 37.52]}
    assert "G-NONE" not in by_code and "G-OLD" not in by_code


def test_times_are_written_and_plain_values_left_alone() -> None:
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    plain = {"a": 1, "b": [1.5, "x", None], "geometry": {"coordinates": [[1.0, 2.0]]}}
    assert _as_written(plain) is plain  # nothing to write: not copied
    nested = {"p": {"at": at, "n": 1}, "l": [{"t": at}, 2], "t": (at, 3)}
    assert _as_written(nested) == {
        "p": {"at": "2026-11-23T09:00:00+00:00", "n": 1},
        "l": [{"t": "2026-11-23T09:00:00+00:00"}, 2],
        "t": ["2026-11-23T09:00:00+00:00", 3],
    }
    assert nested["p"]["at"] is at  # the service's own data is not changed
