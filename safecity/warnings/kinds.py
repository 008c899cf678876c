"""Warnings as a kind: the generic list (filters, sort, pages), export, map layer and one
warning's API answer and page. A warning is made and changed only by its own workflow
(draft → submit → approve → issue → update/cancel, CAP import): ``workflow_only``, so the
capability's own routes (api.py, views.py) draft, act on and import it, and the detail page
is the generic one with the workflow's panel (warnings/detail_panel.html): its status and
next steps above the fields, coverage and deliveries below."""

from __future__ import annotations

from typing import Any

from shapely.geometry import mapping
from sqlalchemy import case, select
from sqlalchemy.orm import Session, object_session

from safecity.core.clock import BEIJING
from safecity.core.kinds import Kind
from safecity.core.models import User
from safecity.core.scope import Principal
from safecity.registry.models import Division, Enterprise, ProtectedTarget
from safecity.registry.rules import TARGET_TYPES
from safecity.warnings import cap, channels, rules, service
from safecity.warnings.models import Warning
from safecity.warnings.schemas import LABELS, WarningDraft, WarningOut
from safecity.warnings.settings import get_warning_settings

# Most severe first, as a select shows them and the level sort orders them.
LEVELS: dict[str, tuple[str, str]] = {lv: cap.LEVEL_NAMES[lv] for lv in reversed(cap.LEVELS)}
EVENT_TYPES: dict[str, tuple[str, str]] = {
    k: (zh, en) for k, (zh, en, _c) in rules.EVENT_TYPES.items()
}


# ---------------------------------------------------------------- the detail page's panel


def area_of(w: Warning) -> dict[str, Any] | None:
    """The warning's areas as one GeoJSON geometry (divisions drawn by their outline), or
    None when they cover nothing drawable: the page, the export and the map layer draw it."""
    session = object_session(w)
    areas = rules.areas_from_json(w.areas)
    if session is None:
        geom = service.targeting.area_geometry(areas, {})
    else:
        geom = service.geometry_of(session, areas)
    return None if geom.is_empty else dict(mapping(geom))


def allowed_actions(who: Principal, w: Warning, retry: bool = False) -> list[str]:
    """The workflow steps the caller may take on the warning now (the page's buttons)."""
    if w.kind != "local" or not who.covers(w.division_code):
        return []
    settings = get_warning_settings()
    approvers = rules.approvers(w.level, settings.approval_roles)
    issuers = service.ISSUE_ROLES | approvers
    out = []
    if w.status == "draft" and who.role in rules.DRAFTER_ROLES:
        out.append("submit")
    if (
        w.status == "submitted"
        and who.role in approvers
        and service.approval_conflict(who, w) is None
    ):
        out += ["approve", "reject"]
    if w.status == "approved" and who.role in issuers:
        out.append("issue")
    if w.status == "issued" and w.msg_type != "Cancel" and who.role in issuers:
        out += ["update", "cancel"]
    if retry and w.issued_at is not None and who.role in issuers:
        out.append("retry")
    return out


def _duty_note(who: Principal, w: Warning) -> tuple[str, str] | None:
    """Why an approver sees no approve button here (separation of duties), or None."""
    approvers = rules.approvers(w.level, get_warning_settings().approval_roles)
    if w.status != "submitted" or who.role not in approvers:
        return None
    return service.approval_conflict(who, w)


def _display_names(session: Session, usernames: list[str | None]) -> dict[str, str]:
    """username → display name for the people named on a page (the username shows on hover)."""
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    rows = session.execute(
        select(User.username, User.display_name).where(User.username.in_(wanted))
    )
    return {name: shown for name, shown in rows if shown}


def _named(session: Session, scope: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """The protected targets and enterprises the figures count, by name (a sample of each, as
    targeting keeps): counts alone do not tell a commander which kindergarten to call."""
    if not scope:
        return {"targets": [], "enterprises": []}
    targets = session.scalars(
        select(ProtectedTarget).where(ProtectedTarget.id.in_(scope.get("target_ids") or []))
    ).all()
    ents = session.scalars(
        select(Enterprise).where(Enterprise.id.in_(scope.get("enterprise_ids") or []))
    ).all()
    return {
        "targets": sorted(
            (
                {
                    "name": t.name,
                    "type": t.target_type,
                    "capacity": t.capacity or 0,
                    "lon": t.lon,
                    "lat": t.lat,
                }
                for t in targets
            ),
            key=lambda r: -r["capacity"],
        ),
        "enterprises": sorted(
            (
                {"name": e.name, "hazchem": bool(e.is_hazchem), "lon": e.lon, "lat": e.lat}
                for e in ents
            ),
            key=lambda r: (not r["hazchem"], r["name"]),
        ),
    }


def division_names(session: Session) -> dict[str, str]:
    """Division code → name, for the areas and the divisions a warning reaches."""
    return {code: name for code, name in session.execute(select(Division.code, Division.name))}


def detail_context(session: Session, who: Principal, w: Warning) -> dict[str, Any]:
    """The workflow panel: who is covered (live while a draft), delivery status and coverage
    once issued, the steps the caller may take, the successor, the people by name."""
    live = w.kind == "local" and w.status in ("draft", "submitted", "approved")
    reach = service.compute_targeting(session, w) if live else (w.targeting or None)
    cov = service.coverage_of(session, w) if w.issued_at else None
    successor = session.scalar(
        select(Warning).where(Warning.previous_id == w.id).order_by(Warning.id.desc())
    )
    can_retry = (
        bool(cov)
        and any(d["status"] == "failed" for d in cov["deliveries"])
        and "retry" in allowed_actions(who, w, retry=True)
    )
    return {
        "w": w,
        "targeting": reach,
        "live": live,
        "cov": cov,
        "can_retry": can_retry,
        "duty_note": _duty_note(who, w),
        "actions": allowed_actions(who, w),
        "area": area_of(w),
        "successor": successor,
        "named": _named(session, reach),
        "division_names": division_names(session),
        "people": _display_names(session, [w.created_by, w.approved_by, w.issued_by]),
    }


def page_context(session: Session, who: Principal) -> dict[str, Any]:
    """The label tables the list cells and the panel read (each shown with ``lab``)."""
    return {
        "W_LEVELS": LEVELS,
        "W_STATUSES": rules.STATUSES,
        "W_EVENTS": EVENT_TYPES,
        "W_MSG_TYPES": rules.MSG_TYPES,
        "W_CHANNELS": channels.CHANNEL_NAMES,
        "W_DELIVERY": channels.DELIVERY_STATUSES,
        "W_TARGET_TYPES": TARGET_TYPES,
        "can_draft": who.role in rules.DRAFTER_ROLES,
        "can_import_cap": who.role in service.IMPORT_ROLES,
        "local_time": lambda v: (
            "—" if v is None else service._aware(v).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")  # noqa: SLF001
        ),
    }


# ---------------------------------------------------------------- the kind

WARNING = Kind(
    name="warning",  # the audit's object_type (service.OBJECT)
    plural="warnings",
    prefix="",
    model=Warning,
    schema=WarningDraft,
    zh="预警",
    en="warnings",
    workflow_only=True,
    columns=(
        "id",
        "headline",
        "level",
        "event_type",
        "status",
        "msg_type",
        "kind",
        "division_code",
        "sender_name",
        "sent",
        "effective",
        "expires",
        "identifier",
        "created_by",
        "created_at",
    ),
    list_columns=(
        "id",
        "level",
        "headline",
        "event_type",
        "status",
        "msg_type",
        "kind",
        "division_code",
        "sent",
    ),
    labels={
        **LABELS,
        "id": ("编号", "ID"),
        "status": ("状态", "status"),
        "msg_type": ("消息类型", "message type"),
        "kind": ("来源", "source"),
        "sender_name": ("发布单位", "sender"),
        "sent": ("发布时间", "sent"),
        "identifier": ("CAP 标识", "CAP identifier"),
        "created_by": ("起草人", "drafted by"),
        "created_at": ("起草时间", "drafted"),
    },
    choices={
        "level": LEVELS,
        "status": rules.STATUSES,
        "event_type": EVENT_TYPES,
        "msg_type": rules.MSG_TYPES,
        "kind": rules.SOURCES,
    },
    exact_filters=("status", "level", "event_type", "msg_type", "kind"),
    search=("headline", "headline_en", "identifier", "sender_name"),
    sortable=("id", "level", "headline", "event_type", "status", "sent", "expires", "created_at"),
    default_sort="id",
    # Newest first, as the console always listed them; a level sorts by severity.
    default_order=(Warning.id.desc(),),
    sort_expressions={
        "level": case({lv: i for i, lv in enumerate(cap.LEVELS)}, value=Warning.level, else_=-1)
    },
    writers=rules.DRAFTER_ROLES,  # who may draft (POST /api/v1/warnings, the capability's own)
    shape=service.SHAPE,
    map_props=("id", "headline", "level", "status", "event_type"),
    shape_of=area_of,
    out_schema=WarningOut,
    as_answer=service.to_dict,
    list_template="warnings/list_intro.html",
    cell_template="warnings/cells.html",
    detail_template="warnings/detail_panel.html",
    detail_context=detail_context,
    page_context=page_context,
    example={
        "event_type": "rainstorm",
        "level": "yellow",
        "headline": "芝罘区暴雨黄色预警（样例）",
        "description": "未来 6 小时芝罘区降雨量将达 50 毫米以上。",
        "instruction": "远离低洼地带，注意防范城市内涝。",
        "areas": [
            {
                "desc": "芝罘区北部",
                "polygons": [
                    [[121.365, 37.46], [121.385, 37.46], [121.385, 37.53], [121.365, 37.46]]
                ],
            }
        ],
        "division_code": "370602",
    },
)

KINDS: tuple[Kind, ...] = (WARNING,)
