"""City vital signs (城市运行体征) for the operations-centre wall: sensors online by domain,
alarms by level in the last 24 hours, open major and overdue hidden dangers, warnings in force,
incidents in progress, the indicators at risk, and the four-colour district map as SVG.

Read-only and scoped by the one rule (core.scope); each part asks the capability that owns it,
through that capability's service functions (never its tables), and is left out (with the
reason) when that capability is not installed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from shapely.geometry import shape
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from safecity.core.scope import Principal
from safecity.indicators import service

ONLINE_MINUTES = 15  # a sensor that reported within this many minutes counts as online
LEVELS = ("red", "orange", "yellow", "blue")


def _aware(v: datetime | None) -> datetime | None:
    return None if v is None else (v if v.tzinfo else v.replace(tzinfo=UTC))


def sensors(session: Session, who: Principal, now: datetime) -> list[dict[str, Any]]:
    from safecity.monitoring import service as monitoring  # noqa: PLC0415 optional capability

    return monitoring.online_by_type(session, who, now, minutes=ONLINE_MINUTES)


def alarms(session: Session, who: Principal, now: datetime) -> dict[str, Any]:
    from safecity.monitoring import alarms as monitoring  # noqa: PLC0415 optional capability

    counts = monitoring.recent_counts(session, who, now, hours=24)
    by_level = counts["by_level"]
    return {
        "last_24h": {lv: int(by_level.get(lv, 0)) for lv in LEVELS},
        "total_24h": int(sum(by_level.values())),
        "open": counts["open"],
    }


def hidden_dangers(session: Session, who: Principal, now: datetime) -> dict[str, Any]:
    from safecity.hazards import service as hazards  # noqa: PLC0415 optional capability

    return hazards.open_counts(session, who, now)


def warnings_in_force(session: Session, who: Principal, now: datetime) -> dict[str, Any]:
    from safecity.warnings import service as warnings  # noqa: PLC0415 optional capability
    from safecity.warnings.rules import EVENT_TYPES  # noqa: PLC0415 optional capability

    items = warnings.in_force(session, who, now, limit=200)
    return {
        "count": len(items),
        "by_level": {lv: sum(1 for w in items if w.level == lv) for lv in LEVELS},
        "items": [
            {
                "id": w.id,
                "level": w.level,
                "headline": w.headline,
                "event_zh": EVENT_TYPES.get(w.event_type, (w.event_type,))[0],
                "expires": _aware(w.expires).isoformat() if w.expires else None,
            }
            for w in items[:6]
        ],
    }


RESPONSE_LEVELS = ("I", "II", "III", "IV")


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def incidents(session: Session, who: Principal, now: datetime) -> dict[str, Any]:
    """Incidents in progress in the caller's scope (drills left out) with the response level
    the commander set, read through emergency command's own service functions: those under
    a response first, the highest level first."""
    from safecity.response import service as response  # noqa: PLC0415 optional capability
    from safecity.response.levels import LEVELS  # noqa: PLC0415 optional capability

    page = response.list_incidents(
        session,
        who,
        response.Filters(open_only=True, drills=False, size=response.MAX_PAGE_SIZE),
    )
    rows = [response.to_dict(i) for i in page.items]
    rank = {lv: n for n, lv in enumerate(RESPONSE_LEVELS)}
    rows.sort(
        key=lambda r: (
            rank.get(r["response_level"], 9),
            -((r["grade"] or {}).get("rank") or 0),
            -(r["received_at"] or now).timestamp(),
        )
    )
    by_level = {lv: sum(1 for r in rows if r["response_level"] == lv) for lv in RESPONSE_LEVELS}
    return {
        "count": page.total,
        "responding": sum(by_level.values()),
        "by_level": by_level,
        "items": [
            {
                "id": r["id"],
                "title": r["title"],
                "grade": (r["grade"] or {}).get("key"),
                "grade_zh": (r["grade"] or {}).get("zh"),
                "grade_en": (r["grade"] or {}).get("en"),
                "status": r["status"],
                "status_zh": r["status_zh"],
                "response_level": r["response_level"],
                "level_zh": LEVELS[r["response_level"]][0] if r["response_level"] else "未启动响应",
                "level_en": _upper_first(LEVELS[r["response_level"]][1])
                if r["response_level"]
                else "No response",
                "deaths": r["deaths"],
                "occurred_at": r["occurred_at"].isoformat() if r["occurred_at"] else None,
            }
            for r in rows[:6]
        ],
    }


def indicators(session: Session, who: Principal, now: datetime) -> dict[str, Any]:
    s = service.default_set(session, who)
    if s is None:
        return {"set": None, "counts": {}, "items": []}
    year = service.current_year(now)
    division = s.division_code if who.covers(s.division_code) else who.division_code
    if division not in s.divisions:
        return {"set": s.name_zh, "counts": {}, "items": []}
    ev = service.evaluate(
        session, who, s.id, now, years=[year], division=division, with_names=False
    )
    cells = [ev.cell(i.key, division, year) for i in ev.definitions]
    cells = [c for c in cells if c is not None]
    counts: dict[str, int] = {}
    for c in cells:
        counts[c.progress.status] = counts.get(c.progress.status, 0) + 1
    order = {"off_track": 0, "at_risk": 1, "unknown": 2, "on_track": 3}
    cells.sort(key=lambda c: order[c.progress.status])
    return {
        "set": s.name_zh,
        "set_id": s.id,
        "division": division,
        "year": year,
        "counts": counts,
        "items": [
            {
                "key": c.indicator.key,
                "name_zh": c.indicator.name_zh,
                "name_en": c.indicator.name_en,
                "unit": c.indicator.unit,
                "status": c.progress.status,
                "value": None if c.progress.value is None else float(c.progress.value),
                "target": None if c.progress.target is None else float(c.progress.target),
            }
            for c in cells
            if c.progress.status in ("off_track", "at_risk")
        ][:8],
    }


PARTS = {
    "sensors": sensors,
    "alarms": alarms,
    "hidden_dangers": hidden_dangers,
    "warnings": warnings_in_force,
    "incidents": incidents,
    "indicators": indicators,
}


def vital_signs(session: Session, who: Principal, now: datetime) -> dict[str, Any]:
    """Every part of the wall; a part whose capability is missing says so instead."""
    service.check_reader(who)
    out: dict[str, Any] = {"at": now.isoformat(), "division": who.division_code, "missing": {}}
    for name, fn in PARTS.items():
        try:
            with session.begin_nested():
                out[name] = fn(session, who, now)
        except (ImportError, SQLAlchemyError) as exc:
            out[name] = None
            out["missing"][name] = type(exc).__name__
    return out


COLOURS = {
    "red": "#d7263d",
    "orange": "#f08a24",
    "yellow": "#f2c14e",
    "blue": "#2f7dd1",
    "none": "#3a4a5e",
}


def risk_map_svg(session: Session, who: Principal, width: int = 560, height: int = 420) -> str:
    """The four-colour district map as an SVG string (empty when risk is not installed)."""
    try:
        from safecity.risk.areas.layers import map_layer  # noqa: PLC0415 optional capability

        with session.begin_nested():
            layer = map_layer(session, who, "district")
    except (ImportError, SQLAlchemyError, Exception):  # noqa: BLE001 the map is decoration
        return ""
    feats = []
    for f in layer.get("features", []):
        try:
            g = shape(f["geometry"]).simplify(0.003)
        except Exception:  # noqa: BLE001 a broken geometry is skipped
            continue
        feats.append((g, f.get("properties", {})))
    if not feats:
        return ""
    minx = min(g.bounds[0] for g, _ in feats)
    miny = min(g.bounds[1] for g, _ in feats)
    maxx = max(g.bounds[2] for g, _ in feats)
    maxy = max(g.bounds[3] for g, _ in feats)
    kx = math.cos(math.radians((miny + maxy) / 2))
    sx = (maxx - minx) * kx or 1
    sy = (maxy - miny) or 1
    scale = min((width - 20) / sx, (height - 20) / sy)
    ox = (width - sx * scale) / 2
    oy = (height - sy * scale) / 2

    def pt(x: float, y: float) -> str:
        return f"{ox + (x - minx) * kx * scale:.1f},{oy + (maxy - y) * scale:.1f}"

    paths = []
    labels = []
    for g, p in feats:
        polys = list(g.geoms) if hasattr(g, "geoms") else [g]
        d = " ".join(
            "M" + " L".join(pt(x, y) for x, y in poly.exterior.coords) + " Z"
            for poly in polys
            if hasattr(poly, "exterior")
        )
        level = p.get("level") or "none"
        name = str(p.get("name") or p.get("division_name") or "")
        paths.append(
            f'<path d="{d}" fill="{COLOURS.get(level, COLOURS["none"])}" fill-opacity="0.85" '
            f'stroke="#0b1220" stroke-width="1.5"><title>{_esc(name)} {level}</title></path>'
        )
        c = g.representative_point()
        if name:
            x, y = pt(c.x, c.y).split(",")
            labels.append(
                f'<text x="{x}" y="{y}" text-anchor="middle" class="map-label">{_esc(name)}</text>'
            )
    return (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="四色风险图" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(paths)}{"".join(labels)}</svg>'
    )


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
