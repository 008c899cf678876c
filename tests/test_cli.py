"""The `safecity` command: users, audit verification, import/export, calculations."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from safecity.cli import app
from safecity.core.db import reset_engine
from safecity.monitoring.settings import get_monitoring_settings
from tests.factories import uscc

runner = CliRunner()


@pytest.fixture
def cli_env(database_url, engine, city, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SAFECITY_DATABASE_URL", database_url)
    reset_engine()
    yield
    reset_engine()


def test_user_add_list_disable_and_audit(cli_env, session) -> None:  # type: ignore[no-untyped-def]
    res = runner.invoke(
        app,
        [
            "user",
            "add",
            "cliuser",
            "--role",
            "inspector",
            "--division",
            "370602",
            "--name",
            "执法员",
            "--password",
            "longpassword",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "cliuser" in runner.invoke(app, ["user", "list"]).output
    assert runner.invoke(app, ["user", "disable", "cliuser"]).exit_code == 0
    active = session.execute(text("SELECT active FROM users WHERE username='cliuser'")).scalar()
    assert not active
    bad = runner.invoke(
        app,
        [
            "user",
            "add",
            "x",
            "--role",
            "king",
            "--division",
            "370602",
            "--password",
            "longpassword",
        ],
    )
    assert bad.exit_code == 1 and "角色" in bad.output


def test_audit_verify_names_the_edited_entry(cli_env, session) -> None:  # type: ignore[no-untyped-def]
    for name in ("a1", "a2", "a3"):
        runner.invoke(
            app,
            [
                "user",
                "add",
                name,
                "--role",
                "inspector",
                "--division",
                "370602",
                "--password",
                "longpassword",
            ],
        )
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "3 entries" in ok.output
    row_id = session.execute(text("SELECT id FROM audit_log WHERE seq = 2")).scalar()
    session.execute(text("UPDATE audit_log SET object_id = '999' WHERE seq = 2"))
    session.commit()
    res = runner.invoke(app, ["audit", "verify"])
    assert res.exit_code == 1 and f"entry id {row_id} " in res.output


def test_import_export_round_trip(cli_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "ents.csv"
    res = runner.invoke(app, ["export", "enterprises", str(out), "--division", "370602"])
    assert res.exit_code == 0, res.output
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert "统一社会信用代码" in lines[0] and len(lines) == 1 + 3
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "名称,统一社会信用代码,行业代码,行政区划代码\n"
        f"好企业有限公司,{uscc('370602', 301)},26,370602\n"
        "坏企业有限公司,91370602MA00000000,26,370602\n",
        encoding="utf-8",
    )
    res = runner.invoke(app, ["import", "enterprises", str(bad)])
    assert res.exit_code == 1 and "校验码" in res.output
    again = runner.invoke(app, ["export", "enterprises", str(out), "--division", "370602"])
    assert again.exit_code == 0 and len(out.read_text(encoding="utf-8-sig").splitlines()) == 4
    res = runner.invoke(app, ["import", "enterprises", str(bad), "--valid-only"])
    assert res.exit_code == 1, res.output  # the good row is written, the bad one reported
    runner.invoke(app, ["export", "enterprises", str(out), "--division", "370602"])
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == 5


def test_calc_lec_prints_d_and_level() -> None:
    res = runner.invoke(app, ["calc", "lec", "--l", "3", "--e", "6", "--c", "15"])
    data = json.loads(res.output)
    assert data["D"] == 270 and data["level"]["key"] == "orange"  # 160 < 270 ≤ 320
    assert runner.invoke(app, ["calc", "lec", "--l", "4", "--e", "6", "--c", "15"]).exit_code == 2


def test_calc_hazmat_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "units.json"
    # 液氯 Q = 5 t (table 1), β = 4 (table 3); 10 t → q/Q = 2 → S = 2; α = 2.0 (≥100 people)
    # R = 2.0 × 4 × 2 = 16 → 三级 (10 ≤ R < 50)
    f.write_text(
        json.dumps(
            {
                "units": [
                    {
                        "name": "液氯储罐",
                        "kind": "storage",
                        "substances": [{"name": "液氯", "quantity_t": 10}],
                    }
                ],
                "exposed_population": 150,
            }
        ),
        encoding="utf-8",
    )
    res = runner.invoke(app, ["calc", "hazmat", str(f)])
    unit = json.loads(res.output)["units"][0]
    assert unit["S"] == 2 and unit["is_major"] and unit["R"] == 16 and unit["level"] == 3


@pytest.mark.parametrize(
    ("workers", "relay", "warned"), [(1, False, False), (2, False, True), (2, True, False)]
)
def test_serve_warns_when_several_processes_would_split_rule_state(
    monkeypatch, workers: int, relay: bool, warned: bool
) -> None:  # type: ignore[no-untyped-def]
    import uvicorn  # noqa: PLC0415 uvicorn loaded only when a server starts

    started: list[int] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: started.append(kw["workers"]))
    monkeypatch.setenv("SAFECITY_MONITORING_WARM_START", "")  # restored (unset) afterwards
    monkeypatch.delenv("SAFECITY_MONITORING_WARM_START")
    monkeypatch.setenv("SAFECITY_WEB_SETTLE_HEAP", "")  # restored (unset): tests never settle
    monkeypatch.delenv("SAFECITY_WEB_SETTLE_HEAP")
    if relay:
        monkeypatch.setenv("SAFECITY_MONITORING_HTTP_FORWARD_NATS", "true")
        monkeypatch.setenv("SAFECITY_MONITORING_NATS_TRUSTED", "true")
    get_monitoring_settings.cache_clear()
    try:
        res = runner.invoke(app, ["serve", "--workers", str(workers)])
    finally:
        get_monitoring_settings.cache_clear()
    assert res.exit_code == 0, res.output
    assert started == [workers]
    assert ("一个进程" in res.output and "own rule state" in res.output) is warned

    assert os.environ["SAFECITY_MONITORING_WARM_START"] == "true"  # sensors load at startup
    assert os.environ["SAFECITY_WEB_SETTLE_HEAP"] == "true"  # web/heap.py, served apps only


def test_demo_summary_is_a_table_of_counts(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console  # noqa: PLC0415 a console of this test's own

    from safecity import cli  # noqa: PLC0415 to swap its console

    out = Console(width=100, record=True)
    monkeypatch.setattr(cli, "console", out)
    cli._print_counts({"enterprises": 3000, "enforcement": {"draws": 22, "cases": 300}})
    text = out.export_text()
    assert "3,000" in text and "enforcement.draws" in text and "enforcement.cases" in text
    assert "{" not in text  # no raw dict
