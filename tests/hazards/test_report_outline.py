"""The anonymous hidden-danger report's location map gets its county outlines from a layer
anyone may read (boundaries only), not from the staff layer that answers 401 without login."""

from __future__ import annotations


def test_report_form_outline_is_public_and_bare(client) -> None:
    client.cookies.clear()
    page = client.get("/hazards/report", headers={"accept": "text/html"}).text
    outline = page.split('data-outline="', 1)[1].split('"', 1)[0]
    assert outline == "/api/v1/warnings/divisions"
    assert client.get("/api/v1/map/layers/divisions").status_code == 401  # the staff layer
    layer = client.get(outline)
    assert layer.status_code == 200
    features = layer.json()["features"]
    assert features and all(set(f["properties"]) == {"code", "name"} for f in features)
