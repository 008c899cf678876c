"""`safecity calc accident`: Decree 493 art. 3 grade as JSON; bad input refused with zh/en text."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from safecity.cli import app

runner = CliRunner()


def _calc(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["calc", "accident", *args])


def test_prints_grade_and_deciding_criterion() -> None:
    # 9 deaths → 较大 (3人以上10人以下); 50 injuries → 重大 (50人以上100人以下); 9,999,999 yuan → 一般
    res = _calc("--deaths", "9", "--serious-injuries", "50", "--direct-loss-yuan", "9999999")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["grade"] == {"key": "serious", "zh": "重大", "en": "serious", "rank": 3}
    assert data["decided_by"]["criterion"] == "serious_injuries"
    assert [c["grade"]["key"] for c in data["criteria"]] == [
        "relatively_serious",
        "serious",
        "ordinary",
    ]


def test_threshold_itself_reaches_the_grade() -> None:
    # (一) 1亿元以上直接经济损失 — 以上 includes 100,000,000
    res = _calc("--deaths", "0", "--serious-injuries", "0", "--direct-loss-yuan", "100000000")
    assert json.loads(res.stdout)["grade"]["key"] == "extraordinary"


@pytest.mark.parametrize(
    ("args", "zh", "en"),
    [
        (
            ["--deaths", "-1", "--serious-injuries", "0", "--direct-loss-yuan", "0"],
            "必须是非负整数",
            "must be a non-negative integer",
        ),
        (
            ["--deaths", "3", "--serious-injuries", "many", "--direct-loss-yuan", "0"],
            "必须是非负整数",
            "must be a non-negative integer",
        ),
        (
            ["--deaths", "3", "--serious-injuries", "0", "--direct-loss-yuan", "12万"],
            "必须是非负数",
            "must be a non-negative number",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(args: list[str], zh: str, en: str) -> None:
    res = _calc(*args)
    assert res.exit_code == 2
    assert zh in res.stderr and en in res.stderr
    assert res.stdout == ""
