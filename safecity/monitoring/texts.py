"""UI text of the monitoring pages: key -> (Chinese, English), merged into web.i18n.TEXT."""

TEXTS: dict[str, tuple[str, str]] = {
    "nav_mon_alarms": ("报警中心", "Alarm console"),
    "mon_alarm_console": ("实时报警", "Live alarms"),
    "mon_type": ("类型", "Type"),
    "mon_last": ("最新读数", "Latest reading"),
    "mon_chart": (
        "时序曲线（阈值线：蓝/黄/橙/红）",
        "Time series (threshold lines blue/yellow/orange/red)",
    ),
    "mon_live": ("实时连接", "live"),
    "mon_sound": ("红色报警声音提示", "Sound on red alarms"),
    "mon_ack": ("确认", "Acknowledge"),
    "mon_handle": ("处置", "Handle"),
    "mon_resolve": ("解除", "Resolve"),
    "mon_false": ("误报", "False alarm"),
    "mon_note": ("处置说明", "Note"),
    "mon_rule": ("规则", "Rule"),
    "mon_level": ("级别", "Level"),
    "mon_status": ("状态", "Status"),
    "mon_time": ("时间", "Time"),
    "mon_message": ("内容", "Message"),
    "mon_thresholds": ("报警阈值", "Alarm thresholds"),
    "mon_no_alarms": ("当前没有未关闭的报警", "No open alarms"),
    "mon_alarm_detail": ("报警详情", "Alarm detail"),
    "mon_detail": ("详情", "Detail"),
    "mon_history": ("处置记录", "History"),
    "mon_actor": ("操作人", "By"),
    "mon_open_hd": ("转为隐患", "Open hidden danger"),
    "mon_open_hd_confirm": (
        "将该报警转为隐患并进入处置？",
        "Open a hidden danger from this alarm?",
    ),
    "mon_hd_linked": ("已转隐患", "Hidden danger"),
    "mon_hd_section": ("隐患排查治理", "Hidden danger"),
    "mon_hd_title": ("隐患名称（不填则取报警内容）", "Title (defaults to the alarm message)"),
    "mon_hd_grade": ("建议等级", "Suggested grade"),
    "mon_hd_grade_none": ("由评估人员认定", "Left to the assessor"),
    "mon_hd_hint": (
        "将以“监测报警”为发现方式上报隐患，位置、网格、企业取自报警；未关闭的报警转为“处置中”。",
        (
            "Reports a hidden danger found by monitoring, placed where the alarm is; "
            "an open alarm moves to handling."
        ),
    ),
    "mon_hd_not_allowed": ("误报不能转为隐患", "A false alarm cannot open a hidden danger"),
    # alarm history: what happened, as staff say it (the stored action names are internal)
    "mon_act_raise": ("报警触发", "raised"),
    "mon_act_clear": ("数值恢复", "cleared"),
    "mon_act_escalate": ("等级升高", "escalated"),
    "mon_act_update": ("等级变化", "level changed"),
    "mon_act_acknowledge": ("确认", "acknowledged"),
    "mon_act_handle": ("处置", "handling"),
    "mon_act_resolve": ("解除", "resolved"),
    "mon_act_false_alarm": ("误报", "false alarm"),
    "mon_act_hidden_danger": ("转为隐患", "opened a hidden danger"),
    "mon_act_link": ("关联事件", "linked to an incident"),
}

# The audit log's names for monitoring's objects and steps (safecity_audit_objects / _steps);
# sensors are a kind and name themselves.
AUDIT_OBJECTS: dict[str, tuple[str, str]] = {
    "alarm": ("报警", "alarm"),
    "alarm_rules": ("报警规则", "alarm rules"),
}
AUDIT_STEPS: dict[str, tuple[str, str]] = {
    "sensor.rotate_token": ("更换设备令牌", "rotate device token"),
    "alarm.alarm_hidden_danger": ("报警转隐患", "alarm to hidden danger"),
    "alarm.alarm_acknowledge": ("确认报警", "acknowledge alarm"),
    "alarm.alarm_handle": ("处置报警", "handle alarm"),
    "alarm.alarm_resolve": ("报警解除", "resolve alarm"),
    "alarm.alarm_false_alarm": ("误报", "false alarm"),
    "alarm.alarm_link": ("报警关联事件", "link alarm"),
}
