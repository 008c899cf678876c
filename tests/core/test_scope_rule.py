"""The one scope rule: its SQL clause and its one-object check agree, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, String, literal, select, union_all
from sqlalchemy.orm import Session

from safecity.core import scope
from safecity.core.scope import Principal, Shape, industry_matches

CODES = [
    "26",
    "2614",
    "C26",
    "C2614",
    "C",
    "13",
    "4399",
    "44",
    "4401",
    "51",
    "F51",
    "54",
    "G54",
    "5",
    "05",
    "70",
    "71",
    "K",
    "A01",
    "X26",
    "c26",
    "",
    None,
]
INDUSTRIES = ["C", "G", "K", "A", "26", "261", "54", "44", "Z", "2", "C26", ""]


def _rows(*spec):  # type: ignore[no-untyped-def]
    """An inline table (SELECT … UNION ALL …; SQLite has no VALUES with column names)."""
    *columns, data = spec
    return union_all(
        *(
            select(*(literal(v, t).label(n) for (n, t), v in zip(columns, row, strict=True)))
            for row in data
        )
    ).subquery()


@pytest.mark.parametrize(
    ("industry", "code", "expected"),
    [
        ("C", "26", True),
        ("C", "C2614", True),
        ("C", "C", True),
        ("C", "51", False),
        ("C", "4399", True),
        ("C", "44", False),
        ("K", "70", True),
        ("K", "71", False),
        ("26", "2614", True),
        ("26", "C2614", True),
        ("26", "2711", False),
        ("G", "54", True),
        ("Z", "54", False),
        ("C", None, False),
        ("C", "", False),
    ],
)
def test_industry_matches_by_section_or_division(
    industry: str, code: str | None, expected: bool
) -> None:
    assert industry_matches(industry, code) is expected


def test_industry_clause_agrees_with_check(session: Session) -> None:
    """One definition: for every (industry, code) pair the SQL and Python answers are equal."""
    rows = _rows(("i", Integer), ("code", String), list(enumerate(CODES)))
    for industry in INDUSTRIES:
        hits = set(
            session.scalars(select(rows.c.i).where(scope.industry_clause(rows.c.code, industry)))
        )
        expected = {i for i, c in enumerate(CODES) if industry_matches(industry, c)}
        assert hits == expected, industry


OBJECTS = [  # (division, enterprise, industry)
    ("370602", 1, "26"),
    ("370602", 2, "54"),
    ("370613", 3, "26"),
    ("370613", None, None),
    ("370202", 4, "26"),
    ("370602001", 1, "C2614"),
    ("370602", None, "54"),
]
WHO = [
    Principal(1, "admin", "admin", "370600"),
    Principal(2, "zhifu", "district_officer", "370602"),
    Principal(3, "ent", "enterprise_officer", "370602", enterprise_id=1),
    Principal(4, "liaison", "department_liaison", "370600", industry="G"),
    Principal(5, "liaison26", "department_liaison", "370600", industry="26"),
    Principal(6, "public", "public", "370600"),
]


@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("dims", ["all", "division_only", "no_industry"])
def test_clause_agrees_with_sees(session: Session, dims: str, reference: bool) -> None:
    rows = _rows(
        ("i", Integer),
        ("division", String),
        ("ent", Integer),
        ("ind", String),
        [(i, *o) for i, o in enumerate(OBJECTS)],
    )
    shape = Shape(
        division=rows.c.division,
        enterprise=None if dims == "division_only" else rows.c.ent,
        industry=rows.c.ind if dims == "all" else None,
        reference=reference,
    )
    for who in WHO:
        hits = set(session.scalars(select(rows.c.i).where(scope.clause(who, shape))))
        expected = {
            i
            for i, (d, e, ind) in enumerate(OBJECTS)
            if scope.sees(who, shape, d, enterprise_id=e, industry_code=ind)
        }
        assert hits == expected, (who.username, dims)


def test_the_rule_itself() -> None:
    """What each role sees, written out by hand (not derived from the code under test)."""
    full = Shape(division="d", enterprise="e", industry="i")
    cells = Shape(division="d")
    ent, liaison = WHO[2], WHO[3]
    assert scope.sees(ent, full, "370602", enterprise_id=1, industry_code="26")
    assert not scope.sees(ent, full, "370602", enterprise_id=2, industry_code="26")
    assert not scope.sees(ent, cells, "370602")  # grid cells: not their enterprise's
    assert scope.sees(ent, Shape(division="d", reference=True), "370602")
    assert scope.sees(liaison, full, "370613", enterprise_id=9, industry_code="54")
    assert not scope.sees(liaison, full, "370613", enterprise_id=9, industry_code="26")
    assert not scope.sees(liaison, full, "370613", enterprise_id=None, industry_code=None)
    assert scope.sees(liaison, cells, "370613")  # no industry dimension: not narrowed
    assert not scope.sees(liaison, cells, "370202")
    assert not scope.sees(WHO[5], cells, "370602")
