"""enforcement: index documents by division, kind and issue time (each new document's number
counts its division's documents of that kind this year; without it every issue scanned them all)

Revision ID: enforcement_0002
Revises: enforcement_0001
"""

from alembic import op

revision = "enforcement_0002"
down_revision = "enforcement_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_enf_documents_numbering",
        "enf_documents",
        ["division_code", "kind", "issued_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_enf_documents_numbering", table_name="enf_documents")
