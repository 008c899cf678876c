"""A city's own enforcement tables: the discretion table (裁量基准) and the supervision class
scheme (分级分类), read from files the city keeps, with the built-in examples as defaults.

Where each table comes from, first found wins:

1. the file named by ``SAFECITY_ENFORCEMENT_DISCRETION_FILE`` / ``..._SCHEME_FILE`` or by
   ``discretion_file`` / ``scheme_file`` in the ``[enforcement]`` table of safecity.toml;
2. the table written inline in safecity.toml as ``[enforcement.discretion]`` /
   ``[enforcement.scheme]``;
3. ``<storage>/enforcement/discretion.{toml,json}`` / ``class_scheme.{toml,json}`` (next to the
   city's own document templates);
4. the built-in examples (``discretion.EXAMPLE_TABLE``, ``classes.DEFAULT_SCHEME``).

Files are JSON or TOML in the shape of the examples (``safecity enforcement config show`` prints
the table in force to start from; ``safecity enforcement config check`` validates a file). A bad
table is refused as a whole with every bad cell named: the examples are never used silently in
place of a city's broken file.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from pydantic_settings import SettingsConfigDict

from safecity.core.config import SectionSettings, get_settings
from safecity.enforcement import classes, discretion
from safecity.enforcement.errors import EnforcementInputError


class EnforcementSettings(SectionSettings):
    model_config = SettingsConfigDict(env_prefix="SAFECITY_ENFORCEMENT_", extra="ignore")
    section: ClassVar[str] = "enforcement"

    discretion_file: str = ""
    scheme_file: str = ""
    discretion: dict[str, Any] | None = None
    scheme: dict[str, Any] | None = None
    # Case deadline reminders: tell the case's people this many days before the decision
    # deadline (Administrative Penalty Law art. 60), and again once it has passed.
    deadline_warning_days: int = 10


class ConfigError(ValueError):
    """A city's table that cannot be used: where it came from and every bad cell."""

    def __init__(self, source: str, errors: list[tuple[str, str, str]]) -> None:
        self.source, self.errors = source, errors
        lines = "; ".join(f"{f}: {zh} / {en}" for f, zh, en in errors)
        super().__init__(f"{source}: {lines}")


@dataclass(frozen=True)
class Loaded:
    table: discretion.Table
    scheme: classes.Scheme
    discretion_source: str
    scheme_source: str


def read_file(path: Path) -> Any:
    """A JSON or TOML file's data (by extension; .toml is TOML, anything else JSON)."""
    raw = path.read_bytes()
    if path.suffix.lower() == ".toml":
        return tomllib.loads(raw.decode("utf-8"))
    return json.loads(raw.decode("utf-8"))


def _source(named: str, inline: dict[str, Any] | None, stem: str) -> tuple[str, Any] | None:
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(named, [("file", "文件不存在", "no such file")])
        return named, _read(path)
    if inline:
        return "safecity.toml", inline
    folder = Path(get_settings().storage_dir) / "enforcement"
    for ext in ("toml", "json"):
        path = folder / f"{stem}.{ext}"
        if path.is_file():
            return str(path), _read(path)
    return None


def _read(path: Path) -> Any:
    try:
        return read_file(path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [("file", "无法解析为 JSON/TOML", str(exc))]) from None


def parse_table(data: Any, source: str = "table") -> discretion.Table:
    try:
        return discretion.Table.from_dict(data)
    except EnforcementInputError as exc:
        raise ConfigError(
            source, [(e.field, e.message_zh, e.message_en) for e in exc.errors]
        ) from None


def parse_scheme(data: Any, source: str = "scheme") -> classes.Scheme:
    try:
        return classes.Scheme.from_dict(data)
    except EnforcementInputError as exc:
        raise ConfigError(
            source, [(e.field, e.message_zh, e.message_en) for e in exc.errors]
        ) from None


@lru_cache
def get_enforcement_settings() -> EnforcementSettings:
    return EnforcementSettings()


@lru_cache
def loaded() -> Loaded:
    """The tables in force (read once per process; ``reload()`` after changing a file)."""
    s = get_enforcement_settings()
    found = _source(s.discretion_file, s.discretion, "discretion")
    table = parse_table(found[1], found[0]) if found else discretion.EXAMPLE_TABLE
    d_src = found[0] if found else "example"
    found = _source(s.scheme_file, s.scheme, "class_scheme")
    scheme = parse_scheme(found[1], found[0]) if found else classes.DEFAULT_SCHEME
    return Loaded(table, scheme, d_src, found[0] if found else "example")


def reload() -> Loaded:
    get_enforcement_settings.cache_clear()
    loaded.cache_clear()
    return loaded()


def table_as_dict(t: discretion.Table) -> dict[str, Any]:
    """A table back in the file shape (what ``config show`` prints for a city to edit)."""
    return {
        "name": t.name,
        "circumstances": {k: list(v) for k, v in t.circumstances.items()},
        "violations": {
            code: {
                "name_zh": zh,
                "name_en": en,
                "basis": basis,
                "ranges": {
                    c: {"fine_min": int(lo), "fine_max": int(hi), "measures": list(m)}
                    for c, (lo, hi, m) in rows.items()
                },
            }
            for code, (zh, en, basis, rows) in t.violations.items()
        },
    }


def scheme_as_dict(s: classes.Scheme) -> dict[str, Any]:
    """A scheme as it was written (its rules are kept only in parsed form otherwise)."""
    return json.loads(json.dumps(s.raw, ensure_ascii=False))
