"""The evaluation report (中期评估 / 总结评估) of an indicator set for one year, as DOCX or PDF.

Structure of a mid-term evaluation: overall status; a table of every indicator (base, target,
value, trajectory, status); per indicator its definition, the value for each division, the
inputs behind it and a trajectory chart (base → target with the yearly values); the largest
gaps with the records that explain them; the data still missing. A year before the plan's end
year is a mid-term evaluation, the end year (or later) the summary evaluation.

The document is built once as blocks (``Doc``) and laid out by ``to_docx`` / ``to_pdf``; the
chart is a PNG drawn with Pillow. Chinese fonts come from the one font finder, safecity.core.fonts (the
same embedded, subset font as the white paper).
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any
from urllib.parse import quote

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.errors import invalid
from safecity.core.scope import Principal
from safecity.indicators import service
from safecity.indicators.definitions import INPUTS, Indicator
from safecity.indicators.progress import trajectory

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
STATUS_ZH = {
    "on_track": "达到进度",
    "at_risk": "存在风险",
    "off_track": "明显滞后",
    "unknown": "无法判断",
}
STATUS_RGB = {
    "on_track": (46, 139, 87),
    "at_risk": (230, 145, 30),
    "off_track": (200, 40, 50),
    "unknown": (120, 120, 120),
}
BINDING_ZH = {"binding": "约束性", "expected": "预期性", None: "—"}


def fmt(v: Fraction | float | None, digits: int = 4) -> str:
    if v is None:
        return "—"
    f = float(v)
    if abs(f) >= 1000:  # large figures: grouped, at most one decimal (12,321.5)
        text = f"{f:,.1f}"
        return text[:-2] if text.endswith(".0") else text
    if f == int(f):
        return str(int(f))
    return f"{f:.{digits}g}"


def target_text(ind: Indicator) -> str:
    parts = []
    op = (
        ("<" if ind.direction == "lower" else ">")
        if ind.target.strict
        else ("≤" if ind.direction == "lower" else "≥")
    )
    if ind.target.value is not None:
        parts.append(f"{op} {fmt(ind.target.value)}")
    if ind.target.change_percent is not None:
        c = float(ind.target.change_percent)
        parts.append(f"较{ind.base_year}年{'下降' if c < 0 else '上升'} {abs(c):g}%")
    return "；".join(parts)


@dataclass
class Block:
    kind: str  # h1 | h2 | h3 | p | table | image | note
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    png: bytes = b""
    status: list[str] = field(default_factory=list)  # per table row (after the header)
    draw: Any = None  # image blocks: fonts -> PNG, drawn once the document's font is known


@dataclass
class Doc:
    title: str
    subtitle: str
    blocks: list[Block]

    def text(self) -> str:
        parts = [self.title, self.subtitle]
        for b in self.blocks:
            parts.append(b.text)
            for r in b.rows:
                parts.extend(r)
        return "".join(parts) + "".join(STATUS_ZH.values()) + "年值目标进度线基期"


# =========================================================================== content


def gather(
    session: Session, who: Principal, set_id: int, year: int, now: datetime
) -> tuple[service.Evaluation, service.Evaluation]:
    """The year's values for every division, and the city's values over the whole plan."""
    this_year = service.current_year(now)
    if not 2000 <= year <= this_year:
        raise invalid("year", f"年份应在 2000–{this_year} 之间", f"year must be 2000–{this_year}")
    ev = service.evaluate(session, who, set_id, now, years=[year])
    defs = ev.definitions
    start = min([i.base_year or i.period_start for i in defs] + [year])
    end = min(max([i.period_end for i in defs] + [year]), this_year)
    main = ev.divisions[0]
    series = service.evaluate(
        session, who, set_id, now, years=list(range(start, end + 1)), division=main
    )
    return ev, series


def build_doc(session: Session, who: Principal, set_id: int, year: int, now: datetime) -> Doc:
    ev, series = gather(session, who, set_id, year, now)
    defs = ev.definitions
    main = ev.divisions[0]
    end = max(i.period_end for i in defs)
    kind = "总结评估" if year >= end else "中期评估"
    title = f"{ev.set.name_zh}{year}年度{kind}报告"
    sub = (
        f"评估范围：{main} {ev.division_names.get(main, '')}（含 {len(ev.divisions)} 个区划）"
        f" · 生成时间：{now.astimezone(BEIJING):%Y-%m-%d %H:%M}（北京时间）"
    )
    blocks: list[Block] = []
    counts = service.summary(ev, year)
    main_cells = [ev.cell(i.key, main, year) for i in defs]
    main_cells = [c for c in main_cells if c is not None]
    mc: dict[str, int] = {}
    for c in main_cells:
        mc[c.progress.status] = mc.get(c.progress.status, 0) + 1
    blocks.append(Block("h1", "一、总体情况"))
    blocks.append(
        Block(
            "p",
            f"本报告按规划目标指标逐项评估 {year} 年完成情况。{ev.division_names.get(main, main)}"
            f"共 {len(main_cells)} 项指标：达到进度 {mc.get('on_track', 0)} 项，"
            f"存在风险 {mc.get('at_risk', 0)} 项，明显滞后 {mc.get('off_track', 0)} 项，"
            f"无法判断 {mc.get('unknown', 0)} 项（缺少输入数据，见第五部分）。"
            f"全部区划合计 {sum(counts.values())} 个指标值。"
            "进度线为基期值到规划期末目标值的线性路径；无基期的指标按期末目标值判断。",
        )
    )
    blocks.append(Block("h1", "二、指标完成情况一览"))
    rows = [["指标", "单位", "属性", "基期", "目标", f"{year}年值", "进度线", "状态"]]
    status = []
    for ind in defs:
        c = ev.cell(ind.key, main, year)
        if c is None:
            continue
        base = f"{ind.base_year}年 {fmt(c.base_value)}" if ind.base_year else "—"
        rows.append(
            [
                ind.name_zh,
                ind.unit,
                BINDING_ZH.get(ind.binding, "—"),
                base,
                target_text(ind),
                fmt(c.progress.value),
                fmt(c.progress.reference),
                STATUS_ZH[c.progress.status],
            ]
        )
        status.append(c.progress.status)
    blocks.append(
        Block("table", rows=rows, widths=[4.2, 1.6, 1.2, 2.2, 2.8, 1.8, 1.6, 1.6], status=status)
    )

    blocks.append(Block("h1", "三、分指标评估"))
    for n, ind in enumerate(defs, start=1):
        c = ev.cell(ind.key, main, year)
        if c is None:
            continue
        blocks.append(Block("h2", f"（{n}）{ind.name_zh}"))
        blocks.append(
            Block(
                "p",
                f"计算方法：{formula_zh(ind)}。目标：{target_text(ind)}（{ind.period_end}年）。"
                f"{c.as_dict()['explanation_zh']}。",
            )
        )
        blocks.append(Block("image", draw=lambda f, ind=ind: chart(ind, series, main, f)))
        inputs = [["输入", f"{year}年值", "来源"]]
        for u in c.inputs:
            inputs.append([INPUTS[u.name].zh, fmt(u.value), u.note_zh])
        blocks.append(Block("table", rows=inputs, widths=[4.5, 2.5, 10]))
        divs = [["区划", f"{year}年值", "状态", "说明"]]
        st = []
        for d in ev.divisions:
            dc = ev.cell(ind.key, d, year)
            if dc is None:
                continue
            divs.append(
                [
                    f"{d} {ev.division_names.get(d, '')}",
                    fmt(dc.progress.value),
                    STATUS_ZH[dc.progress.status],
                    dc.as_dict()["explanation_zh"],
                ]
            )
            st.append(dc.progress.status)
        if len(divs) > 2:
            blocks.append(Block("table", rows=divs, widths=[3.5, 2.2, 2, 9.3], status=st))

    blocks.append(Block("h1", "四、差距最大的指标及相关记录"))
    gaps = sorted(
        (c for c in ev.cells.values() if c.progress.status in ("off_track", "at_risk")),
        key=lambda c: -_gap(c),
    )[:3]
    if not gaps:
        blocks.append(Block("p", "本年度没有明显滞后或存在风险的指标。"))
    for c in gaps:
        blocks.append(
            Block(
                "h3",
                f"{c.indicator.name_zh} · {c.division} {ev.division_names.get(c.division, '')}"
                f"（差距 {_gap(c) * 100:.1f}%）",
            )
        )
        drill = service.drill_down(session, who, set_id, c.indicator.key, c.division, year, now)
        recs = [["输入", "记录", "时间", "数值"]]
        for name, items in drill.records.items():
            for r in items[:8]:
                when = r.at.astimezone(BEIJING).strftime("%Y-%m-%d") if r.at else "—"
                recs.append([INPUTS[name].zh, r.title, when, fmt(r.amount)])
        for name, hist in drill.history.items():
            for h in hist[:3]:
                recs.append(
                    [INPUTS[name].zh, f"统计录入 v{h.version}：{h.source}", str(h.year), h.value]
                )
        if len(recs) > 1:
            blocks.append(Block("table", rows=recs, widths=[4, 8, 2.5, 2.5]))
        else:
            blocks.append(Block("p", "该指标值无可下钻的平台记录。"))

    blocks.append(Block("h1", "五、数据缺口"))
    missing: dict[str, set[str]] = {}
    for c in ev.cells.values():
        for u in c.missing:
            missing.setdefault(f"{INPUTS[u.name].zh}：{u.note_zh.split('，')[0]}", set()).add(
                c.division
            )
    if not missing:
        blocks.append(Block("p", "本年度全部指标输入齐全。"))
    else:
        rows = [["缺少的输入", "涉及区划数"]]
        for k in sorted(missing):
            rows.append([k, str(len(missing[k]))])
        blocks.append(Block("table", rows=rows[:60], widths=[13, 4]))
    blocks.append(
        Block(
            "note",
            "说明：指标值由 SafeCity 根据平台记录（事故、隐患、预警、应急资源）和录入的统计数据"
            "实时计算；统计数据保留修订历史。标注“演示数据”的数值为演示城市虚构数据。",
        )
    )
    return Doc(title, sub, blocks)


def _gap(c: service.Cell) -> float:
    p = c.progress
    if p.value is None or p.reference is None or p.reference == 0:
        return 0.0
    return float(abs(p.value - p.reference) / abs(p.reference))


def formula_zh(ind: Indicator) -> str:
    text = ind.formula.text
    for name in sorted(ind.formula.inputs, key=len, reverse=True):
        text = text.replace(name, INPUTS[name].zh)
    return text.replace("*", "×").replace("/", "÷")


# =========================================================================== chart


def chart(
    ind: Indicator,
    series: service.Evaluation,
    division: str,
    fonts: Any,
    w: int = 900,
    h: int = 300,
) -> bytes:
    """Trajectory (base → target, dashed) and the yearly values (dots coloured by status)."""
    years = series.years
    points = []
    for y in years:
        c = series.cell(ind.key, division, y)
        if c is not None and c.progress.value is not None:
            points.append((y, float(c.progress.value), c.progress.status))
    c0 = series.cell(ind.key, division, years[-1]) if years else None
    base = c0.base_value if c0 else None
    path = [
        (y, float(v))
        for y in range((ind.base_year or ind.period_start), ind.period_end + 1)
        if (v := trajectory(ind, y, base)) is not None
    ]
    tv = ind.target_value(base)
    values = (
        [v for _, v, _ in points] + [v for _, v in path] + ([float(tv)] if tv is not None else [])
    )
    if not values:
        return b""
    x0 = min([p[0] for p in points] + [p[0] for p in path] + [ind.period_start])
    x1 = max([p[0] for p in points] + [ind.period_end])
    lo, hi = min(values + [0.0]), max(values)
    hi = hi + (hi - lo) * 0.15 or 1
    img = Image.new("RGB", (w, h), "white")
    dr = ImageDraw.Draw(img)
    try:
        font = (
            ImageFont.truetype(io.BytesIO(fonts.regular), 15) if fonts else ImageFont.load_default()
        )
    except (OSError, AttributeError):
        font = ImageFont.load_default()
    L, R, T, B = 70, 20, 30, 40

    def X(y: float) -> float:
        return L + (y - x0) / max(1, x1 - x0) * (w - L - R)

    def Y(v: float) -> float:
        return T + (1 - (v - lo) / (hi - lo or 1)) * (h - T - B)

    dr.line([(L, T), (L, h - B), (w - R, h - B)], fill=(90, 90, 90), width=1)
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        dr.line([(L, Y(v)), (w - R, Y(v))], fill=(230, 230, 230))
        dr.text((5, Y(v) - 8), fmt(v, 3), fill=(80, 80, 80), font=font)
    for y in range(int(x0), int(x1) + 1):
        dr.text((X(y) - 16, h - B + 8), str(y), fill=(80, 80, 80), font=font)
    if tv is not None:
        dr.line([(L, Y(float(tv))), (w - R, Y(float(tv)))], fill=(46, 139, 87), width=1)
        dr.text((w - R - 160, Y(float(tv)) - 20), f"目标 {fmt(tv)}", fill=(46, 139, 87), font=font)
    for (ya, va), (yb, vb) in itertools.pairwise(path):
        _dashed(dr, (X(ya), Y(va)), (X(yb), Y(vb)), (100, 100, 100))
    if len(points) > 1:
        dr.line([(X(y), Y(v)) for y, v, _ in points], fill=(40, 90, 160), width=2)
    for y, v, st in points:
        r = 6
        dr.ellipse([X(y) - r, Y(v) - r, X(y) + r, Y(v) + r], fill=STATUS_RGB[st])
    dr.text(
        (L + 8, 6),
        f"{ind.name_zh}（{ind.unit}）  — 实际值   - - 进度线",
        fill=(30, 30, 30),
        font=font,
    )
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _dashed(dr: Any, a: tuple[float, float], b: tuple[float, float], fill: Any) -> None:
    n = 12
    for i in range(0, n, 2):
        t0, t1 = i / n, (i + 1) / n
        dr.line(
            [
                (a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0),
                (a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1),
            ],
            fill=fill,
            width=2,
        )


# =========================================================================== layout


def to_docx(doc: Doc) -> bytes:
    import docx  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.oxml.ns import qn  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.shared import Cm, Pt, RGBColor  # noqa: PLC0415 python-docx loaded only when a Word file is written

    d = docx.Document()
    d.core_properties.title = doc.title
    d.core_properties.author = "SafeCity"
    d.core_properties.language = "zh-CN"
    sec = d.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.0)
    for name in ("Normal", "Heading 1", "Heading 2", "Heading 3", "Title"):
        st = d.styles[name]
        rpr = st.element.get_or_add_rPr()
        rfonts = rpr.get_or_add_rFonts()
        east = "黑体" if name != "Normal" else "宋体"
        rfonts.set(qn("w:eastAsia"), east)
    d.styles["Normal"].font.size = Pt(10.5)
    d.add_heading(doc.title, level=0)
    d.add_paragraph(doc.subtitle)
    for b in doc.blocks:
        if b.kind in ("h1", "h2", "h3"):
            d.add_heading(b.text, level={"h1": 1, "h2": 2, "h3": 3}[b.kind])
        elif b.kind in ("p", "note"):
            p = d.add_paragraph(b.text)
            if b.kind == "note":
                for r in p.runs:
                    r.font.size = Pt(9)
                    r.font.color.rgb = RGBColor(90, 90, 90)
        elif b.kind == "image":
            d.add_picture(io.BytesIO(b.png), width=Cm(16.5))
        elif b.kind == "table":
            t = d.add_table(rows=len(b.rows), cols=len(b.rows[0]))
            t.style = "Table Grid"
            for i, row in enumerate(b.rows):
                for j, cell in enumerate(row):
                    c = t.cell(i, j)
                    c.text = cell
                    for p in c.paragraphs:
                        for r in p.runs:
                            r.font.size = Pt(9)
                            r.font.bold = i == 0
                            if i > 0 and b.status and cell == STATUS_ZH.get(b.status[i - 1]):
                                r.font.color.rgb = RGBColor(*STATUS_RGB[b.status[i - 1]])
            if b.widths:
                total = sum(b.widths)
                for j, wdt in enumerate(b.widths):
                    for cell in t.columns[j].cells:
                        cell.width = Cm(17 * wdt / total)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


_SERIAL = itertools.count(1)


def to_pdf(doc: Doc, fonts: Any) -> bytes:
    from reportlab.lib import colors  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.styles import ParagraphStyle  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.units import cm  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase.ttfonts import TTFont  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.platypus import (  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
        Image as RLImage,
    )
    from reportlab.platypus import (  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    serial = next(_SERIAL)
    reg, bold = f"IND{fonts.key}-{serial}", f"IND{fonts.key}-{serial}-B"
    pdfmetrics.registerFont(TTFont(reg, io.BytesIO(fonts.regular)))
    pdfmetrics.registerFont(TTFont(bold, io.BytesIO(fonts.bold)))
    base = ParagraphStyle("b", fontName=reg, fontSize=10, leading=15, wordWrap="CJK")
    cellst = ParagraphStyle("c", parent=base, fontSize=8, leading=11)
    styles = {
        "title": ParagraphStyle("t", parent=base, fontName=bold, fontSize=18, leading=26),
        "h1": ParagraphStyle(
            "h1", parent=base, fontName=bold, fontSize=14, leading=22, spaceBefore=10
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=bold, fontSize=12, leading=18, spaceBefore=8
        ),
        "h3": ParagraphStyle(
            "h3", parent=base, fontName=bold, fontSize=10.5, leading=16, spaceBefore=6
        ),
        "note": ParagraphStyle("n", parent=base, fontSize=8, textColor=colors.grey),
    }
    story: list[Any] = [
        Paragraph(_x(doc.title), styles["title"]),
        Paragraph(_x(doc.subtitle), base),
    ]
    width = A4[0] - 4 * cm
    for b in doc.blocks:
        if b.kind in ("h1", "h2", "h3", "note"):
            story.append(Paragraph(_x(b.text), styles[b.kind]))
        elif b.kind == "p":
            story.append(Paragraph(_x(b.text), base))
        elif b.kind == "image":
            img = Image.open(io.BytesIO(b.png))
            story.append(
                RLImage(io.BytesIO(b.png), width=width, height=width * img.height / img.width)
            )
        elif b.kind == "table":
            total = sum(b.widths) if b.widths else len(b.rows[0])
            widths = [width * w / total for w in (b.widths or [1] * len(b.rows[0]))]
            data = [[Paragraph(_x(c), cellst) for c in r] for r in b.rows]
            t = Table(data, colWidths=widths, repeatRows=1)
            style = [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
            for i, st in enumerate(b.status, start=1):
                col = [j for j, c in enumerate(b.rows[i]) if c == STATUS_ZH[st]]
                for j in col:
                    rgb = STATUS_RGB[st]
                    style.append(
                        (
                            "BACKGROUND",
                            (j, i),
                            (j, i),
                            colors.Color(*(c / 255 for c in rgb), alpha=0.18),
                        )
                    )
            t.setStyle(TableStyle(style))
            story.append(t)
        story.append(Spacer(1, 4))
    buf = io.BytesIO()
    SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, title=doc.title, author="SafeCity"
    ).build(story)
    return buf.getvalue()


def _x(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build(
    session: Session, who: Principal, set_id: int, year: int, now: datetime, format: str
) -> tuple[bytes, str, str]:
    from safecity.core.fonts import load_fonts  # noqa: PLC0415 heavy module, loaded for a report

    doc = build_doc(session, who, set_id, year, now)
    fonts = load_fonts(doc.text() + "实际值进度线目标（）— -0123456789.")
    for b in doc.blocks:
        if b.kind == "image":
            b.png = b.draw(fonts)
    doc.blocks = [b for b in doc.blocks if b.kind != "image" or b.png]
    name = quote(f"{doc.title}.{format}")
    if format == "pdf":
        return to_pdf(doc, fonts), "application/pdf", name
    return to_docx(doc), DOCX, name
