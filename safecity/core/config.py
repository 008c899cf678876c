"""Settings from environment variables (SAFECITY_*) and an optional TOML file: the one place
that reads the process environment (``environ`` for the few raw values other modules need).

A capability with settings of its own subclasses ``SectionSettings`` (its own SAFECITY_<X>_*
variables and a ``[<x>]`` table of the same file) instead of reading ``os.environ`` itself.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from pydantic_settings import BaseSettings, SettingsConfigDict


def environ(name: str, default: str = "") -> str:
    """A raw environment variable, for the few values that are not settings (a test clock, a
    font path a packager sets)."""
    return os.environ.get(name, default)


def _toml_file() -> dict[str, Any]:
    # SAFECITY_CONFIG names the file; ./safecity.toml is read when present.
    path = Path(os.environ.get("SAFECITY_CONFIG", "safecity.toml"))
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _toml_values() -> dict[str, Any]:
    data = _toml_file()
    return dict(data.get("safecity", data))


def toml_section(name: str) -> dict[str, Any]:
    """The ``[name]`` table of the settings file (also accepted as ``[safecity.name]``)."""
    data = _toml_file()
    return dict(data.get(name) or data.get("safecity", {}).get(name) or {})


def _file_values(values: dict[str, Any], prefix: str) -> dict[str, Any]:
    # An environment variable wins over the file, an explicit argument over both.
    return {k: v for k, v in values.items() if f"{prefix}{k.upper()}" not in os.environ}


class SectionSettings(BaseSettings):
    """A capability's settings: SAFECITY_<SECTION>_<NAME> variables over the ``[<section>]``
    table of safecity.toml. Subclasses set ``model_config`` (``env_prefix``) and ``section``."""

    section: ClassVar[str] = ""

    def __init__(self, **values: Any) -> None:
        prefix = str(self.model_config.get("env_prefix", ""))
        from_file = _file_values(toml_section(self.section), prefix) if self.section else {}
        super().__init__(**{**from_file, **values})


class Settings(BaseSettings):
    """Every field can be set as SAFECITY_<NAME> or in safecity.toml under [safecity]."""

    model_config = SettingsConfigDict(env_prefix="SAFECITY_", extra="ignore")

    database_url: str = "sqlite:///safecity.db"
    host: str = "127.0.0.1"
    port: int = 8000
    storage_dir: str = "storage"
    session_ttl_minutes: int = 8 * 60
    token_ttl_minutes: int = 24 * 60
    login_free_failures: int = 3
    login_max_delay_seconds: int = 900
    login_address_free_failures: int = 20  # wrong passwords from one address, any usernames
    default_lang: str = "zh"
    city_code: str = "370600"
    max_upload_mb: int = 20
    cookie_secure: bool = False
    # The address the public reaches the site at (behind a proxy: https://yjj.example); links
    # sent outward (CAP <web>, the Atom feed) use it. Empty: http://<host>:<port>.
    public_base_url: str = ""
    # Separation of duties (四眼原则): a red/orange warning's drafter cannot approve it, and
    # whoever recorded a hidden danger's rectification cannot accept and close it.
    separation_of_duties: bool = True
    # The notification service (safecity.core.notify): SMTP for email to users (on when a host
    # is set), and the SMS channel that only logs until a city plugs in its gateway.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "safecity@localhost"
    smtp_starttls: bool = False
    sms_log: bool = False
    # Webhooks every user notification is POSTed to as JSON (a duty room's chat robot, …).
    notify_webhook_urls: list[str] = []
    # Background jobs (safecity.core.jobs): seconds between runs in `safecity serve` by job
    # name, e.g. SAFECITY_JOB_INTERVALS='{"hazards.escalation": 60}'; 0 turns a job off there
    # (`safecity jobs run-once` still runs it).
    job_intervals: dict[str, float] = {}
    escalation_interval_seconds: float = 300  # hazards.escalation (older name, still honoured)
    # Log each device request of the ingestion API in `serve`'s access log (noisy at scale).
    access_log_devices: bool = False

    def __init__(self, **values: Any) -> None:
        # Precedence: explicit arguments, then SAFECITY_* environment variables, then the file.
        from_file = _file_values(_toml_values(), "SAFECITY_")
        merged = {**from_file, **values}
        super().__init__(**merged)


@lru_cache
def get_settings() -> Settings:
    return Settings()


def set_environ(name: str, value: str, *, keep: bool = False) -> None:
    """Set a SAFECITY_* variable for this process and the ones it starts (uvicorn and ingestion
    workers inherit it), so settings read afterwards see it; ``keep``: a value already in the
    environment (the operator's) wins. Caches of section settings are the caller's to clear."""
    if keep:
        os.environ.setdefault(name, value)
    else:
        os.environ[name] = value
    get_settings.cache_clear()


def public_base_url(fallback: str | None = None) -> str:
    """The site's public address, no trailing slash: the setting, else `fallback` (the address a
    request came to), else the address the server listens on."""
    s = get_settings()
    return (s.public_base_url or fallback or f"http://{s.host}:{s.port}").rstrip("/")
