"""Who the caller is and what part of the city they may see or change (pure logic)."""

from __future__ import annotations

from dataclasses import dataclass

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
        self, enterprise_id: int, division_code: str, industry_code: str, section: str = "",
    ) -> bool:
        if not self.can_read() or not self.covers(division_code):
            return False
        if self.role == "enterprise_officer":
            return enterprise_id == self.enterprise_id
        if self.role == "department_liaison" and self.industry:
            # A liaison's industry is a GB/T 4754 section letter or a division number prefix.
            if self.industry.isalpha():
                return section.upper() == self.industry.upper()
            return industry_code.startswith(self.industry)
        return True


SYSTEM = Principal(user_id=0, username="system", role="admin", division_code="000000")


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
