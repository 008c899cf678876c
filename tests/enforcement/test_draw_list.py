"""The 双随机 draws pages list plain rows: the same draws as the service (scope, order, figures)
without loading each draw's pools and result; the plan-row choice offers only rows of approved
plans in the caller's scope (the only ones a draw accepts). SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from safecity.enforcement import selection
from safecity.enforcement.models import Draw, Plan, PlanRow
from tests.conftest import NOW, principal, web_login


@contextmanager
def draws_loaded() -> Iterator[list[int]]:
    """Ids of the Draw objects the ORM builds meanwhile."""
    seen: list[int] = []

    def loaded(target: Draw, _context: object) -> None:
        seen.append(target.id)

    event.listen(Draw, "load", loaded)
    try:
        yield seen
    finally:
        event.remove(Draw, "load", loaded)


def _plan(session, division: str, year: int, status: str, item: str) -> int:  # type: ignore[no-untyped-def]
    plan = Plan(
        division_code=division,
        year=year,
        title=item,
        status=status,
        created_by="admin",
        created_at=NOW,
    )
    session.add(plan)
    session.flush()
    row = PlanRow(plan_id=plan.id, seq=1, item=item, scope_kind="random", random_share="1/10")
    session.add(row)
    session.flush()
    return row.id


def test_draws_list_reads_rows_not_objects(client, session, enf, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    zhifu, laishan = principal(session, "zhifu"), principal(session, "laishan")
    ran = selection.create_draw(session, zhifu, {"share": "1", "title": "芝罘全量抽查"}, NOW)
    selection.run_draw(session, zhifu, ran.id, NOW)
    selection.publish_draw(session, zhifu, ran.id, NOW)
    waiting = selection.create_draw(session, zhifu, {"share": "1/2", "title": "芝罘半数抽查"}, NOW)
    other = selection.create_draw(session, laishan, {"share": "1", "title": "莱山抽查"}, NOW)
    ok_row = _plan(session, "370602", 2026, "approved", "芝罘已批准计划行")
    _plan(session, "370602", 2027, "draft", "芝罘草稿计划行")
    _plan(session, "370613", 2026, "approved", "莱山已批准计划行")
    session.commit()
    expected = [d.id for d in selection.list_draws(session, zhifu)]
    assert set(expected) == {ran.id, waiting.id} and other.id not in expected
    session.expire_all()

    assert web_login(client, "zhifu").status_code == 303
    with draws_loaded() as seen:
        page = client.get("/enforcement/draws")
    assert page.status_code == 200
    assert seen == []  # not one draw's pools and result read to list it
    shown = [int(i) for i in re.findall(r'<tr data-id="(\d+)">', page.text)]
    assert shown == expected
    row = page.text.split(f'<tr data-id="{ran.id}">', 1)[1].split("</tr>", 1)[0]
    assert "芝罘全量抽查" in row and "370602" in row and "已公示" in row
    assert f"<td>{ran.n_targets}</td><td>{ran.n_selected}</td>" in row
    assert ran.n_selected > 0
    # the plan rows offered: approved and in scope only
    options = re.findall(r'<option value="(\d+)">([^<]*)</option>', page.text)
    assert [(int(v), text) for v, text in options] == [(ok_row, "芝罘已批准计划行 · 1/10")]

    # the public results: published draws only, as rows too
    client.cookies.clear()
    with draws_loaded() as seen:
        public = client.get("/public/enforcement/draws")
    assert public.status_code == 200 and seen == []
    assert "芝罘全量抽查" in public.text and "芝罘半数抽查" not in public.text
    assert "莱山抽查" not in public.text
