"""Settings from environment variables (SAFECITY_*) and an optional TOML file."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict


def _toml_values() -> dict[str, Any]:
    # SAFECITY_CONFIG names the file; ./safecity.toml is read when present.
    path = Path(os.environ.get("SAFECITY_CONFIG", "safecity.toml"))
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return dict(data.get("safecity", data))


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

    def __init__(self, **values: Any) -> None:
        # Precedence: explicit arguments, then SAFECITY_* environment variables, then the file.
        from_file = {
            k: v for k, v in _toml_values().items() if f"SAFECITY_{k.upper()}" not in os.environ
        }
        merged = {**from_file, **values}
        super().__init__(**merged)


@lru_cache
def get_settings() -> Settings:
    return Settings()


def public_base_url(fallback: str | None = None) -> str:
    """The site's public address, no trailing slash: the setting, else `fallback` (the address a
    request came to), else the address the server listens on."""
    s = get_settings()
    return (s.public_base_url or fallback or f"http://{s.host}:{s.port}").rstrip("/")
