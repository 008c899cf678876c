"""indicators: indexes the owners' yearly figures read by seeks (the plan indicators)

The plan indicators now read the yearly figures through the owning capabilities' functions
(safecity/{monitoring,hazards,response}/figures.py). Those count per division code and year by
index seeks (SQLite) or hash an index-only scan (PostgreSQL); the indexes are declared on the
owners' models and created here, in the indicators' branch, because the indicators are why they
exist (bench/indicators.py):

* alarms (division_code, raised_at): one seek per code and year, replacing ix_ind_alarms_year
  (raised_at, division_code), which made every count a sort of ten years of alarms;
* hd_hidden_dangers open ones: (status, division_code, month, grade) instead of
  (status, month, division_code, grade), so a code and year is one range per open status;
* hd_final_counts (status, division_code, month, grade, n, late): the closed ones' sums by seek;
* rs_incidents, SQLite only: (division_code, Beijing year of occurred_at, type_key, …): SQLite
  reads the groups in index order instead of sorting 100,000 rows (PostgreSQL hashes them per
  year through ix_ind_incidents_year; an expression index would cost it the index-only scan).

Revision ID: indicators_0003
Revises: indicators_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "indicators_0003"
down_revision = "indicators_0002"
branch_labels = None
depends_on = None

# as safecity.response.figures.SQLITE_YEAR (the query must spell it the same way)
SQLITE_YEAR = "substr(datetime(occurred_at, '+8 hours'), 1, 4)"
INCIDENT_COLUMNS = [
    "division_code",
    SQLITE_YEAR,
    "type_key",
    "class_key",
    "production_safety",
    "is_drill",
    "status",
    "deaths",
    "direct_loss_yuan",
    "occurred_at",
    "response_ended_at",
]
OPEN_OLD = ["status", "month", "division_code", "grade"]
OPEN_NEW = ["status", "division_code", "month", "grade"]


def upgrade() -> None:
    op.drop_index("ix_ind_alarms_year", table_name="alarms")
    op.create_index("ix_alarms_division_raised", "alarms", ["division_code", "raised_at"])
    op.drop_index("ix_ind_hidden_dangers_open", table_name="hd_hidden_dangers")
    op.create_index("ix_ind_hidden_dangers_open", "hd_hidden_dangers", OPEN_NEW)
    op.create_index(
        "ix_hd_final_counts_figures",
        "hd_final_counts",
        ["status", "division_code", "month", "grade", "n", "late"],
    )
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(
            "ix_rs_incidents_figures",
            "rs_incidents",
            [sa.text(c) if "(" in c else c for c in INCIDENT_COLUMNS],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_rs_incidents_figures", table_name="rs_incidents")
    op.drop_index("ix_hd_final_counts_figures", table_name="hd_final_counts")
    op.drop_index("ix_ind_hidden_dangers_open", table_name="hd_hidden_dangers")
    op.create_index("ix_ind_hidden_dangers_open", "hd_hidden_dangers", OPEN_OLD)
    op.drop_index("ix_alarms_division_raised", table_name="alarms")
    op.create_index("ix_ind_alarms_year", "alarms", ["raised_at", "division_code"])
