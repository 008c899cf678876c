"""The white paper's text: numbers turned into Chinese prose, tables and recommendations."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from safecity.core.clock import BEIJING
from safecity.registry.rules import (
    DIVISION_LEVELS,
    INDUSTRY_DIVISIONS,
    INDUSTRY_SECTIONS,
    SUPERVISION_CATEGORIES,
    TARGET_TYPES,
    industry_section,
)
from safecity.risk.whitepaper.blocks import Block, Bullets, Document, Figure, Heading, Para, Table
from safecity.risk.whitepaper.data import (
    COLOUR_ZH,
    GRADE_ZH,
    GRADES,
    INFLUENCE_RADIUS_M,
    LEVEL_ZH,
    LEVELS,
    MAX_HAZARD_ROWS,
    NON_ENTERPRISE,
    UNKNOWN_INDUSTRY,
)
from safecity.risk.whitepaper.gather import PaperData, Snapshot, Vulnerable
from safecity.risk.whitepaper.mapimage import MapSpec


def _date_zh(moment: datetime) -> str:
    d = moment.astimezone(BEIJING)
    return f"{d.year}年{d.month}月{d.day}日"


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "—"


def _wan(n: int) -> str:
    return f"{n / 10000:.1f} 万" if n >= 10000 else f"{n} "


def _industry_name(code: str | None) -> str:
    if not code:
        return UNKNOWN_INDUSTRY
    head = code.strip().upper()
    if head[:1].isalpha():
        head = head[1:]
    if head[:2] in INDUSTRY_DIVISIONS:
        return INDUSTRY_DIVISIONS[head[:2]]
    section = industry_section(code)
    return INDUSTRY_SECTIONS[section][0] if section else f"行业 {code}"


def _delta(a: int, b: int) -> str:
    d = b - a
    return f"+{d}" if d > 0 else (str(d) if d < 0 else "0")


def _level_cells(counter: Counter[Any], keys: Iterable[Any]) -> list[str]:
    return [str(counter.get(k, 0)) for k in keys]


def compose(data: PaperData) -> Document:
    """The white paper's text, tables and map as renderer-neutral blocks."""
    name = data.division.name
    year = data.year
    unit_zh = DIVISION_LEVELS.get(data.child_level, ("区县", ""))[0]
    if data.child_level == "street":
        unit_zh = "街道（乡镇）"
    title = f"{name}城市安全风险白皮书（{year}年度）"
    as_of = _date_zh(data.as_of - timedelta(microseconds=1))
    cur, prev = data.current, data.previous
    levels = cur.level_counts()
    grades = cur.grade_counts()
    n_rp = len(cur.risk_levels)
    n_mh = len(cur.hazards)
    blocks: list[Block] = []
    names = {u.code: u.name for u in data.units}
    names.setdefault(data.division.code, f"{name}（本级）")
    unit_codes = [u.code for u in data.units]

    def unit_order(counter_keys: Iterable[str]) -> list[str]:
        extra = sorted(k for k in set(counter_keys) if k not in unit_codes)
        return unit_codes + extra

    # ---------------------------------------------------------------- 一、总体情况
    blocks.append(Heading("一、总体情况"))
    ents = data.enterprises
    hazchem = sum(1 for e in ents if e.is_hazchem)
    unit_names = "、".join(u.name for u in data.units) if len(data.units) > 1 else ""
    has_children = data.units[0].code != data.division.code
    facts = (
        [f"辖 {len(data.units)} 个{unit_zh}级行政区" + (f"（{unit_names}）" if unit_names else "")]
        if has_children
        else []
    )
    if data.population:
        facts.append(f"常住人口约 {_wan(data.population)}人")
    if data.grid_cells:
        facts.append(f"划分网格 {data.grid_cells} 个")
    overview = (
        (f"{name}" + "，".join(facts) + "。" if facts else "")
        + f"截至{as_of}，纳入平台管理的企业 {len(ents)} 家，其中危险化学品企业 {hazchem} 家；"
        f"登记风险点 {n_rp} 个，其中重大风险 {levels.get('red', 0)} 个、较大风险 "
        f"{levels.get('orange', 0)} 个、一般风险 {levels.get('yellow', 0)} 个、低风险 "
        f"{levels.get('blue', 0)} 个"
        + (f"、尚未评级 {levels.get(None, 0)} 个" if levels.get(None) else "")
        + f"；构成重大危险源的单元 {n_mh} 处，其中一级 {grades.get(1, 0)} 处、二级 "
        f"{grades.get(2, 0)} 处、三级 {grades.get(3, 0)} 处、四级 {grades.get(4, 0)} 处。"
    )
    if data.partial:
        overview += f"{year}年度尚未结束，本白皮书数据截至{as_of}。"
    blocks.append(Para(overview, "lead"))

    blocks.append(Heading("（一）企业分类监管情况", 2))
    by_cat = Counter(e.category for e in ents)
    cat_rows = [
        [SUPERVISION_CATEGORIES.get(k, (k, k))[0], str(v), _pct(v, len(ents))]
        for k, v in sorted(by_cat.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    cat_rows.append(["合计", str(len(ents)), _pct(len(ents), len(ents))])
    blocks.append(
        Table(
            "表1 企业按监管类别统计",
            ["监管类别", "企业数（家）", "占比"],
            cat_rows,
            [3, 2, 2],
            total=True,
        )
    )

    blocks.append(Heading("（二）风险点分级情况", 2))
    rp_rows = [
        [f"{LEVEL_ZH[k]}（{COLOUR_ZH[k]}）", str(levels.get(k, 0)), _pct(levels.get(k, 0), n_rp)]
        for k in LEVELS
    ]
    if levels.get(None):
        rp_rows.append(["尚未评级", str(levels[None]), _pct(levels[None], n_rp)])
    rp_rows.append(["合计", str(n_rp), _pct(n_rp, n_rp)])
    blocks.append(
        Table(
            "表2 风险点按风险等级统计",
            ["风险等级", "风险点（个）", "占比"],
            rp_rows,
            [3, 2, 2],
            total=True,
        )
    )

    blocks.append(Heading("（三）重大危险源分级情况", 2))
    mh_rows = [
        [f"{GRADE_ZH[g]}重大危险源", str(grades.get(g, 0)), _pct(grades.get(g, 0), n_mh)]
        for g in GRADES
    ]
    if grades.get(None):
        mh_rows.append(["尚未分级", str(grades[None]), _pct(grades[None], n_mh)])
    mh_rows.append(["合计", str(n_mh), _pct(n_mh, n_mh)])
    blocks.append(
        Table(
            "表3 重大危险源按等级统计（GB 18218-2018）",
            ["等级", "数量（处）", "占比"],
            mh_rows,
            [3, 2, 2],
            total=True,
        )
    )

    # ---------------------------------------------------------------- 二、四张清单
    blocks.append(Heading("二、“四张清单”汇总"))
    hidden = data.hidden_dangers
    blocks.append(
        Para(
            f"按照“完善重大安全风险清单、重大隐患清单、重大危险源清单、脆弱性目标清单”的要求，"
            f"截至{as_of}，{name}重大安全风险 {len(data.major_risks)} 项，重大事故隐患 "
            + (f"{len(hidden)} 项" if hidden is not None else "暂无数据")
            + f"，重大危险源 {n_mh} 处，脆弱性目标 {len(data.vulnerable)} 个。"
        )
    )
    if hidden is None:
        blocks.append(Para("注：隐患排查治理模块尚未接入平台，重大隐患清单暂无数据。", "note"))

    major_by_unit = Counter(data.unit_of(rp.division_code) for rp in data.major_risks)
    mh_by_unit = Counter(data.unit_of(h.division_code) for h in cur.hazards)
    hd_by_unit = Counter(data.unit_of(str(h.get("division_code", ""))) for h in (hidden or []))
    vt_by_unit = Counter(data.unit_of(v.target.division_code) for v in data.vulnerable)
    rows = []
    keys = unit_order([*major_by_unit, *mh_by_unit, *hd_by_unit, *vt_by_unit])
    for code in keys:
        counts = [
            major_by_unit.get(code, 0),
            hd_by_unit.get(code, 0),
            mh_by_unit.get(code, 0),
            vt_by_unit.get(code, 0),
        ]
        if code not in unit_codes and not any(counts):
            continue
        rows.append(
            [
                names.get(code, code),
                str(counts[0]),
                str(counts[1]) if hidden is not None else "—",
                str(counts[2]),
                str(counts[3]),
            ]
        )
    rows.append(
        [
            "合计",
            str(len(data.major_risks)),
            str(len(hidden)) if hidden is not None else "—",
            str(n_mh),
            str(len(data.vulnerable)),
        ]
    )
    blocks.append(
        Table(
            f"表4 “四张清单”按{unit_zh}汇总",
            [
                unit_zh,
                "重大安全风险（项）",
                "重大隐患（项）",
                "重大危险源（处）",
                "脆弱性目标（个）",
            ],
            rows,
            [3, 2, 2, 2, 2],
            total=True,
        )
    )

    ent_industry = {e.id: e.industry for e in ents}
    major_by_ind = Counter(
        _industry_name(rp.industry) if (rp.industry or rp.enterprise_id) else NON_ENTERPRISE
        for rp in data.major_risks
    )
    mh_by_ind = Counter(
        _industry_name(h.industry or ent_industry.get(h.enterprise_id)) for h in cur.hazards
    )
    mh_ents_by_ind: dict[str, set[int]] = defaultdict(set)
    for h in cur.hazards:
        mh_ents_by_ind[_industry_name(h.industry or ent_industry.get(h.enterprise_id))].add(
            h.enterprise_id
        )
    hd_by_ind = Counter(_industry_name(h.get("industry_code")) for h in (hidden or []))
    ind_keys = sorted(
        set(major_by_ind) | set(mh_by_ind) | set(hd_by_ind),
        key=lambda k: (-(major_by_ind[k] + mh_by_ind[k] + hd_by_ind[k]), k),
    )
    ind_rows = [
        [
            k,
            str(major_by_ind.get(k, 0)),
            str(hd_by_ind.get(k, 0)) if hidden is not None else "—",
            str(mh_by_ind.get(k, 0)),
            str(len(mh_ents_by_ind.get(k, ()))),
        ]
        for k in ind_keys
    ]
    ind_rows.append(
        [
            "合计",
            str(len(data.major_risks)),
            str(len(hidden)) if hidden is not None else "—",
            str(n_mh),
            str(len({h.enterprise_id for h in cur.hazards})),
        ]
    )
    blocks.append(
        Table(
            "表5 “四张清单”按行业汇总（GB/T 4754）",
            [
                "行业",
                "重大安全风险（项）",
                "重大隐患（项）",
                "重大危险源（处）",
                "涉及重大危险源企业（家）",
            ],
            ind_rows,
            [4, 2, 2, 2, 2],
            total=True,
        )
    )

    vt_by_type: dict[str, list[Vulnerable]] = defaultdict(list)
    for v in data.vulnerable:
        vt_by_type[v.target.target_type].append(v)
    vt_rows = [
        [
            TARGET_TYPES.get(k, (k, k))[0],
            str(len(vs)),
            str(sum(1 for v in vs if v.hazard is not None)),
            str(sum(1 for v in vs if v.in_red_orange)),
        ]
        for k, vs in sorted(vt_by_type.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    vt_rows.append(
        [
            "合计",
            str(len(data.vulnerable)),
            str(sum(1 for v in data.vulnerable if v.hazard is not None)),
            str(sum(1 for v in data.vulnerable if v.in_red_orange)),
        ]
    )
    blocks.append(
        Table(
            "表6 脆弱性目标按类型汇总",
            [
                "目标类型",
                "脆弱性目标（个）",
                f"位于重大危险源{INFLUENCE_RADIUS_M:.0f}米内",
                "位于红/橙色区域",
            ],
            vt_rows,
            [3, 2, 3, 3],
            total=True,
        )
    )

    # ---------------------------------------------------------------- 三、四色图
    blocks.append(Heading("三、安全风险四色分布图"))
    area_counts = Counter(a.level for a in data.areas)
    kind = "网格" if any(a.key.startswith("cell:") for a in data.areas) else unit_zh
    map_spec = MapSpec(
        title=f"{name}安全风险四色分布图（{year}年度）",
        areas=data.areas,
        outlines=[d for d in data.divisions if d.parent_code == data.division.code and d.geometry]
        or ([data.division] if data.division.geometry else []),
        hazards=cur.hazards,
        legend=[f"{LEVEL_ZH[k]}（{COLOUR_ZH[k]}）{area_counts.get(k, 0)} 个{kind}" for k in LEVELS]
        + ["▲ 重大危险源"],
        lat0=data.lat0,
        source=f"数据截至{as_of}",
    )
    if data.areas:
        blocks.append(
            Para(
                f"以{kind}为单元绘制“红、橙、黄、蓝”四色安全风险空间分布图，共 {len(data.areas)} 个"
                f"{kind}：红色（重大风险）{area_counts.get('red', 0)} 个、橙色（较大风险）"
                f"{area_counts.get('orange', 0)} 个、黄色（一般风险）{area_counts.get('yellow', 0)} "
                f"个、蓝色（低风险）{area_counts.get('blue', 0)} 个。"
            )
        )
        blocks.append(Figure(f"图1 {map_spec.title}"))
        per_unit: dict[str, Counter[str]] = defaultdict(Counter)
        for a in data.areas:
            per_unit[data.unit_of(a.division_code)][a.level] += 1
        a_rows = [
            [names.get(c, c), *_level_cells(per_unit[c], LEVELS), str(sum(per_unit[c].values()))]
            for c in unit_order(per_unit)
            if c in per_unit or c in unit_codes
        ]
        a_rows.append(["合计", *_level_cells(area_counts, LEVELS), str(len(data.areas))])
        blocks.append(
            Table(
                f"表7 各{unit_zh}风险区域（{kind}）数量",
                [unit_zh, "红色", "橙色", "黄色", "蓝色", "合计"],
                a_rows,
                [3, 2, 2, 2, 2, 2],
                total=True,
                level_columns={i + 1: k for i, k in enumerate(LEVELS)},
            )
        )
    else:
        blocks.append(Para("平台中尚无网格或区县边界数据，无法绘制四色分布图。", "note"))

    # ---------------------------------------------------------------- 四、重大危险源
    blocks.append(Heading("四、重大危险源"))
    hazards_sorted = sorted(cur.hazards, key=lambda h: (h.level or 9, -(h.r_value or 0), h.id))
    if hazards_sorted:
        blocks.append(
            Para(
                f"依据《危险化学品重大危险源辨识》（GB 18218-2018），{name}共有重大危险源 {n_mh} 处，"
                f"分布在 {len({h.enterprise_id for h in cur.hazards})} 家企业；按 R 值从高到低列示如下。"
            )
        )
        hz_rows = [
            [
                str(i),
                h.enterprise,
                h.name,
                "储存单元" if h.unit_kind == "storage" else "生产单元",
                GRADE_ZH.get(h.level or 0, "未分级"),
                f"{h.r_value:.1f}" if h.r_value is not None else "—",
                "、".join(h.substances[:4]) + ("等" if len(h.substances) > 4 else ""),
                names.get(data.unit_of(h.division_code), h.division_code),
            ]
            for i, h in enumerate(hazards_sorted[:MAX_HAZARD_ROWS], start=1)
        ]
        note = (
            f"仅列出 R 值最高的 {MAX_HAZARD_ROWS} 处，完整清单请在平台导出。"
            if n_mh > MAX_HAZARD_ROWS
            else ""
        )
        blocks.append(
            Table(
                "表8 重大危险源清单",
                ["序号", "企业", "单元", "类型", "等级", "R值", "主要物质", unit_zh],
                hz_rows,
                [1.5, 4.2, 2.6, 1.9, 1.4, 1.4, 3.6, 1.8],
                note=note,
            )
        )
    else:
        blocks.append(Para(f"截至{as_of}，{name}未登记构成重大危险源的单元。"))

    # ---------------------------------------------------------------- 五、年度变化
    blocks.append(Heading("五、与上年度相比的变化"))
    if prev.empty:
        blocks.append(
            Para(
                f"{year - 1}年度平台中无风险点和重大危险源数据（最早的记录晚于该年度），"
                "本年度暂不进行同比分析，以本年度数据作为后续比较的基准。"
            )
        )
    else:
        plevels, pgrades = prev.level_counts(), prev.grade_counts()
        ch_rows = [
            [
                "风险点总数",
                str(len(prev.risk_levels)),
                str(n_rp),
                _delta(len(prev.risk_levels), n_rp),
            ]
        ]
        ch_rows += [
            [
                f"{LEVEL_ZH[k]}点",
                str(plevels.get(k, 0)),
                str(levels.get(k, 0)),
                _delta(plevels.get(k, 0), levels.get(k, 0)),
            ]
            for k in LEVELS
        ]
        ch_rows.append(
            ["重大危险源总数", str(len(prev.hazards)), str(n_mh), _delta(len(prev.hazards), n_mh)]
        )
        ch_rows += [
            [
                f"{GRADE_ZH[g]}重大危险源",
                str(pgrades.get(g, 0)),
                str(grades.get(g, 0)),
                _delta(pgrades.get(g, 0), grades.get(g, 0)),
            ]
            for g in GRADES
        ]
        blocks.append(Para(_change_sentence(year, prev, cur)))
        blocks.append(
            Table(
                "表9 风险点与重大危险源年度变化",
                [
                    "指标",
                    f"{year - 1}年末",
                    f"{year}年末" if not data.partial else f"截至{as_of}",
                    "增减",
                ],
                ch_rows,
                [4, 2, 2, 2],
            )
        )

    # ---------------------------------------------------------------- 六、建议
    blocks.append(Heading("六、风险防控工作建议"))
    blocks.append(Bullets(recommendations(data)))

    # ---------------------------------------------------------------- 七、说明
    blocks.append(Heading("七、数据来源与说明"))
    blocks.append(
        Bullets(
            [
                (
                    "本白皮书由 SafeCity 城市安全风险监测预警与应急管理平台根据平台登记数据自动生成，"
                    "统计范围为生成人有权查看的行政区划。"
                ),
                (
                    "风险点等级取截至年末最近一次经审核通过的评估结果（LEC 作业条件危险性分析法或风险矩阵法），"
                    "分为重大风险（红）、较大风险（橙）、一般风险（黄）、低风险（蓝）。"
                ),
                "重大危险源依据 GB 18218-2018 辨识（S = Σ q/Q ≥ 1），并按 R = α·Σ β·q/Q 分为一级至四级。",
                (
                    f"脆弱性目标指位于重大危险源周边 {INFLUENCE_RADIUS_M:.0f} 米内或位于红色、橙色风险区域内的"
                    "学校、医院、养老机构、人员密集场所等保护目标。"
                ),
                (
                    "网格风险等级按平台区域风险规则计算：综合区域内风险点、重大危险源及其影响范围内的脆弱性"
                    "目标得分，并按就高原则不低于区域内最高等级的风险点或重大危险源（一级、二级重大危险源按"
                    "红色，三级按橙色，四级按黄色）；无风险源的网格为蓝色。无网格数据时按同一规则为区县定级。"
                ),
                (
                    "四色风险图上的街道（乡镇）和区县按所含网格的颜色占比定级（默认红色网格占 10% 及以上为"
                    "红色，红、橙色合计占 25% 及以上为橙色，红、橙、黄色合计占 40% 及以上为黄色，一级重大"
                    "危险源所在单元至少为橙色，城市可调整）：就高原则适用于企业和网格，单个重大风险点不会使"
                    "整个区县成为重大风险区域。"
                ),
            ],
            numbered=False,
        )
    )

    cover = [
        f"统计范围：{data.division.code} {name}",
        f"数据截至：{as_of}",
        f"生成时间：{_date_zh(data.generated_at)}",
        "SafeCity 城市安全风险监测预警与应急管理平台",
    ]
    return Document(
        title=title,
        subtitle=f"{year}年度",
        cover_lines=cover,
        blocks=blocks,
        map_spec=map_spec,
        header=title,
    )


def _change_sentence(year: int, prev: Snapshot, cur: Snapshot) -> str:
    pl, cl = prev.level_counts(), cur.level_counts()
    pg, cg = prev.grade_counts(), cur.grade_counts()

    def change(label: str, a: int, b: int, unit: str) -> str:
        if b > a:
            return f"{label}增加 {b - a} {unit}（{a}→{b}）"
        if b < a:
            return f"{label}减少 {a - b} {unit}（{a}→{b}）"
        return f"{label}持平（{b} {unit}）"

    parts = [
        change("风险点总数", len(prev.risk_levels), len(cur.risk_levels), "个"),
        change("重大风险", pl.get("red", 0), cl.get("red", 0), "个"),
        change("较大风险", pl.get("orange", 0), cl.get("orange", 0), "个"),
        change("重大危险源", len(prev.hazards), len(cur.hazards), "处"),
        change(
            "一级、二级重大危险源", pg.get(1, 0) + pg.get(2, 0), cg.get(1, 0) + cg.get(2, 0), "处"
        ),
    ]
    return f"与{year - 1}年末相比，" + "；".join(parts) + "。"


def recommendations(data: PaperData) -> list[str]:
    """Rule-based recommendations, each drawn from a number in the paper."""
    out: list[str] = []
    names = {u.code: u.name for u in data.units}
    names.setdefault(data.division.code, data.division.name)
    cur, prev = data.current, data.previous
    multi = len(data.units) > 1

    red_areas = Counter(data.unit_of(a.division_code) for a in data.areas if a.level == "red")
    if red_areas and multi:
        code, n = red_areas.most_common(1)[0]
        out.append(
            f"{names.get(code, code)}红色（重大风险）区域最多，共 {n} 个，占全部红色区域的 "
            f"{_pct(n, sum(red_areas.values()))}，建议列为本年度重点管控区域，"
            "落实属地领导包保责任，加密巡查和监测频次。"
        )
    elif red_areas:
        out.append(
            f"辖区内有红色（重大风险）区域 {sum(red_areas.values())} 个，建议逐一落实"
            "管控责任人和管控措施，加密巡查和监测频次。"
        )

    major = data.major_risks
    if major:
        by_unit = Counter(data.unit_of(rp.division_code) for rp in major)
        code, n = by_unit.most_common(1)[0]
        where = f"，其中{names.get(code, code)} {n} 项" if multi else ""
        out.append(
            f"全{_scope_word(data)}共有重大安全风险 {len(major)} 项{where}，"
            "建议逐项明确管控层级和责任人，重大风险由政府挂牌督导，每季度复核管控措施落实情况。"
        )

    hazards = cur.hazards
    if hazards:
        ent_industry = {e.id: e.industry for e in data.enterprises}
        by_ind = Counter(
            _industry_name(h.industry or ent_industry.get(h.enterprise_id)) for h in hazards
        )
        ind, n = by_ind.most_common(1)[0]
        top = sum(
            1
            for h in hazards
            if h.level in (1, 2)
            and _industry_name(h.industry or ent_industry.get(h.enterprise_id)) == ind
        )
        out.append(
            f"{ind}集中了 {n} 处重大危险源（占 {_pct(n, len(hazards))}），其中一级、二级 "
            f"{top} 处，建议作为“两重点一重大”监管重点，推动在线监测预警全覆盖和安全包保责任落实。"
        )

    near = sorted(
        (v for v in data.vulnerable if v.hazard is not None), key=lambda v: v.distance_m or 0
    )
    if near:
        examples = "；".join(
            f"{v.target.name}距{v.hazard.enterprise}{v.hazard.name}约 {v.distance_m:.0f} 米"
            for v in near[:3]
            if v.hazard is not None and v.distance_m is not None
        )
        out.append(
            f"有 {len(near)} 个学校、医院等脆弱性目标位于重大危险源 "
            f"{INFLUENCE_RADIUS_M:.0f} 米范围内（{examples}），建议核实安全防护距离，"
            "制定联合疏散预案并组织演练。"
        )
    in_hot = [v for v in data.vulnerable if v.in_red_orange]
    if in_hot:
        out.append(
            f"有 {len(in_hot)} 个脆弱性目标位于红色或橙色风险区域内，建议在预警信息发布时优先"
            "覆盖，并纳入应急避难和转移安置方案。"
        )

    prev_red = prev.level_counts().get("red", 0)
    cur_red = cur.level_counts().get("red", 0)
    if not prev.empty and cur_red > prev_red:
        out.append(
            f"重大风险数量较上年增加 {cur_red - prev_red} 个，建议分析新增原因，"
            "对新增重大风险所在企业开展专项执法检查。"
        )

    unassessed = cur.level_counts().get(None, 0)
    if unassessed:
        out.append(
            f"尚有 {unassessed} 个风险点未完成风险评估，建议督促相关单位在一季度内完成辨识评估并审核。"
        )
    overdue = sum(
        1
        for rp, _ in cur.risk_levels
        if rp.review_date is not None and rp.review_date < data.as_of.astimezone(BEIJING).date()
    )
    if overdue:
        out.append(f"有 {overdue} 个风险点已超过复评日期，建议组织复评并更新管控措施。")
    if data.hidden_dangers is None:
        out.append(
            "尽快接入隐患排查治理数据，形成风险分级管控与隐患排查治理“双重预防”闭环，"
            "完善重大隐患清单。"
        )
    elif data.hidden_dangers:
        units = Counter(data.unit_of(str(h.get("division_code", ""))) for h in data.hidden_dangers)
        top, count = units.most_common(1)[0]
        where = {u.code: u.name for u in data.units}.get(top, top)
        out.append(
            f"尚有 {len(data.hidden_dangers)} 项重大事故隐患未完成整改销号（{where} 最多，"
            f"{count} 项），建议挂牌督办、逐项明确整改责任和时限。"
        )
    if not out:
        out.append("本年度未发现需要特别关注的集中风险，建议继续做好风险辨识评估和动态更新。")
    return out


def _scope_word(data: PaperData) -> str:
    """市 / 区 / 县 / 省 from the division's own name (海阳市 is a county-level 市)."""
    last = data.division.name[-1:]
    return last if last in "省市区县旗镇乡" else "辖区"
