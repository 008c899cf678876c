"""Who the caller is and what part of the city they may see: the one scope rule.

Every capability asks this module, never writes its own copy: ``clause(who, shape)`` is the
WHERE clause for lists, ``sees(who, shape, ...)`` the check for one object, and both read the
same ``Shape`` (which columns of a table carry its division, enterprise and industry).

The rule: a reader sees objects whose division code lies inside their own division (prefix,
down to the street). On top of that an enterprise safety officer sees only objects of their own
enterprise (a table with no enterprise column shows them nothing, unless it is reference data),
and a department liaison only objects of their industry (GB/T 4754 section letter or division
number, matched by ``industry_matches`` / ``industry_clause``); a table with no industry
dimension (grid cells, protected targets, warnings) is not narrowed by industry, while an
object of a table that has one but whose industry is unknown is not the liaison's. The public
reads nothing through this rule. Outside scope answers 404 for reads and writes alike.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, or_, select, true

from safecity.core.industry import INDUSTRY_SECTIONS, industry_section

ROLES: dict[str, tuple[str, str]] = {
    "admin": ("系统管理员", "Administrator"),
    "commander": ("指挥长", "Commander"),
    "duty_officer": ("值班员", "Duty officer"),
    "risk_analyst": ("风险管理员", "Risk analyst"),
    "inspector": ("执法人员", "Inspector"),
    "department_liaison": ("行业部门", "Department liaison"),
    "district_officer": ("区县/街道", "District officer"),
    "grid_member": ("网格员", "Grid member"),
    "enterprise_officer": ("企业安全员", "Enterprise safety officer"),
    "public": ("公众", "Public"),
}

# Roles allowed to create/edit/archive each registry kind (scope is checked separately).
REGISTRY_WRITERS: dict[str, frozenset[str]] = {
    "division": frozenset({"admin"}),
    "grid_cell": frozenset({"admin", "district_officer"}),
    "enterprise": frozenset(
        {"admin", "district_officer", "risk_analyst", "department_liaison", "enterprise_officer"}
    ),
    "protected_target": frozenset({"admin", "district_officer", "risk_analyst"}),
}

READ_ROLES = frozenset(ROLES) - {"public"}


def division_prefix(code: str) -> str:
    """GB/T 2260 code → the prefix every code inside it shares.

    370000 → "37" (province), 370600 → "3706" (city), 370602 → "370602" (county);
    longer township/village codes (9/12 digits) drop their trailing zero groups of three.
    """
    code = code.strip()
    if len(code) <= 6:
        code = code.ljust(6, "0")
        if code[2:] == "0000":
            return code[:2]
        if code[4:] == "00":
            return code[:4]
        return code
    head, tail = code[:6], code[6:]
    tail = tail.rstrip("0")
    # keep whole 3-digit groups so 370602001 stays distinct from 370602010
    groups = (len(tail) + 2) // 3
    return head + code[6 : 6 + groups * 3]


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    division_code: str
    enterprise_id: int | None = None
    industry: str | None = None
    display_name: str = ""

    @property
    def prefix(self) -> str:
        return division_prefix(self.division_code)

    def covers(self, division_code: str | None) -> bool:
        return bool(division_code) and str(division_code).startswith(self.prefix)

    def can_read(self) -> bool:
        return self.role in READ_ROLES

    def can_write(self, kind: str) -> bool:
        return self.role in REGISTRY_WRITERS.get(kind, frozenset())

    def can_see_enterprise(
        self,
        enterprise_id: int,
        division_code: str,
        industry_code: str,
        section: str = "",
    ) -> bool:
        """Whether this enterprise is in scope (``section`` is derived from the code; unused)."""
        return sees(
            self,
            ENTERPRISE_SHAPE,
            division_code,
            enterprise_id=enterprise_id,
            industry_code=industry_code,
        )

    @property
    def liaison_industry(self) -> str | None:
        """The industry that narrows this caller's scope (only a liaison's does)."""
        return self.industry if self.role == "department_liaison" and self.industry else None


SYSTEM = Principal(user_id=0, username="system", role="admin", division_code="000000")


class _Operator(Principal):
    @property
    def prefix(self) -> str:
        return ""  # every division of the installation


def operator() -> Principal:
    """Whom the ``safecity`` command acts as: the machine's operator, an administrator over
    every division, named ``cli:<login>`` in the audit log (one definition for every
    capability's commands)."""
    return _Operator(
        user_id=0, username=f"cli:{getpass.getuser()}", role="admin", division_code="000000"
    )


def is_valid_division_code(code: str) -> bool:
    """GB/T 2260 county-level codes are 6 digits; township 9 and village 12 (statistical codes)."""
    return code.isdigit() and len(code) in (6, 9, 12) and code[:2] != "00"


def prefix_range(prefix: str) -> tuple[str, str] | None:
    """[low, high) bounds of every code starting with `prefix`, or None for "everything".

    A range comparison uses the ordinary B-tree index on SQLite and PostgreSQL alike, where
    LIKE 'prefix%' does not (SQLite's LIKE is case-insensitive, PostgreSQL needs a C collation).
    """
    if not prefix:
        return None
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def code_within(column: Any, prefix: str) -> Any:
    """WHERE clause: a code column starts with ``prefix`` (as an index-friendly range)."""
    bounds = prefix_range(prefix)
    if bounds is None:
        return true()
    return and_(column >= bounds[0], column < bounds[1])


# ---------------------------------------------------------------- industry: one definition


def _industry_ranges(industry: str) -> tuple[list[str], list[tuple[str, str]]] | None:
    """[low, high) string ranges of the industry codes inside a liaison's industry.

    A section letter covers its division numbers, written plain ("26", "2614") or behind the
    letter ("C26"), and the bare letter; a division number covers the codes starting with it,
    plain or behind its section letter. Anything else covers nothing (None). SQL and Python
    both compare strings against these same ranges, so a list and a detail page cannot differ.
    """
    ind = industry.strip().upper()
    if len(ind) == 1 and ind in INDUSTRY_SECTIONS:
        lo, hi = f"{INDUSTRY_SECTIONS[ind][2]:02d}", f"{INDUSTRY_SECTIONS[ind][3] + 1:02d}"
        return [ind], [(lo, hi), (ind + lo, ind + hi)]
    if len(ind) >= 2 and ind.isdigit():
        section = industry_section(ind)
        prefixes = [ind] + ([section + ind] if section else [])
        return [], [r for p in prefixes if (r := prefix_range(p)) is not None]
    return None


def industry_matches(industry: str, code: str | None) -> bool:
    """Whether an object with GB/T 4754 code ``code`` lies in ``industry`` (letter or number)."""
    found = _industry_ranges(industry)
    if found is None or not code:
        return False
    exact, ranges = found
    return code in exact or any(lo <= code < hi for lo, hi in ranges)


def industry_clause(column: Any, industry: str) -> Any:
    """The same rule as ``industry_matches`` as a WHERE clause over an industry code column."""
    found = _industry_ranges(industry)
    if found is None:
        return false()
    exact, ranges = found
    return or_(
        *(column == e for e in exact), *(and_(column >= lo, column < hi) for lo, hi in ranges)
    )


# ---------------------------------------------------------------- the scope of a table


@dataclass(frozen=True)
class Shape:
    """Which columns of a table the scope rule reads.

    ``industry`` is the table's own industry code column, or — with ``industry_via`` set to
    the enterprise table's id column — the enterprise table's industry code column, reached
    through ``enterprise``. ``reference`` marks reference data every reader of the division
    may see (divisions themselves, checklists), narrowed by division only.
    """

    division: Any
    enterprise: Any = None
    industry: Any = None
    industry_via: Any = None
    reference: bool = False


def clause(who: Principal, shape: Shape) -> Any:
    """WHERE clause: the rows of ``shape``'s table the caller may see."""
    if not who.can_read():
        return false()
    where = code_within(shape.division, who.prefix)
    if shape.reference:
        return where
    if who.role == "enterprise_officer":
        if shape.enterprise is None:
            return false()
        return and_(where, shape.enterprise == (who.enterprise_id or -1))
    industry = who.liaison_industry
    if industry and shape.industry is not None:
        match = industry_clause(shape.industry, industry)
        if shape.industry_via is not None:
            match = shape.enterprise.in_(select(shape.industry_via).where(match))
        return and_(where, match)
    return where


def sees(
    who: Principal,
    shape: Shape,
    division_code: str | None,
    *,
    enterprise_id: int | None = None,
    industry_code: str | None = None,
) -> bool:
    """Whether the caller may see one object of ``shape``'s table (the check for details).

    Pass the object's own division and enterprise, and its industry code — the enterprise's
    when the shape reads it through ``industry_via``.
    """
    if not who.can_read() or not who.covers(division_code):
        return False
    if shape.reference:
        return True
    if who.role == "enterprise_officer":
        return (
            shape.enterprise is not None
            and enterprise_id is not None
            and enterprise_id == who.enterprise_id
        )
    industry = who.liaison_industry
    if industry and shape.industry is not None:
        return industry_matches(industry, industry_code)
    return True


# For ``sees`` on an enterprise (only whether a dimension exists matters there; core does not
# import the registry's table, whose own Shape has the real columns).
ENTERPRISE_SHAPE = Shape(division="division_code", enterprise="id", industry="industry_code")
