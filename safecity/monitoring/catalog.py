"""Sensor types: what each measures, in which unit, its physical range and default alarm rules."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SensorType:
    code: str
    zh: str
    en: str
    quantity: str
    unit: str
    low: float  # physically possible range: outside it the instrument is faulty
    high: float
    facility_zh: str


def _t(
    code: str, zh: str, en: str, quantity: str, unit: str, low: float, high: float, facility_zh: str
) -> SensorType:
    return SensorType(code, zh, en, quantity, unit, low, high, facility_zh)


TYPES: dict[str, SensorType] = {
    t.code: t
    for t in (
        _t(
            "gas",
            "可燃气体浓度",
            "Combustible gas",
            "gas_concentration",
            "%LEL",
            0,
            100,
            "燃气管网",
        ),
        _t(
            "pipe_pressure",
            "燃气管道压力",
            "Gas pipeline pressure",
            "pressure",
            "MPa",
            0,
            10,
            "燃气管网",
        ),
        _t(
            "water_pressure",
            "供水管网压力",
            "Water supply pressure",
            "pressure",
            "MPa",
            0,
            2,
            "供水管网",
        ),
        _t(
            "hydrant_pressure",
            "消火栓水压",
            "Hydrant water pressure",
            "pressure",
            "MPa",
            0,
            2,
            "消火栓",
        ),
        _t("bridge_strain", "桥梁应变", "Bridge strain", "strain", "με", -3000, 3000, "桥梁"),
        _t(
            "bridge_deflection",
            "桥梁挠度",
            "Bridge deflection",
            "deflection",
            "mm",
            -500,
            500,
            "桥梁",
        ),
        _t("elevator", "电梯运行状态", "Elevator status", "status_code", "code", 0, 99, "电梯"),
        _t("smoke", "烟感", "Smoke detector", "smoke", "0/1", 0, 1, "建筑消防"),
        _t("temperature", "温度", "Temperature", "temperature", "°C", -50, 200, "建筑消防"),
        _t(
            "residual_current",
            "电气火灾剩余电流",
            "Residual current",
            "residual_current",
            "mA",
            0,
            5000,
            "电气火灾",
        ),
        _t("water_level", "水位", "Water level", "water_level", "m", -10, 100, "河道/低洼点"),
        _t("rainfall", "雨量", "Rainfall", "rainfall", "mm/h", 0, 500, "气象站"),
        _t("crowd", "人员密度", "Crowd count", "crowd_count", "persons", 0, 1_000_000, "景区"),
        _t("vehicle", "危化品车辆", "Hazmat vehicle", "speed", "km/h", 0, 250, "危化品运输"),
        # the position terminal of a rescue team's vehicle (the resources register names it as
        # the equipment's tracker): a dispatched force shows where it is on the command map
        _t(
            "tracker",
            "救援车辆定位终端",
            "Rescue vehicle tracker",
            "speed",
            "km/h",
            0,
            250,
            "应急救援",
        ),
    )
}

# Elevator status codes sent as the value: 0 normal, 1 fault, 2 stopped between floors,
# 3 passengers trapped (GB/T 24476 remote monitoring events reduced to four grades).
ELEVATOR_CODES = {
    0: ("正常", "normal"),
    1: ("故障", "fault"),
    2: ("非平层停梯", "stopped between floors"),
    3: ("困人", "passengers trapped"),
}

FACILITIES = sorted({t.facility_zh for t in TYPES.values()})


def _rule(
    direction: str = "high",
    levels: tuple[Any, Any, Any, Any] = (None, None, None, None),
    **extra: Any,
) -> dict[str, Any]:
    blue, yellow, orange, red = levels
    rule = {
        "direction": direction,
        "blue": blue,
        "yellow": yellow,
        "orange": orange,
        "red": red,
        "hysteresis": 0.0,
        "sustain_s": 0,
        "offline_s": 900,
        "stuck_s": None,
        "rate": None,
    }
    rule.update(extra)
    return rule


# Defaults follow common practice: GB 50493 sets gas alarm points at 25 %LEL (first) and
# 50 %LEL (second); medium-pressure gas mains run at 0.2-0.4 MPa, so a fall below 0.1 MPa or a
# drop of 0.05 MPa/min signals a burst; city water mains keep ≥ 0.28 MPa at the tap, hydrants
# ≥ 0.10 MPa (GB 50974).
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "gas": _rule(
        "high", (5, 10, 25, 50), hysteresis=2.0, sustain_s=0, offline_s=600, stuck_s=24 * 3600
    ),
    "pipe_pressure": _rule(
        "low",
        (0.2, 0.15, 0.1, 0.05),
        hysteresis=0.01,
        offline_s=600,
        rate={"per_min": 0.05, "direction": "down", "level": "orange"},
    ),
    "water_pressure": _rule(
        "low",
        (0.25, 0.2, 0.15, 0.1),
        hysteresis=0.01,
        rate={"per_min": 0.08, "direction": "down", "level": "yellow"},
    ),
    "hydrant_pressure": _rule("low", (0.14, 0.12, 0.1, 0.05), hysteresis=0.01, offline_s=3600),
    "bridge_strain": _rule("abs", (300, 500, 800, 1200), hysteresis=20.0, sustain_s=10),
    "bridge_deflection": _rule("abs", (20, 40, 60, 80), hysteresis=2.0, sustain_s=10),
    "elevator": _rule("high", (None, 1, 2, 3), offline_s=1800),
    "smoke": _rule("high", (None, None, None, 1), offline_s=3600),
    "temperature": _rule(
        "high",
        (45, 55, 65, 80),
        hysteresis=2.0,
        sustain_s=30,
        rate={"per_min": 8.0, "direction": "up", "level": "orange"},
    ),
    "residual_current": _rule("high", (200, 300, 500, 800), hysteresis=20.0, sustain_s=10),
    "water_level": _rule("high", (2.0, 2.5, 3.0, 3.5), hysteresis=0.05),
    # Tipping-bucket gauges report on each tip plus an hourly heartbeat: dry hours are quiet.
    "rainfall": _rule("high", (16, 30, 50, 100), hysteresis=2.0, offline_s=3 * 3600),
    "crowd": _rule("high", (20000, 30000, 40000, 50000), hysteresis=500.0),
    # No offline rule for hazmat vehicles: a vehicle parked or off duty switches its terminal
    # off, so silence is its normal state outside trips (the demo's 122 yellow "离线" alarms in
    # four minutes). Where it matters, a city sets offline_s on the vehicle's own rule.
    "vehicle": _rule(
        "high", (None, None, None, None), offline_s=None, speed_limit=80.0, corridor_m=300.0
    ),
    # A tracker only tells where a force is: no thresholds, and silence is a vehicle parked.
    "tracker": _rule("high", (None, None, None, None), offline_s=None),
}


def default_rules() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(DEFAULT_RULES)
