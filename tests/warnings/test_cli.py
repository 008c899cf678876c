"""`safecity warnings import|dispatch|export` against the test databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from safecity.cli import app
from safecity.core.db import reset_engine, session_scope
from safecity.warnings import cap
from safecity.warnings.models import Warning

DATA = Path(__file__).parent / "data"
runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, engine: Any, city: dict, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    reset_engine()
    yield
    reset_engine()


def test_import_feed_dispatch_and_export(cli_env: Any, tmp_path: Path) -> None:
    res = runner.invoke(app, ["warnings", "import", str(DATA / "cap11_met.xml")])
    assert res.exit_code == 0, res.output
    assert '"created": [1]' in res.output
    again = runner.invoke(app, ["warnings", "import", str(DATA / "cap11_met.xml")])
    assert '"unchanged": ["SD-MET-20261123-0001"]' in again.output
    evil = tmp_path / "evil.xml"
    evil.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&x;</alert>'
    )
    res = runner.invoke(app, ["warnings", "import", str(evil)])
    assert res.exit_code == 1 and "DOCTYPE" in res.output
    with session_scope() as s:
        assert len(list(s.scalars(select(Warning)))) == 1
    res = runner.invoke(app, ["warnings", "dispatch"])
    assert res.exit_code == 0 and '"expired": 0' in res.output
    out = tmp_path / "out.xml"
    res = runner.invoke(app, ["warnings", "export", "1", str(out)])
    assert res.exit_code == 1  # a CAP 1.1 import keeps no 1.2 message of ours
    with session_scope() as s:
        w = s.get(Warning, 1)
        w.cap_xml = cap.to_xml(cap.parse((DATA / "cap11_met.xml").read_bytes())[0]).decode()
    res = runner.invoke(app, ["warnings", "export", "1", str(out)])
    assert res.exit_code == 0 and cap.validate_xml(out.read_bytes()) == []
