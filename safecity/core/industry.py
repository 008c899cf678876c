"""GB/T 4754-2017 industries: sections (门类) and the division numbers each contains (pure)."""

from __future__ import annotations

# GB/T 4754-2017 sections (门类) and the division (大类) number ranges they contain.
INDUSTRY_SECTIONS: dict[str, tuple[str, str, int, int]] = {
    "A": ("农、林、牧、渔业", "Agriculture, forestry, animal husbandry and fishery", 1, 5),
    "B": ("采矿业", "Mining", 6, 12),
    "C": ("制造业", "Manufacturing", 13, 43),
    "D": ("电力、热力、燃气及水生产和供应业", "Electricity, heat, gas and water", 44, 46),
    "E": ("建筑业", "Construction", 47, 50),
    "F": ("批发和零售业", "Wholesale and retail", 51, 52),
    "G": ("交通运输、仓储和邮政业", "Transport, storage and post", 53, 60),
    "H": ("住宿和餐饮业", "Accommodation and catering", 61, 62),
    "I": ("信息传输、软件和信息技术服务业", "Information technology", 63, 65),
    "J": ("金融业", "Finance", 66, 69),
    "K": ("房地产业", "Real estate", 70, 70),
    "L": ("租赁和商务服务业", "Leasing and business services", 71, 72),
    "M": ("科学研究和技术服务业", "Research and technical services", 73, 75),
    "N": ("水利、环境和公共设施管理业", "Water, environment and public facilities", 76, 79),
    "O": ("居民服务、修理和其他服务业", "Resident and repair services", 80, 82),
    "P": ("教育", "Education", 83, 83),
    "Q": ("卫生和社会工作", "Health and social work", 84, 85),
    "R": ("文化、体育和娱乐业", "Culture, sports and entertainment", 86, 90),
    "S": ("公共管理、社会保障和社会组织", "Public administration", 91, 96),
    "T": ("国际组织", "International organisations", 97, 97),
}


def industry_section(code: str) -> str | None:
    """Section letter for a GB/T 4754 code given as a letter, a 2-digit division or a longer class."""
    code = code.strip().upper()
    if len(code) == 1 and code in INDUSTRY_SECTIONS:
        return code
    if code[:1].isalpha() and code[:1] in INDUSTRY_SECTIONS and code[1:].isdigit():
        code = code[1:]
    if len(code) < 2 or not code.isdigit():
        return None
    number = int(code[:2])
    for letter, (_zh, _en, lo, hi) in INDUSTRY_SECTIONS.items():
        if lo <= number <= hi:
            return letter
    return None
