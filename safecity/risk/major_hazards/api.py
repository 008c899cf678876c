"""Major hazard REST API of its own: the exposure override and the stateless GB 18218
calculator. List, detail, create, edit, archive, import and export are the kind's
(``/api/v1/risk/major-hazards``, kind.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Depends
from sqlalchemy.orm import Session

from safecity.core.apidoc import json_body
from safecity.core.deps import db, now, principal
from safecity.core.scope import Principal
from safecity.risk.major_hazards import service
from safecity.risk.major_hazards.schemas import (
    ExposureOverrideIn,
    IdentifyIn,
    IdentifyOut,
    MajorHazardOut,
)

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])


@router.post(
    "/hazmat/identify",
    summary="GB 18218-2018 重大危险源辨识与分级（同 safecity calc hazmat）",
    openapi_extra=json_body(IdentifyIn),
)
def identify(data: Any = Body(...), _who: Principal = Depends(principal)) -> IdentifyOut:
    return service.identify_payload(data)


@router.post(
    "/major-hazards/{hazard_id}/exposure",
    summary="修正暴露人数（须填写理由；exposed_population 为 null 时恢复计算值）",
    openapi_extra=json_body(ExposureOverrideIn),
)
def override_exposure(
    hazard_id: str,
    data: dict[str, Any] = Body(...),
    session: Session = Depends(db, scope="function"),
    who: Principal = Depends(principal),
    at: datetime = Depends(now),
) -> MajorHazardOut:
    return service.hazard_dict(service.override_exposure(session, who, hazard_id, data, at))
