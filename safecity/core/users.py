"""User administration use cases: add, list, disable — admin only, inside the admin's scope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core import audit
from safecity.core.errors import Forbidden, Invalid, NotFound, invalid
from safecity.core.models import AuthToken, User
from safecity.core.scope import ROLES, Principal, is_valid_division_code
from safecity.core.security import hash_password
from safecity.core.sql import code_within
from safecity.core.validation import SafeInput, translate

USER_LABELS = {
    "username": ("用户名", "username"),
    "password": ("密码", "password"),
    "role": ("角色", "role"),
    "division_code": ("行政区划代码", "division code"),
    "display_name": ("姓名", "display name"),
    "enterprise_id": ("企业", "enterprise"),
    "industry": ("行业", "industry"),
    "phone": ("电话", "phone"),
}


class UserIn(SafeInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=128)
    role: str
    division_code: str
    display_name: str = Field("", max_length=100)
    enterprise_id: int | None = None
    industry: str | None = Field(None, max_length=8)
    phone: str | None = Field(None, max_length=32)

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        if value not in ROLES:
            raise ValueError("角色无效|unknown role")
        return value

    @field_validator("division_code")
    @classmethod
    def _division(cls, value: str) -> str:
        if not is_valid_division_code(value):
            raise ValueError("应为 GB/T 2260 行政区划代码|must be a GB/T 2260 division code")
        return value


def user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "division_code": user.division_code,
        "enterprise_id": user.enterprise_id,
        "industry": user.industry,
        "active": user.active,
    }


def _require_admin(principal: Principal) -> None:
    if principal.role != "admin":
        raise Forbidden("仅系统管理员可管理用户", "only administrators manage users")


def add_user(session: Session, principal: Principal, data: dict[str, Any], now: datetime) -> User:
    _require_admin(principal)
    try:
        values = UserIn.model_validate(data)
    except ValidationError as exc:
        raise Invalid(translate(exc.errors(), USER_LABELS)) from None
    if not principal.covers(values.division_code):
        raise Forbidden("超出您的管辖范围", "outside your jurisdiction")
    if values.role == "enterprise_officer" and values.enterprise_id is None:
        raise invalid(
            "enterprise_id", "企业：企业安全员须关联企业", "enterprise: required for this role"
        )
    if session.scalar(select(User.id).where(User.username == values.username)):
        raise invalid("username", "用户名：已存在", "username: already exists")
    fields = values.model_dump(exclude={"password"})
    user = User(**fields, password_hash=hash_password(values.password), created_at=now)
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="create",
        object_type="user",
        object_id=user.id,
        before=None,
        after=user_dict(user),
        now=now,
    )
    return user


def list_users(session: Session, principal: Principal) -> list[User]:
    _require_admin(principal)
    stmt = select(User).where(code_within(User.division_code, principal.prefix))
    return list(session.scalars(stmt.order_by(User.username)))


def set_active(
    session: Session,
    principal: Principal,
    username: str,
    active: bool,
    now: datetime,
) -> User:
    _require_admin(principal)
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not principal.covers(user.division_code):
        raise NotFound("用户", "user")
    before = user_dict(user)
    user.active = active
    if not active:
        # Disabling a user ends every session and token they hold at once.
        for tok in session.scalars(select(AuthToken).where(AuthToken.user_id == user.id)):
            session.delete(tok)
    audit.record(
        session,
        actor=principal.username,
        action="enable" if active else "disable",
        object_type="user",
        object_id=user.id,
        before=before,
        after=user_dict(user),
        now=now,
    )
    return user
