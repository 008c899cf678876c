"""The risk capability's kinds (generic list/filter/detail/form/import/export pages and API)."""

from safecity.risk.major_hazards.kind import MAJOR_HAZARD
from safecity.risk.points.kind import RISK_POINT

KINDS = (RISK_POINT, MAJOR_HAZARD)
