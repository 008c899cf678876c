"""Risk points REST API of their own: assessments and their approval, the city's grading
settings and an enterprise's inherent level. The register itself (list, detail with the
assessments, create, edit, archive, import, export) is the kind's (kind.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends
from sqlalchemy.orm import Session

from safecity.core.apidoc import json_body
from safecity.core.deps import db, now, principal
from safecity.core.scope import Principal
from safecity.risk.points import enterprise
from safecity.risk.points import service as point_service
from safecity.risk.points.schemas import (
    AssessmentIn,
    AssessmentOut,
    DecisionIn,
    EnterpriseLevelOut,
    GradingSettingIn,
    GradingSettingsOut,
)

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/points/{point_id}/assessments", summary="评价历史 / assessment history")
def list_assessments(
    point_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> list[AssessmentOut]:
    return [
        point_service.assessment_dict(a)
        for a in point_service.list_assessments(session, who, point_id)
    ]


@router.post(
    "/points/{point_id}/assessments",
    status_code=201,
    summary="LEC 或风险矩阵评价（草稿）/ assess by LEC or matrix (draft)",
    openapi_extra=json_body(AssessmentIn),
)
def assess(
    point_id: str,
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> AssessmentOut:
    return point_service.assessment_dict(point_service.assess(session, who, point_id, data, at))


@router.post(
    "/assessments/{assessment_id}/approve",
    summary="审核通过 / approve an assessment",
    openapi_extra=json_body(DecisionIn, required=False),
)
def approve(
    assessment_id: str,
    data: dict[str, Any] | None = Body(None),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> AssessmentOut:
    note = str((data or {}).get("note") or "")
    return point_service.assessment_dict(
        point_service.decide(session, who, assessment_id, True, at, note)
    )


@router.post(
    "/assessments/{assessment_id}/reject",
    summary="驳回 / reject an assessment",
    openapi_extra=json_body(DecisionIn, required=False),
)
def reject(
    assessment_id: str,
    data: dict[str, Any] | None = Body(None),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> AssessmentOut:
    note = str((data or {}).get("note") or "")
    return point_service.assessment_dict(
        point_service.decide(session, who, assessment_id, False, at, note)
    )


SETTINGS_DOC = """Each city keeps its own `lec_bands` and `risk_matrix` (RiskSetting), falling back to the
province's and then to the defaults, which are:

* **LEC** (作业条件危险性分析法, Graham & Kinney 1976): D = L × E × C with only the table values;
  the classic five bands (>320 极其危险, 160–320 高度危险, 70–160 显著危险, 20–70 一般危险,
  <20 稍有危险) mapped to four colours as in Chinese dual-prevention practice: D > 320 red
  (重大), 160 < D ≤ 320 orange (较大), 70 < D ≤ 160 yellow (一般), D ≤ 70 blue (低).
  `PUT /settings/lec_bands` takes `{"thresholds": [t1, t2, t3], "closed": "right"|"left",
  "name", "source"}`.
* **Risk matrix** (LS): R = L × S, L and S 1–5; 20–25 red, 15–16 orange, 9–12 yellow, 1–8 blue
  (the LS criteria used in dual-prevention practice; not a national standard).
  `PUT /settings/risk_matrix` takes `{"thresholds": {"red_min", "orange_min", "yellow_min"}}`
  or a monotone 5 × 5 `{"levels": [[...], ...]}` (row = likelihood).

Bad configurations answer 422 naming the field. Only risk analysts and administrators at city
level may change them; every change is audited. New assessments use the settings in force when
they are made; stored assessments keep their result.
"""


@router.get(
    "/settings",
    summary="本市 LEC 分级与风险矩阵配置 / the city's grading settings",
    description=SETTINGS_DOC,
)
def get_settings_(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> GradingSettingsOut:
    return point_service.settings_view(session, who)


@router.put(
    "/settings/{key}",
    summary="修改本市 lec_bands 或 risk_matrix / change a grading setting",
    openapi_extra=json_body(GradingSettingIn),
)
def put_setting(
    key: str,
    data: Any = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> GradingSettingsOut:
    return point_service.set_setting(session, who, key, data, at)


@router.delete("/settings/{key}", summary="恢复默认配置 / restore the default")
def delete_setting(
    key: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> GradingSettingsOut:
    return point_service.set_setting(session, who, key, None, at)


@router.get(
    "/enterprises/{enterprise_id}/level",
    summary="企业固有风险等级 / an enterprise's inherent risk level",
    description=enterprise.ENTERPRISE_LEVEL_RULE[0] + "\n\n" + enterprise.ENTERPRISE_LEVEL_RULE[1],
)
def enterprise_level(
    enterprise_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> EnterpriseLevelOut:
    return enterprise.enterprise_level(session, who, enterprise_id)
