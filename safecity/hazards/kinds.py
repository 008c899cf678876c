"""Hidden dangers as a kind: the generic list, filters, export (XLSX/CSV/GeoJSON), API list and
detail routes and the one map's layer; a hidden danger is made and changed only by its closed
loop (report → assess → register → rectify → accept), so the kind is ``workflow_only`` and its
detail page is the workflow's own (views.detail_view: timeline and the caller's action forms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, select, true
from sqlalchemy.orm import Session

from safecity.core import clock
from safecity.core.kinds import Kind, QueryFilter
from safecity.core.scope import Principal
from safecity.hazards import schemas, service
from safecity.hazards import workflow as wf
from safecity.hazards.models import HiddenDanger
from safecity.registry.models import Enterprise

_YES = ("1", "true")


def _flag(clause: Any) -> Any:
    """A yes-only filter: ``1``/``true`` narrows the list, empty or ``0``/``false`` does not."""

    def where(value: str) -> Any:
        if value in _YES:
            return clause() if callable(clause) else clause
        if value in ("0", "false"):
            return true()
        raise ValueError(value)

    return where


def _overdue() -> Any:
    return and_(
        HiddenDanger.status.in_(sorted(wf.ON_THE_CLOCK)), HiddenDanger.deadline < clock.utcnow()
    )


def _own_reports(who: Principal) -> Any:
    """A member of the public sees the hidden dangers they reported, nothing else."""
    return HiddenDanger.reporter_user_id == who.user_id if who.role == "public" else None


def _sees_own(who: Principal, hd: Any) -> bool | None:
    return service.visible(who, hd) if who.role == "public" else None


def _places(session: Session, objs: Sequence[Any]) -> dict[Any, dict[str, Any]]:
    """Where each hidden danger is, as the list shows it: its enterprise, else its address."""
    ids = {h.enterprise_id for h in objs if h.enterprise_id}
    names = (
        {
            i: n
            for i, n in session.execute(
                select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    return {
        h.id: {
            "place": names.get(h.enterprise_id) or h.address or "",
            "colour": _COLOURS.get(h.grade or "", "#607d8b"),
        }
        for h in objs
    }


# The one map's dot: red for a major hidden danger, orange for a general one, grey until graded.
_COLOURS = {wf.MAJOR: "#d32f2f", wf.GENERAL: "#f57c00"}


def _answer(hd: Any) -> dict[str, Any]:
    return service.to_dict(hd, clock.utcnow())


def _detail_answer(session: Session, who: Principal, hd: Any) -> dict[str, Any]:
    return {
        **service.to_dict(hd, clock.utcnow()),
        "timeline": [service.event_dict(e) for e in service.timeline(session, hd)],
        "actions": service.available_actions(hd, who),
    }


def _date(value: Any) -> str:
    """A deadline as its Beijing date (the list shows no time of day for it)."""
    if value is None:
        return "—"
    return str(wf.as_utc(value).astimezone(clock.BEIJING).date())


def _page_context(session: Session, who: Principal) -> dict[str, Any]:
    """What the ledger's tabs and cells read: counts per stage in the caller's scope and the
    clock for the overdue tag."""
    return {
        "counts": service.counts_by_status(session, who),
        "on_the_clock": wf.ON_THE_CLOCK,
        "as_utc": wf.as_utc,
        "now": clock.utcnow(),
        "fmt_date": _date,
    }


def _detail_page(request: Any, session: Session, who: Principal, hd: Any) -> Any:
    from safecity.hazards.views import detail_view  # noqa: PLC0415 views import this module

    return detail_view(request, session, who, hd)


# Severity order for sorting: major first when descending.
_GRADE_ORDER = case((HiddenDanger.grade == wf.MAJOR, 2), (HiddenDanger.grade == wf.GENERAL, 1))

HIDDEN_DANGER = Kind(
    name="hidden_danger",
    plural="hazards",
    prefix="",
    model=HiddenDanger,
    schema=schemas.ReportIn,
    zh="隐患台账",
    en="Hidden dangers",
    columns=(
        "id",
        "title",
        "category",
        "grade",
        "source",
        "status",
        "division_code",
        "enterprise_id",
        "address",
        "lon",
        "lat",
        "reported_at",
        "deadline",
        "responsible_party",
        "supervisor_division_code",
        "closed_at",
    ),
    list_columns=(
        "id",
        "title",
        "place",
        "grade",
        "source",
        "status",
        "reported_at",
        "deadline",
    ),
    labels=dict(schemas.LABELS)
    | {
        "title": ("隐患名称", "Hidden danger"),
        "category": ("隐患类别", "Category"),
        "grade": ("隐患等级", "Grade"),
        "source": ("发现方式", "Found by"),
        "status": ("状态", "Status"),
        "place": ("位置", "Where"),
        "reported_at": ("上报时间", "Reported"),
        "deadline": ("整改期限", "Deadline"),
        "responsible_party": ("责任单位", "Responsible party"),
        "supervisor_division_code": ("挂牌督办单位", "Supervising authority"),
        "closed_at": ("销号时间", "Closed"),
    },
    choices={
        "status": wf.STATES,
        "grade": wf.GRADES,
        "source": wf.SOURCES,
        "category": wf.CATEGORIES,
    },
    exact_filters=("status", "grade", "source", "category", "enterprise_id"),
    query_filters={
        "overdue": QueryFilter(
            ("仅看逾期", "overdue only"), _flag(_overdue), {"1": ("仅看逾期", "Overdue only")}
        ),
        "supervised": QueryFilter(
            ("仅看挂牌督办", "supervised only"),
            _flag(HiddenDanger.supervisor_division_code.is_not(None)),
            {"1": ("仅看挂牌督办", "Supervised only")},
        ),
        "open": QueryFilter(
            ("仅看未销号", "open only"),
            _flag(HiddenDanger.status.in_(sorted(wf.OPEN))),
            {"1": ("仅看未销号", "Open only")},
        ),
    },
    search=("title", "description", "address"),
    search_hint=("名称、描述或地址", "Title, description or address"),
    list_actions=(
        ("/hazards/report", ("＋ 隐患上报", "＋ Report a hidden danger"), True),
        ("/hazards/stats", ("统计分析", "Statistics"), False),
    ),
    sortable=("reported_at", "deadline", "grade", "status", "id"),
    default_sort="reported_at",
    sort_expressions={"grade": _GRADE_ORDER},
    default_order=(HiddenDanger.reported_at.desc(), HiddenDanger.id.desc()),
    writers=wf.REPORTERS,
    workflow_only=True,
    shape=service.SHAPE,
    scope_where=_own_reports,
    scope_sees=_sees_own,
    division_must_exist=False,
    map_props=("id", "title", "grade", "status", "division_code", "colour"),
    layer_filters={"open": "1"},
    extras=_places,
    extra_fields={"place": str, "colour": str},
    out_schema=schemas.HiddenDangerOut,
    as_answer=_answer,
    detail_answer=_detail_answer,
    detail_schema=schemas.HiddenDangerDetail,
    list_template="hazards/kind_list_head.html",
    cell_template="hazards/kind_cells.html",
    page_context=_page_context,
    detail_page=_detail_page,
    example={
        "title": "仓库消防通道堆放杂物",
        "category": "fire",
        "division_code": "370602",
        "address": "芝罘区幸福路 1 号",
        "lon": 121.39,
        "lat": 37.53,
    },
)

KINDS = (HIDDEN_DANGER,)
