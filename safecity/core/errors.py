"""One exception hierarchy, mapped once to HTTP status codes with bilingual messages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    zh: str
    en: str
    row: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"field": self.field, "message": self.zh, "message_en": self.en}
        if self.row is not None:
            out["row"] = self.row
        return out


class SafeCityError(Exception):
    status = 400
    code = "error"

    def __init__(self, zh: str, en: str | None = None) -> None:
        super().__init__(en or zh)
        self.zh = zh
        self.en = en or zh

    def body(self) -> dict[str, object]:
        return {"error": self.code, "message": self.zh, "message_en": self.en}


class NotFound(SafeCityError):
    status = 404
    code = "not_found"

    def __init__(self, what: str = "对象", what_en: str = "object") -> None:
        super().__init__(f"{what}不存在", f"{what_en} not found")


class Forbidden(SafeCityError):
    status = 403
    code = "forbidden"

    def __init__(self, zh: str = "无权执行此操作", en: str = "not allowed") -> None:
        super().__init__(zh, en)


class Unauthorized(SafeCityError):
    status = 401
    code = "unauthorized"

    def __init__(self, zh: str = "请先登录", en: str = "login required") -> None:
        super().__init__(zh, en)


class Conflict(SafeCityError):
    status = 409
    code = "conflict"


class TooManyRequests(SafeCityError):
    status = 429
    code = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"尝试次数过多，请 {retry_after} 秒后再试",
            f"too many attempts, retry in {retry_after} s",
        )
        self.retry_after = retry_after


class Unavailable(SafeCityError):
    """A service the request needs (e.g. the telemetry queue) is down: nothing was accepted."""

    status = 503
    code = "unavailable"


@dataclass
class Invalid(SafeCityError):
    errors: list[FieldError] = field(default_factory=list)
    status = 422
    code = "invalid"

    def __post_init__(self) -> None:
        first = self.errors[0] if self.errors else FieldError("", "输入无效", "invalid input")
        SafeCityError.__init__(self, first.zh, first.en)

    def body(self) -> dict[str, object]:
        return {
            "error": self.code,
            "message": "输入有误：" + "；".join(e.zh for e in self.errors[:5]),
            "message_en": "invalid input: " + "; ".join(e.en for e in self.errors[:5]),
            "detail": [e.as_dict() for e in self.errors],
        }


def invalid(field_name: str, zh: str, en: str) -> Invalid:
    return Invalid([FieldError(field_name, zh, en)])
