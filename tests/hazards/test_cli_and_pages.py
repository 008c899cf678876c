"""`safecity jobs run-once`, and the checklist / task pages end to end."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from safecity.cli import app
from safecity.core.db import reset_engine
from safecity.hazards.models import HiddenDanger, InspectionTask
from tests.conftest import csrf_of
from tests.factories import NOW
from tests.hazards.helpers import registered
from tests.hazards.helpers import staff_login as web_login


def test_jobs_run_once(hz_city, database_url, session, monkeypatch) -> None:
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    reset_engine()
    hd_id = registered(session, hz_city, NOW - timedelta(days=4))
    runner = CliRunner()
    res = runner.invoke(app, ["jobs", "run-once", "--at", NOW.isoformat()])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)["hazards"]
    assert out["escalation"]["steps"] == {"remind": 0, "overdue": 1, "department": 1, "division": 0}
    again = json.loads(runner.invoke(app, ["jobs", "run-once", "--at", NOW.isoformat()]).output)
    assert again["hazards"]["escalation"]["checked"] == 0
    session.expire_all()
    assert session.get(HiddenDanger, hd_id).escalation_level == 3
    assert runner.invoke(app, ["jobs", "run-once", "--at", "yesterday"]).exit_code == 2
    reset_engine()


def test_checklist_plan_and_task_pages(hz_city, client, session) -> None:
    csrf = web_login(client, "zhifu")
    page = client.get("/hazards/checklists")
    assert page.status_code == 200 and 'id="new-checklist"' in page.text
    bad = client.post("/hazards/checklists", data={"csrf": csrf, "name": "月检", "items": ""})
    assert bad.status_code == 422
    ok = client.post(
        "/hazards/checklists",
        follow_redirects=False,
        data={
            "csrf": csrf,
            "name": "月度安全检查表",
            "items": "消防通道畅通 | GB 50016\n可燃气体报警器有效 | GB/T 50493 | 重大\n",
        },
    )
    assert ok.status_code == 303
    checklist_id = re.search(
        r"<td>(\d+)</td><td>月度安全检查表", client.get("/hazards/checklists").text
    ).group(1)
    plan = client.post(
        "/hazards/plans",
        follow_redirects=False,
        data={
            "csrf": csrf,
            "name": "芝罘区企业自查",
            "checklist_id": checklist_id,
            "division_code": "370602",
            "frequency": "monthly",
            "assignee_kind": "enterprise",
            "start_date": "2026-01-01",
            "risk_based": "1",
        },
    )
    assert plan.status_code == 303, plan.text
    client.cookies.clear()
    web_login(client, "enterprise")
    tasks = client.get("/hazards/tasks")
    own = session.scalar(
        select(InspectionTask).where(InspectionTask.enterprise_id == hz_city["own_enterprise_id"])
    )
    assert f"/hazards/tasks/{own.id}" in tasks.text
    form = client.get(f"/hazards/tasks/{own.id}").text
    items = re.findall(r'name="item_(\d+)"', form)
    assert len(set(items)) == 2
    csrf = csrf_of(form)
    incomplete = client.post(
        f"/hazards/tasks/{own.id}", data={"csrf": csrf, f"item_{items[0]}": "passed"}
    )
    assert incomplete.status_code == 422
    done = client.post(
        f"/hazards/tasks/{own.id}",
        follow_redirects=False,
        data={
            "csrf": csrf,
            f"item_{items[0]}": "passed",
            f"item_{items[-1]}": "failed",
            f"note_{items[-1]}": "报警器无响应",
        },
    )
    assert done.status_code == 303
    shown = client.get(f"/hazards/tasks/{own.id}").text
    hd_id = re.search(r'href="/hazards/(\d+)"', shown).group(1)
    assert session.get(HiddenDanger, int(hd_id)).description == "报警器无响应"
