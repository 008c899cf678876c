"""GB 32100-2015 credit-code check character and GB/T 4754 sections, against hand-worked values."""

import pytest

from safecity.registry.rules import industry_section, parent_code, uscc_check_char, uscc_problem


def test_check_character_worked_by_hand() -> None:
    # 91350100M000100Y4 → weights 3^i mod 31 = 1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28
    # values 9,1,3,5,0,1,0,0,M=21,0,0,0,1,0,0,Y=30,4
    # Σ = 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112 = 1640; 1640 mod 31 = 28; 31-28 = 3
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert uscc_problem("91350100M000100Y43") is None


def test_check_character_wraps_31_to_zero() -> None:
    # A body whose weighted sum is a multiple of 31 must give "0", not index 31.
    body = "9137060200000000"
    for last in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        candidate = body + last
        total = sum(
            "0123456789ABCDEFGHJKLMNPQRTUWXY".index(c) * pow(3, i, 31)
            for i, c in enumerate(candidate)
        )
        if total % 31 == 0:
            assert uscc_check_char(candidate) == "0"
            break
    else:
        pytest.fail("no multiple of 31 found")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y4", "18位"),
        ("91350100M000100Y44", "校验码错误"),
        ("91350100M000100I43", "非法字符"),  # I is not in the GB 32100 character set
        ("94350100M000100Y43", "机构类别"),  # 9 (工商) allows types 1,2,3 only
        ("9135A100M000100Y4X", "行政区划"),  # characters 3-8 are a GB/T 2260 code
    ],
)
def test_invalid_codes_name_the_reason(code: str, reason: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and reason in problem[0]


def test_lowercase_is_accepted_after_normalising() -> None:
    assert uscc_problem("91350100m000100y43") is None


@pytest.mark.parametrize(
    ("code", "section"),
    [
        ("01", "A"),
        ("05", "A"),
        ("06", "B"),
        ("12", "B"),
        ("13", "C"),
        ("26", "C"),
        ("2614", "C"),
        ("43", "C"),
        ("44", "D"),
        ("54", "G"),
        ("97", "T"),
        ("C", "C"),
        ("C26", "C"),
        ("98", None),
        ("X", None),
        ("", None),
    ],
)
def test_industry_sections(code: str, section: str | None) -> None:
    assert industry_section(code) == section


def test_parent_codes() -> None:
    assert parent_code("370602") == "370600"
    assert parent_code("370600") == "370000"
    assert parent_code("370000") is None
    assert parent_code("370602001") == "370602"
