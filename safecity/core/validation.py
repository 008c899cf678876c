"""Turn Pydantic validation errors into field-level messages in Chinese and English."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, field_validator

from safecity.core.errors import FieldError

# NUL breaks C-string consumers (PostgreSQL refuses it in text) and bidirectional overrides
# (U+202A–U+202E, U+2066–U+2069) make a name read differently than it is stored ("Trojan
# Source"): no name or text field takes either.
_FORBIDDEN_TEXT = re.compile("[\x00\u202a-\u202e\u2066-\u2069]")
FORBIDDEN_TEXT_MESSAGE = (
    "含有不允许的字符（NUL 或文字方向控制符）|"
    "contains a forbidden character (NUL or a bidirectional control)"
)


def check_text(value: Any) -> Any:
    """The value unchanged, or ValueError when any string in it holds a forbidden character."""
    if isinstance(value, str):
        if _FORBIDDEN_TEXT.search(value):
            raise ValueError(FORBIDDEN_TEXT_MESSAGE)
    elif isinstance(value, list | tuple):
        for item in value:
            check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_text(item)
    return value


SafeText = Annotated[str, AfterValidator(check_text)]


class SafeInput(BaseModel):
    """Base of input schemas: every text field (nested lists and objects too) is checked."""

    @field_validator("*", mode="after")
    @classmethod
    def _safe_text(cls, value: Any) -> Any:
        return check_text(value)


_TEMPLATES: dict[str, tuple[str, str]] = {
    "missing": ("为必填项", "is required"),
    "string_too_long": ("长度不能超过{max_length}", "must be at most {max_length} characters"),
    "string_too_short": ("长度不能少于{min_length}", "must be at least {min_length} characters"),
    "string_type": ("应为文本", "must be text"),
    "int_parsing": ("应为整数", "must be an integer"),
    "int_type": ("应为整数", "must be an integer"),
    "int_from_float": ("应为整数", "must be an integer"),
    "float_parsing": ("应为数字", "must be a number"),
    "float_type": ("应为数字", "must be a number"),
    "bool_parsing": ("应为是/否", "must be true or false"),
    "greater_than_equal": ("应不小于{ge}", "must be ≥ {ge}"),
    "greater_than": ("应大于{gt}", "must be > {gt}"),
    "less_than_equal": ("应不大于{le}", "must be ≤ {le}"),
    "less_than": ("应小于{lt}", "must be < {lt}"),
    "literal_error": ("取值应为：{expected}", "must be one of: {expected}"),
    "enum": ("取值应为：{expected}", "must be one of: {expected}"),
    "extra_forbidden": ("是不允许的字段", "is not an allowed field"),
    "dict_type": ("格式应为对象", "must be an object"),
    "json_invalid": ("不是有效的 JSON", "is not valid JSON"),
    "string_pattern_mismatch": ("格式不正确", "has the wrong format"),
    "too_short": ("至少需要{min_length}项", "needs at least {min_length} item(s)"),
    "too_long": ("最多{max_length}项", "at most {max_length} items"),
}


def bilingual(message: str) -> tuple[str, str]:
    """Validators raise ValueError("中文|English"); split it."""
    zh, _, en = message.partition("|")
    return zh.strip(), (en or zh).strip()


def translate(
    errors: Sequence[Mapping[str, Any]],
    labels: Mapping[str, tuple[str, str]] | None = None,
    row: int | None = None,
    skip_loc_prefix: int = 0,
) -> list[FieldError]:
    labels = labels or {}
    out: list[FieldError] = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())][skip_loc_prefix:]
        field = ".".join(loc) or "body"
        key = loc[-1] if loc else field
        label_zh, label_en = labels.get(key, (key, key))
        ctx = {k: v for k, v in (err.get("ctx") or {}).items()}
        etype = err.get("type", "")
        if etype == "value_error" and "error" in ctx:
            zh, en = bilingual(str(ctx["error"]))
        elif etype in _TEMPLATES:
            zh_t, en_t = _TEMPLATES[etype]
            zh, en = zh_t.format(**ctx), en_t.format(**ctx)
        else:
            zh, en = "取值无效", str(err.get("msg", "invalid value"))
        out.append(FieldError(field, f"{label_zh}：{zh}", f"{label_en}: {en}", row))
    return out
