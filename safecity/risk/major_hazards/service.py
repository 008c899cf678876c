"""Major hazard use cases: units identified and graded per GB 18218 with their exposure (grid
population and protected targets within 500 m) — scoped by the one rule and audited."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import scope
from safecity.core.errors import FieldError, Forbidden, Invalid, NotFound
from safecity.core.kinds import Saving
from safecity.core.scope import Principal, Shape
from safecity.registry.models import Enterprise, GridCell, ProtectedTarget
from safecity.risk.major_hazards import exposure as exposure_rules
from safecity.risk.major_hazards import hazmat
from safecity.risk.major_hazards.schemas import ExposureOverrideIn
from safecity.risk.models import MajorHazard
from safecity.risk.points.service import (
    audit_change,
    invalid_input,
    require_analyst,
)

# --------------------------------------------------------------------------- scope


# A major hazard installation's industry is its enterprise's.
HAZARD_SHAPE = Shape(
    division=MajorHazard.division_code,
    enterprise=MajorHazard.enterprise_id,
    industry=Enterprise.industry_code,
    industry_via=Enterprise.id,
)


def hazard_scope(principal: Principal) -> Any:
    return scope.clause(principal, HAZARD_SHAPE)


def _sees_hazard(session: Session, principal: Principal, hazard: MajorHazard) -> bool:
    industry = (
        session.scalar(
            select(Enterprise.industry_code).where(Enterprise.id == hazard.enterprise_id)
        )
        if principal.liaison_industry
        else None
    )
    return scope.sees(
        principal,
        HAZARD_SHAPE,
        hazard.division_code,
        enterprise_id=hazard.enterprise_id,
        industry_code=industry,
    )


M_PER_DEG_LAT = 111_320  # metres per degree of latitude (and of longitude at the equator)


def hazards_near(
    session: Session, principal: Principal, lon: float, lat: float, radius_m: float
) -> list[MajorHazard]:
    """The units the caller may see in the box of ± radius_m around (lon, lat), for other
    capabilities' "what is near" panels (the caller measures exact distances)."""
    dlat = radius_m / M_PER_DEG_LAT
    dlon = radius_m / (M_PER_DEG_LAT * max(0.1, math.cos(math.radians(lat))))
    stmt = select(MajorHazard).where(
        hazard_scope(principal),
        MajorHazard.archived.is_(False),
        MajorHazard.lon.between(lon - dlon, lon + dlon),
        MajorHazard.lat.between(lat - dlat, lat + dlat),
    )
    return list(session.scalars(stmt))


def get_hazard(session: Session, principal: Principal, hazard_id: Any) -> MajorHazard:
    """One unit the caller may see; outside scope it is missing (404), as for the kind."""
    try:
        hazard = session.get(MajorHazard, int(hazard_id))
    except (TypeError, ValueError):
        hazard = None
    if hazard is None or not _sees_hazard(session, principal, hazard):
        raise NotFound("重大危险源", "major hazard installation")
    return hazard


def hazard_dict(h: MajorHazard) -> dict[str, Any]:
    return {
        "id": h.id,
        "enterprise_id": h.enterprise_id,
        "name": h.name,
        "unit_kind": h.unit_kind,
        "substances": h.substances,
        "division_code": h.division_code,
        "lon": h.lon,
        "lat": h.lat,
        "boundary": h.boundary,
        "S": h.s_value,
        "is_major": h.is_major,
        "R": h.r_value,
        "level": h.level,
        "alpha": h.alpha,
        "exposed_population": h.exposed_population,
        "exposed_population_computed": h.exposed_population_computed,
        "exposed_override_reason": h.exposed_override_reason,
        "exposure": h.exposure,
        "result": h.result,
        "assessed_at": h.assessed_at.isoformat() if h.assessed_at else None,
        "archived": h.archived,
    }


def hazmat_errors(exc: hazmat.HazmatInputError, unit_prefix: bool = False) -> Invalid:
    """GB 18218 input errors as 422 field errors naming the substance row (1-based)."""
    out = []
    for e in exc.errors:
        if unit_prefix:
            name, row = e.path, (e.substance_index + 1 if e.substance_index is not None else None)
        elif e.substance_index is not None:
            name, row = f"substances[{e.substance_index}].{e.field}", e.substance_index + 1
        else:
            name, row = e.field, None
        out.append(FieldError(name, e.message_zh, e.message_en, row))
    return Invalid(out)


def identify_payload(payload: Any) -> dict[str, Any]:
    """POST /hazmat/identify: exactly the calculation of `safecity calc hazmat`."""
    try:
        return hazmat.identify(payload)
    except hazmat.HazmatInputError as exc:
        raise hazmat_errors(exc, unit_prefix=True) from None


def compute_exposure(
    session: Session, lon: float | None, lat: float | None, boundary: dict[str, Any] | None
) -> exposure_rules.Exposure | None:
    """People within 500 m from grid-cell population and protected targets (exposure.py)."""
    unit = exposure_rules.unit_geometry(lon, lat, boundary)
    if unit is None:
        return None
    x0, y0, x1, y1 = exposure_rules.search_bounds(unit)
    cells = [
        exposure_rules.Cell(*row)
        for row in session.execute(
            select(
                GridCell.id,
                GridCell.population,
                GridCell.geometry,
                GridCell.lon,
                GridCell.lat,
                GridCell.name,
            ).where(
                GridCell.archived.is_(False),
                GridCell.lon.between(x0, x1),
                GridCell.lat.between(y0, y1),
            )
        )
    ]
    targets = [
        exposure_rules.Target(
            tid, name, lon, lat, occupancy if occupancy is not None else capacity or 0, kind
        )
        for tid, name, lon, lat, occupancy, capacity, kind in session.execute(
            select(
                ProtectedTarget.id,
                ProtectedTarget.name,
                ProtectedTarget.lon,
                ProtectedTarget.lat,
                ProtectedTarget.occupancy,
                ProtectedTarget.capacity,
                ProtectedTarget.target_type,
            ).where(
                ProtectedTarget.archived.is_(False),
                ProtectedTarget.lon.between(x0, x1),
                ProtectedTarget.lat.between(y0, y1),
            )
        )
    ]
    return exposure_rules.compute(unit, cells, targets)


def _grade(values: dict[str, Any], population: int) -> dict[str, Any]:
    payload = {
        "units": [
            {
                "name": values["name"],
                "kind": values["unit_kind"],
                "substances": values["substances"],
            }
        ],
        "exposed_population": population,
    }
    try:
        return hazmat.identify(payload)
    except hazmat.HazmatInputError as exc:
        raise hazmat_errors(exc) from None


def graded(result: dict[str, Any]) -> dict[str, Any]:
    """The stored columns of one unit's identification (S, major, R, level, α, the result)."""
    unit = result["units"][0]
    return {
        "s_value": unit["S"],
        "is_major": unit["is_major"],
        "r_value": unit["R"],
        "level": unit["level"],
        "alpha": result["alpha"],
        "result": {
            **unit,
            "alpha_band": result["alpha_band"],
            "exposed_population": result["exposed_population"],
            "standard": result["standard"],
        },
    }


def _exposure_of(session: Session, values: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    found = compute_exposure(session, values["lon"], values["lat"], values["boundary"])
    return (found.total, found.as_dict()) if found else (0, None)


def prepare(values: dict[str, Any], saving: Saving) -> dict[str, Any]:
    """A unit's stored columns from its input (``Kind.prepare``): division and, without a
    location, the place of its enterprise; the people within 500 m; the GB 18218 grade with
    the analyst's override of the exposed population kept. Identified again only when what
    it is computed from changed (a re-import of an export changes nothing)."""
    session, hazard = saving.session, saving.obj
    ent = session.get(Enterprise, values["enterprise_id"])
    if ent is None:
        raise Invalid(
            [
                FieldError(
                    "enterprise_id",
                    f"企业：编号 {values['enterprise_id']} 不存在",
                    f"enterprise: {values['enterprise_id']} does not exist",
                )
            ]
        )
    moved_owner = hazard is not None and values["enterprise_id"] != hazard.enterprise_id
    if moved_owner and (values["lon"], values["lat"]) == (hazard.lon, hazard.lat):
        values["lon"] = values["lat"] = None  # a unit given to another enterprise moves with it
    if values["lon"] is None and ent.lon is not None:
        values["lon"], values["lat"] = ent.lon, ent.lat
    values["division_code"] = ent.division_code
    computed, detail = _exposure_of(session, values)
    overridden = hazard is not None and hazard.exposed_override_reason
    used = hazard.exposed_population if overridden else computed
    out = {
        **values,
        **graded(_grade(values, used)),
        "exposed_population": used,
        "exposed_population_computed": computed,
        "exposure": detail,
        "exposed_override_reason": hazard.exposed_override_reason if hazard else None,
        "assessed_at": saving.now,
    }
    if hazard is not None and all(
        getattr(hazard, k) == out[k] for k in ("result", "exposure", "substances", "lon", "lat")
    ):
        out["assessed_at"] = hazard.assessed_at
    return out


def override_exposure(
    session: Session, principal: Principal, hazard_id: Any, data: dict[str, Any], now: datetime
) -> MajorHazard:
    """An analyst replaces the computed exposed population (reason required), or clears it."""
    hazard = get_hazard(session, principal, hazard_id)
    require_analyst(principal)
    if not principal.covers(hazard.division_code):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    try:
        parsed = ExposureOverrideIn.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc) from None
    before = hazard_dict(hazard)
    if parsed.exposed_population is None:
        used, reason = hazard.exposed_population_computed, None
    else:
        used, reason = parsed.exposed_population, parsed.reason
    values = {"name": hazard.name, "unit_kind": hazard.unit_kind, "substances": hazard.substances}
    for name, value in graded(_grade(values, used)).items():
        setattr(hazard, name, value)
    hazard.exposed_population, hazard.exposed_override_reason = used, reason
    hazard.assessed_at = now
    session.flush()
    audit_change(
        session,
        principal,
        "major_hazard",
        hazard.id,
        "override_exposure",
        before,
        hazard_dict(hazard),
        now,
        hazard.division_code,
    )
    return hazard
