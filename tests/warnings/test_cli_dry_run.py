"""`safecity warnings import --dry-run` checks and reports like a real import, then keeps nothing
and announces nothing: warning events are published only after the transaction commits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from safecity.cli import app
from safecity.core import events
from safecity.core.db import reset_engine, session_scope
from safecity.core.models import AuditEntry
from safecity.warnings.models import Warning

DATA = Path(__file__).parent / "data"
runner = CliRunner()


@pytest.fixture
def heard(database_url: str, engine: Any, city: dict, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    reset_engine()
    got: list[events.ObjectChanged] = []
    events.subscribe(events.ObjectChanged, got.append)
    yield got
    events._handlers[events.ObjectChanged].remove(got.append)
    reset_engine()


def _counts() -> tuple[int, int]:
    with session_scope() as s:
        return (
            s.scalar(select(func.count()).select_from(Warning)) or 0,
            s.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


def test_dry_run_publishes_and_writes_nothing(heard: list) -> None:
    before = _counts()
    res = runner.invoke(app, ["warnings", "import", "--dry-run", str(DATA / "cap11_met.xml")])
    assert res.exit_code == 0, res.output
    assert '"created": [1]' in res.output and '"dry_run": true' in res.output
    assert heard == [] and _counts() == before
    real = runner.invoke(app, ["warnings", "import", str(DATA / "cap11_met.xml")])
    assert real.exit_code == 0, real.output
    assert [e.object_type for e in heard] == ["warning"]  # a real import is still announced
    assert _counts()[0] == before[0] + 1


def test_rolled_back_session_drops_its_events(heard: list) -> None:
    with session_scope() as s:
        events.publish_after_commit(s, events.ObjectChanged(None, "warning", "9", "x", None))
        assert heard == []  # not before the commit
        s.rollback()
    assert heard == []
    with session_scope() as s:
        events.publish_after_commit(s, events.ObjectChanged(None, "warning", "8", "x", None))
    assert [e.object_id for e in heard] == ["8"]
