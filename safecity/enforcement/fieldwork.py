"""An inspection in the field: checklist answers, findings (into the hidden-danger loop or a
case), signatures, and the finished record with its documents."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from safecity.core.errors import Conflict, FieldError, Forbidden, Invalid
from safecity.core.scope import Principal
from safecity.enforcement import signatures
from safecity.enforcement.casework import new_case
from safecity.enforcement.common import (
    FIELD,
    FINDING_KINDS,
    RESULTS,
    audit_log,
    bad,
    checked_int,
    clean_text,
    iso,
    row_dict,
    rules_errors,
    table,
)
from safecity.enforcement.inspecting import findings_of, get_inspection
from safecity.enforcement.issuing import issue_document, local_text, office_name
from safecity.enforcement.models import Finding, Inspection, Inspector
from safecity.enforcement.roster import inspector_of, inspector_rows
from safecity.hazards import checks as hd_checks
from safecity.hazards import service as hd_service
from safecity.hazards import uploads
from safecity.registry.models import Enterprise


def _field_member(session: Session, who: Principal, i: Inspection) -> None:
    """Only the assigned inspectors (or an administrator) fill in the record."""
    if who.role == "admin":
        return
    me = inspector_of(session, who) if who.role in FIELD else None
    if me is None or me.id not in (i.inspector_ids or []):
        raise Forbidden(
            "只有本次检查的执法人员可以填写记录", "only the assigned inspectors record it"
        )


def _open_inspection(session: Session, who: Principal, inspection_id: int) -> Inspection:
    i = get_inspection(session, who, inspection_id, for_update=True)
    _field_member(session, who, i)
    if i.status == "done":
        raise Conflict("检查已完成，记录不能再修改", "the inspection is finished; it cannot change")
    return i


def _point(data: dict[str, Any]) -> tuple[float | None, float | None]:
    lon, lat = data.get("lon"), data.get("lat")
    if lon in (None, "") or lat in (None, ""):
        return None, None
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise bad("lon", "位置：经纬度应为数字", "location: numbers expected") from None
    if not (73 <= x <= 136 and 3 <= y <= 54):
        raise bad("lon", "位置：不在中国境内", "location: outside China")
    return x, y


def save_results(
    session: Session, who: Principal, inspection_id: int, data: dict[str, Any], now: datetime
) -> Inspection:
    """Checklist answers (partial saves allowed) and where the inspectors stand."""
    i = _open_inspection(session, who, inspection_id)
    before = row_dict(i)
    if data.get("checklist_id"):
        i.checklist_id = hd_checks.get_checklist(
            session,
            who,
            checked_int(data["checklist_id"], "checklist_id", "检查表", "checklist", 1),
        ).id
    items = (
        {it.id: it for it in hd_checks.items_of(session, i.checklist_id)} if i.checklist_id else {}
    )
    results = dict(i.results or {})
    raw = data.get("results") or {}
    if not isinstance(raw, dict):
        raise bad("results", "检查结果：格式应为对象", "results: must be an object")
    errors = []
    for key, value in raw.items():
        try:
            item_id = int(key)
        except ValueError:
            item_id = -1
        value = value if isinstance(value, dict) else {"result": value}
        if item_id not in items:
            errors.append(
                FieldError(
                    f"results.{key}", "检查项：不在本检查表中", "item: not on this checklist"
                )
            )
        elif value.get("result") not in RESULTS:
            errors.append(
                FieldError(
                    f"results.{key}",
                    f"第{items[item_id].seq}项：请选择合格/不合格/不适用",
                    "choose passed/failed/n/a",
                )
            )
        else:
            results[str(item_id)] = {
                "result": value["result"],
                "note": clean_text(value.get("note"), f"results.{key}.note", 500, "说明", "note"),
            }
    if errors:
        raise Invalid(errors)
    lon, lat = _point(data)
    if lon is not None:
        i.lon, i.lat = lon, lat
    i.results = results
    if i.status == "planned":
        i.status, i.started_at = "in_progress", now
    i.updated_at = now
    session.flush()
    audit_log(session, who, "record", "inspection", i.id, before, row_dict(i), now)
    return i


def add_finding(
    session: Session,
    who: Principal,
    inspection_id: int,
    data: dict[str, Any],
    photos: list[bytes],
    now: datetime,
) -> Finding:
    """A finding with photos and place: a hidden danger goes into the hazards loop, a
    violation opens a case (clue); both link back here."""
    i = _open_inspection(session, who, inspection_id)
    kind = data.get("kind")
    if kind not in FINDING_KINDS:
        raise bad("kind", "问题性质：应为事故隐患或违法行为", "kind: hidden_danger or violation")
    text = clean_text(data.get("description"), "description", 2000, "问题描述", "description", True)
    if len(text) < 2:
        raise bad("description", "问题描述：长度不能少于2", "description: at least 2 characters")
    violation = circumstance = None
    if kind == "violation":
        violation, circumstance = (
            str(data.get("violation") or ""),
            str(data.get("circumstance") or ""),
        )
        with rules_errors():
            table().propose(violation, circumstance)
    item_id = data.get("item_id") or None
    if item_id is not None:
        item_id = checked_int(item_id, "item_id", "检查项", "item", 1)
    lon, lat = _point(data)
    if lon is None:
        lon, lat = i.lon, i.lat
    names = uploads.save_all(photos, "photos") if photos else []
    f = Finding(
        inspection_id=i.id,
        item_id=item_id,
        kind=kind,
        description=text,
        violation=violation,
        circumstance=circumstance,
        photos=names,
        lon=lon,
        lat=lat,
        created_by=who.username,
        created_at=now,
    )
    session.add(f)
    session.flush()
    ent = session.get(Enterprise, i.enterprise_id)
    assert ent is not None
    if kind == "hidden_danger":
        hd = hd_service.report(
            session,
            who,
            {
                "title": text[:200],
                "description": text,
                "source": "enforcement",
                "enterprise_id": ent.id,
                "lon": lon,
                "lat": lat,
                "suggested_grade": data.get("suggested_grade") or None,
            },
            names,
            now,
        )
        f.hidden_danger_id = hd.id
    else:
        case = new_case(
            session,
            who,
            ent,
            violation or "",
            circumstance or "",
            text,
            now,
            inspection_id=i.id,
            finding_id=f.id,
        )
        f.case_id = case.id
    if i.status == "planned":
        i.status, i.started_at = "in_progress", now
    i.updated_at = now
    session.flush()
    audit_log(session, who, "finding", "inspection", i.id, None, row_dict(f), now)
    return f


def finish_inspection(
    session: Session, who: Principal, inspection_id: int, data: dict[str, Any], now: datetime
) -> Inspection:
    """Sign and close the record; the 现场检查记录 is issued, and a 责令限期整改指令书 when
    hidden dangers were found."""
    i = _open_inspection(session, who, inspection_id)
    before = row_dict(i)
    party = clean_text(
        data.get("party_present"), "party_present", 64, "现场负责人", "party present", True
    )
    summary = clean_text(data.get("summary"), "summary", 2000, "检查情况", "summary") or i.summary
    days = checked_int(
        data.get("rectify_days", 30), "rectify_days", "整改期限天数", "days to rectify", 1, 180
    )
    items = (
        {it.id: it for it in hd_checks.items_of(session, i.checklist_id)} if i.checklist_id else {}
    )
    missing = [it.seq for it in items.values() if str(it.id) not in (i.results or {})]
    if missing:
        raise bad(
            "results",
            f"检查表第 {missing[0]} 项尚未填写",
            f"checklist item {missing[0]} is not answered",
        )
    team = inspector_rows(session, i.inspector_ids)
    drawn = _signatures(data.get("signatures"), team, party)
    i.status, i.finished_at, i.party_present, i.summary = "done", now, party, summary
    i.started_at = i.started_at or now
    i.signatures = {"inspectors": [t.name for t in team], "party": party, "at": iso(now)}
    if drawn is not None:
        stored = {key: signatures.save(png) for key, png in drawn.items()}
        i.signatures["images"] = [
            {"key": key, "name": name, "png": stored[key][0], "sha256": stored[key][1]}
            for key, name in [*((str(t.id), t.name) for t in team), ("party", party)]
        ]
    i.updated_at = now
    session.flush()
    ent = session.get(Enterprise, i.enterprise_id)
    assert ent is not None
    found = findings_of(session, i.id)
    values = inspection_values(session, i, ent, team, found, items, now, days)
    signed = [
        ["检查人员" if x["key"] != "party" else "被检查单位现场负责人", x["name"], x["png"]]
        for x in signature_images(i)
    ]
    issue_document(
        session, who, "inspection_record", values, ent, now, inspection_id=i.id, signed=signed
    )
    if any(f.kind == "hidden_danger" for f in found):
        issue_document(session, who, "rectification_order", values, ent, now, inspection_id=i.id)
    audit_log(session, who, "finish", "inspection", i.id, before, row_dict(i), now)
    return i


def _signatures(raw: Any, team: list[Inspector], party: str) -> dict[str, bytes] | None:
    """The hand-drawn signatures, when given: every inspector of the team (by pool id) and the
    enterprise's representative ("party"), each a PNG with ink — all errors at once, 422."""
    if raw is None:
        return None  # an API client whose record is signed on paper: names only
    if not isinstance(raw, dict):
        raise bad("signatures", "签名：格式无效", "signatures: must be an object")
    out: dict[str, bytes] = {}
    errors: list[FieldError] = []
    signers = [(str(t.id), f"检查人员{t.name}", f"inspector {t.name}") for t in team]
    for key, zh, en in [*signers, ("party", f"现场负责人{party}", "party representative")]:
        png, error = signatures.check(raw.get(key), f"signatures.{key}", zh, en)
        if error is not None:
            errors.append(error)
        elif png is not None:
            out[key] = png
    if errors:
        raise Invalid(errors)
    return out


def signature_images(i: Inspection) -> list[dict[str, Any]]:
    return list((i.signatures or {}).get("images") or [])


def signature_pngs(i: Inspection) -> set[str]:
    return {x["png"] for x in signature_images(i)}


def inspection_values(
    session: Session,
    i: Inspection,
    ent: Enterprise,
    team: list[Inspector],
    found: list[Finding],
    items: dict[int, Any],
    now: datetime,
    days: int,
) -> dict[str, Any]:
    results = i.results or {}
    failed = [
        f"{items[int(k)].seq}. {items[int(k)].text}（{v.get('note') or '不合格'}）"
        for k, v in results.items()
        if v.get("result") == "failed" and int(k) in items
    ]
    counts = {r: sum(1 for v in results.values() if v.get("result") == r) for r in RESULTS}
    checklist = hd_service.checklist_name(session, i.checklist_id) if i.checklist_id else None
    return {
        "enterprise": ent.name,
        "uscc": ent.uscc,
        "address": ent.address,
        "started": local_text(i.started_at),
        "finished": local_text(i.finished_at),
        "inspectors": "、".join(t.name for t in team),
        "certificates": "、".join(f"{t.name} {t.certificate_no}" for t in team),
        "basis": "《中华人民共和国安全生产法》第六十五条",
        "checklist": f"{checklist or '—'}（合格 {counts['passed']} 项，不合格 {counts['failed']} 项，不适用 {counts['na']} 项）",
        "results": i.summary or "；".join(failed) or "未发现问题",
        "findings": "；".join(f"{n}. {f.description}" for n, f in enumerate(found, 1))
        or "未发现问题",
        "party_present": i.party_present,
        "inspector_signatures": "、".join(t.name for t in team),
        "party_signature": i.party_present,
        "deadline": local_text(now + timedelta(days=days), False),
        "office": office_name(session, i.division_code),
        "issued": local_text(now, False),
    }
