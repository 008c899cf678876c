"""Plans (应急预案) in the web UI: the create/edit form with errors on the row they concern (422,
nothing written), versions (editing an approved plan makes a draft v+1, the old one stays in
force and readable until the new one is approved, then it is retired; 409 on editing a retired
version or a second revision), export and import as JSON and XLSX. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from safecity.core.errors import FieldError
from safecity.response import plan_form, plan_io
from safecity.response.models import Plan
from tests.conftest import csrf_of, web_login
from tests.response.conftest import PLAN


def items_of(values: dict[str, Any]) -> list[tuple[str, Any]]:
    """The form as a browser submits it: every input, lists as repeated names."""
    out: list[tuple[str, Any]] = []
    for k, v in values.items():
        if k in ("group_rows", "task_rows", "advanced", "triggers_json"):
            continue
        if isinstance(v, list):
            out += [(k, x) for x in v]
        else:
            out.append((k, v))
    for i in range(values["group_rows"]):
        for f in ("key", "name", "department", "contact", "members"):
            out.append((f"g-{i}-{f}", values.get(f"g-{i}-{f}", "")))
    for i in range(values["task_rows"]):
        for f in ("group", "title", "due"):
            out.append((f"k-{i}-{f}", values.get(f"k-{i}-{f}", "")))
    return out


def test_form_rows_give_back_the_plan() -> None:
    values = plan_form.values_of(PLAN, {})
    assert values["advanced"] is False and values["t-I-0-field"] == "deaths"
    parsed = plan_form.parse(plan_form.form_values(items_of(values)))
    assert parsed.errors == []
    assert parsed.data["triggers"] == PLAN["triggers"]
    assert parsed.data["groups"] == [{"contact": "", **g} for g in PLAN["groups"]]
    assert parsed.data["tasks"] == PLAN["tasks"]
    assert parsed.group_rows == [0, 1] and parsed.task_rows == [0, 1]


def test_nested_rules_are_offered_as_json_and_errors_land_on_their_row() -> None:
    nested = {
        "levels": [
            {
                "level": "I",
                "when": {"any": [{"all": [{"field": "deaths", "op": "gte", "value": 3}]}]},
            }
        ]
    }
    values = plan_form.values_of({**PLAN, "triggers": nested}, {})
    assert values["advanced"] is True and json.loads(values["triggers_json"]) == nested
    # a blank second task row: the error of form row 2 is still placed on row 2
    form = plan_form.form_values(
        [("name", "x"), ("k-0-title", "搜救"), ("k-0-group", "rescue"), ("k-1-title", "")]
        + [("k-2-title", "y"), ("k-2-group", "rescue"), ("t-II-0-field", "grade")]
        + [("t-II-0-op", "gte"), ("t-II-0-value", "serious")]
    )
    parsed = plan_form.parse(form)
    assert parsed.task_rows == [0, 2] and parsed.trigger_levels == ["II"]
    placed = plan_form.place(
        [
            FieldError("tasks.1.title", "任务内容：太短", "task: too short"),
            FieldError("tasks.0.levels", "响应级别：必填", "levels: required"),
            FieldError("triggers.levels[0].when.value", "未知等级", "unknown grade"),
            FieldError("name", "预案名称：太短", "name: too short"),
        ],
        parsed,
    )
    assert sorted(placed) == ["k-0-levels", "k-2-title", "name", "t-II"]
    bad = plan_form.parse(plan_form.form_values([("triggers_json", "{oops")]))
    assert bad.errors[0].field == "triggers" and "JSON" in bad.errors[0].zh


def _form(**over: Any) -> dict[str, Any]:
    values = plan_form.values_of(PLAN, {})
    data: dict[str, list[Any]] = {}
    for k, v in items_of(values):
        data.setdefault(k, []).append(v)
    for k, v in over.items():
        data[k] = v if isinstance(v, list) else [v]
    return data


def _post(client, path: str, data: dict[str, Any]):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/response/plans").text)
    return client.post(path, data={**data, "csrf": [token]}, follow_redirects=False)


def _count(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(Plan)) or 0


def test_plan_form_versions_and_exchange(rs_city, client, session, frozen_clock) -> None:
    web_login(client, "commander")
    page = client.get("/response/plans/new")
    assert page.status_code == 200 and 'id="plan-form"' in page.text
    # bad fields: 422 in Chinese on their rows, nothing written
    bad = _post(
        client,
        "/response/plans/new",
        _form(**{"name": "", "types": [], "k-0-levels": [], "k-1-title": "x"}),
    )
    assert bad.status_code == 422
    assert '<div class="field-error" data-field="name">预案名称：' in bad.text
    assert 'data-field="types">适用事件类型：至少需要1项' in bad.text
    assert 'data-field="k-0-levels">响应级别：至少需要1项' in bad.text
    assert 'data-field="k-1-title">任务内容' in bad.text
    assert _count(session) == 0
    # an unknown group and an unknown member account: 422 too
    bad = _post(
        client, "/response/plans/new", _form(**{"k-1-group": "nobody", "g-0-members": "ghost"})
    )
    assert bad.status_code == 422
    assert "工作组 nobody 不存在" in bad.text and "成员账号 ghost 不存在" in bad.text
    assert _count(session) == 0
    made = _post(client, "/response/plans/new", _form())
    assert made.status_code == 303
    pid = int(made.headers["location"].rsplit("/", 1)[1])
    # a draft is edited in place
    edited = _post(
        client, f"/response/plans/{pid}/edit", _form(name="烟台市危化品事故应急预案（修订稿）")
    )
    assert edited.headers["location"] == f"/response/plans/{pid}"
    session.expire_all()
    v1 = session.get(Plan, pid)
    assert (v1.version, v1.status, v1.name) == (1, "draft", "烟台市危化品事故应急预案（修订稿）")
    assert _post(client, f"/response/plans/{pid}/approve", {}).status_code == 303
    assert 'id="new-version-hint"' in client.get(f"/response/plans/{pid}/edit").text
    # editing the approved plan: a new draft v2; v1 stays approved and readable
    new = _post(client, f"/response/plans/{pid}/edit", _form(**{"k-0-due": "20"}))
    assert new.status_code == 303
    pid2 = int(new.headers["location"].rsplit("/", 1)[1])
    assert pid2 != pid
    session.expire_all()
    v1, v2 = session.get(Plan, pid), session.get(Plan, pid2)
    assert (v1.status, v1.tasks[0]["due_minutes"]) == ("approved", 30)
    assert (v2.version, v2.status, v2.previous_id, v2.tasks[0]["due_minutes"]) == (
        2,
        "draft",
        pid,
        20,
    )
    old_page = client.get(f"/response/plans/{pid}").text
    assert 'id="next-version"' in old_page and 'id="plan-edit"' not in old_page
    # a second revision of v1 while v2 is drafted: 409, nothing written
    assert client.get(f"/response/plans/{pid}/edit").status_code == 409
    again = _post(client, f"/response/plans/{pid}/edit", _form())
    assert again.status_code == 409 and "已有修订中的新版本 v2" in again.text
    assert _count(session) == 2
    # approving v2 retires v1, which stays readable; editing it is 409
    assert _post(client, f"/response/plans/{pid2}/approve", {}).status_code == 303
    session.expire_all()
    assert [session.get(Plan, i).status for i in (pid, pid2)] == ["retired", "approved"]
    old_page = client.get(f"/response/plans/{pid}")
    assert old_page.status_code == 200 and 'id="old-version"' in old_page.text
    assert old_page.text.count('<li data-id="') == 2  # both versions listed
    assert _post(client, f"/response/plans/{pid}/edit", _form()).status_code == 409
    # approving twice: 409
    assert (
        client.post(
            f"/response/plans/{pid2}/approve",
            data={"csrf": csrf_of(client.get("/response/plans").text)},
            follow_redirects=False,
        ).status_code
        == 409
    )
    # export and import: JSON and XLSX give back the same plan as a new draft
    for fmt in ("json", "xlsx"):
        out = client.get(f"/response/plans/{pid2}/export.{fmt}")
        assert out.status_code == 200 and "attachment" in out.headers["content-disposition"]
        token = csrf_of(client.get("/response/plans").text)
        imported = client.post(
            "/response/plans/import",
            data={"csrf": token},
            files={"file": (f"plan.{fmt}", out.content)},
            follow_redirects=False,
        )
        assert imported.status_code == 303, imported.text
        new_id = int(imported.headers["location"].rsplit("/", 1)[1])
        session.expire_all()
        copy, source = session.get(Plan, new_id), session.get(Plan, pid2)
        assert (copy.status, copy.version, copy.previous_id) == ("draft", 1, None)
        for k in ("name", "tier", "types", "triggers", "groups", "tasks", "division_code"):
            assert getattr(copy, k) == getattr(source, k), (fmt, k)
    before = _count(session)
    token = csrf_of(client.get("/response/plans").text)
    broken = client.post(
        "/response/plans/import",
        data={"csrf": token},
        files={"file": ("plan.json", b'{"plan": {"name": "x", "tier": "nope"}}')},
    )
    assert broken.status_code == 422 and "预案层级" in broken.text
    junk = client.post(
        "/response/plans/import",
        data={"csrf": token},
        files={"file": ("plan.xlsx", b"not a workbook")},
    )
    assert junk.status_code == 422 and "不是有效的 Excel" in junk.text
    assert _count(session) == before
    # a district officer reads the city's plan but may not edit it
    client.cookies.clear()
    web_login(client, "zhifu")
    assert 'id="plan-edit"' not in client.get(f"/response/plans/{pid2}").text
    assert _post(client, f"/response/plans/{pid2}/edit", _form()).status_code == 403


def test_xlsx_rows_round_trip() -> None:
    plan = {**PLAN, "enterprise_id": None, "owner_kind": "department", "version": 3}
    rows = [["部分"]] + [
        list(r)
        for r in (
            [plan_io.SECTION_PLAN, k, plan[k] if plan[k] is not None else ""]
            for k in plan_io.FIELDS
        )
    ]
    back = plan_io.from_rows(rows)
    assert back["name"] == PLAN["name"] and back["enterprise_id"] is None
    full = plan_io.from_xlsx(plan_io.to_xlsx(plan))
    assert full == plan_io.payload(plan)
