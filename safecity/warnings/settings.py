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

from functools import lru_cache
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from safecity.core.config import SectionSettings
from safecity.warnings.cap import LEVEL_TABLE


class WarningSettings(SectionSettings):
    model_config = SettingsConfigDict(env_prefix="SAFECITY_WARNINGS_", extra="ignore")
    section: ClassVar[str] = "warnings"

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

    # Seconds between the delivery worker's rounds inside `safecity serve` (0: off there).
    dispatch_interval_seconds: float = 15


@lru_cache
def get_warning_settings() -> WarningSettings:
    return WarningSettings()
