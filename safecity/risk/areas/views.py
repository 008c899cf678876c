"""The four-colour risk map page (四色图)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from safecity.core.deps import db
from safecity.core.scope import Principal
from safecity.risk.areas import geometry
from safecity.risk.areas import service as area_service
from safecity.risk.areas.rules import GRADE_ZH, LEVEL_EN, LEVEL_ZH, LEVELS
from safecity.web.guard import web_user
from safecity.web.i18n import pick
from safecity.web.render import lang_of, render

router = APIRouter(include_in_schema=False)
DB = Annotated[Session, Depends(db, scope="function")]
WebUser = Annotated[Principal, Depends(web_user)]

# Texts of the map page and its script (zh, en); the template calls tr('key').
TEXTS: dict[str, tuple[str, str]] = {
    "map": ("四色风险图", "Four-colour risk map"),
    "unit": ("单元", "Unit"),
    "unit_grid": ("网格", "Grid cells"),
    "unit_street": ("街道（乡镇）", "Streets / towns"),
    "unit_district": ("区县", "Districts"),
    "unit_h3": ("H3 六边形", "H3 hexagons"),
    "resolution": ("H3 分辨率", "H3 resolution"),
    "hazard_markers": ("重大危险源", "Major hazard installations"),
    "legend": ("图例", "Legend"),
    "areas": ("区域数", "Areas"),
    "loading": ("正在计算图层…", "Computing the layer…"),
    "failed": ("图层加载失败", "Failed to load the layer"),
    "empty_unit": (
        "当前范围内没有该单元的区域（如基础数据中尚无街道/乡镇区划）。",
        (
            "No areas of this unit in your scope (e.g. no street/town divisions in "
            "the registry yet)."
        ),
    ),
    "click_hint": ("点击区域查看其颜色的依据。", "Click an area to see why it has its colour."),
    "why": ("区域风险等级依据", "Why this colour"),
    "score": ("综合得分", "Score"),
    "score_level": ("按得分", "By score"),
    "floor_level": ("就高原则", "Highest-level floor"),
    "raise": ("动态上调", "Live raise"),
    "final_level": ("最终等级", "Final level"),
    "contributions": ("构成", "Contributions"),
    "count": ("数量", "Count"),
    "weight": ("权重", "Weight"),
    "risk_points": ("风险点", "Risk points"),
    "major_hazards": ("重大危险源", "Major hazards"),
    "vulnerable": ("脆弱性目标", "Vulnerable targets"),
    "signals": ("动态信号（报警、逾期隐患）", "Live signals (alarms, overdue hidden dangers)"),
    "rule": ("区域风险规则", "Area rule"),
    "grade": ("等级", "Grade"),
    "r_value": ("R 值", "R"),
    "enterprise": ("企业", "Enterprise"),
    "distance": ("距离（米）", "Distance (m)"),
    "close": ("关闭", "Close"),
    "steps": ("级", "step(s)"),
    "rule_edit": (
        "修改本市规则（JSON，仅填写要改的项）",
        "Change the city's rule (JSON, only the settings to change)",
    ),
    "save": ("保存", "Save"),
    "reset_default": ("恢复默认", "Restore default"),
    "saved": ("已保存，图层已按新规则重新计算", "Saved; the layer was recomputed"),
    "aggregate": (
        "街道、区县按所含网格的颜色占比定级",
        "Streets and districts by their grid cells",
    ),
    "aggregate_points": (
        "街道、区县与网格一样按风险点定级",
        "Streets and districts by risk points, as grid cells",
    ),
    "cells_red": ("红色网格占比", "red cells"),
    "cells_orange": ("红、橙色网格占比", "red + orange cells"),
    "cells_yellow": ("红、橙、黄色网格占比", "red + orange + yellow cells"),
    "grid_cells": ("所含网格", "Grid cells"),
    "share": ("占比", "Share"),
    "share_level": ("按网格占比", "By cell shares"),
    "hazard_floor": ("重大危险源下限", "Major hazard floor"),
    "severe_cells": ("红色、橙色网格", "Red and orange grid cells"),
}


def _tr(lang: str) -> Any:
    def tr(key: str, **values: Any) -> str:
        text = pick(TEXTS.get(key, (key, key)), lang)
        return text.format(**values) if values else text

    return tr


@router.get("/risk/map")
def map_page(request: Request, session: DB, who: WebUser) -> Response:
    lang = lang_of(request)
    tr = _tr(lang)
    config = {
        "units": {u: tr(f"unit_{u}") for u in area_service.UNITS},
        "levels": {lv: pick((LEVEL_ZH[lv], LEVEL_EN[lv]), lang) for lv in LEVELS},
        "colours": area_service.COLOURS,
        "grades": {
            str(g): pick((f"{zh}重大危险源", f"Grade {g} major hazard"), lang)
            for g, zh in GRADE_ZH.items()
        },
        "resolutions": list(geometry.H3_RESOLUTIONS),
        "resolution": geometry.DEFAULT_H3_RES,
        "text": {k: tr(k) for k in TEXTS},
        "lang": lang,
    }
    can_edit = who.role in area_service.RULE_WRITERS and len(who.prefix) <= 4
    return render(request, "risk/map.html", tr=tr, config=config, can_edit_rule=can_edit)
