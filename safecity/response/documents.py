"""Generated documents of an incident: 事故快报 (first report), 续报 (follow-up) and the
situation report (情况报告, the elements of ICS 201 / EDXL-SitRep), as DOCX or PDF in Chinese."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from safecity.core.clock import BEIJING
from safecity.core.errors import NotFound
from safecity.registry.models import Division, Enterprise
from safecity.response import command, levels
from safecity.response import service as svc
from safecity.response import workflow as wf
from safecity.response.models import Incident, Plan

KINDS = {
    "first": "事故快报",
    "followup": "事故续报",
    "sitrep": "突发事件情况报告",
}
MEDIA = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
_SERIAL = itertools.count(1)


@dataclass
class Doc:
    title: str
    subtitle: str
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    table: tuple[list[str], list[list[str]]] | None = None

    def text(self) -> str:
        parts = [self.title, self.subtitle]
        for head, paras in self.sections:
            parts += [head, *paras]
        if self.table:
            parts += self.table[0] + [c for r in self.table[1] for c in r]
        return "".join(parts)


def _t(value: datetime | None) -> str:
    if value is None:
        return "—"
    return svc.as_utc(value).astimezone(BEIJING).strftime("%Y年%m月%d日 %H时%M分")  # type: ignore[union-attr]


def _money(v: Any) -> str:
    d = Decimal(v or 0)
    return f"{d / 10000:,.2f} 万元" if d >= 10000 else f"{d:,.2f} 元"


def compose(session: Session, inc: Incident, kind: str, now: datetime) -> Doc:
    if kind not in KINDS:
        raise NotFound("文书类型", "document kind")
    div = session.get(Division, inc.division_code) or session.get(Division, inc.division_code[:6])
    ent = session.get(Enterprise, inc.enterprise_id) if inc.enterprise_id else None
    zh_type, _ = svc.type_names(inc.type_key)
    grade = svc.grade_of(inc)
    place = "".join(x for x in ((div.name if div else inc.division_code), inc.address) if x)
    timeline = svc.timeline(session, inc)
    measures = [
        f"{_t(e.at)} {wf.ACTIONS.get(e.action, (e.action,))[0]}：{e.note}"
        for e in timeline
        if e.action not in ("receive", "followup", "regrade", "report_up", "grade")
    ] or ["（暂无）"]
    casualties = (
        f"死亡 {inc.deaths} 人，失踪 {inc.missing} 人，重伤（含急性工业中毒）{inc.serious_injuries} 人，"
        f"被困 {inc.trapped} 人；受影响人口约 {inc.affected_population} 人，"
        f"转移安置 {inc.relocated} 人"
    )
    expl = (inc.grade_explanation or {}).get("explanation_zh", "")
    reporter = f"{inc.received_by}（报告人：{inc.reporter_name or '—'} {inc.reporter_phone}）"
    doc = Doc(
        f"{KINDS[kind]}",
        f"事件 #{inc.id}「{inc.title}」 · 生成于 {_t(now)}",
    )
    basics = [
        f"事发时间：{_t(inc.occurred_at)}",
        f"事发地点：{place or '—'}"
        + (f"（{inc.lon:.5f}, {inc.lat:.5f}）" if inc.lon is not None and inc.lat else ""),
        f"事发单位：{ent.name if ent else (inc.reporter_org or '—')}",
        f"事件类型：{zh_type}（GB/T 35561-2017）"
        + ("；生产安全事故" if inc.production_safety else ""),
        f"事件等级：{grade.zh if grade else '未定级'}" + (f"——{expl}" if expl else ""),
        f"接报时间：{_t(inc.received_at)}；接报来源：{wf.SOURCES[inc.source][0]}",
    ]
    if kind in ("first", "followup"):
        doc.sections += [
            ("一、基本情况", basics),
            ("二、事件经过", [inc.description or inc.title]),
            ("三、伤亡和损失", [casualties, f"直接经济损失：{_money(inc.direct_loss_yuan)}"]),
            ("四、已采取的措施", measures),
            ("五、报告人", [reporter, f"报告时间：{_t(now)}"]),
        ]
        if kind == "followup":
            history = svc.grade_history(session, inc)
            doc.sections.insert(
                3,
                (
                    "伤亡变化和等级调整",
                    [
                        f"{_t(h.at)}：{h.explanation.get('zh', '')}"
                        for h in history
                        if h.reason == "followup"
                    ]
                    or ["自首报以来伤亡人数和等级未变化"],
                ),
            )
        return doc
    # 情况报告: situation, objectives, actions, organisation, resources, casualties (ICS 201)
    plan = session.get(Plan, inc.plan_id) if inc.plan_id else None
    level = levels.LEVELS[inc.response_level][0] if inc.response_level else "未启动响应"
    tasks = command.tasks_of(session, inc)
    dispatches = command.dispatches_of(session, inc)
    doc.sections += [
        ("一、当前态势", [*basics, f"事件状态：{wf.STATES[inc.status][0]}", inc.description or ""]),
        (
            "二、处置目标",
            [
                f"响应级别：{level}" + (f"（依据《{plan.name}》）" if plan else ""),
                "控制事态、救治伤员、防止次生衍生灾害、保障群众安全",
            ],
        ),
        ("三、已采取的行动", measures),
        (
            "四、组织指挥",
            [
                f"{g['name']}：{g.get('department', '')} {g.get('contact', '')}"
                for g in (plan.groups if plan else [])
            ]
            or ["（未启动预案）"],
        ),
        (
            "五、力量和资源",
            [
                f"{d.resource_name}：{wf.DISPATCH_STATES[d.status][0]}"
                + (f"，预计 {d.eta_minutes:g} 分钟" if d.eta_minutes is not None else "")
                for d in dispatches
            ]
            or ["（暂无调派）"],
        ),
        ("六、伤亡情况", [casualties, f"直接经济损失：{_money(inc.direct_loss_yuan)}"]),
    ]
    if tasks:
        doc.table = (
            ["工作组", "任务", "状态", "签收"],
            [
                [t.group_name, t.title, wf.TASK_STATES[t.status][0], _t(t.received_at)]
                for t in tasks
            ],
        )
    # every line of the incident's log, grade changes and the response's end included
    doc.sections.append(
        (
            "七、事件时间线",
            [
                f"{_t(e.at)} {wf.ACTIONS.get(e.action, (e.action,))[0]}（{e.actor}）"
                + (f"：{e.note}" if e.note else "")
                for e in timeline
            ],
        )
    )
    if inc.status == wf.CLOSED:
        doc.sections.append(("八、总结评估", [inc.summary, inc.review]))
    return doc


def render_pdf(doc: Doc) -> bytes:
    from reportlab.lib import colors  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.styles import ParagraphStyle  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.lib.units import cm  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.pdfbase.ttfonts import TTFont  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
    from reportlab.platypus import (  # noqa: PLC0415 reportlab loaded only when a PDF is rendered
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    from safecity.core.fonts import load_fonts  # noqa: PLC0415 the one CJK font finder

    fonts = load_fonts(doc.text())
    name = f"RS{fonts.key}-{next(_SERIAL)}"
    pdfmetrics.registerFont(TTFont(name, io.BytesIO(fonts.regular)))
    pdfmetrics.registerFont(TTFont(name + "B", io.BytesIO(fonts.bold)))
    body = ParagraphStyle("b", fontName=name, fontSize=11, leading=18, wordWrap="CJK")
    head = ParagraphStyle("h", fontName=name + "B", fontSize=13, leading=22, spaceBefore=8)
    title = ParagraphStyle("t", fontName=name + "B", fontSize=20, leading=28, alignment=1)
    sub = ParagraphStyle("s", fontName=name, fontSize=10, leading=16, alignment=1)

    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    story: list[Any] = [Paragraph(esc(doc.title), title), Paragraph(esc(doc.subtitle), sub)]
    story.append(Spacer(1, 0.4 * cm))
    for h, paras in doc.sections:
        story.append(Paragraph(esc(h), head))
        story += [Paragraph(esc(p), body) for p in paras if p]
    if doc.table:
        header, rows = doc.table
        cell = ParagraphStyle("c", fontName=name, fontSize=9, leading=13, wordWrap="CJK")
        data = [[Paragraph(esc(c), cell) for c in r] for r in [header, *rows]]
        t = Table(data, colWidths=[3 * cm, 8 * cm, 2.2 * cm, 3.8 * cm], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [Spacer(1, 0.3 * cm), t]
    buf = io.BytesIO()
    SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=doc.title,
        author="SafeCity",
        leftMargin=2.2 * cm,
        rightMargin=2.2 * cm,
    ).build(story)
    return buf.getvalue()


def render_docx(doc: Doc) -> bytes:
    import docx  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.oxml.ns import qn  # noqa: PLC0415 python-docx loaded only when a Word file is written
    from docx.shared import Pt  # noqa: PLC0415 python-docx loaded only when a Word file is written

    d = docx.Document()
    d.core_properties.title = doc.title
    d.core_properties.author = "SafeCity"
    d.core_properties.language = "zh-CN"
    for style in ("Normal", "Heading 1", "Heading 2", "Title"):
        st = d.styles[style]
        st.font.name = "SimSun"
        rpr = st.element.get_or_add_rPr()
        rpr.get_or_add_rFonts().set(qn("w:eastAsia"), "SimSun" if style == "Normal" else "SimHei")
    d.styles["Normal"].font.size = Pt(12)
    t = d.add_heading(doc.title, level=0)
    t.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p = d.add_paragraph(doc.subtitle)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for h, paras in doc.sections:
        d.add_heading(h, level=2)
        for text in paras:
            if text:
                d.add_paragraph(text)
    if doc.table:
        header, rows = doc.table
        table = d.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        for i, c in enumerate(header):
            table.rows[0].cells[i].text = c
        for r in rows:
            cells = table.add_row().cells
            for i, c in enumerate(r):
                cells[i].text = c
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def build(
    session: Session, inc: Incident, kind: str, fmt: str, now: datetime
) -> tuple[bytes, str, str]:
    """(bytes, media type, URL-quoted file name)."""
    if fmt not in MEDIA:
        raise NotFound("文书格式", "document format")
    doc = compose(session, inc, kind, now)
    body = render_pdf(doc) if fmt == "pdf" else render_docx(doc)
    name = quote(f"{KINDS[kind]}-事件{inc.id}.{fmt}")
    return body, MEDIA[fmt], name
