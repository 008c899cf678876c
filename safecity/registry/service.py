"""Registry use cases: the generic kind service (core.kinds_service) plus the registry's scope
helpers other capabilities use for tables whose industry is their enterprise's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.kinds import Kind
from safecity.core.kinds_service import (  # noqa: F401  the registry's callers use these names
    MAX_PAGE_SIZE,
    ListParams,
    Page,
    archive_object,
    check_references,
    create_object,
    get_object,
    iter_objects,
    list_objects,
    scope_clause,
    to_dict,
    update_object,
    validate,
)
from safecity.core.kinds_service import visible as _kind_visible
from safecity.core.scope import Principal, Shape
from safecity.registry.kinds import REGISTRY_KINDS
from safecity.registry.models import Enterprise

# What the scope rule reads on each registry kind (declared on the kinds themselves).
SHAPES: dict[str, Shape] = {k.name: k.scope_shape for k in REGISTRY_KINDS}
ENTERPRISE_INDUSTRY = Shape(
    division=Enterprise.division_code,
    enterprise=Enterprise.id,
    industry=Enterprise.industry_code,
    industry_via=Enterprise.id,
)


def _visible(principal: Principal, kind: Kind, obj: Any) -> bool:
    """Whether one registry object is in the caller's scope (kept for existing callers)."""
    return _kind_visible(principal, kind, obj)


def industry_shape(division: Any, enterprise: Any) -> Shape:
    """The Shape of a table whose industry is its enterprise's (sensors, alarms, tasks)."""
    return Shape(
        division=division,
        enterprise=enterprise,
        industry=Enterprise.industry_code,
        industry_via=Enterprise.id,
    )


def enterprise_industry(session: Session, enterprise_id: int | None) -> str | None:
    """The industry code of an enterprise, for one-object checks through ``industry_shape``."""
    if enterprise_id is None:
        return None
    return session.scalar(select(Enterprise.industry_code).where(Enterprise.id == enterprise_id))
