"""Four lists (四张清单) web pages: the overview and one list with filters and paging."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from safecity.core.deps import db
from safecity.core.errors import Invalid
from safecity.core.scope import Principal
from safecity.registry.rules import INDUSTRY_SECTIONS, TARGET_TYPES
from safecity.risk.areas.rules import GRADE_ZH, LEVEL_EN, LEVEL_ZH, LEVELS
from safecity.risk.lists import service as lists
from safecity.web.guard import web_user
from safecity.web.i18n import pick
from safecity.web.registry_views import scope_divisions
from safecity.web.render import lang_of, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
DB = Annotated[Session, Depends(db, scope="function")]
WebUser = Annotated[Principal, Depends(web_user)]

# Texts of these pages (zh, en); templates call tr('key').
TEXTS: dict[str, tuple[str, str]] = {
    "lists": ("四张清单", "Four lists"),
    "lists_intro": (
        "重大安全风险、重大事故隐患、重大危险源、脆弱性目标四张清单，按管辖范围汇总。",
        (
            "Major risks, major hidden dangers, major hazard installations and "
            "vulnerable targets in your jurisdiction."
        ),
    ),
    "items": ("项", "items"),
    "open": ("查看清单", "Open list"),
    "division": ("行政区划", "Division"),
    "industry": ("行业", "Industry"),
    "level": ("等级", "Level"),
    "kind": ("类型", "Type"),
    "all": ("全部", "All"),
    "filter": ("筛选", "Filter"),
    "reset": ("重置", "Reset"),
    "export": ("导出 Excel", "Export to Excel"),
    "summary": ("数量汇总", "Counts"),
    "by_level": ("按等级/类别", "By level"),
    "by_district": ("按区县", "By district"),
    "total": ("合计", "Total"),
    "no_rows": ("没有符合条件的记录", "No matching records"),
    "page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "kind_point": ("风险点", "Risk points"),
    "kind_area": ("区域", "Areas"),
    "count": ("数量", "Count"),
}


def _tr(lang: str) -> Any:
    def tr(key: str, **values: Any) -> str:
        text = pick(TEXTS.get(key, (key, key)), lang)
        return text.format(**values) if values else text

    return tr


def _level_options(name: str, lang: str) -> list[tuple[str, str]]:
    grades = [(str(g), pick((f"{zh}重大危险源", f"Grade {g}"), lang)) for g, zh in GRADE_ZH.items()]
    colours = [(lv, pick((LEVEL_ZH[lv], LEVEL_EN[lv]), lang)) for lv in LEVELS]
    if name == "major-risks":
        return colours[:1]
    if name == "major-hazards":
        return grades
    if name == "vulnerable-targets":
        return grades + [
            (lv, pick((f"位于{LEVEL_ZH[lv][:2]}区域", f"In a {lv} area"), lang))
            for lv in ("red", "orange")
        ]
    return []


def _english(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their Chinese labels swapped for English ones (the XLSX stays Chinese)."""
    by_zh = {zh: en for zh, en in [*lists.LEVEL_LABELS.values(), *lists.GRADE_LABELS.values()]}
    by_zh |= {"储存单元": "Storage unit", "生产单元": "Production unit", "风险点": "Risk point"}
    by_zh |= {zh: en for zh, en in TARGET_TYPES.values()}
    out = []
    for row in rows:
        row = dict(row)
        for key in (
            "level_label",
            "unit_kind_label",
            "target_type_label",
            "hazard_level_label",
            "area_level_label",
            "kind_label",
        ):
            if isinstance(row.get(key), str):
                row[key] = by_zh.get(row[key], row[key])
        out.append(row)
    return out


@router.get("/risk/lists")
def lists_page(request: Request, session: DB, who: WebUser) -> Response:
    lang = lang_of(request)
    return render(request, "risk/lists.html", tr=_tr(lang), overview=lists.overview(session, who))


@router.get("/risk/lists/{name}")
def list_page(request: Request, name: str, session: DB, who: WebUser) -> Response:
    lang = lang_of(request)
    qp = request.query_params
    try:
        page = max(1, int(qp.get("page") or 1))
    except ValueError:
        page = 1
    filters = lists.filters_from(
        qp.get("division"), qp.get("industry"), qp.get("level"), qp.get("kind")
    )
    status, errors = 200, []
    try:
        result = lists.get_list(session, who, name, filters)
    except Invalid as exc:
        # Show the page with the message instead of an error page: the user fixes a filter.
        status, errors = 422, [pick((e.zh, e.en), lang) for e in exc.errors]
        result = lists.get_list(session, who, name, lists.ListFilters())
    pages = max(1, math.ceil(len(result.rows) / PAGE_SIZE))
    query = {
        k: v
        for k, v in (
            ("division", filters.division),
            ("industry", filters.industry),
            ("level", filters.level),
            ("kind", filters.kind),
        )
        if v
    }
    export = f"/api/v1/risk/lists/{name}?" + urlencode({**query, "format": "xlsx"})
    return render(
        request,
        "risk/lists_detail.html",
        status=status,
        tr=_tr(lang),
        result=result,
        title=pick(result.title, lang),
        summary=result.summary(),
        filters=filters,
        rows=(_english if lang == "en" else list)(lists.page_rows(result.rows, page, PAGE_SIZE)),
        page=page,
        pages=pages,
        errors=errors,
        export_url=export,
        names=lists.NAMES,
        titles={n: pick(lists.TITLES[n], lang) for n in lists.NAMES},
        divisions=[d for d in scope_divisions(session, who) if d.level in ("county", "street")],
        industries=[(k, pick((v[0], v[1]), lang)) for k, v in INDUSTRY_SECTIONS.items()],
        levels=_level_options(name, lang),
        columns=result.columns,
        note=pick(result.note, lang) if result.note else None,
    )
