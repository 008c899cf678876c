"""The city's own resource targets (规划目标, per-city configuration): what the gap and coverage
analyses judge against, from SAFECITY_RESOURCES_* variables or the ``[resources]`` table of
safecity.toml, over the plans' figures (PRODUCT.md) as defaults.

Where each value comes from, first found wins: an explicit value in the request (the API's
query), the environment variable, the settings file, the built-in plan of the installation's
city (``city_code``: Qingdao and Liaocheng ask 2.5 m² of shelter per resident), the default.
A bad value — out of range, not a number, a misspelt name in the file — is refused as a whole
with every bad field named in Chinese and English, when the server starts (the resources jobs
read the targets then) or when ``safecity resources targets`` loads them: the defaults are
never used silently in place of a city's broken setting.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict, SettingsError

from safecity.core.config import SectionSettings, environ, get_settings, toml_section
from safecity.core.validation import translate
from safecity.resources.schemas import DEFAULT_AREA_PER_PERSON_M2, DEFAULT_RELOCATION_KIT

ENV_PREFIX = "SAFECITY_RESOURCES_"

# Targets written into a city's own plan, by the city's GB/T 2260 code (PRODUCT.md).
CITY_PLANS: dict[str, tuple[str, str, dict[str, float]]] = {
    "370200": ("青岛市", "Qingdao", {"shelter_area_per_resident_m2": 2.5}),
    "371500": ("聊城市", "Liaocheng", {"shelter_area_per_resident_m2": 2.5}),
}

# Each setting's name on pages and in messages, and its unit (Chinese, English).
LABELS: dict[str, tuple[str, str, str, str]] = {
    "shelter_area_per_resident_m2": ("人均避难场所面积", "shelter area per resident", "m²", "m²"),
    "shelter_area_per_person_m2": (
        "避难人员人均使用面积",
        "living area per sheltered person",
        "m²",
        "m²",
    ),
    "warehouse_city_min_m2": ("市级储备库面积下限", "city warehouse floor minimum", "m²", "m²"),
    "warehouse_district_min_m2": (
        "县区级储备库面积下限",
        "district warehouse floor minimum",
        "m²",
        "m²",
    ),
    "warehouse_town_min_m2": ("乡镇储备库面积下限", "town warehouse floor minimum", "m²", "m²"),
    "relocation_people": ("紧急转移安置人数", "people to relocate", "人", "people"),
    "fire_staff_per_population_pct": (
        "消防救援人员占人口比例",
        "fire-rescue staff share",
        "%",
        "%",
    ),
    "fire_rescue_minutes": ("消防救援到场时间", "fire-rescue arrival time", "分钟", "min"),
    "aviation_km": ("航空救援覆盖半径", "aviation rescue radius", "公里", "km"),
    "forest_fire_km": ("森林消防队伍到场距离", "forest-fire crew distance", "公里", "km"),
    "relocation_kit": ("转移安置物资标准", "relocation kit", "", ""),
    "warm_start": ("启动时预热路网", "warm the road engine at start", "", ""),
}
TARGETS = tuple(k for k in LABELS if k not in {"relocation_kit", "warm_start"})


class ResourcesSettings(SectionSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")
    section: ClassVar[str] = "resources"

    # None: the city's plan (CITY_PLANS) if it has one, else 2.0 m² (Yantai).
    shelter_area_per_resident_m2: float | None = Field(None, gt=0, le=100)
    # GB 21734-2008: > 1.5 m² per sheltered person; derives a shelter's capacity from its area.
    shelter_area_per_person_m2: float = Field(DEFAULT_AREA_PER_PERSON_M2, gt=0, le=100)
    warehouse_city_min_m2: float = Field(5000.0, ge=0, le=10_000_000)
    warehouse_district_min_m2: float = Field(2000.0, ge=0, le=10_000_000)
    warehouse_town_min_m2: float = Field(200.0, ge=0, le=10_000_000)
    relocation_people: int = Field(60_000, ge=0, le=10_000_000)
    fire_staff_per_population_pct: float = Field(0.04, ge=0, le=100)
    fire_rescue_minutes: float = Field(5.0, gt=0, le=120)
    aviation_km: float = Field(50.0, gt=0, le=1000)
    forest_fire_km: float = Field(2.0, gt=0, le=100)
    # GB/T 38565 item code → people one unit serves in relocation (a tent shelters four).
    relocation_kit: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_RELOCATION_KIT))
    # Compile the nearest-source kernel and build the road graph as the server starts
    # (`serve` turns it on), so the first question does not pay for them.
    warm_start: bool = False

    @field_validator("relocation_kit")
    @classmethod
    def _kit(cls, kit: dict[str, float]) -> dict[str, float]:
        if not kit:
            raise ValueError("至少需要一种物资|needs at least one item")
        for code, per_unit in kit.items():
            if not code.strip() or len(code) > 20:
                raise ValueError(f"物资编码无效：{code!r}|not an item code: {code!r}")
            if not (math.isfinite(per_unit) and 0 < per_unit <= 1000):
                raise ValueError(
                    f"{code} 的每单位安置人数应在 0–1000 之间|"
                    f"people per unit of {code} must be above 0 and at most 1000"
                )
        return kit


class ConfigError(ValueError):
    """Resource settings that cannot be used: every bad field, in Chinese and English."""

    def __init__(self, errors: list[tuple[str, str, str]]) -> None:
        self.errors = errors
        where = f"{ENV_PREFIX}* / [resources] in {_file_name()}"
        lines = "; ".join(f"{f}: {zh} / {en}" for f, zh, en in errors)
        super().__init__(f"资源规划目标配置无效 invalid resource targets ({where}): {lines}")


@dataclass(frozen=True)
class Target:
    """A target's value and where it came from: ``default``, ``plan`` (the city's plan),
    ``file`` (safecity.toml), ``env`` (an environment variable) or ``query`` (the request)."""

    value: Any
    source: str
    where: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "where": self.where}


@dataclass(frozen=True)
class Loaded:
    settings: ResourcesSettings
    targets: dict[str, Target]

    def value(self, name: str) -> Any:
        return self.targets[name].value


def _file_name() -> str:
    return environ("SAFECITY_CONFIG") or "safecity.toml"


def _source(name: str, in_file: dict[str, Any], plan: dict[str, float], city: str) -> Target:
    env = f"{ENV_PREFIX}{name.upper()}"
    if environ(env):
        return Target(None, "env", env)
    if name in in_file:
        return Target(None, "file", f"{_file_name()} [resources] {name}")
    if name in plan:
        return Target(plan[name], "plan", city)
    return Target(None, "default")


def load() -> Loaded:
    """Read and check the settings (raises ConfigError naming every bad field)."""
    try:
        s = ResourcesSettings()
    except ValidationError as exc:
        raise ConfigError(
            [(e.field, e.zh, e.en) for e in translate(exc.errors(), _labels())]
        ) from None
    except SettingsError as exc:  # an environment variable that is not JSON where JSON is due
        found = re.search(r'field "(\w+)"', str(exc))
        name = found.group(1) if found else "settings"
        zh, en = _labels().get(name, (name, name))
        raise ConfigError([(name, f"{zh}：不是有效的 JSON", f"{en}: is not valid JSON")]) from None
    in_file = toml_section("resources")
    code = get_settings().city_code
    zh, en, plan = CITY_PLANS.get(code, ("", "", {}))
    city = f"{zh} {en} ({code})" if plan else ""
    out: dict[str, Target] = {}
    for name in (*TARGETS, "relocation_kit"):
        found = _source(name, in_file, plan, city)
        value = found.value if found.source == "plan" else getattr(s, name)
        if name == "shelter_area_per_resident_m2" and value is None:
            value = 2.0
        out[name] = Target(value, found.source, found.where)
    return Loaded(s, out)


def _labels() -> dict[str, tuple[str, str]]:
    return {k: (v[0], v[1]) for k, v in LABELS.items()}


@lru_cache
def loaded() -> Loaded:
    """The targets in force (read once per process; ``reload()`` after changing them)."""
    return load()


def reload() -> Loaded:
    loaded.cache_clear()
    return loaded()


def tier_minimums() -> dict[str, float]:
    """Warehouse floor-area minimum per tier (m²); a village storage room has none."""
    t = loaded()
    return {
        "city": float(t.value("warehouse_city_min_m2")),
        "district": float(t.value("warehouse_district_min_m2")),
        "town": float(t.value("warehouse_town_min_m2")),
        "village": 0.0,
    }
