"""Enforcement documents (执法文书): filled from editable text templates, rendered as DOCX, and the
electronic case file (电子案卷) as one PDF with a table of contents of every document and photo.

A template is a text file (``doc_templates/<kind>.txt``; a city puts its own copy in
``<storage>/enforcement/templates/``): ``#`` lines are comments, the first other line is the
title, ``标签 | 内容`` lines are table rows and ``> `` lines paragraphs below the table;
``{name}`` placeholders are filled from the values (an unknown one is left visible, not an
error, so an edited template never breaks issuing). The filled content is stored with the
document, so a later template edit never changes an issued document.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from safecity.core.config import get_settings
from safecity.enforcement import signatures

BUILTIN = Path(__file__).parent / "doc_templates"
KINDS: dict[str, tuple[str, str]] = {
    "inspection_record": ("现场检查记录", "On-site inspection record"),
    "rectification_order": ("责令限期整改指令书", "Order to rectify within a time limit"),
    "case_filing": ("立案审批表", "Case filing approval"),
    "penalty_notice": ("行政处罚告知书", "Notice of intended penalty"),
    "penalty_decision": ("行政处罚决定书", "Penalty decision"),
    "closing_approval": ("结案审批表", "Case closing approval"),
}


class _Keep(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def template_path(kind: str) -> Path:
    own = Path(get_settings().storage_dir) / "enforcement" / "templates" / f"{kind}.txt"
    return own if own.is_file() else BUILTIN / f"{kind}.txt"


def _template_text(path: Path) -> str:
    # Read once per edit (keyed by modification time), not once per issued document.
    stamp = path.stat().st_mtime_ns
    cached = _TEXTS.get(path)
    if cached is None or cached[0] != stamp:
        cached = _TEXTS[path] = (stamp, path.read_text(encoding="utf-8"))
    return cached[1]


_TEXTS: dict[Path, tuple[int, str]] = {}


def fill(
    kind: str,
    values: Mapping[str, Any],
    number: str = "",
    signed: Sequence[Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The document content: title, number, table rows and paragraphs, placeholders filled;
    ``signed`` (label, name, stored signature file) adds the hand-drawn signatures below."""
    text = _template_text(template_path(kind))
    data = _Keep({k: ("—" if v in (None, "") else str(v)) for k, v in values.items()})
    title = ""
    rows: list[list[str]] = []
    paragraphs: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not title:
            title = line.format_map(data)
        elif line.startswith(">"):
            paragraphs.append(line[1:].strip().format_map(data))
        elif "|" in line:
            label, _, value = line.partition("|")
            rows.append([label.strip().format_map(data), value.strip().format_map(data)])
        else:
            paragraphs.append(line.format_map(data))
    out = {"kind": kind, "title": title, "number": number, "rows": rows, "paragraphs": paragraphs}
    if signed:
        out["signatures"] = [[str(label), str(name), str(png)] for label, name, png in signed]
    return out


def text_of(content: Mapping[str, Any]) -> str:
    parts = [content.get("title", ""), content.get("number", "")]
    parts += [c for row in content.get("rows", []) for c in row]
    parts += list(content.get("paragraphs", []))
    parts += [c for sig in content.get("signatures", []) for c in sig]  # the images' SHA-256
    return "\n".join(str(p) for p in parts)


def signature_images(content: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """(caption, PNG) of each stored signature of a document (a missing file is left out)."""
    out = []
    for label, name, png in content.get("signatures", []):
        data = signatures.read(str(png))
        if data is not None:
            out.append((f"{label}签名：{name}", data))
    return out


# --------------------------------------------------------------------------- DOCX


def render_docx(content: Mapping[str, Any], org: str = "") -> bytes:
    import docx  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.oxml.ns import qn  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.shared import Cm, Pt  # noqa: PLC0415 python-docx loaded only when a Word file is written

    d = docx.Document()
    d.core_properties.title = str(content.get("title", ""))
    d.core_properties.author = "SafeCity"
    d.core_properties.language = "zh-CN"
    section = d.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.5)
    normal = d.styles["Normal"]
    normal.font.size = Pt(12)
    normal.font.name = "SimSun"
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    if org:
        p = d.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(org)
        run.font.size = Pt(14)
    head = d.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(str(content.get("title", "")))
    run.bold = True
    run.font.size = Pt(20)
    if content.get("number"):
        num = d.add_paragraph()
        num.alignment = WD_ALIGN_PARAGRAPH.CENTER
        num.add_run(str(content["number"]))
    rows = content.get("rows", [])
    if rows:
        table = d.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for label, value in rows:
            cells = table.add_row().cells
            cells[0].text, cells[1].text = str(label), str(value)
            cells[0].width, cells[1].width = Cm(4.0), Cm(12.0)
            for par in cells[0].paragraphs:
                for r in par.runs:
                    r.bold = True
    for para in content.get("paragraphs", []):
        p = d.add_paragraph(str(para))
        p.paragraph_format.first_line_indent = Pt(24)
    for caption, png in signature_images(content):
        p = d.add_paragraph()
        p.add_run(caption + "　")
        p.add_run().add_picture(io.BytesIO(png), height=Cm(1.6))
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- PDF case file


@dataclass(frozen=True)
class Part:
    """One entry of the case file: a document's content, or a photo with its caption."""

    title: str
    content: Mapping[str, Any] | None = None
    photo: bytes | None = None
    caption: str = ""


_SERIAL = itertools.count(1)


def _fonts(text: str) -> tuple[str, str, list[str]]:
    # The white paper's CJK font finder and subsetter: one place that knows where fonts live.
    from reportlab.lib.fonts import addMapping  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase.ttfonts import TTFont  # noqa: PLC0415 reportlab loaded only when a PDF is rendered

    from safecity.core.fonts import load_fonts  # noqa: PLC0415 heavy module, PDF only

    fonts = load_fonts(text)
    n = next(_SERIAL)
    regular, bold = f"ENF{fonts.key}-{n}", f"ENF{fonts.key}-{n}-B"
    pdfmetrics.registerFont(TTFont(regular, io.BytesIO(fonts.regular)))
    pdfmetrics.registerFont(TTFont(bold, io.BytesIO(fonts.bold)))
    addMapping(regular, 0, 0, regular)
    addMapping(regular, 1, 0, bold)
    addMapping(regular, 0, 1, regular)
    addMapping(regular, 1, 1, bold)
    return regular, bold, [regular, bold]


def _story(part: Part, regular: str, bold: str, heading: str, org: str) -> list[Any]:
    from reportlab.lib import colors  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.enums import TA_CENTER  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.styles import ParagraphStyle  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.units import cm  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.platypus import Image, Paragraph, Spacer, Table, TableStyle  # noqa: PLC0415 reportlab loaded only when a PDF is rendered

    body = ParagraphStyle("b", fontName=regular, fontSize=10.5, leading=16, wordWrap="CJK")
    title = ParagraphStyle(
        "t", fontName=bold, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=6
    )
    small = ParagraphStyle("s", parent=body, fontSize=9, textColor=colors.grey, alignment=TA_CENTER)
    out: list[Any] = [Paragraph(escape(heading), small)]
    if part.photo is not None:
        out += [Paragraph(escape(part.title), title), Spacer(1, 6)]
        img = Image(io.BytesIO(part.photo))
        scale = min(16 * cm / img.imageWidth, 20 * cm / img.imageHeight, 1.0)
        img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
        out += [img, Spacer(1, 6), Paragraph(escape(part.caption), body)]
        return out
    c = part.content or {}
    if org:
        out.append(Paragraph(escape(org), ParagraphStyle("o", parent=title, fontSize=13)))
    out.append(Paragraph(escape(str(c.get("title", part.title))), title))
    if c.get("number"):
        out.append(Paragraph(escape(str(c["number"])), ParagraphStyle("n", parent=small)))
    rows = [
        [Paragraph(f"<b>{escape(str(a))}</b>", body), Paragraph(escape(str(b)), body)]
        for a, b in c.get("rows", [])
    ]
    if rows:
        table = Table(rows, colWidths=[3.6 * cm, 12.4 * cm])
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f4f7")),
                ]
            )
        )
        out += [Spacer(1, 6), table]
    for para in c.get("paragraphs", []):
        out += [Spacer(1, 4), Paragraph(escape(str(para)), body)]
    for caption, png in signature_images(c):
        img = Image(io.BytesIO(png))
        scale = 1.6 * cm / img.imageHeight
        img.drawWidth, img.drawHeight = img.imageWidth * scale, 1.6 * cm
        img.hAlign = "LEFT"
        out += [Spacer(1, 6), Paragraph(escape(caption), body), img]
    return out


def _build(story: list[Any], regular: str, footer: str) -> bytes:
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.units import cm  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.platypus import SimpleDocTemplate  # noqa: PLC0415 reportlab loaded only when a PDF is rendered

    buf = io.BytesIO()

    def page(canvas: Any, doc: Any) -> None:
        canvas.setFont(regular, 8)
        canvas.drawCentredString(A4[0] / 2, 1.2 * cm, footer)

    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=2.5 * cm, rightMargin=2.5 * cm, topMargin=2 * cm
    )
    doc.build(story, onFirstPage=page, onLaterPages=page)
    return buf.getvalue()


def case_file_pdf(case_title: str, number: str, parts: Sequence[Part], org: str = "") -> bytes:
    """One PDF: a table of contents with start pages, then every document and photo in order."""
    from pypdf import PdfReader, PdfWriter  # noqa: PLC0415 loaded only when a case file is built
    from reportlab.lib.styles import ParagraphStyle  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.units import cm  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle  # noqa: PLC0415 reportlab loaded only when a PDF is rendered

    head = ["序号", "文书/材料", "页码"]
    text = "\n".join(
        [case_title, number, org, "电子案卷目　录签名：", *head, "0123456789 ·/"]
        + [p.title + p.caption + (text_of(p.content) if p.content else "") for p in parts]
    )
    regular, bold, _ = _fonts(text)
    heading = f"{case_title}　{number}"
    pdfs = [
        _build(_story(p, regular, bold, heading, org), regular, f"{heading} · {i}/{len(parts)}")
        for i, p in enumerate(parts, 1)
    ]
    counts = [len(PdfReader(io.BytesIO(b)).pages) for b in pdfs]
    body = ParagraphStyle("b", fontName=regular, fontSize=11, leading=18, wordWrap="CJK")
    title = ParagraphStyle("t", fontName=bold, fontSize=20, leading=30, alignment=1)

    def contents(toc_pages: int) -> bytes:
        rows = [head]
        page_no = toc_pages + 1
        for i, (p, n) in enumerate(zip(parts, counts, strict=True), 1):
            rows.append([str(i), p.title, str(page_no)])
            page_no += n
        table = Table(
            [[Paragraph(escape(c), body) for c in row] for row in rows],
            colWidths=[1.6 * cm, 12 * cm, 2.4 * cm],
            repeatRows=1,
        )
        table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.3, "#999999")]))
        story = [
            Paragraph(escape(org), ParagraphStyle("o", parent=title, fontSize=13)) if org else None,
            Paragraph("电子案卷", title),
            Paragraph(escape(heading), ParagraphStyle("h", parent=body, alignment=1)),
            Spacer(1, 12),
            Paragraph("目　录", ParagraphStyle("c", parent=title, fontSize=14)),
            table,
        ]
        return _build([s for s in story if s is not None], regular, heading)

    toc = contents(1)
    toc_pages = len(PdfReader(io.BytesIO(toc)).pages)
    if toc_pages > 1:  # a long file: the page numbers move by the contents' own length
        toc = contents(toc_pages)
    writer = PdfWriter()
    for blob in [toc, *pdfs]:
        for pg in PdfReader(io.BytesIO(blob)).pages:
            writer.add_page(pg)
    writer.add_metadata({"/Title": f"{case_title} 电子案卷", "/Producer": "SafeCity"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
