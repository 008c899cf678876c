"""Every JSON body in /api/v1/openapi.json has a shape: a request or response schema that is a
bare object ("any dict") or empty fails the walk, so a new endpoint cannot ship untyped.

KNOWN lists bodies allowed without a schema. It is empty (issue 14 typed the last ones, the
risk points API) and should stay so; were one ever listed, typing it and leaving it listed
fails too, so the list always says what is left.
"""

from __future__ import annotations

import json
import re
from typing import Any

from safecity.risk.points.schemas import RiskPointIn
from safecity.web.app import create_app

KNOWN: frozenset[str] = frozenset()


def _untyped(schema: dict[str, Any], components: dict[str, Any]) -> str | None:
    """Why ``schema`` says nothing about its body, or None when it has a shape."""
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if not schema:
        return "empty schema"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            parts = [s for s in schema[key] if s.get("type") != "null"]
            return next((why for s in parts if (why := _untyped(s, components))), None)
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items")
        return _untyped(items, components) if items else "array of anything"
    if kind == "object" or (kind is None and "properties" not in schema):
        if schema.get("properties"):
            return None
        values = schema.get("additionalProperties")
        if isinstance(values, dict) and values and not _untyped(values, components):
            return None  # a map of typed values
        return "object without properties"
    return None


def untyped_bodies(doc: dict[str, Any]) -> set[str]:
    components = doc.get("components", {}).get("schemas", {})
    found = set()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            parts = [("request", op.get("requestBody", {}))]
            parts += [
                (f"response {code}", r)
                for code, r in op.get("responses", {}).items()
                if code.startswith("2")
            ]
            for part, body in parts:
                for media, content in body.get("content", {}).items():
                    if "json" in media and _untyped(content.get("schema", {}), components):
                        found.add(f"{method.upper()} {path} {part}")
    return found


def test_every_json_body_has_a_schema() -> None:
    found = untyped_bodies(create_app().openapi())
    new = sorted(found - KNOWN)
    assert not new, "JSON bodies without a schema (give them Pydantic models):\n" + "\n".join(new)
    typed = sorted(KNOWN - found)
    assert not typed, "typed now, remove from KNOWN:\n" + "\n".join(typed)


def test_the_walk_sees_an_untyped_body() -> None:
    components = {"Typed": {"type": "object", "properties": {"id": {"type": "integer"}}}}
    assert _untyped({"type": "object", "additionalProperties": True}, components)
    assert _untyped({"type": "array", "items": {}}, components)
    assert _untyped({}, components)
    assert _untyped({"anyOf": [{"type": "object"}, {"type": "null"}]}, components)
    assert not _untyped({"$ref": "#/components/schemas/Typed"}, components)
    assert not _untyped(
        {"type": "array", "items": {"$ref": "#/components/schemas/Typed"}}, {**components}
    )
    assert not _untyped(
        {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Typed"}},
        components,
    )


def test_upload_routes_document_their_form_and_files() -> None:
    """The three hazards routes that take photos read JSON or a multipart form themselves; the
    document shows both, the form with its repeatable binary file field."""
    doc = create_app().openapi()
    binary = {"type": "string", "format": "binary"}
    for path, files, field in (
        ("/api/v1/hazards", "photos", "title"),
        ("/api/v1/hazards/public-report", "photos", "reporter_phone"),
        ("/api/v1/hazards/{hd_id}/actions/{action}", "attachments", "deadline"),
    ):
        content = doc["paths"][path]["post"]["requestBody"]["content"]
        assert set(content) == {"application/json", "multipart/form-data"}, path
        form = content["multipart/form-data"]["schema"]
        assert form["properties"][files] == {
            "type": "array",
            "items": binary,
            "description": form["properties"][files]["description"],
        }
        assert "6 files of 8 MB" in form["properties"][files]["description"]
        assert field in form["properties"]
    report = doc["paths"]["/api/v1/hazards"]["post"]["requestBody"]
    assert report["required"] is True
    assert report["content"]["multipart/form-data"]["schema"]["required"] == ["title"]


def test_risk_points_bodies_name_their_models() -> None:
    """The risk points API (a kind since issue 14) documents the models its services validate
    with, and the patch offers exactly the fields a point is created with."""
    doc = create_app().openapi()
    paths, parts = doc["paths"], doc["components"]["schemas"]

    def ref(body: dict[str, Any]) -> str:
        return str(body["content"]["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]

    def inline(body: dict[str, Any]) -> dict[str, Any]:
        return body["content"]["application/json"]["schema"]  # type: ignore[no-any-return]

    created = inline(paths["/api/v1/risk/points"]["post"]["requestBody"])
    assert created["title"] == "RiskPointIn" and created["required"] == ["name"]
    patch = inline(paths["/api/v1/risk/points/{key}"]["patch"]["requestBody"])
    assert patch["title"] == "RiskPointInPatch" and not patch["required"]
    assert set(patch["properties"]) == set(RiskPointIn.model_fields)
    assess = paths["/api/v1/risk/points/{point_id}/assessments"]["post"]
    assert ref(assess["requestBody"]) == "AssessmentIn"
    assert set(parts["AssessmentIn"]["properties"]) >= {"method", "L", "E", "C", "S", "note"}
    approve = paths["/api/v1/risk/assessments/{assessment_id}/approve"]["post"]["requestBody"]
    assert approve["required"] is False  # the note is optional, so is the body
    detail = paths["/api/v1/risk/points/{key}"]["get"]["responses"]["200"]
    assert ref(detail) == "RiskPointDetailOut"
    assert "assessments" in parts["RiskPointDetailOut"]["properties"]
    setting = paths["/api/v1/risk/settings/{key}"]["put"]["requestBody"]
    assert {s["$ref"].rsplit("/", 1)[-1] for s in parts[ref(setting)]["anyOf"]} == {
        "LecBandsIn",
        "RiskMatrixIn",
    }


def test_every_reference_in_the_document_resolves() -> None:
    """A kind's inline body names its nested models (a risk point's HazardFactor and
    ControlMeasure) by reference; each must be a component, or clients and the fuzzer skip
    that part of the body ("unresolvable reference")."""
    doc = create_app().openapi()
    text = json.dumps(doc)
    named = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text))
    assert {"HazardFactor", "ControlMeasure"} <= named
    missing = sorted(named - set(doc["components"]["schemas"]))
    assert not missing, f"references without a component: {missing}"
    assert "$defs" not in text  # nested models live in components, not inline
