"""Indicators REST API under /api/v1/indicators: sets, values, drill-down, statistics, vital
signs, the evaluation report."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from safecity.core.config import get_settings
from safecity.core.deps import db, now, principal
from safecity.core.errors import invalid
from safecity.core.scope import Principal
from safecity.indicators import report, service, vitals
from safecity.indicators.schemas import (
    DrillOut,
    EvaluationOut,
    IndicatorOut,
    IndicatorPatch,
    SetImportIn,
    SetImportOut,
    SetOut,
    SetSummary,
    StatImportOut,
    StatisticOut,
    StatisticPage,
    StatisticsIn,
    VitalsOut,
)

router = APIRouter(prefix="/api/v1/indicators", tags=["indicators"])


@router.get("/sets", response_model=list[SetSummary])
def list_sets(
    session: Session = Depends(db, scope="function"), who: Principal = Depends(principal)
) -> list[SetSummary]:
    return [SetSummary.of(s) for s in service.list_sets(session, who)]


@router.post("/sets", response_model=SetImportOut, status_code=201)
def import_set(
    body: SetImportIn,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> SetImportOut:
    r = service.import_set(session, who, body.toml, at)
    return SetImportOut(
        set_id=r.set.id,
        city=r.set.city,
        created=r.created,
        updated=r.updated,
        removed=r.removed,
        unchanged=r.unchanged,
    )


@router.get("/sets/{set_id}", response_model=SetOut)
def get_set(
    set_id: int,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> SetOut:
    s = service.get_set(session, who, set_id)
    rows = service.indicator_rows(session, s.id)
    return SetOut(**SetSummary.of(s).model_dump(), indicators=[IndicatorOut.of(r) for r in rows])


@router.patch("/sets/{set_id}/indicators/{key}", response_model=IndicatorOut)
def update_indicator(
    set_id: int,
    key: str,
    body: IndicatorPatch,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> IndicatorOut:
    changes = body.model_dump(exclude_unset=True)
    row = service.update_indicator(session, who, set_id, key, changes, at)
    return IndicatorOut.of(row)


@router.get("/sets/{set_id}/values", response_model=EvaluationOut)
def values(
    set_id: int,
    year: list[int] | None = Query(default=None),
    division: str | None = None,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> EvaluationOut:
    return EvaluationOut.of(service.evaluate(session, who, set_id, at, year, division))


@router.get("/sets/{set_id}/values/{key}/{division}/{year}", response_model=DrillOut)
def drill_down(
    set_id: int,
    key: str,
    division: str,
    year: int,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> DrillOut:
    return DrillOut.of(service.drill_down(session, who, set_id, key, division, year, at))


@router.get(
    "/sets/{set_id}/report",
    response_class=Response,
    responses={
        200: {
            "content": {
                report.DOCX: {"schema": {"type": "string", "format": "binary"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
def evaluation_report(
    set_id: int,
    year: int,
    format: str = "docx",
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> Response:
    if format not in ("docx", "pdf"):
        raise invalid("format", "格式应为 docx 或 pdf", "format must be docx or pdf")
    content, media, name = report.build(session, who, set_id, year, at, format)
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.get(
    "/statistics",
    response_model=StatisticPage,
    summary="The statistics in force, newest year first, a page at a time (filters: division — "
    "it and the divisions inside it, year, input)",
)
def list_statistics(
    division: str | None = Query(None, max_length=12),
    year: int | None = Query(None, ge=1949, le=2100),
    input: str | None = Query(None, max_length=64),
    page: int = Query(1, ge=1, le=100_000),
    size: int = Query(service.STAT_PAGE_SIZE, ge=1, le=500),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> StatisticPage:
    found = service.page_statistics(
        session, who, within=division, year=year, input_name=input, page=page, size=size
    )
    return StatisticPage(
        total=found.total,
        page=found.page,
        size=found.size,
        items=[StatisticOut.of(s) for s in found.items],
    )


@router.post("/statistics", response_model=StatImportOut)
def record_statistics(
    body: StatisticsIn,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> StatImportOut:
    items = [
        service.StatIn(i.division_code, i.year, i.input, i.value, i.source, i.note, n)
        for n, i in enumerate(body.items, start=1)
    ]
    return StatImportOut(**service.record_statistics(session, who, items, at).as_dict())


@router.post(
    "/statistics/import",
    response_model=StatImportOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "source": {"type": "string"},
                        },
                    }
                }
            }
        }
    },
)
async def import_statistics(
    request: Request,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> StatImportOut:
    content, source = await read_upload(request)
    items = service.parse_statistics_xlsx(content, source)
    return StatImportOut(**service.record_statistics(session, who, items, at).as_dict())


async def read_upload(request: Request) -> tuple[bytes, str]:
    """The XLSX file of a multipart form (size-capped) and the form's ``source`` field."""
    form = await request.form(max_files=1)
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise invalid("file", "请选择 XLSX 文件", "an XLSX file is required")
    limit = get_settings().max_upload_mb * 1024 * 1024  # SAFECITY_MAX_UPLOAD_MB, as every import
    content = await file.read(limit + 1)
    if len(content) > limit:
        mb = limit // 1048576
        raise invalid("file", f"文件：超过 {mb} MB 上限", f"file: larger than {mb} MB")
    source = form.get("source")
    return content, source.strip() if isinstance(source, str) else ""


@router.get("/statistics/{division}/{year}/{name}/history", response_model=list[StatisticOut])
def statistic_history(
    division: str,
    year: int,
    name: str,
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
) -> list[StatisticOut]:
    rows = service.statistic_history(session, who, division, year, name)
    return [StatisticOut.of(s) for s in rows]


@router.get("/vitals", response_model=VitalsOut)
def vital_signs(
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> VitalsOut:
    return VitalsOut.of(vitals.vital_signs(session, who, at))
