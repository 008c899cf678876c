"""Real headless Chromium on the four-colour risk map: coloured areas, legend, click → why."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.db import make_engine
from safecity.core.migrate import upgrade
from safecity.registry.models import Enterprise, GridCell
from safecity.risk.models import MajorHazard, RiskPoint
from tests.browser import live_server, load_demo_city
from tests.conftest import NOW, PASSWORD

pytestmark = pytest.mark.browser


def _seed_risks(url: str) -> dict[str, Any]:
    """One red risk point in a grid cell of 芝罘区 and a 三级 major hazard in another."""

    engine = make_engine(url)
    with Session(engine) as session:
        cells = session.scalars(
            select(GridCell)
            .where(GridCell.division_code == "370602")
            .order_by(GridCell.id)
            .limit(2)
        ).all()
        red, other = cells
        ent = session.scalars(
            select(Enterprise).where(Enterprise.division_code == "370602").limit(1)
        ).one()
        session.add(
            RiskPoint(
                name="液氨储罐区作业",
                owner_kind="enterprise",
                enterprise_id=ent.id,
                grid_cell_id=red.id,
                division_code="370602",
                lon=red.lon,
                lat=red.lat,
                level="red",
                archived=False,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        session.add(
            MajorHazard(
                enterprise_id=ent.id,
                name="甲醇罐区",
                unit_kind="storage",
                substances=[{"name": "甲醇", "quantity_t": 800}],
                division_code="370602",
                lon=other.lon,
                lat=other.lat,
                s_value=1.6,
                is_major=True,
                r_value=24.0,
                level=3,
                alpha=1.0,
                exposed_population=40,
                exposed_population_computed=40,
                result={},
                assessed_at=NOW,
            )
        )
        session.commit()
        out = {"cell": red.id, "name": red.name, "lon": red.lon, "lat": red.lat}
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:

    url = f"sqlite:///{tmp_path_factory.mktemp('riskmap')}/safecity.db"
    upgrade(url)
    load_demo_city(url)
    seeded = _seed_risks(url)
    with live_server(url) as base:
        yield {"base": base, **seeded}


def _ready(page: Any, loads: int = 1) -> dict[str, Any]:
    page.wait_for_function(
        f"() => window.safecityRiskMap && (window.safecityRiskMap.loads >= {loads} "
        "|| window.safecityRiskMap.error)",
        timeout=60_000,
    )
    state = page.evaluate("""() => ({error: safecityRiskMap.error,
        unit: safecityRiskMap.data.unit, features: safecityRiskMap.data.features.length,
        summary: safecityRiskMap.data.summary})""")
    assert state["error"] is None, state["error"]
    return state


def test_admin_sees_coloured_areas_and_explains_one(server: dict[str, Any], browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page.set_default_timeout(30_000)
    page.goto(f"{server['base']}/risk/map")
    assert "/login" in page.url
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/risk/map")

    state = _ready(page)
    assert state["unit"] == "grid" and state["features"] > 100
    areas = state["summary"]["areas"]
    assert areas["red"] == 1 and areas["orange"] == 1  # the red point; the 三级 hazard
    # The legend shows the same counts, and the hazard marker count.
    assert page.text_content("[data-count=red]") == "1"
    assert page.text_content("[data-count=orange]") == "1"
    assert page.text_content("#risk-total") == str(state["features"])
    page.wait_for_function(
        "() => document.querySelector('[data-count=hazards]').textContent === '1'"
    )
    assert page.is_visible("#risk-legend")

    # Zoom to the red cell and click its centre on the canvas.
    page.evaluate(
        """([lat, lon]) => new Promise((done) => { const m = safecityRiskMap.map;
        m.once('moveend', () => requestAnimationFrame(() => requestAnimationFrame(done)));
        m.setView([lat, lon], 15, {animate: false}); })""",
        [server["lat"], server["lon"]],
    )
    point = page.evaluate(
        """([lat, lon]) => { const m = safecityRiskMap.map;
             const p = m.latLngToContainerPoint([lat, lon]);
             const r = m.getContainer().getBoundingClientRect();
             return {x: r.left + p.x, y: r.top + p.y, zoom: m.getZoom()}; }""",
        [server["lat"], server["lon"]],
    )
    assert point["zoom"] == 15
    # The canvas shows the red fill (#d7191c at 60 %) at that spot.

    from PIL import Image  # noqa: PLC0415 Pillow loaded only when an image is drawn

    shot = page.screenshot(
        clip={"x": point["x"] - 5, "y": point["y"] - 5, "width": 10, "height": 10}
    )
    r, g, b = Image.open(BytesIO(shot)).convert("RGB").getpixel((5, 5))
    assert r > 180 and r - g > 80 and r - b > 80, (r, g, b)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_selector("#risk-explain:not([hidden])")
    text = page.text_content("#risk-explain") or ""
    assert server["name"] in text
    assert "红色（重大风险）" in text
    # The panel shows the server's explanation of this very cell: the red point's 10 (plus
    # any protected target of the demo city within 500 m of the 三级 hazard next door) is
    # orange by score; the highest-level floor makes it red.
    explained = page.evaluate("safecityRiskMap.explain")
    assert explained["id"] == str(server["cell"]) and explained["level"] == "red"
    assert explained["summary_zh"] in text
    assert "红色风险点1×10" in text and "按就高原则提升为红色（重大风险）" in text
    assert "红色及以上风险点 1 个（≥ 1）→ 至少红色（重大风险）" in text
    assert "液氨储罐区作业" in text

    # Switching to districts recolours by district: 芝罘区 holds the red cell and the orange one
    # among many blue cells, so by the shares of its cells it is not red (areas rule, step 5).
    page.select_option("#risk-unit", "district")
    state = _ready(page, loads=2)
    assert state["unit"] == "district" and state["summary"]["areas"]["red"] == 0
    page.evaluate("safecityRiskMap.explainArea('370602')")
    explained = page.evaluate("safecityRiskMap.explain")
    assert explained["method"] == "cells" and explained["level"] != "red"
    text = page.text_content("#risk-explain") or ""
    assert "按网格占比" in text and "红色网格占" in text and explained["summary_zh"] in text
    assert server["name"] in text  # listed among the red and orange cells
    page.close()


def test_analyst_changes_the_area_rule_from_the_map(server: dict[str, Any], browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page.set_default_timeout(30_000)
    page.goto(f"{server['base']}/login?next=/risk/map")
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/risk/map")
    _ready(page)
    page.click("#risk-rule summary")
    page.fill("#risk-rule-json", '{"thresholds": {"red": 1, "orange": 5}}')
    page.click("#risk-rule-form button[type=submit]")
    page.wait_for_selector("#risk-rule-errors div")
    assert "阈值须满足" in (page.text_content("#risk-rule-errors") or "")
    # With yellow starting at score 0 every empty (blue) cell turns yellow.
    page.fill("#risk-rule-json", '{"thresholds": {"yellow": 0}}')
    page.click("#risk-rule-form button[type=submit]")
    state = _ready(page, loads=2)
    assert state["summary"]["areas"]["yellow"] == state["features"] - 2
    assert state["summary"]["areas"]["blue"] == 0
    page.wait_for_function(
        "() => document.getElementById('map-status').textContent.startsWith('已保存')"
    )
    page.click("#risk-rule-reset")
    state = _ready(page, loads=3)
    assert state["summary"]["areas"]["yellow"] == 0
    page.close()
