"""City-configurable warning settings: approvals per level, colour table, channels, sender.

Read from SAFECITY_WARNINGS_* environment variables or from a [warnings] table in the same
safecity.toml the platform reads (file named by SAFECITY_CONFIG). Example:

    [warnings]
    blue_auto_issue = true
    approval_roles = {red = ["commander"], orange = ["commander"], yellow = ["commander", "duty_officer"], blue = []}
    webhook_urls = ["https://province.example/cap-inbox"]
    smtp_host = "mail.example"
    email_to = ["duty@yjj.example"]
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from safecity.warnings.cap import LEVEL_TABLE


def _toml_values() -> dict[str, Any]:
    path = Path(os.environ.get("SAFECITY_CONFIG", "safecity.toml"))
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return dict(tomllib.load(fh).get("warnings", {}))


class WarningSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFECITY_WARNINGS_", extra="ignore")

    # CAP <sender>: no spaces or commas. The city's own identifier of its release system.
    sender: str = "safecity@370600"
    sender_name: str = "烟台市突发事件预警信息发布中心"
    sender_name_en: str = "Yantai Emergency Warning Release Centre"
    # Roles that may approve each level; an empty list means no approval (only yellow/blue).
    approval_roles: dict[str, list[str]] = {
        "red": ["commander"],
        "orange": ["commander"],
        "yellow": ["commander", "duty_officer"],
        "blue": ["commander", "duty_officer"],
    }
    # A blue alarm may issue a warning with no human step when the city allows it.
    blue_auto_issue: bool = False
    level_table: dict[str, dict[str, str]] = LEVEL_TABLE
    channels: list[str] = ["web", "webhook", "email", "sms", "broadcast", "siren"]
    webhook_urls: list[str] = []
    webhook_attempts: int = 3
    webhook_backoff_seconds: float = 0.5
    webhook_timeout_seconds: float = 5.0
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    email_from: str = "safecity@localhost"
    email_to: list[str] = []
    # Deprecated override of SAFECITY_PUBLIC_BASE_URL (core setting) for warnings only.
    public_base_url: str = ""
    # Deliveries that failed are tried again by the dispatcher this many times in all.
    max_attempts: int = 5

    def __init__(self, **values: Any) -> None:
        from_file = {
            k: v
            for k, v in _toml_values().items()
            if f"SAFECITY_WARNINGS_{k.upper()}" not in os.environ
        }
        super().__init__(**{**from_file, **values})


@lru_cache
def get_warning_settings() -> WarningSettings:
    return WarningSettings()
