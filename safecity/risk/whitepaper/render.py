"""The white paper's renderers: PDF (reportlab) and DOCX (python-docx) from the same blocks."""

from __future__ import annotations

import io
import itertools
from typing import Any
from xml.sax.saxutils import escape

from safecity.core.fonts import Fonts, load_fonts
from safecity.risk.whitepaper.blocks import (
    Bullets,
    Document,
    Figure,
    Heading,
    PageBreak,
    Para,
    Table,
)
from safecity.risk.whitepaper.data import LEVEL_HEX
from safecity.risk.whitepaper.mapimage import render_map

# =========================================================================== PDF (reportlab)


def _register(fonts: Fonts) -> tuple[str, str]:
    from reportlab.lib.fonts import addMapping  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase.ttfonts import TTFont  # noqa: PLC0415 reportlab loaded only when a PDF is rendered

    # A fresh font object per document: reportlab keeps subset state on the font object, and a
    # font shared between two documents was seen to lose a glyph (code 0) in the second one.
    serial = next(_FONT_SERIAL)
    regular, bold = f"WP{fonts.key}-{serial}", f"WP{fonts.key}-{serial}-B"
    pdfmetrics.registerFont(TTFont(regular, io.BytesIO(fonts.regular)))
    pdfmetrics.registerFont(TTFont(bold, io.BytesIO(fonts.bold)))
    addMapping(regular, 0, 0, regular)
    addMapping(regular, 1, 0, bold)
    addMapping(regular, 0, 1, regular)
    addMapping(regular, 1, 1, bold)
    return regular, bold


def _unregister(*names: str) -> None:
    # reportlab has no public unregister; dropping our names keeps a long-running server small.
    from reportlab.lib import fonts as rl_fonts  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415 reportlab loaded only when a PDF is rendered

    for name in names:
        font = pdfmetrics._fonts.pop(name, None)
        if font is not None:
            pdfmetrics._dynFaceNames.pop(font.face.name, None)
    for key in [k for k, v in rl_fonts._tt2ps_map.items() if v in names]:
        rl_fonts._tt2ps_map.pop(key, None)
    for name in names:
        rl_fonts._ps2tt_map.pop(name.lower(), None)


_FONT_SERIAL = itertools.count(1)


def render_pdf(doc: Document, fonts: Fonts | None = None, map_png: bytes | None = None) -> bytes:
    from reportlab.lib import colors  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.enums import TA_CENTER  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.styles import ParagraphStyle  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.units import cm  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.platypus import (  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
        Image,
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )
    from reportlab.platypus import PageBreak as RLPageBreak  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.platypus import Table as RLTable  # noqa: PLC0415 reportlab loaded only when a PDF is rendered

    fonts = fonts or load_fonts(doc.text())
    png = map_png if map_png is not None else render_map(doc.map_spec, fonts)
    regular, bold = _register(fonts)
    base: dict[str, Any] = {
        "fontName": regular,
        "bulletFontName": regular,
        "wordWrap": "CJK",
        "leading": 20,
        "fontSize": 11,
    }
    styles = {
        "body": ParagraphStyle("body", firstLineIndent=22, spaceAfter=6, **base),
        "lead": ParagraphStyle("lead", firstLineIndent=22, spaceAfter=8, **base),
        "note": ParagraphStyle(
            "note",
            **{**base, "fontSize": 9.5, "leading": 15},
            textColor=colors.HexColor("#555555"),
            spaceAfter=6,
        ),
        "h1": ParagraphStyle(
            "h1",
            **{**base, "fontName": bold, "fontSize": 16, "leading": 24},
            spaceBefore=14,
            spaceAfter=8,
            textColor=colors.HexColor("#0D2B5E"),
            keepWithNext=1,
        ),
        "h2": ParagraphStyle(
            "h2",
            **{**base, "fontName": bold, "fontSize": 12.5, "leading": 20},
            spaceBefore=8,
            spaceAfter=4,
            keepWithNext=1,
        ),
        "caption": ParagraphStyle(
            "caption",
            **{**base, "fontName": bold, "fontSize": 10, "leading": 16},
            alignment=TA_CENTER,
            spaceBefore=6,
            spaceAfter=4,
            keepWithNext=1,
        ),
        "item": ParagraphStyle("item", **base, leftIndent=20, bulletIndent=2, spaceAfter=4),
        "note_item": ParagraphStyle(
            "note_item",
            **{**base, "fontSize": 9.5, "leading": 15},
            leftIndent=14,
            bulletIndent=2,
            spaceAfter=3,
            textColor=colors.HexColor("#444444"),
        ),
        "cell": ParagraphStyle("cell", **{**base, "fontSize": 9, "leading": 12}),
        "cell_b": ParagraphStyle(
            "cell_b", **{**base, "fontName": bold, "fontSize": 9, "leading": 12}
        ),
        "head": ParagraphStyle(
            "head",
            **{**base, "fontName": bold, "fontSize": 9, "leading": 12},
            textColor=colors.white,
        ),
        "title": ParagraphStyle(
            "title",
            **{**base, "fontName": bold, "fontSize": 22, "leading": 34},
            alignment=TA_CENTER,
        ),
        "sub": ParagraphStyle(
            "sub",
            **{**base, "fontSize": 13, "leading": 24},
            alignment=TA_CENTER,
            textColor=colors.HexColor("#333333"),
        ),
    }
    width = A4[0] - 4.4 * cm
    story: list[Any] = [
        Spacer(1, 6 * cm),
        Paragraph(escape(doc.title), styles["title"]),
        Spacer(1, 1.2 * cm),
    ]
    story += [Paragraph(escape(line), styles["sub"]) for line in doc.cover_lines]
    story.append(RLPageBreak())

    for block in doc.blocks:
        if isinstance(block, Heading):
            story.append(Paragraph(escape(block.text), styles["h1" if block.level == 1 else "h2"]))
        elif isinstance(block, Para):
            story.append(Paragraph(escape(block.text), styles[block.style]))
        elif isinstance(block, Bullets):
            # One paragraph per item (not a ListFlowable) so a heading keeps with the first item.
            style = styles["item" if block.numbered else "note_item"]
            for i, item in enumerate(block.items, start=1):
                story.append(
                    Paragraph(escape(item), style, bulletText=f"{i}." if block.numbered else "•")
                )
        elif isinstance(block, Figure):
            from PIL import Image as PILImage  # noqa: PLC0415 Pillow loaded only when a figure is drawn

            with PILImage.open(io.BytesIO(png)) as im:
                ratio = im.height / im.width
            story.append(
                KeepTogether(
                    [
                        Image(io.BytesIO(png), width=width, height=width * ratio),
                        Paragraph(escape(block.caption), styles["caption"]),
                    ]
                )
            )
        elif isinstance(block, Table):
            story += _pdf_table(block, styles, width, colors, RLTable, TableStyle, Paragraph)
        elif isinstance(block, PageBreak):
            story.append(RLPageBreak())

    def furniture(canvas: Any, document: Any) -> None:
        if document.page == 1:
            return
        canvas.saveState()
        canvas.setFont(regular, 8.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(2.2 * cm, A4[1] - 1.3 * cm, doc.header)
        canvas.setStrokeColor(colors.HexColor("#BBBBBB"))
        canvas.line(2.2 * cm, A4[1] - 1.45 * cm, A4[0] - 2.2 * cm, A4[1] - 1.45 * cm)
        canvas.drawCentredString(A4[0] / 2, 1.2 * cm, f"第 {document.page} 页")
        canvas.restoreState()

    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=2.2 * cm,
        rightMargin=2.2 * cm,
        topMargin=2.0 * cm,
        bottomMargin=2.0 * cm,
        title=doc.title,
        author="SafeCity",
        subject="城市安全风险白皮书",
        creator="SafeCity",
    )
    try:
        template.build(story, onFirstPage=furniture, onLaterPages=furniture)
    finally:
        _unregister(regular, bold)
    return out.getvalue()


def _pdf_table(
    block: Table,
    styles: dict[str, Any],
    width: float,
    colors: Any,
    RLTable: Any,
    TableStyle: Any,
    Paragraph: Any,
) -> list[Any]:
    total_w = sum(block.widths)
    col_w = [width * w / total_w for w in block.widths]
    head = []
    for i, h in enumerate(block.header):
        style = styles["head"]
        if block.level_columns.get(i) == "yellow":
            style = styles["cell_b"]
        head.append(Paragraph(escape(h), style))
    body = []
    for r, row in enumerate(block.rows):
        last = block.total and r == len(block.rows) - 1
        body.append([Paragraph(escape(c), styles["cell_b" if last else "cell"]) for c in row])
    table = RLTable([head, *body], colWidths=col_w, repeatRows=1, hAlign="CENTER")
    commands: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1F3A68")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9AA5B1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    for i, level in block.level_columns.items():
        commands.append(("BACKGROUND", (i, 0), (i, 0), colors.HexColor(LEVEL_HEX[level])))
    for r in range(1, len(block.rows) + 1):
        if r % 2 == 0:
            commands.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#F3F5F8")))
    if block.total and block.rows:
        commands.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#E3E8EF")))
    table.setStyle(TableStyle(commands))
    out = [Paragraph(escape(block.caption), styles["caption"]), table]
    if block.note:
        out.append(Paragraph(escape(block.note), styles["note"]))
    return out


# =========================================================================== DOCX (python-docx)

DOCX_BODY_FONT = ("Times New Roman", "宋体")  # (Latin, East Asian): what Word users have
DOCX_HEAD_FONT = ("Arial", "黑体")


def _set_fonts(element_owner: Any, latin: str, east_asian: str) -> None:
    """Set Latin and East Asian fonts: Word picks w:eastAsia for Chinese characters."""

    rpr = element_owner.get_or_add_rPr()
    _set_rfonts(rpr.get_or_add_rFonts(), latin, east_asian)


def _set_rfonts(rfonts: Any, latin: str, east_asian: str) -> None:
    from docx.oxml.ns import qn  # noqa: PLC0415 python-docx loaded only when a Word file is written

    # Theme attributes (w:eastAsiaTheme…) win over named fonts, so they have to go.
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        rfonts.set(qn(attr), latin)
    rfonts.set(qn("w:eastAsia"), east_asian)


def _shade(cell: Any, hex_colour: str) -> None:
    from docx.oxml import OxmlElement  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.oxml.ns import qn  # noqa: PLC0415 python-docx loaded only when a Word file is written

    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), hex_colour.lstrip("#"))
    tc_pr.append(shd)


def render_docx(doc: Document, fonts: Fonts | None = None, map_png: bytes | None = None) -> bytes:
    import docx  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.enum.table import WD_TABLE_ALIGNMENT  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.oxml import OxmlElement  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.oxml.ns import qn  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.shared import Cm, Pt, RGBColor  # noqa: PLC0415 python-docx loaded only when a Word file is written

    png = map_png
    if png is None:
        png = render_map(doc.map_spec, fonts or load_fonts(doc.text()))
    d = docx.Document()
    d.core_properties.title = doc.title
    d.core_properties.author = "SafeCity"
    d.core_properties.subject = "城市安全风险白皮书"
    d.core_properties.language = "zh-CN"
    section = d.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.2))
    section.top_margin = section.bottom_margin = Cm(2.0)

    styles = d.styles
    for rfonts in styles.element.findall(
        qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr") + "/" + qn("w:rFonts")
    ):
        _set_rfonts(rfonts, *DOCX_BODY_FONT)
    normal = styles["Normal"]
    normal.font.size = Pt(11)
    _set_fonts(normal.element, *DOCX_BODY_FONT)
    # w:lang eastAsia tells Word to lay out the text as Chinese (line breaking, punctuation).
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal.element.get_or_add_rPr().append(lang)
    for name, size in (("Title", 24), ("Heading 1", 16), ("Heading 2", 13), ("Caption", 10)):
        style = styles[name]
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.italic = False
        style.font.color.rgb = (
            RGBColor(0x0D, 0x2B, 0x5E) if name != "Caption" else RGBColor(0x33, 0x33, 0x33)
        )
        _set_fonts(style.element, *DOCX_HEAD_FONT)

    # cover
    for _ in range(6):
        d.add_paragraph()
    title = d.add_paragraph(doc.title, style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    d.add_paragraph()
    for line in doc.cover_lines:
        p = d.add_paragraph(line)
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    # The cover page has no header or footer; every later page has both.
    section.different_first_page_header_footer = True
    hp = section.header.paragraphs[0]
    hp.text = doc.header
    hp.runs[0].font.size = Pt(8.5)
    fp = section.footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fp.add_run("第 ")
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    fp._p.append(fld)
    fp.add_run(" 页")

    for block in doc.blocks:
        if isinstance(block, Heading):
            d.add_heading(block.text, level=block.level)
        elif isinstance(block, Para):
            p = d.add_paragraph(block.text)
            if block.style == "note":
                for r in p.runs:
                    r.font.size = Pt(9.5)
                    r.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
            else:
                p.paragraph_format.first_line_indent = Pt(22)
        elif isinstance(block, Bullets):
            style = "List Number" if block.numbered else "List Bullet"
            for item in block.items:
                d.add_paragraph(item, style=style)
        elif isinstance(block, Figure):
            d.add_picture(io.BytesIO(png), width=Cm(block.width_cm))
            d.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            cap = d.add_paragraph(block.caption, style="Caption")
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif isinstance(block, Table):
            cap = d.add_paragraph(block.caption, style="Caption")
            cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
            cap.paragraph_format.keep_with_next = True
            table = d.add_table(rows=1 + len(block.rows), cols=len(block.header))
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            total_w = sum(block.widths)
            widths = [Cm(16.6 * w / total_w) for w in block.widths]
            for i, h in enumerate(block.header):
                cell = table.rows[0].cells[i]
                cell.text = h
                level = block.level_columns.get(i)
                _shade(cell, LEVEL_HEX[level] if level else "#1F3A68")
                for r in cell.paragraphs[0].runs:
                    r.font.bold = True
                    r.font.size = Pt(9)
                    r.font.color.rgb = (
                        RGBColor(0x21, 0x21, 0x21)
                        if level == "yellow"
                        else RGBColor(0xFF, 0xFF, 0xFF)
                    )
            # Repeat the header row on every page the table runs onto.
            tr_pr = table.rows[0]._tr.get_or_add_trPr()
            tbl_header = OxmlElement("w:tblHeader")
            tbl_header.set(qn("w:val"), "true")
            tr_pr.append(tbl_header)
            for r, row in enumerate(block.rows, start=1):
                last = block.total and r == len(block.rows)
                cells = table.rows[r].cells
                for i, value in enumerate(row):
                    cells[i].text = value
                    for run_ in cells[i].paragraphs[0].runs:
                        run_.font.size = Pt(9)
                        run_.font.bold = last
                    if last:
                        _shade(cells[i], "#E3E8EF")
            for row in table.rows:
                for i, cell in enumerate(row.cells):
                    cell.width = widths[i]
            if block.note:
                p = d.add_paragraph(block.note)
                for r in p.runs:
                    r.font.size = Pt(9)
        elif isinstance(block, PageBreak):
            d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()
