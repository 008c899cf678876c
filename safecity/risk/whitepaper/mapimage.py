"""The white paper's four-colour map as a PNG (Pillow): areas by level, major hazards, legend and
scale bar."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from safecity.core.fonts import Fonts
from safecity.registry.models import Division
from safecity.risk.whitepaper.data import KM_PER_DEG_LAT, LEVEL_HEX, LEVELS, MH, NO_BOUNDARIES, Area

# =========================================================================== the map image


@dataclass
class MapSpec:
    title: str
    areas: list[Area]
    outlines: list[Division]
    hazards: list[MH]
    legend: list[str]
    lat0: float
    source: str

    def labels(self) -> list[str]:
        return [
            self.title,
            self.source,
            *self.legend,
            *(d.name for d in self.outlines),
            "N",
            "0123456789 km",
            "图例",
            NO_BOUNDARIES,
        ]


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _polygons(geom: Any) -> list[Any]:
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [g for part in geom.geoms for g in _polygons(part)]
    return []


def render_map(spec: MapSpec, fonts: Fonts, width: int = 1600, height: int = 1200) -> bytes:
    """The four-colour map as a PNG: areas, district outlines and names, hazards, legend."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415 Pillow loaded only when an image is drawn

    ss = 2  # drawn at twice the size and scaled down: cheap anti-aliasing for Pillow polygons
    W, H = width * ss, height * ss
    img = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(img)

    def font(size: int, bold: bool = False) -> Any:
        return ImageFont.truetype(io.BytesIO(fonts.bold if bold else fonts.regular), size * ss)

    title_h = 90 * ss
    margin = 40 * ss
    box = (margin, title_h, W - margin, H - margin)
    geoms = [a.geometry for a in spec.areas] + [shape(d.geometry) for d in spec.outlines]
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    draw.text((W // 2, 45 * ss), spec.title, fill=(33, 33, 33), font=font(34, True), anchor="mm")
    if not geoms:
        draw.text((W // 2, H // 2), NO_BOUNDARIES, fill=(120, 120, 120), font=font(28), anchor="mm")
        return _png(img, width, height)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    kx = math.cos(math.radians(spec.lat0))
    span_x = max((maxx - minx) * kx, 1e-9)
    span_y = max(maxy - miny, 1e-9)
    scale = min((box[2] - box[0]) / span_x, (box[3] - box[1]) / span_y)
    ox = box[0] + ((box[2] - box[0]) - span_x * scale) / 2
    oy = box[1] + ((box[3] - box[1]) - span_y * scale) / 2

    def xy(coords: Any) -> list[tuple[float, float]]:
        arr = np.asarray(coords, dtype=float)[:, :2]
        px = ox + (arr[:, 0] - minx) * kx * scale
        py = oy + (maxy - arr[:, 1]) * scale
        return list(zip(px.tolist(), py.tolist(), strict=True))

    cell_edge = (255, 255, 255) if len(spec.areas) > 200 else (90, 90, 90)
    for area in spec.areas:
        fill = _rgb(LEVEL_HEX.get(area.level, "#BDBDBD"))
        for poly in _polygons(area.geometry):
            ring = xy(poly.exterior.coords)
            # A separate line: Pillow draws wide polygon outlines through a full-image mask.
            draw.polygon(ring, fill=fill)
            draw.line(ring, fill=cell_edge, width=ss)
            for hole in poly.interiors:
                draw.polygon(xy(hole.coords), fill="white")
    label_font = font(20, True)
    for d in spec.outlines:
        for poly in _polygons(shape(d.geometry)):
            draw.line(xy(poly.exterior.coords), fill=(40, 40, 40), width=3 * ss, joint="curve")
    for d in spec.outlines:
        geom = shape(d.geometry)
        pt = (
            geom.representative_point()
            if d.lon is None or d.lat is None or not geom.contains(shapely.Point(d.lon, d.lat))
            else shapely.Point(d.lon, d.lat)
        )
        ((px, py),) = xy([(pt.x, pt.y)])
        draw.text(
            (px, py),
            d.name,
            fill=(20, 20, 20),
            font=label_font,
            anchor="mm",
            stroke_width=3 * ss,
            stroke_fill="white",
        )
    r = 7 * ss
    for h in spec.hazards:
        if h.lon is None or h.lat is None:
            continue
        ((px, py),) = xy([(h.lon, h.lat)])
        draw.polygon(
            [(px, py - r), (px - r, py + r * 0.8), (px + r, py + r * 0.8)],
            fill=(74, 20, 140),
            outline="white",
            width=ss,
        )

    # legend, bottom left
    lf = font(20)
    line = 34 * ss
    lw = 330 * ss
    lh = line * len(spec.legend) + 70 * ss
    lx, ly = margin, H - margin - lh
    draw.rectangle((lx, ly, lx + lw, ly + lh), fill="white", outline=(120, 120, 120), width=ss)
    draw.text((lx + 16 * ss, ly + 14 * ss), "图例", fill=(33, 33, 33), font=font(22, True))
    for i, text in enumerate(spec.legend):
        y = ly + 52 * ss + i * line
        if i < len(LEVELS):
            draw.rectangle(
                (lx + 16 * ss, y, lx + 50 * ss, y + 22 * ss),
                fill=_rgb(LEVEL_HEX[LEVELS[i]]),
                outline=(90, 90, 90),
                width=ss,
            )
            draw.text((lx + 62 * ss, y + 11 * ss), text, fill=(33, 33, 33), font=lf, anchor="lm")
        else:
            cx, cy = lx + 33 * ss, y + 11 * ss
            draw.polygon(
                [(cx, cy - r), (cx - r, cy + r * 0.8), (cx + r, cy + r * 0.8)], fill=(74, 20, 140)
            )
            draw.text(
                (lx + 62 * ss, cy), text.lstrip("▲ "), fill=(33, 33, 33), font=lf, anchor="lm"
            )

    # north arrow and scale bar, right
    nx, ny = W - margin - 30 * ss, title_h + 20 * ss
    draw.polygon([(nx, ny), (nx - 14 * ss, ny + 44 * ss), (nx, ny + 34 * ss)], fill=(33, 33, 33))
    draw.polygon(
        [(nx, ny), (nx + 14 * ss, ny + 44 * ss), (nx, ny + 34 * ss)],
        fill="white",
        outline=(33, 33, 33),
    )
    draw.text((nx, ny + 62 * ss), "N", fill=(33, 33, 33), font=font(22, True), anchor="mm")
    px_per_km = scale / KM_PER_DEG_LAT
    nice = _nice_km(220 * ss / px_per_km)
    bar = nice * px_per_km
    bx, by = W - margin - bar, H - margin - 20 * ss
    draw.rectangle((bx, by, bx + bar, by + 8 * ss), fill=(33, 33, 33))
    draw.text(
        (bx + bar / 2, by - 6 * ss), f"{nice:g} km", fill=(33, 33, 33), font=font(18), anchor="mb"
    )
    draw.text(
        (W - margin, H - 8 * ss), spec.source, fill=(110, 110, 110), font=font(16), anchor="rd"
    )
    return _png(img, width, height)


def _nice_km(target: float) -> float:
    if target <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(target))
    for m in (5, 2, 1):
        if m * exp <= target:
            return float(m * exp)
    return float(exp)


def _png(img: Any, width: int, height: int) -> bytes:
    from PIL import Image  # noqa: PLC0415 Pillow loaded only when an image is drawn

    out = io.BytesIO()
    img.resize((width, height), Image.Resampling.LANCZOS).save(out, "PNG", optimize=True)
    return out.getvalue()
