"""response: incidents, grade history, upward reports, timeline, plans, tasks, dispatches,
duty roster and handovers, the city's grading table

Revision ID: response_0001
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "response_0001"
down_revision = "0009"
branch_labels = ("response",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rs_duty_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shift", sa.String(length=8), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leader", sa.String(length=64), nullable=False),
        sa.Column("officer_username", sa.String(length=64), nullable=False),
        sa.Column("officer_name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_duty_shifts")),
    )
    op.create_index(
        "ix_rs_duty_shifts_div_start",
        "rs_duty_shifts",
        ["division_code", "starts_at"],
        unique=False,
    )
    op.create_table(
        "rs_grading_table",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_grading_table")),
    )
    op.create_table(
        "rs_handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_username", sa.String(length=64), nullable=False),
        sa.Column("to_username", sa.String(length=64), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("open_incidents", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_handovers")),
    )
    op.create_index(
        op.f("ix_rs_handovers_division_code"), "rs_handovers", ["division_code"], unique=False
    )
    op.create_table(
        "rs_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("type_key", sa.String(length=64), nullable=False),
        sa.Column("class_key", sa.String(length=32), nullable=False),
        sa.Column("production_safety", sa.Boolean(), nullable=False),
        sa.Column("is_drill", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=True),
        sa.Column("sensor_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.Column("received_level", sa.String(length=16), nullable=False),
        sa.Column("reporter_name", sa.String(length=100), nullable=False),
        sa.Column("reporter_phone", sa.String(length=32), nullable=False),
        sa.Column("reporter_org", sa.String(length=200), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("industry_code", sa.String(length=8), nullable=True),
        sa.Column("deaths", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("serious_injuries", sa.Integer(), nullable=False),
        sa.Column("trapped", sa.Integer(), nullable=False),
        sa.Column("affected_population", sa.Integer(), nullable=False),
        sa.Column("relocated", sa.Integer(), nullable=False),
        sa.Column("direct_loss_yuan", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("quantities", sa.JSON(), nullable=True),
        sa.Column("grade", sa.String(length=24), nullable=True),
        sa.Column("grade_rank", sa.Integer(), nullable=False),
        sa.Column("grade_explanation", sa.JSON(), nullable=True),
        sa.Column("grade_confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("response_level", sa.String(length=4), nullable=True),
        sa.Column("response_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("review", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=True),
        sa.Column("warning_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_incidents")),
    )
    op.create_index(op.f("ix_rs_incidents_alarm_id"), "rs_incidents", ["alarm_id"], unique=False)
    op.create_index(
        "ix_rs_incidents_div_status", "rs_incidents", ["division_code", "status"], unique=False
    )
    op.create_index(
        op.f("ix_rs_incidents_enterprise_id"), "rs_incidents", ["enterprise_id"], unique=False
    )
    op.create_index("ix_rs_incidents_occurred", "rs_incidents", ["occurred_at"], unique=False)
    op.create_index(
        "ix_rs_incidents_rank_received", "rs_incidents", ["grade_rank", "received_at"], unique=False
    )
    op.create_table(
        "rs_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("triggers", sa.JSON(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("tasks", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_review_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_drill_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attachment", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_plans")),
    )
    op.create_index(op.f("ix_rs_plans_division_code"), "rs_plans", ["division_code"], unique=False)
    op.create_table(
        "rs_dispatches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("resource_kind", sa.String(length=16), nullable=False),
        sa.Column("resource_ref", sa.String(length=64), nullable=False),
        sa.Column("resource_name", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("eta_minutes", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("tracker_sensor_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["rs_incidents.id"],
            name=op.f("fk_rs_dispatches_incident_id_rs_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_dispatches")),
    )
    op.create_index(
        op.f("ix_rs_dispatches_incident_id"), "rs_dispatches", ["incident_id"], unique=False
    )
    op.create_table(
        "rs_grade_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("previous", sa.String(length=24), nullable=True),
        sa.Column("grade", sa.String(length=24), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["rs_incidents.id"],
            name=op.f("fk_rs_grade_history_incident_id_rs_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_grade_history")),
    )
    op.create_index(
        op.f("ix_rs_grade_history_incident_id"), "rs_grade_history", ["incident_id"], unique=False
    )
    op.create_table(
        "rs_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["rs_incidents.id"],
            name=op.f("fk_rs_reports_incident_id_rs_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_reports")),
    )
    op.create_index(op.f("ix_rs_reports_incident_id"), "rs_reports", ["incident_id"], unique=False)
    op.create_table(
        "rs_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=40), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("level", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_by", sa.String(length=64), nullable=True),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["rs_incidents.id"],
            name=op.f("fk_rs_tasks_incident_id_rs_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_tasks")),
    )
    op.create_index(op.f("ix_rs_tasks_incident_id"), "rs_tasks", ["incident_id"], unique=False)
    op.create_table(
        "rs_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["rs_incidents.id"],
            name=op.f("fk_rs_timeline_incident_id_rs_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rs_timeline")),
    )
    op.create_index(
        "ix_rs_timeline_incident_at", "rs_timeline", ["incident_id", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_rs_timeline_incident_at", table_name="rs_timeline")
    op.drop_table("rs_timeline")
    op.drop_index(op.f("ix_rs_tasks_incident_id"), table_name="rs_tasks")
    op.drop_table("rs_tasks")
    op.drop_index(op.f("ix_rs_reports_incident_id"), table_name="rs_reports")
    op.drop_table("rs_reports")
    op.drop_index(op.f("ix_rs_grade_history_incident_id"), table_name="rs_grade_history")
    op.drop_table("rs_grade_history")
    op.drop_index(op.f("ix_rs_dispatches_incident_id"), table_name="rs_dispatches")
    op.drop_table("rs_dispatches")
    op.drop_index(op.f("ix_rs_plans_division_code"), table_name="rs_plans")
    op.drop_table("rs_plans")
    op.drop_index("ix_rs_incidents_rank_received", table_name="rs_incidents")
    op.drop_index("ix_rs_incidents_occurred", table_name="rs_incidents")
    op.drop_index(op.f("ix_rs_incidents_enterprise_id"), table_name="rs_incidents")
    op.drop_index("ix_rs_incidents_div_status", table_name="rs_incidents")
    op.drop_index(op.f("ix_rs_incidents_alarm_id"), table_name="rs_incidents")
    op.drop_table("rs_incidents")
    op.drop_index(op.f("ix_rs_handovers_division_code"), table_name="rs_handovers")
    op.drop_table("rs_handovers")
    op.drop_table("rs_grading_table")
    op.drop_index("ix_rs_duty_shifts_div_start", table_name="rs_duty_shifts")
    op.drop_table("rs_duty_shifts")
