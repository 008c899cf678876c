"""Risk grading REST API: risk points, assessments and approval, settings, enterprise level,
major hazard installations, GB 18218 identification, XLSX import of risk registers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from safecity.core.config import get_settings
from safecity.core.deps import db, now, principal
from safecity.core.errors import invalid
from safecity.core.scope import Principal
from safecity.risk import io, service
from safecity.web.render import BEIJING

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid(name, f"{name}：应为整数", f"{name}: must be an integer") from None


def point_query(request: Request, at: datetime) -> service.PointQuery:
    qp = request.query_params
    sort = qp.get("sort") or "name"
    if sort.lstrip("-") not in service.SORTABLE:  # refused, not silently replaced by "name"
        options = ", ".join(service.SORTABLE)
        raise invalid(
            "sort",
            f"排序：取值应为 {options}（前加 - 为倒序）",
            f"sort: must be one of {options} (prefix - for descending)",
        )
    return service.PointQuery(
        q=qp.get("q") or None,
        division=qp.get("division") or None,
        enterprise_id=_int(qp.get("enterprise_id"), "enterprise_id"),
        industry=qp.get("industry") or None,
        level=qp.get("level") or None,
        owner_kind=qp.get("owner_kind") or None,
        overdue=qp.get("overdue") in ("1", "true", "yes"),
        include_archived=qp.get("archived") in ("1", "true"),
        sort=sort.lstrip("-"),
        desc=sort.startswith("-"),
        page=_int(qp.get("page"), "page") or 1,
        size=_int(qp.get("size"), "size") or 50,
        today=at.astimezone(BEIJING).date(),
    )


@router.get("/points", summary="风险点列表 / list risk points (filters, sort, paging)")
def list_points(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    query = point_query(request, at)
    page = service.list_points(session, who, query)
    out: dict[str, Any] = {
        "total": page.total,
        "page": page.page,
        "size": page.size,
        "items": [service.point_dict(p) for p in page.items],
    }
    if query.enterprise_id is not None:
        out["enterprise_level"] = service.enterprise_level(session, who, query.enterprise_id)
    return out


@router.post("/points", status_code=201, summary="新建风险点 / create a risk point")
def create_point(
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.point_dict(service.create_point(session, who, data, at))


@router.get("/points/template", summary="风险点导入模板 (XLSX) / import template")
def points_template(_who: Principal = Depends(principal)) -> Response:
    return Response(
        io.template(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="risk-points-template.xlsx"'},
    )


@router.get("/points/export", summary="导出风险点 (XLSX，可再导入) / export risk points")
def export_points(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> Response:
    content = io.export(session, who, point_query(request, at))
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="risk-points.xlsx"'},
    )


@router.post("/points/import", summary="从 XLSX 导入风险点 / import risk points")
async def import_points(
    file: UploadFile = File(...),
    valid_only: bool = Form(False),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    limit = get_settings().max_upload_mb * 1024 * 1024
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise invalid(
            "file",
            f"文件：超过 {limit // 1048576} MB 上限",
            f"file: larger than {limit // 1048576} MB",
        )
    return io.import_points(
        session, who, file.filename or "", content, at, valid_only=valid_only
    ).as_dict()


@router.get("/points/{point_id}", summary="风险点详情 / one risk point with its assessments")
def get_point(
    point_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    point = service.get_point(session, who, point_id)
    return {
        **service.point_dict(point),
        "assessments": [
            service.assessment_dict(a) for a in service.list_assessments(session, who, point.id)
        ],
    }


@router.patch("/points/{point_id}", summary="修改风险点 / edit a risk point")
def update_point(
    point_id: str,
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.point_dict(service.update_point(session, who, point_id, data, at))


@router.post("/points/{point_id}/archive", summary="归档风险点 / archive")
def archive_point(
    point_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.point_dict(service.archive_point(session, who, point_id, at))


@router.post("/points/{point_id}/restore", summary="恢复风险点 / restore")
def restore_point(
    point_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.point_dict(service.archive_point(session, who, point_id, at, archived=False))


@router.get("/points/{point_id}/assessments", summary="评价历史 / assessment history")
def list_assessments(
    point_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> list[dict[str, Any]]:
    return [service.assessment_dict(a) for a in service.list_assessments(session, who, point_id)]


@router.post(
    "/points/{point_id}/assessments",
    status_code=201,
    summary="LEC 或风险矩阵评价（草稿）/ assess by LEC or matrix (draft)",
)
def assess(
    point_id: str,
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.assessment_dict(service.assess(session, who, point_id, data, at))


@router.post("/assessments/{assessment_id}/approve", summary="审核通过 / approve an assessment")
def approve(
    assessment_id: str,
    data: dict[str, Any] | None = Body(None),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    note = str((data or {}).get("note") or "")
    return service.assessment_dict(service.decide(session, who, assessment_id, True, at, note))


@router.post("/assessments/{assessment_id}/reject", summary="驳回 / reject an assessment")
def reject(
    assessment_id: str,
    data: dict[str, Any] | None = Body(None),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    note = str((data or {}).get("note") or "")
    return service.assessment_dict(service.decide(session, who, assessment_id, False, at, note))


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
) -> dict[str, Any]:
    return service.settings_view(session, who)


@router.put(
    "/settings/{key}", summary="修改本市 lec_bands 或 risk_matrix / change a grading setting"
)
def put_setting(
    key: str,
    data: Any = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.set_setting(session, who, key, data, at)


@router.delete("/settings/{key}", summary="恢复默认配置 / restore the default")
def delete_setting(
    key: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.set_setting(session, who, key, None, at)


@router.get(
    "/enterprises/{enterprise_id}/level",
    summary="企业固有风险等级 / an enterprise's inherent risk level",
    description=service.ENTERPRISE_LEVEL_RULE[0] + "\n\n" + service.ENTERPRISE_LEVEL_RULE[1],
)
def enterprise_level(
    enterprise_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    return service.enterprise_level(session, who, enterprise_id)


@router.post(
    "/hazmat/identify", summary="GB 18218-2018 重大危险源辨识与分级（同 safecity calc hazmat）"
)
def identify(data: Any = Body(...), _who: Principal = Depends(principal)) -> dict[str, Any]:
    return service.identify_payload(data)


@router.get("/major-hazards", summary="重大危险源（危化品单元）列表 / major hazard units")
def list_hazards(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    qp = request.query_params
    query = service.HazardQuery(
        q=qp.get("q") or None,
        division=qp.get("division") or None,
        enterprise_id=_int(qp.get("enterprise_id"), "enterprise_id"),
        level=_int(qp.get("level"), "level"),
        major_only=qp.get("major") in ("1", "true"),
        include_archived=qp.get("archived") in ("1", "true"),
        page=_int(qp.get("page"), "page") or 1,
        size=_int(qp.get("size"), "size") or 50,
    )
    page = service.list_hazards(session, who, query)
    return {
        "total": page.total,
        "page": page.page,
        "size": page.size,
        "items": [service.hazard_dict(h) for h in page.items],
    }


@router.post("/major-hazards", status_code=201, summary="新建危化品单元并辨识分级")
def create_hazard(
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.hazard_dict(service.create_hazard(session, who, data, at))


@router.get("/major-hazards/{hazard_id}", summary="重大危险源详情")
def get_hazard(
    hazard_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    return service.hazard_dict(service.get_hazard(session, who, hazard_id))


@router.patch("/major-hazards/{hazard_id}", summary="修改单元并重新辨识分级")
def update_hazard(
    hazard_id: str,
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.hazard_dict(service.update_hazard(session, who, hazard_id, data, at))


@router.post(
    "/major-hazards/{hazard_id}/exposure",
    summary="修正暴露人数（须填写理由；exposed_population 为 null 时恢复计算值）",
)
def override_exposure(
    hazard_id: str,
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.hazard_dict(service.override_exposure(session, who, hazard_id, data, at))


@router.post("/major-hazards/{hazard_id}/archive", summary="归档")
def archive_hazard(
    hazard_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.hazard_dict(service.archive_hazard(session, who, hazard_id, at))


@router.post("/major-hazards/{hazard_id}/restore", summary="恢复")
def restore_hazard(
    hazard_id: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    return service.hazard_dict(service.archive_hazard(session, who, hazard_id, at, False))
