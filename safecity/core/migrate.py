"""Create or upgrade the database schema with Alembic (same path for SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from safecity.core.config import get_settings
from safecity.core.db import make_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return cfg


def upgrade(url: str | None = None) -> None:
    # "heads": each capability's migrations branch from the platform's and may land in any order.
    command.upgrade(alembic_config(url), "heads")


def current_revision(url: str | None = None) -> str | None:

    engine = make_engine(url or get_settings().database_url)
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    engine.dispose()
    return ",".join(sorted(heads)) or None
