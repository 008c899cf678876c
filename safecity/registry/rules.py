"""Pure registry rules: GB 32100 credit codes, GB/T 4754 industries, GB/T 2260 codes, target types."""

from __future__ import annotations

# GB/T 4754 sections live in core: the scope rule matches liaisons' industries with them.
from safecity.core.industry import INDUSTRY_SECTIONS, industry_section  # noqa: F401

# GB 32100-2015 §4.2/附录: 31 characters (no I, O, Z, S, V); weight of position i is 3^i mod 31.
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
# 登记管理部门代码 (first character) and the 机构类别代码 (second) each may take.
USCC_AUTHORITIES: dict[str, str] = {
    "1": "1239",
    "5": "1239",
    "9": "123",
    "Y": "1",
    "N": "123459",
    "2": "19",
    "3": "12345679",
    "4": "19",
    "6": "129",
    "7": "129",
    "8": "19",
    "A": "19",
    "B": "19",
    "C": "19",
    "D": "19",
    "E": "19",
    "F": "19",
    "G": "19",
    "H": "19",
}


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def uscc_problem(code: str) -> tuple[str, str] | None:
    """Why a unified social credit code is invalid (zh, en), or None when it is valid."""
    code = code.strip().upper()
    if len(code) != 18:
        return (
            f"统一社会信用代码应为18位，实际{len(code)}位",
            f"must be 18 characters, got {len(code)}",
        )
    bad = [c for c in code if c not in USCC_CHARS]
    if bad:
        return (f"含非法字符“{bad[0]}”", f"illegal character {bad[0]!r}")
    allowed = USCC_AUTHORITIES.get(code[0])
    if allowed is None or code[1] not in allowed:
        return (
            "登记管理部门代码或机构类别代码无效",
            "invalid registration authority or entity type",
        )
    if not code[2:8].isdigit():
        return ("第3至8位应为行政区划代码（数字）", "characters 3-8 must be a division code")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return (f"校验码错误，应为“{expected}”", f"check character should be {expected!r}")
    return None


# Divisions used most in safety supervision, named for the UI.
INDUSTRY_DIVISIONS: dict[str, str] = {
    "06": "煤炭开采和洗选业",
    "08": "黑色金属矿采选业",
    "09": "有色金属矿采选业",
    "10": "非金属矿采选业",
    "13": "农副食品加工业",
    "17": "纺织业",
    "22": "造纸和纸制品业",
    "25": "石油、煤炭及其他燃料加工业",
    "26": "化学原料和化学制品制造业",
    "27": "医药制造业",
    "29": "橡胶和塑料制品业",
    "30": "非金属矿物制品业",
    "31": "黑色金属冶炼和压延加工业",
    "32": "有色金属冶炼和压延加工业",
    "33": "金属制品业",
    "34": "通用设备制造业",
    "36": "汽车制造业",
    "37": "铁路、船舶、航空航天和其他运输设备制造业",
    "38": "电气机械和器材制造业",
    "39": "计算机、通信和其他电子设备制造业",
    "44": "电力、热力生产和供应业",
    "45": "燃气生产和供应业",
    "47": "房屋建筑业",
    "48": "土木工程建筑业",
    "51": "批发业",
    "52": "零售业",
    "54": "道路运输业",
    "55": "水上运输业",
    "59": "装卸搬运和仓储业",
    "61": "住宿业",
    "62": "餐饮业",
    "78": "公共设施管理业",
    "83": "教育",
    "84": "卫生",
    "89": "娱乐业",
}


SUPERVISION_CATEGORIES: dict[str, tuple[str, str]] = {
    "hazchem": ("危险化学品", "Hazardous chemicals"),
    "mining": ("非煤矿山", "Non-coal mines"),
    "fireworks": ("烟花爆竹", "Fireworks"),
    "metallurgy": ("冶金等工贸", "Industry and trade"),
    "construction": ("建筑施工", "Construction"),
    "transport": ("交通运输", "Transport"),
    "gas": ("城镇燃气", "Urban gas"),
    "special_equipment": ("特种设备", "Special equipment"),
    "crowded_place": ("人员密集场所", "Crowded places"),
    "other": ("其他", "Other"),
}

SCALES: dict[str, tuple[str, str]] = {
    "large": ("大型", "Large"),
    "medium": ("中型", "Medium"),
    "small": ("小型", "Small"),
    "micro": ("微型", "Micro"),
}

TARGET_TYPES: dict[str, tuple[str, str]] = {
    "school": ("学校", "School"),
    "kindergarten": ("幼儿园", "Kindergarten"),
    "hospital": ("医院", "Hospital"),
    "nursing_home": ("养老机构", "Nursing home"),
    "station": ("车站码头", "Station"),
    "shopping_centre": ("商场超市", "Shopping centre"),
    "scenic_spot": ("旅游景区", "Scenic spot"),
    "stadium": ("体育场馆", "Stadium"),
    "residential": ("居民小区", "Residential area"),
}

DIVISION_LEVELS: dict[str, tuple[str, str]] = {
    "province": ("省", "Province"),
    "city": ("市", "City"),
    "county": ("区县", "County"),
    "street": ("街道乡镇", "Street/town"),
}


def division_level(code: str) -> str:
    if len(code) > 6:
        return "street"
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def parent_code(code: str) -> str | None:
    level = division_level(code)
    if level == "province":
        return None
    if level == "city":
        return code[:2] + "0000"
    if level == "county":
        return code[:4] + "00"
    return code[:6]
