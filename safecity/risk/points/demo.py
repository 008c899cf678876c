"""Demo-city risk points: point templates per industry, area and public place, with approved
LEC/matrix assessments giving a realistic mix of levels."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from safecity.registry.models import Enterprise, GridCell, ProtectedTarget
from safecity.risk.models import RiskAssessment, RiskPoint
from safecity.risk.points import lec, matrix

ACTOR = "demo"
APPROVER = "analyst"


@dataclass(frozen=True)
class Template:
    name: str
    factors: tuple[tuple[str, str], ...]
    accidents: tuple[str, ...]
    measures: tuple[tuple[str, str, str], ...]  # (type, description, control level)
    tier: str  # high | mid | low: how severe a credible accident is


def _t(name: str, factors: str, accidents: str, measures: str, tier: str) -> Template:
    """Compact catalogue rows: "cat:desc;…", "key,key", "type:desc:level;…"."""
    f = tuple(tuple(x.split(":", 1)) for x in factors.split(";"))
    m = tuple(tuple(x.split(":", 2)) for x in measures.split(";"))
    return Template(name, f, tuple(accidents.split(",")), m, tier)  # type: ignore[arg-type]


_EMERGENCY = "emergency:编制现场处置方案，每半年演练一次:company"
CATALOGUE: dict[str, tuple[Template, ...]] = {
    "hazchem": (
        _t(
            "储罐区",
            "material:储罐及管线腐蚀泄漏;people:违章动火、违规切水;management:巡检不到位",
            "fire,other_explosion,poisoning,vessel_explosion",
            "engineering:可燃/有毒气体检测报警与紧急切断联锁:workshop;management:执行巡回检查与动火作业票制度:workshop;"
            + _EMERGENCY,
            "high",
        ),
        _t(
            "反应釜（重点监管危险化工工艺）",
            "material:反应失控超温超压;people:误操作投料;management:工艺变更未审批",
            "other_explosion,fire,poisoning,burn",
            "engineering:DCS/SIS自动化控制与安全联锁:company;training:危险化工工艺操作人员持证上岗:workshop;"
            + _EMERGENCY,
            "high",
        ),
        _t(
            "装卸站台",
            "material:鹤管、软管破损泄漏;people:静电接地未连接;environment:夏季高温",
            "fire,other_explosion,vehicle,poisoning",
            "engineering:装卸静电接地报警器:team;management:装卸作业双人确认:team;ppe:防静电工作服:post",
            "mid",
        ),
        _t(
            "危险化学品仓库",
            "material:包装破损;management:禁忌物料混存;environment:通风不良",
            "fire,poisoning,other_explosion",
            "management:分区分类储存并张贴禁忌表:workshop;engineering:机械通风与温湿度监测:team",
            "mid",
        ),
        _t(
            "有限空间（污水池、储罐检修）",
            "environment:缺氧、有毒气体积聚;people:未检测即进入",
            "poisoning,drowning",
            "management:有限空间作业审批与监护:workshop;"
            "ppe:配备正压式空气呼吸器和气体检测仪:team;training:有限空间专项培训:workshop",
            "mid",
        ),
        _t(
            "变配电室",
            "material:设备老化、绝缘失效;people:带电作业",
            "electrocution,fire",
            "management:电气作业票制度:workshop;ppe:绝缘手套、绝缘靴:post",
            "low",
        ),
    ),
    "mining": (
        _t(
            "井下采掘工作面",
            "environment:顶板不稳;material:支护失效;people:空顶作业",
            "roof_fall,collapse,blasting,water_inrush",
            "engineering:顶板离层监测与锚杆支护:workshop;management:敲帮问顶制度:team;"
            + _EMERGENCY,
            "high",
        ),
        _t(
            "提升运输系统",
            "material:钢丝绳磨损、制动失灵;people:违章乘罐",
            "lifting,fall_from_height,vehicle",
            "engineering:提升机过卷保护:workshop;management:钢丝绳定期检测:workshop",
            "mid",
        ),
        _t(
            "尾矿库",
            "environment:汛期强降雨;material:坝体渗流",
            "collapse,drowning",
            "engineering:坝体位移与浸润线在线监测:company;management:汛期24小时值守:company",
            "high",
        ),
        _t(
            "爆破器材库",
            "material:炸药、雷管;management:领退料台账不全",
            "explosive_explosion,fire",
            "management:双人双锁管理:company;engineering:防雷与视频监控:company",
            "high",
        ),
    ),
    "fireworks": (
        _t(
            "烟花爆竹储存仓库",
            "material:成品烟花爆竹;management:超量储存;environment:高温天气",
            "explosive_explosion,fire",
            "management:核定存量、严禁超量:company;"
            "engineering:防雷、温湿度监测:workshop;" + _EMERGENCY,
            "high",
        ),
        _t(
            "零售经营点",
            "material:烟花爆竹;people:店内吸烟",
            "fire,explosive_explosion",
            "management:限量存放、禁止烟火:post;emergency:配备灭火器材:post",
            "mid",
        ),
    ),
    "metallurgy": (
        _t(
            "冲压设备",
            "material:安全光幕失效;people:手伸入模区",
            "machinery",
            "engineering:双手按钮与光电保护:team;training:岗位安全操作规程培训:team",
            "low",
        ),
        _t(
            "行车吊运作业",
            "material:吊具磨损;people:无证指挥",
            "lifting,struck_by_object",
            "management:特种作业持证上岗:workshop;engineering:限位器定期检验:workshop",
            "mid",
        ),
        _t(
            "粉尘涉爆区域",
            "environment:铝镁粉尘积聚;material:除尘系统无防爆措施",
            "other_explosion,fire",
            "engineering:湿式除尘与泄爆装置:workshop;management:每班清扫积尘:team",
            "high",
        ),
        _t(
            "熔炼炉",
            "material:高温熔融金属;people:炉前作业防护不足",
            "burn,other_explosion",
            "ppe:隔热服、面罩:post;engineering:冷却水断流报警:workshop",
            "mid",
        ),
        _t(
            "有限空间",
            "environment:缺氧;people:盲目施救",
            "poisoning",
            "management:先通风、再检测、后作业:workshop;ppe:呼吸器与安全绳:team",
            "mid",
        ),
        _t(
            "叉车作业",
            "material:叉车制动失灵;people:超速行驶",
            "vehicle",
            "management:厂内限速5 km/h:workshop;training:叉车司机持证:team",
            "low",
        ),
    ),
    "construction": (
        _t(
            "深基坑",
            "environment:地下水位高;material:支护变形",
            "collapse,drowning",
            "engineering:基坑变形监测:company;management:专项施工方案论证:company",
            "high",
        ),
        _t(
            "脚手架及高处作业",
            "people:未系安全带;material:脚手板缺失",
            "fall_from_height,struck_by_object",
            "ppe:安全带、安全帽:post;engineering:临边洞口防护:team",
            "mid",
        ),
        _t(
            "塔式起重机",
            "material:塔机基础沉降;people:违章超载",
            "lifting,struck_by_object",
            "engineering:力矩限制器与监控系统:company;management:每日班前检查:team",
            "high",
        ),
        _t(
            "施工临时用电",
            "material:电缆破损;management:未执行一机一闸一漏",
            "electrocution",
            "engineering:三级配电两级保护:team;management:电工巡检:team",
            "low",
        ),
    ),
    "transport": (
        _t(
            "危险货物运输车辆",
            "people:疲劳驾驶;material:罐体阀门泄漏",
            "vehicle,fire,poisoning",
            "engineering:车辆动态监控:company;management:驾驶员连续驾驶不超4小时:company",
            "high",
        ),
        _t(
            "码头装卸作业",
            "material:门机钢丝绳断裂;environment:大风天气",
            "lifting,drowning,struck_by_object",
            "management:六级以上大风停止作业:company;engineering:防风锚定装置:workshop",
            "mid",
        ),
        _t(
            "仓储货架区",
            "material:货架超载变形;people:违规攀爬",
            "struck_by_object,collapse,fire",
            "management:货架限载标识与定期检查:workshop;emergency:配置自动喷水灭火:company",
            "low",
        ),
    ),
    "gas": (
        _t(
            "燃气调压站",
            "material:调压器失灵超压;environment:第三方施工破坏",
            "other_explosion,fire",
            "engineering:超压切断与泄漏报警:company;management:每日巡检:team;" + _EMERGENCY,
            "high",
        ),
        _t(
            "液化石油气储配站",
            "material:储罐安全附件失效;people:违规充装",
            "vessel_explosion,fire",
            "engineering:紧急切断与喷淋系统:company;management:充装前检查:post",
            "high",
        ),
        _t(
            "中压燃气管网",
            "material:管道腐蚀;environment:占压",
            "other_explosion,fire,poisoning",
            "engineering:阴极保护与泄漏巡检:company;management:第三方施工监护:workshop",
            "mid",
        ),
    ),
    "special_equipment": (
        _t(
            "锅炉房",
            "material:水位计失灵;people:司炉工脱岗",
            "boiler_explosion,burn",
            "engineering:低水位联锁保护:workshop;management:司炉工持证上岗:workshop",
            "high",
        ),
        _t(
            "压力容器",
            "material:安全阀超期未检",
            "vessel_explosion,burn",
            "management:安全附件定期校验:company;engineering:超压报警:workshop",
            "mid",
        ),
        _t(
            "电梯",
            "material:制动器失效;management:维保不到位",
            "other_injury,fall_from_height",
            "management:每15日维保:company;engineering:上行超速保护:workshop",
            "low",
        ),
    ),
    "crowded_place": (
        _t(
            "营业大厅人员密集区域",
            "environment:节假日客流高峰;management:疏散通道堵塞",
            "other_injury,fire",
            "management:客流限流与疏散引导:company;engineering:应急照明和疏散指示:workshop",
            "mid",
        ),
        _t(
            "后厨燃气使用区域",
            "material:燃气软管老化;people:离人不关火",
            "fire,other_explosion",
            "engineering:燃气泄漏报警与切断阀:workshop;management:每日收市检查:team",
            "mid",
        ),
        _t(
            "消防设施",
            "material:消防设施故障;management:消防控制室无人值守",
            "fire",
            "management:消防控制室24小时双人值班:company;training:员工消防培训:company",
            "low",
        ),
    ),
    "other": (
        _t(
            "配电室",
            "material:线路老化",
            "electrocution,fire",
            "management:电气设备定期检测:workshop;ppe:绝缘防护用品:post",
            "low",
        ),
        _t(
            "厨房及用火用电",
            "people:违规使用大功率电器",
            "fire",
            "management:防火巡查:team;emergency:配置灭火器:post",
            "low",
        ),
        _t(
            "物料仓库",
            "management:堆放过高、通道堵塞",
            "fire,struck_by_object",
            "management:定置管理:team;emergency:配置灭火器:post",
            "low",
        ),
    ),
}

AREA_TEMPLATES = (
    _t(
        "老旧小区燃气管道",
        "material:管道老化锈蚀;environment:违章占压",
        "other_explosion,fire",
        "engineering:加装燃气泄漏报警:company;management:网格员入户排查:team",
        "mid",
    ),
    _t(
        "城市易涝积水点",
        "environment:短时强降雨;material:排水能力不足",
        "drowning,electrocution",
        "engineering:积水监测与强排泵:company;emergency:汛期值守与封闭路段:workshop",
        "mid",
    ),
    _t(
        "电动自行车集中停放充电点",
        "material:电池热失控;management:飞线充电",
        "fire",
        "engineering:智能充电桩与自动断电:workshop;management:禁止楼道停放:team",
        "low",
    ),
)
PLACE_TEMPLATES = (
    _t(
        "人员聚集区域",
        "environment:大型活动客流聚集;management:疏散通道不畅",
        "other_injury",
        "management:客流监测与限流:company;emergency:踩踏事件应急预案:company",
        "mid",
    ),
    _t(
        "消防安全",
        "material:消防设施故障;people:吸烟等违规用火",
        "fire",
        "management:每日防火巡查:team;training:员工消防培训:company",
        "low",
    ),
)
PLACE_TYPES = ("shopping_centre", "station", "scenic_spot", "stadium", "hospital", "school")

# Target share of each level by template tier (red, orange, yellow, blue): most risk points are
# low or general; major ones are few and sit where credible consequences are catastrophic.
LEVEL_MIX = {
    "high": (0.05, 0.17, 0.43, 0.35),
    "mid": (0.012, 0.08, 0.40, 0.508),
    "low": (0.002, 0.025, 0.27, 0.703),
}
C_BY_TIER = {"high": (15, 40, 100), "mid": (7, 15, 40), "low": (1, 3, 7, 15)}
S_BY_TIER = {"high": (4, 5), "mid": (3, 4), "low": (1, 2, 3)}
POINTS_BY_SCALE = {"large": (5, 8), "medium": (3, 5), "small": (1, 3), "micro": (1, 2)}
LEVEL_KEYS = ("red", "orange", "yellow", "blue")


def _lec_combos() -> dict[str, list[tuple[float, float, float]]]:
    out: dict[str, list[tuple[float, float, float]]] = {k: [] for k in LEVEL_KEYS}
    for lr in lec.L_TABLE:
        for er in lec.E_TABLE:
            for cr in lec.C_TABLE:
                level = lec.DEFAULT_LEC_BANDS.classify(lr.value * er.value * cr.value).key
                out[level].append((float(lr.value), float(er.value), float(cr.value)))
    return out


def _matrix_combos() -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {k: [] for k in LEVEL_KEYS}
    for lk in range(1, 6):
        for sv in range(1, 6):
            out[matrix.DEFAULT_MATRIX.level(lk, sv).key].append((lk, sv))
    return out


class _Assessor:
    """Picks plausible inputs for a wanted level and caches each combination's explained result."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lec, self.matrix = _lec_combos(), _matrix_combos()
        self.cache: dict[Any, tuple[dict[str, Any], dict[str, Any], float, str]] = {}

    def level_for(self, tier: str) -> str:
        return self.rng.choices(LEVEL_KEYS, weights=LEVEL_MIX[tier])[0]

    def assess(
        self, tier: str, level: str
    ) -> tuple[str, dict[str, Any], dict[str, Any], float, str]:
        if self.rng.random() < 0.7:
            pool = [c for c in self.lec[level] if c[2] in C_BY_TIER[tier]] or self.lec[level]
            key: Any = ("lec", self.rng.choice(pool))
        else:
            pool2 = [c for c in self.matrix[level] if c[1] in S_BY_TIER[tier]] or self.matrix[level]
            key = ("matrix", self.rng.choice(pool2))
        if key not in self.cache:
            self.cache[key] = self._evaluate(key)
        return (key[0], *self.cache[key])

    @staticmethod
    def _evaluate(key: Any) -> tuple[dict[str, Any], dict[str, Any], float, str]:
        method, values = key
        if method == "lec":
            res = lec.assess_lec(*values)
            return (
                {"L": values[0], "E": values[1], "C": values[2]},
                res.as_dict(),
                float(res.d),
                res.level.key,
            )
        mres = matrix.assess_matrix(*values)
        result = {**mres.as_dict(), "levels": matrix.DEFAULT_MATRIX.as_dict()["levels"]}
        return {"L": values[0], "S": values[1]}, result, float(mres.r), mres.level.key


def _factors(t: Template) -> list[dict[str, str]]:
    return [{"category": c, "description": d} for c, d in t.factors]


def _measures(t: Template, person: str) -> list[dict[str, str]]:
    return [
        {
            "type": ty,
            "description": d,
            "level": lv,
            "person": person if lv in ("post", "team") else "",
        }
        for ty, d, lv in t.measures
    ]


@dataclass
class _Point:
    row: dict[str, Any]
    tier: str
    owner: str  # who assessed it


def enterprise_points(session: Session, rng: random.Random) -> list[_Point]:
    out: list[_Point] = []
    stmt = (
        select(
            Enterprise.id,
            Enterprise.name,
            Enterprise.supervision_category,
            Enterprise.scale,
            Enterprise.division_code,
            Enterprise.industry_code,
            Enterprise.lon,
            Enterprise.lat,
            Enterprise.safety_officer,
        )
        .where(Enterprise.archived.is_(False))
        .order_by(Enterprise.id)
    )
    for eid, _name, category, scale, division, industry, lon, lat, officer in session.execute(stmt):
        templates = CATALOGUE.get(category, CATALOGUE["other"])
        lo, hi = POINTS_BY_SCALE.get(scale, (1, 2))
        count = min(len(templates), rng.randint(lo, hi))
        chosen = list(templates[:1]) + rng.sample(templates[1:], max(0, count - 1))
        for k, t in enumerate(chosen, start=1):
            out.append(
                _Point(
                    {
                        "code": f"FX-{k:03d}",
                        "name": t.name,
                        "owner_kind": "enterprise",
                        "enterprise_id": eid,
                        "division_code": division,
                        "industry_code": industry,
                        "lon": _jitter(lon, rng),
                        "lat": _jitter(lat, rng),
                        "hazard_factors": _factors(t),
                        "accident_types": list(t.accidents),
                        "control_measures": _measures(t, officer or ""),
                        "facility_name": "",
                        "description": "",
                    },
                    t.tier,
                    officer or ACTOR,
                )
            )
    return out


def _jitter(value: float | None, rng: random.Random) -> float | None:
    return None if value is None else round(value + rng.uniform(-0.0015, 0.0015), 6)


def area_points(session: Session, rng: random.Random) -> list[_Point]:
    out: list[_Point] = []
    cells = session.execute(
        select(
            GridCell.id,
            GridCell.name,
            GridCell.division_code,
            GridCell.lon,
            GridCell.lat,
            GridCell.grid_member,
        )
        .where(GridCell.archived.is_(False))
        .order_by(GridCell.population.desc(), GridCell.id)
        .limit(240)
    ).all()
    for cid, cname, division, lon, lat, member in cells:
        t = rng.choice(AREA_TEMPLATES)
        out.append(
            _Point(
                {
                    "code": f"QY-{cid}",
                    "name": f"{cname}{t.name}",
                    "owner_kind": "area",
                    "grid_cell_id": cid,
                    "division_code": division,
                    "lon": lon,
                    "lat": lat,
                    "hazard_factors": _factors(t),
                    "accident_types": list(t.accidents),
                    "control_measures": _measures(t, member or ""),
                    "facility_name": "",
                    "description": "",
                },
                t.tier,
                ACTOR,
            )
        )
    targets = session.execute(
        select(
            ProtectedTarget.id,
            ProtectedTarget.name,
            ProtectedTarget.division_code,
            ProtectedTarget.lon,
            ProtectedTarget.lat,
        )
        .where(ProtectedTarget.archived.is_(False), ProtectedTarget.target_type.in_(PLACE_TYPES))
        .order_by(ProtectedTarget.capacity.desc(), ProtectedTarget.id)
        .limit(160)
    ).all()
    for tid, tname, division, lon, lat in targets:
        t = rng.choice(PLACE_TEMPLATES)
        out.append(
            _Point(
                {
                    "code": f"CS-{tid}",
                    "name": f"{tname}{t.name}",
                    "owner_kind": "public_place",
                    "protected_target_id": tid,
                    "division_code": division,
                    "lon": lon,
                    "lat": lat,
                    "hazard_factors": _factors(t),
                    "accident_types": list(t.accidents),
                    "control_measures": _measures(t, ""),
                    "facility_name": tname,
                    "description": "",
                },
                t.tier,
                ACTOR,
            )
        )
    return out


def insert_points(
    session: Session, points: list[_Point], now: datetime, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    assessor = _Assessor(rng)
    assessments: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for p in points:
        when = now - timedelta(days=rng.randint(20, 400), hours=rng.randint(0, 23))
        level = assessor.level_for(p.tier)
        method, inputs, result, score, got = assessor.assess(p.tier, level)
        p.row.update(
            {
                "review_date": (when + timedelta(days=365)).date(),
                "archived": False,
                "created_at": when - timedelta(days=rng.randint(1, 30)),
                "updated_at": when,
                "level": got,
            }
        )
        rows.append(p.row)
        assessments.append(
            {
                "method": method,
                "inputs": inputs,
                "result": result,
                "score": score,
                "level": got,
                "status": "approved",
                "assessed_by": p.owner[:64],
                "assessed_at": when,
                "approved_by": APPROVER,
                "approved_at": when + timedelta(days=rng.randint(1, 10)),
                "note": "",
            }
        )
    ids = list(
        session.scalars(
            insert(RiskPoint).returning(RiskPoint.id, sort_by_parameter_order=True), rows
        )
    )
    drafts: list[dict[str, Any]] = []
    for point_id, row, a in zip(ids, rows, assessments, strict=True):
        row["id"] = point_id
        a["risk_point_id"] = point_id
        if rng.random() < 0.04:  # a newer self-assessment waiting for the analyst
            method, inputs, result, score, got = assessor.assess("mid", assessor.level_for("mid"))
            drafts.append(
                {
                    **a,
                    "method": method,
                    "inputs": inputs,
                    "result": result,
                    "score": score,
                    "level": got,
                    "status": "draft",
                    "assessed_at": now - timedelta(days=rng.randint(1, 15)),
                    "approved_by": None,
                    "approved_at": None,
                }
            )
    approved_ids = list(
        session.scalars(
            insert(RiskAssessment).returning(RiskAssessment.id, sort_by_parameter_order=True),
            assessments,
        )
    )
    if drafts:
        session.execute(insert(RiskAssessment), drafts)
    session.execute(
        update(RiskPoint),
        [
            {"id": pid, "level_assessment_id": aid}
            for pid, aid in zip(ids, approved_ids, strict=True)
        ],
    )
    for row, aid in zip(rows, approved_ids, strict=True):
        row["level_assessment_id"] = aid
    return rows, assessments
