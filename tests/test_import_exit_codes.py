"""Every import command tells a script whether the file was clean: exit 0 for a clean file, 1 for
a file with errors, with --dry-run and --valid-only as well (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from safecity.cli import app
from safecity.core import clock
from safecity.core.db import reset_engine, session_scope
from safecity.registry.models import Enterprise
from safecity.warnings.models import Warning
from tests.conftest import NOW
from tests.factories import uscc

runner = CliRunner()
HEADER = "名称,统一社会信用代码,行业代码,行政区划代码\n"
CAP12 = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>SD-MET-7</identifier>
<sender>sdmb@cma.gov.cn</sender><sent>2026-11-23T16:00:00+08:00</sent><status>{status}</status>
<msgType>Alert</msgType><scope>Public</scope><info><language>zh-CN</language>
<category>Met</category><event>大风</event><urgency>Expected</urgency><severity>Severe</severity>
<certainty>Likely</certainty><headline>大风橙色预警</headline><area><areaDesc>烟台市沿海</areaDesc>
<geocode><valueName>GB/T2260</valueName><value>370600</value></geocode></area></info></alert>"""


@pytest.fixture
def cli_env(
    database_url: str, engine: Any, city: dict, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    reset_engine()
    yield
    reset_engine()


def count(model: Any) -> int:
    with session_scope() as s:
        return s.scalar(select(func.count(model.id))) or 0


def csv_file(tmp_path: Path, name: str, *rows: str) -> str:
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return str(path)


def test_registry_import_exit_code_says_whether_the_file_is_clean(
    cli_env: None, tmp_path: Path
) -> None:
    good_row = f"好企业有限公司,{uscc('370602', 401)},26,370602"
    good = csv_file(tmp_path, "good.csv", good_row)
    bad = csv_file(
        tmp_path,
        "bad.csv",
        f"另一家有限公司,{uscc('370602', 402)},26,370602",
        "坏企业有限公司,91370602MA00000000,26,370602",
    )
    before = count(Enterprise)
    for flags in (["--dry-run"], [], ["--valid-only"], ["--dry-run", "--valid-only"]):
        res = runner.invoke(app, ["import", "enterprises", bad, *flags])
        assert res.exit_code == 1, (flags, res.output)
        assert "校验码" in res.output or '"error_count": 1' in res.output
    assert count(Enterprise) == before + 1  # --valid-only wrote the good row of the bad file
    dry = runner.invoke(app, ["import", "enterprises", good, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert '"created": 1' in dry.output and count(Enterprise) == before + 1
    real = runner.invoke(app, ["import", "enterprises", good])
    assert real.exit_code == 0, real.output
    assert count(Enterprise) == before + 2


def test_warnings_import_exit_code_and_dry_run(cli_env: None, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_text(CAP12.format(status="Actual"), encoding="utf-8")
    bad.write_text(CAP12.format(status="Real"), encoding="utf-8")
    for flags in (["--dry-run"], []):
        res = runner.invoke(app, ["warnings", "import", str(bad), *flags])
        assert res.exit_code == 1 and "status" in res.output, (flags, res.output)
    dry = runner.invoke(app, ["warnings", "import", str(good), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert '"dry_run": true' in dry.stdout and '"created": [1]' in dry.stdout
    assert count(Warning) == 0
    real = runner.invoke(app, ["warnings", "import", str(good)])
    assert real.exit_code == 0 and count(Warning) == 1, real.output
