"""User-interface text of the web pages in Chinese (default) and English, keyed by a short id."""

from __future__ import annotations

from collections.abc import Callable

from safecity.plugins import merged

LANGS = ("zh", "en")

TEXT: dict[str, tuple[str, str]] = {
    # shell
    "product": (
        "SafeCity 城市安全风险监测预警与应急管理平台",
        "SafeCity Urban Safety Risk Monitoring, Early Warning and Emergency Management",
    ),
    "product_short": ("SafeCity 城市安全平台", "SafeCity"),
    "product_tag": ("城市安全平台", "Urban Safety"),
    "menu": ("菜单", "Menu"),
    "inbox": ("站内消息", "Inbox"),
    "nav_map": ("一张图", "One map"),
    "nav_registry": ("基础数据", "Base registry"),
    "nav_risk": ("风险分级管控", "Risk grading and control"),
    "nav_hazards": ("隐患排查治理", "Hidden-danger investigation"),
    "nav_monitoring": ("监测预警", "Monitoring and alarms"),
    "nav_warnings": ("预警发布", "Warning publication"),
    "nav_response": ("应急指挥", "Emergency command"),
    "nav_upcoming": ("建设中", "coming soon"),
    "nav_risk_points": ("风险点", "Risk points"),
    "nav_major_hazards": ("重大危险源", "Major hazards"),
    "nav_four_lists": ("四张清单", "Four lists"),
    "nav_risk_map": ("四色风险图", "Four-colour map"),
    "nav_white_paper": ("风险白皮书", "Risk white paper"),
    "nav_risk_calc": ("辨识计算器", "Calculators"),
    "nav_admin": ("系统管理", "Administration"),
    "nav_users": ("用户管理", "Users"),
    "nav_audit": ("审计日志", "Audit log"),
    "logout": ("退出登录", "Log out"),
    "scope": ("管辖范围", "Scope"),
    "language": ("语言", "Language"),
    # login
    "login": ("登录", "Log in"),
    "login_title": ("用户登录", "Sign in"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login_hint": ("请使用分配给您的账号登录。", "Sign in with the account you were given."),
    "login_footer": (
        "城市安全风险监测预警与应急管理",
        "Urban safety risk monitoring and emergency management",
    ),
    # map
    "map_title": ("安全综合监测一张图", "Integrated safety map"),
    "map_counts": ("当前范围统计", "In your scope"),
    "map_loading": ("正在加载图层…", "Loading layers…"),
    "map_load_failed": ("图层加载失败", "Failed to load layer"),
    "map_legend": ("图例", "Legend"),
    "map_grid_hint": ("网格在放大到 10 级后自动显示", "Grid cells appear from zoom level 10"),
    "map_hazchem": ("其中危化品企业", "of which hazardous-chemical"),
    "legend_division": ("区县边界", "County boundary"),
    "legend_grid": ("网格", "Grid cell"),
    "legend_enterprise": ("一般企业", "Enterprise"),
    "legend_hazchem": ("危化品企业", "Hazardous-chemical enterprise"),
    "legend_target": ("脆弱性目标（按类型）", "Protected target (by type)"),
    "details": ("查看详情", "Details"),
    # registry list
    "search": ("搜索", "Search"),
    "search_placeholder": ("名称、代码、地址…", "name, code, address…"),
    "all": ("全部", "All"),
    "division_filter": ("行政区划", "Division"),
    "filter": ("筛选", "Filter"),
    "reset": ("重置", "Reset"),
    "create": ("新建", "New"),
    "import": ("导入", "Import"),
    "export": ("导出", "Export"),
    "template": ("下载导入模板", "Import template"),
    "total": ("共 {n} 条", "{n} records"),
    "page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "first": ("首页", "First"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "last": ("末页", "Last"),
    "no_rows": ("没有符合条件的记录", "No matching records"),
    "show_archived": ("含已归档", "Include archived"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    # registry detail
    "edit": ("编辑", "Edit"),
    "archive": ("归档", "Archive"),
    "restore": ("恢复", "Restore"),
    "archived_badge": ("已归档", "Archived"),
    "archive_confirm": (
        "确定归档该对象？归档后不再显示在列表和地图上。",
        "Archive this object? It will no longer appear in lists and on the map.",
    ),
    "back_to_list": ("返回列表", "Back to list"),
    "location": ("位置", "Location"),
    "no_location": ("未填写位置", "No location recorded"),
    "basic_info": ("基本信息", "Basic information"),
    "one_file_title": ("一企一档", "One file per enterprise"),
    "one_file_intro": (
        "本企业在各业务模块中的信息：",
        "This enterprise's records across the platform:",
    ),
    "one_file_risk": ("风险点与风险分级（风险分级管控）", "Risk points and risk levels"),
    "one_file_hazard_sources": (
        "重大危险源辨识与分级（GB 18218-2018）",
        "Major hazard installations (GB 18218-2018)",
    ),
    "one_file_hidden": ("隐患排查与整改记录", "Hidden dangers and rectification"),
    "one_file_sensors": ("监测传感器与报警", "Sensors and alarms"),
    "one_file_enforcement": ("监管执法检查与案件", "Inspections and enforcement cases"),
    "one_file_plans": ("应急预案与演练", "Emergency plans and drills"),
    "one_file_credit": ("安全生产信用记录", "Safety credit record"),
    "pending": ("待建设", "pending"),
    # forms
    "new_title": ("新建{kind}", "New {kind}"),
    "edit_title": ("编辑{kind}", "Edit {kind}"),
    "save": ("保存", "Save"),
    "cancel": ("取消", "Cancel"),
    "required": ("必填", "required"),
    "required_msg": ("为必填项", "is required"),
    "form_has_errors": ("提交的内容有误，请按提示修改。", "Please correct the marked fields."),
    "pick_location": ("在地图上点击以选取位置", "Click the map to pick the location"),
    "geometry_hint": (
        "GeoJSON 格式（Polygon / MultiPolygon / Point），可留空",
        "GeoJSON (Polygon / MultiPolygon / Point), optional",
    ),
    "bad_json": ("不是有效的 JSON", "is not valid JSON"),
    "choose": ("请选择", "Choose…"),
    "auto": ("自动", "automatic"),
    # import
    "import_title": ("导入{kind}", "Import {kind}"),
    "import_file": ("文件（XLSX、CSV 或 GeoJSON）", "File (XLSX, CSV or GeoJSON)"),
    "valid_only": ("仅导入有效行", "Import valid rows only"),
    "valid_only_hint": (
        "不勾选时，只要有一行无效，整个文件都不会写入。",
        "Unticked, a single invalid row means nothing is written.",
    ),
    "dry_run": ("仅校验（不写入）", "Validate only (write nothing)"),
    "upload": ("上传并导入", "Upload and import"),
    "import_result": ("导入结果", "Import result"),
    "import_failed": (
        "文件存在无效行，未写入任何数据。",
        "The file has invalid rows; nothing was written.",
    ),
    "import_ok": ("导入完成", "Import finished"),
    "import_dry_ok": ("校验完成（未写入）", "Validation finished (nothing written)"),
    "row": ("行", "Row"),
    "column": ("列", "Column"),
    "reason": ("原因", "Reason"),
    "report_total_rows": ("数据行数", "Rows in file"),
    "report_created": ("新建", "Created"),
    "report_updated": ("更新", "Updated"),
    "report_unchanged": ("未变化", "Unchanged"),
    "report_skipped": ("跳过的无效行", "Invalid rows skipped"),
    "report_error_count": ("错误数", "Errors"),
    "credential_once": (
        "请立即复制并妥善保存：凭据只显示这一次，系统只保存其摘要，遗失后只能重置。",
        "Copy and keep it now: it is shown this once, only its hash is stored; if lost, reset it.",
    ),
    "credentials_issued": ("新建对象的凭据", "Credentials of the new objects"),
    # admin
    "users_title": ("用户管理", "Users"),
    "add_user": ("添加用户", "Add user"),
    "display_name": ("姓名", "Name"),
    "role": ("角色", "Role"),
    "division_code": ("行政区划", "Division"),
    "enterprise_id": ("企业编号", "Enterprise ID"),
    "industry": ("行业", "Industry"),
    "phone": ("电话", "Phone"),
    "status": ("状态", "Status"),
    "active": ("启用", "Active"),
    "inactive": ("已停用", "Disabled"),
    "disable": ("停用", "Disable"),
    "enable": ("启用", "Enable"),
    "disable_confirm": (
        "确定停用该用户？其所有登录会话将立即失效。",
        "Disable this user? All their sessions end at once.",
    ),
    "actions": ("操作", "Actions"),
    "audit_title": ("审计日志", "Audit log"),
    "audit_latest": ("最近 {n} 条记录", "Latest {n} entries"),
    "audit_page_of": ("本页 {n} 条", "{n} entries on this page"),
    "audit_object_id": ("对象编号", "Object id"),
    "audit_from": ("从", "From"),
    "audit_to": ("至", "To"),
    "audit_people_only": ("只看人员操作（不含系统自动记录）", "People only (no automatic entries)"),
    "audit_older": ("更早的记录 →", "Older entries →"),
    "verify_chain": ("校验哈希链", "Verify hash chain"),
    "verify_ok": (
        "哈希链完整：已校验 {n} 条记录，未发现篡改。",
        "Chain intact: {n} entries checked, no tampering found.",
    ),
    "verify_bad": (
        "哈希链校验失败：已校验 {n} 条记录，发现以下问题：",
        "Chain broken: {n} entries checked, problems found:",
    ),
    "seq": ("序号", "Seq"),
    "time": ("时间", "Time"),
    "actor": ("操作人", "Actor"),
    "action": ("动作", "Action"),
    "object": ("对象", "Object"),
    "changes": ("变更内容", "Changes"),
    "hash": ("哈希", "Hash"),
    # errors
    "error_title": ("出错了", "Something went wrong"),
    "error_400": ("请求有误", "Bad request"),
    "error_401": ("请先登录", "Login required"),
    "error_403": ("无权访问", "Access denied"),
    "error_404": ("页面或对象不存在", "Not found"),
    "error_409": ("操作冲突", "Conflict"),
    "error_422": ("输入有误", "Invalid input"),
    "error_429": ("请求过于频繁", "Too many requests"),
    "back_home": ("返回首页", "Back to the map"),
    "go_back": ("返回上一页", "Go back"),
    "csrf_failed": (
        "页面已过期或来源不明（CSRF 校验失败），请刷新页面后重试。",
        "The page expired or came from elsewhere (CSRF check failed); reload and retry.",
    ),
}

ACTIONS: dict[str, tuple[str, str]] = {
    "create": ("新建", "create"),
    "update": ("修改", "update"),
    "archive": ("归档", "archive"),
    "restore": ("恢复", "restore"),
    "disable": ("停用", "disable"),
    "enable": ("启用", "enable"),
    "import": ("导入", "import"),
    # warnings
    "submit": ("提交审核", "submit"),
    "approve": ("审核通过", "approve"),
    "reject": ("退回", "reject"),
    "issue": ("发布", "issue"),
    "cancel": ("解除", "cancel"),
    "expire": ("到期失效", "expire"),
    "retry": ("重发", "retry"),
    # hidden dangers, tasks, risk, monitoring, demo
    "escalate": ("逾期升级", "escalate"),
    "generate": ("生成", "generate"),
    "complete": ("完成", "complete"),
    "clear": ("清除", "clear"),
    "raise": ("触发", "raise"),
    "risk_signal.raise": ("风险信号触发", "risk signal raised"),
    "risk_signal.escalate": ("风险信号升级", "risk signal escalated"),
    "risk_signal.clear": ("风险信号解除", "risk signal cleared"),
    "demo": ("演示数据", "demo data"),
    "demo.load": ("载入演示数据", "demo data loaded"),
}

# Object types in the audit log that no plug-in names (kinds name themselves; a capability names
# the rest in its texts.py AUDIT_OBJECTS): the platform's own, and risk's until its plug-in does.
OBJECTS: dict[str, tuple[str, str]] = {
    "user": ("用户", "user"),
    "city": ("城市", "city"),
    "risk_point": ("风险点", "risk point"),
    "major_hazard": ("重大危险源", "major hazard"),
    "risk_signal": ("风险信号", "risk signal"),
    "risk_setting": ("风险设置", "risk settings"),
}

SHELL_KEYS = frozenset(TEXT)  # the shell's own; no capability may define one again (a test checks)


def _merge_capability_texts() -> None:
    # Each capability keeps its own texts next to its code so parallel work never edits one file.
    TEXT.update(merged("safecity_texts"))


_merge_capability_texts()


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def translator(lang: str) -> Callable[..., str]:
    """t(key, **values): the text in `lang`; an unknown key shows itself so gaps are visible."""

    def t(key: str, **values: object) -> str:
        pair = TEXT.get(key)
        text = pick(pair, lang) if pair else key
        return text.format(**values) if values else text

    return t
