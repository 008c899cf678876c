"""indicators: covering indexes for the yearly figures read from other capabilities' records

The plan indicators count accidents, open hidden dangers and alarms per division and year with
GROUP BY queries (safecity/indicators/sources.py, adapters.py). These indexes hold every column
those queries read, so a city's ten years are counted from the index alone, never by reading a
million wide rows (bench/indicators.py).

Revision ID: indicators_0002
Revises: indicators_0001
"""

from alembic import op

revision = "indicators_0002"
down_revision = "indicators_0001"
branch_labels = None
depends_on = ("response_0001",)  # rs_incidents

INDEXES = (
    (
        "ix_ind_incidents_year",
        "rs_incidents",
        [
            "occurred_at",
            "division_code",
            "type_key",
            "class_key",
            "production_safety",
            "is_drill",
            "status",
            "deaths",
            "direct_loss_yuan",
            "response_ended_at",
        ],
    ),
    (
        "ix_ind_hidden_dangers_open",
        "hd_hidden_dangers",
        ["status", "month", "division_code", "grade"],
    ),
    ("ix_ind_alarms_year", "alarms", ["raised_at", "division_code"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
