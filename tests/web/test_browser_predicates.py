"""Browser waits are written as functions, never as bare expressions.

Playwright evaluates a bare-expression predicate with ``eval`` inside the page while it polls;
our Content-Security-Policy (``script-src 'self'``) forbids that, so such a wait fails with an
EvalError as soon as its condition is not already true (it broke CI once). A function predicate
is sent as a function and is not eval'd. This test reads every test module and refuses a
``wait_for_function`` whose literal predicate is not a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def _literal(node: ast.expr) -> str | None:
    """The predicate's text when it is written in place (plain string, implicit concatenation,
    or an f-string's leading literal part)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def _bare_predicates() -> list[str]:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "wait_for_function"
                and node.args
            ):
                continue
            text = _literal(node.args[0])
            if text is not None and not text.lstrip().startswith(("() =>", "function")):
                found.append(f"{path.relative_to(TESTS)}:{node.lineno}: {text[:60]}")
    return found


def test_every_literal_wait_predicate_is_a_function() -> None:
    assert _bare_predicates() == []


def test_the_check_sees_a_bare_expression() -> None:
    sample = 'page.wait_for_function("window.ready")\npage.wait_for_function("() => window.ok")\n'
    tree = ast.parse(sample)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    texts = [_literal(c.args[0]) for c in calls]
    assert texts == ["window.ready", "() => window.ok"]
    assert [t for t in texts if t and not t.startswith(("() =>", "function"))] == ["window.ready"]
