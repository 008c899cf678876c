"""The statistics workbook never fails on stored text XML cannot hold (the fuzzer stored an
inspector named with control characters; openpyxl refused the cell and the export was a 500)."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from safecity.enforcement.overview import stats_xlsx


def test_control_characters_are_dropped_not_fatal() -> None:
    data = {
        "divisions": [],
        "violations": [{"violation": "v\x01", "name": "未\x1b按规定", "cases": 1, "fines": 0}],
        "inspectors": [
            {"inspector_id": 7, "name": "~»\x08êÃ°À", "office": "执法\x0b一科", "inspections": 3}
        ],
    }
    book = load_workbook(io.BytesIO(stats_xlsx(data)))
    inspectors = list(book["按执法人员"].iter_rows(min_row=2, values_only=True))
    assert inspectors == [(7, "~»êÃ°À", "执法一科", 3)]
    violations = list(book["按违法行为"].iter_rows(min_row=2, values_only=True))
    assert violations == [("v", "未按规定", 1, 0)]
