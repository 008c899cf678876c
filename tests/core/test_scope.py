"""Division prefixes and role scope rules (pure logic)."""

import pytest

from safecity.core.scope import Principal, division_prefix, is_valid_division_code


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("370000", "37"),  # province: every code starting 37
        ("370600", "3706"),  # city: its counties 3706xx
        ("370602", "370602"),  # county: only itself and its towns
        ("370602001", "370602001"),  # town (9 digits)
        ("370602001000", "370602001"),  # 12-digit town code with zero village part
        ("370602001002", "370602001002"),
        ("370602010", "370602010"),  # must not collapse to 37060201 (would match 370602011)
    ],
)
def test_division_prefix(code: str, prefix: str) -> None:
    assert division_prefix(code) == prefix


def test_city_user_covers_counties_not_other_city() -> None:
    city = Principal(1, "a", "admin", "370600")
    assert city.covers("370602") and city.covers("370613001")
    assert not city.covers("370202")
    assert not city.covers("")


def test_county_user_covers_only_itself() -> None:
    zhifu = Principal(2, "z", "district_officer", "370602")
    assert zhifu.covers("370602") and zhifu.covers("370602003")
    assert not zhifu.covers("370613")
    assert not zhifu.covers("370600")  # the city row is above the district


def test_enterprise_officer_sees_only_own_enterprise() -> None:
    officer = Principal(3, "e", "enterprise_officer", "370602", enterprise_id=7)
    assert officer.can_see_enterprise(7, "370602", "26")
    assert not officer.can_see_enterprise(8, "370602", "26")


def test_liaison_sees_only_its_industry() -> None:
    liaison = Principal(4, "l", "department_liaison", "370600", industry="G")
    assert liaison.can_see_enterprise(1, "370602", "54", "G")
    assert not liaison.can_see_enterprise(1, "370602", "26", "C")
    by_division = Principal(4, "l", "department_liaison", "370600", industry="26")
    assert by_division.can_see_enterprise(1, "370602", "2614", "C")
    assert not by_division.can_see_enterprise(1, "370602", "2711", "C")


def test_public_cannot_read_registry() -> None:
    assert not Principal(5, "p", "public", "370600").can_read()


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("370602", True),
        ("37060", False),
        ("3706021", False),
        ("370602001", True),
        ("00000A", False),
        ("370602001001", True),
        ("000000", False),
    ],
)
def test_division_code_shape(code: str, ok: bool) -> None:
    assert is_valid_division_code(code) is ok
