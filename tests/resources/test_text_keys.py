"""The resources pages ask for texts by keys of their own (res_…, renamed from rs_, which
emergency command uses too): every key a template or script names exists in resources/texts.py,
and none of the old rs_ names is left (it would show as the bare key)."""

from __future__ import annotations

import re
from pathlib import Path

import safecity
from safecity.resources.texts import TEXTS

WEB = Path(safecity.__file__).parent / "web"
FILES = sorted((WEB / "templates" / "resources").glob("*.html")) + sorted(
    (WEB / "static" / "resources").glob("*.js")
)
LITERAL = re.compile(r"""rt\(\s*['"]([a-z0-9_]+)['"]\s*(~)?""")
SCRIPT = re.compile(r"\bT\.([a-z0-9_]+)")


def test_every_key_a_page_names_exists() -> None:
    assert len(FILES) >= 8
    seen = 0
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\b(nav_)?rs_[a-z]", text), f"{path.name}: an old rs_ key"
        for key, joined in LITERAL.findall(text):
            seen += 1
            if joined:  # rt('res_alert_' ~ a.kind): a family of keys
                assert any(k.startswith(key) for k in TEXTS), f"{path.name}: {key}…"
            else:
                assert key in TEXTS, f"{path.name}: {key}"
        for key in SCRIPT.findall(text):
            seen += 1
            assert key in TEXTS, f"{path.name}: T.{key}"
    assert seen > 200
