"""UI text keys: each capability's keys start with its own declared prefix, and no key is defined
twice — not by two capabilities (the later plug-in's text silently won: response and resources
both used ``rs_`` for 15 keys that meant different things), not by a capability and the shell,
and not twice in one ``texts.py`` (a dict literal keeps the last one quietly)."""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import safecity
from safecity.plugins import _capability_plugins, _plugin, manager
from safecity.web.i18n import SHELL_KEYS

# Capabilities whose plugin.py declares no prefix yet: name → the prefix its keys are held to
# meanwhile. May only shrink (every built-in capability declares its own now).
UNDECLARED: dict[str, str] = {}


def _texts(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"safecity.{name}.texts")
    except ModuleNotFoundError:
        return None


def _prefix(module: ModuleType) -> str | None:
    plugin = _plugin(module)
    return getattr(plugin, "text_prefix", None) or getattr(module, "TEXT_PREFIX", None)


def allowed(key: str, name: str, prefix: str) -> bool:
    """A capability's key: its prefix, or a menu key (``nav_`` + prefix, ``nav_<name>``…)."""
    return (
        key.startswith(prefix)
        or key.startswith("nav_" + prefix)
        or key == f"nav_{name}"
        or key.startswith(f"nav_{name}_")
    )


def test_every_capability_key_starts_with_its_declared_prefix() -> None:
    checked = []
    for module in _capability_plugins():
        name = module.__name__.split(".")[1]
        texts = _texts(name)
        if texts is None:
            continue  # registry and risk: texts from their kinds and the shell only
        prefix = _prefix(module)
        if prefix is None:
            assert name in UNDECLARED, f"{name}: declare text_prefix in its plugin.py"
            prefix = UNDECLARED[name]
        else:
            assert name not in UNDECLARED, f"{name} declares {prefix!r} now: remove it here"
        aliases = getattr(texts, "ALIASES", {})
        wrong = [k for k in texts.TEXTS if k not in aliases and not allowed(k, name, prefix)]
        assert not wrong, f"{name}: keys not starting with {prefix!r}: {wrong}"
        checked.append(prefix)
    assert "res_" in checked and "hd_" in checked
    assert len(set(checked)) == len(checked), "two capabilities declare one prefix"
    assert not any(a != b and b.startswith(a) for a in checked for b in checked), checked


def test_no_key_is_defined_twice() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for key in SHELL_KEYS:
        where[key].append("shell")
    for impl in manager().hook.safecity_texts.get_hookimpls():
        answer: Any = impl.function()  # bound to its plug-in (a Conventional or a module)
        for key in answer or {}:
            where[key].append(impl.plugin_name)
    twice = {k: v for k, v in where.items() if len(v) > 1}
    assert not twice, twice


def _literal_keys(path: Path) -> list[str]:
    """The string keys written in ``TEXTS = {...}`` of one texts.py, repeats included."""
    keys: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets = node.targets if isinstance(node, ast.Assign) else []
        targets = [node.target] if isinstance(node, ast.AnnAssign) else targets
        if any(isinstance(t, ast.Name) and t.id == "TEXTS" for t in targets):
            value = getattr(node, "value", None)
            if isinstance(value, ast.Dict):
                keys += [k.value for k in value.keys if isinstance(k, ast.Constant)]
    return keys


def test_no_texts_py_repeats_a_key() -> None:
    paths = sorted(Path(safecity.__file__).parent.glob("*/texts.py"))
    assert len(paths) >= 6
    for path in paths:
        keys = _literal_keys(path)
        assert keys, path
        assert len(keys) == len(set(keys)), (path, {k for k in keys if keys.count(k) > 1})


def test_the_prefix_rule_refuses_a_neighbours_key() -> None:
    assert allowed("res_teams", "resources", "res_")
    assert allowed("nav_res_stock", "resources", "res_")
    assert allowed("nav_resources", "resources", "res_")
    assert not allowed("rs_teams", "resources", "res_")
    assert not allowed("nav_rs_stock", "resources", "res_")
    assert not allowed("hd_title", "resources", "res_")
