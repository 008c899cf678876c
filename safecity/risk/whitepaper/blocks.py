"""The white paper as neutral blocks (headings, paragraphs, bullets, tables, the map figure)
that both renderers lay out."""

from __future__ import annotations

from dataclasses import dataclass, field

from safecity.risk.whitepaper.mapimage import MapSpec

# =========================================================================== document blocks


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Para:
    text: str
    style: str = "body"  # body | note | lead


@dataclass
class Bullets:
    items: list[str]
    numbered: bool = True


@dataclass
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]
    widths: list[float]  # relative column widths
    total: bool = False  # the last row is a total row
    level_columns: dict[int, str] = field(default_factory=dict)  # header cell → level colour
    note: str = ""


@dataclass
class Figure:
    caption: str
    png: bytes = b""
    width_cm: float = 16.0


@dataclass
class PageBreak:
    pass


Block = Heading | Para | Bullets | Table | Figure | PageBreak


@dataclass
class Document:
    title: str
    subtitle: str
    cover_lines: list[str]
    blocks: list[Block]
    map_spec: MapSpec
    header: str

    def text(self) -> str:
        """Every character the document shows, for font subsetting and tests."""
        parts = [self.title, self.subtitle, self.header, *self.cover_lines, *self.map_spec.labels()]
        for b in self.blocks:
            if isinstance(b, Heading | Para):
                parts.append(b.text)
            elif isinstance(b, Bullets):
                parts.extend(b.items)
            elif isinstance(b, Table):
                parts += [b.caption, b.note, *b.header, *(c for r in b.rows for c in r)]
            elif isinstance(b, Figure):
                parts.append(b.caption)
        return "".join(parts)
