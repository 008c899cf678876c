"""The incident's life as data: states, the steps between them and who may take each.

Pure: no database, no clock. ``step(status, action)`` answers the next state or raises
:class:`Illegal` (mapped to 409 by the service); ``ROLE_OF_ACTION`` says who may (403 else).
"""

from __future__ import annotations

RECEIVED, GRADED, RESPONDING, ENDED, CLOSED, MERGED = (
    "received",
    "graded",
    "responding",
    "ended",
    "closed",
    "merged",
)

STATES: dict[str, tuple[str, str]] = {
    RECEIVED: ("已接报", "received"),
    GRADED: ("已定级", "graded"),
    RESPONDING: ("响应中", "responding"),
    ENDED: ("响应终止", "response ended"),
    CLOSED: ("已结案", "closed"),
    MERGED: ("已合并", "merged"),
}
OPEN = frozenset({RECEIVED, GRADED, RESPONDING, ENDED})

SOURCES: dict[str, tuple[str, str]] = {
    "phone": ("电话接报", "phone call"),
    "alarm": ("监测报警", "monitoring alarm"),
    "report": ("群众/网格上报", "public or grid report"),
    "cap": ("CAP 预警导入", "imported CAP alert"),
    "agency": ("其他部门通报", "another agency"),
}

# action → (states it may start from, state it leads to; None = unchanged)
STEPS: dict[str, tuple[frozenset[str], str | None]] = {
    "grade": (frozenset({RECEIVED, GRADED}), GRADED),
    "followup": (frozenset(OPEN), None),
    "report_up": (frozenset(OPEN), None),
    "merge": (frozenset({RECEIVED, GRADED}), MERGED),
    "start_response": (frozenset({GRADED}), RESPONDING),
    "adjust_level": (frozenset({RESPONDING}), RESPONDING),
    "end_response": (frozenset({RESPONDING}), ENDED),
    "close": (frozenset({GRADED, ENDED}), CLOSED),
    "dispatch": (frozenset({GRADED, RESPONDING}), None),
    "draft_warning": (frozenset(OPEN), None),
    "open_hidden_danger": (frozenset(OPEN), None),
}

ACTIONS: dict[str, tuple[str, str]] = {
    "receive": ("接报", "received"),
    "grade": ("定级", "graded"),
    "regrade": ("续报重新定级", "regraded on a follow-up"),
    "followup": ("续报", "follow-up report"),
    "report_up": ("向上级报告", "reported upward"),
    "merge": ("合并为同一事件", "merged"),
    "merged_in": ("并入重复接报", "duplicate merged in"),
    "start_response": ("启动响应", "response started"),
    "adjust_level": ("调整响应级别", "response level changed"),
    "end_response": ("响应终止", "response ended"),
    "close": ("结案", "closed"),
    "task_received": ("任务签收", "task received"),
    "task_progress": ("任务进展", "task progress"),
    "task_done": ("任务完成", "task done"),
    "dispatch": ("调派力量", "forces dispatched"),
    "dispatch_status": ("力量状态", "dispatch status"),
    "draft_warning": ("起草预警", "warning drafted"),
    "open_hidden_danger": ("上报隐患", "hidden danger reported"),
    "note": ("备注", "note"),
    "overdue": ("报告逾期提醒", "report overdue"),
}

RECEIVERS = frozenset({"duty_officer", "commander", "district_officer", "admin"})
COMMANDERS = frozenset({"commander", "district_officer", "admin"})
ROLE_OF_ACTION: dict[str, frozenset[str]] = {
    "receive": RECEIVERS,
    "followup": RECEIVERS,
    "report_up": RECEIVERS,
    "merge": RECEIVERS,
    "grade": COMMANDERS,
    "start_response": COMMANDERS,
    "adjust_level": COMMANDERS,
    "end_response": COMMANDERS,
    "close": COMMANDERS,
    "dispatch": COMMANDERS,
    "dispatch_status": RECEIVERS,
    "draft_warning": RECEIVERS,
    "open_hidden_danger": RECEIVERS,
    "roster": frozenset({"duty_officer", "commander", "admin"}),
    "plan_write": frozenset({"commander", "admin", "district_officer"}),
    "plan_approve": frozenset({"commander", "admin"}),
    "grading_table": frozenset({"admin", "commander"}),
}

DISPATCH_STATES: dict[str, tuple[str, str]] = {
    "requested": ("已请求", "requested"),
    "dispatched": ("已出动", "dispatched"),
    "en_route": ("途中", "en route"),
    "on_scene": ("已到达", "on scene"),
    "returned": ("已返回", "returned"),
}
DISPATCH_NEXT = {
    "requested": "dispatched",
    "dispatched": "en_route",
    "en_route": "on_scene",
    "on_scene": "returned",
}
TASK_STATES: dict[str, tuple[str, str]] = {
    "assigned": ("待签收", "awaiting receipt"),
    "received": ("已签收", "received"),
    "in_progress": ("处置中", "in progress"),
    "done": ("已完成", "done"),
}
PLAN_STATES: dict[str, tuple[str, str]] = {
    "draft": ("草稿", "draft"),
    "approved": ("已批准", "approved"),
    "filed": ("已备案", "filed"),
    "retired": ("已废止", "retired"),
}
PLAN_NEXT = {"approve": ("draft", "approved"), "file": ("approved", "filed")}
REPORT_KINDS: dict[str, tuple[str, str]] = {
    "first": ("首报", "first report"),
    "followup": ("续报", "follow-up report"),
    "final": ("终报", "final report"),
}


class Illegal(Exception):
    """A step the incident's state does not allow (409)."""

    def __init__(self, status: str, action: str) -> None:
        self.status, self.action = status, action
        zh = f"事件当前为「{STATES[status][0]}」，不能{ACTIONS.get(action, (action,))[0]}"
        en = f"the incident is {STATES[status][1]}: cannot {action.replace('_', ' ')}"
        super().__init__(zh, en)
        self.zh, self.en = zh, en


def step(status: str, action: str) -> str:
    """The state after ``action`` from ``status`` (unchanged for actions that keep it)."""
    allowed, to = STEPS[action]
    if status not in allowed:
        raise Illegal(status, action)
    return to or status


def may(role: str, action: str) -> bool:
    return role in ROLE_OF_ACTION.get(action, frozenset())
