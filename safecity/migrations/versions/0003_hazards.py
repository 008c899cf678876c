"""hazards capability tables: hidden dangers, timeline, escalations, inbox, final counts,
checklists, plans, tasks

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hd_checklists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("industry_section", sa.String(length=1), nullable=True),
        sa.Column("place_kind", sa.String(length=32), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hd_checklists")),
    )
    op.create_table(
        "hd_final_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("industry_section", sa.String(length=1), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("days", sa.Float(), nullable=False),
        sa.Column("supervised", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hd_final_counts")),
        sa.UniqueConstraint(
            "division_code",
            "industry_section",
            "grade",
            "month",
            "status",
            name="uq_hd_final_counts_key",
        ),
    )
    op.create_table(
        "hd_hidden_dangers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=True),
        sa.Column("grade_basis", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("grid_cell_id", sa.Integer(), nullable=True),
        sa.Column("risk_point_id", sa.Integer(), nullable=True),
        sa.Column("industry_section", sa.String(length=1), nullable=True),
        sa.Column("industry_code", sa.String(length=8), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=True),
        sa.Column("reporter_user_id", sa.Integer(), nullable=True),
        sa.Column("reporter_name", sa.String(length=64), nullable=False),
        sa.Column("reporter_phone", sa.String(length=32), nullable=False),
        sa.Column("reporter_ip", sa.String(length=64), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_reason", sa.Text(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responsible_party", sa.String(length=200), nullable=False),
        sa.Column("responsible_username", sa.String(length=64), nullable=True),
        sa.Column("responsible_person", sa.String(length=64), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("funds", sa.Float(), nullable=True),
        sa.Column("interim_measures", sa.Text(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("plan_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("supervisor_division_code", sa.String(length=12), nullable=True),
        sa.Column("supervisor_name", sa.String(length=100), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_late", sa.Boolean(), nullable=True),
        sa.Column("days_to_close", sa.Float(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hd_hidden_dangers")),
    )
    op.create_index(
        "ix_hd_hidden_dangers_div_status",
        "hd_hidden_dangers",
        ["division_code", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_hd_hidden_dangers_enterprise_id"),
        "hd_hidden_dangers",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_hd_hidden_dangers_grid_cell_id"),
        "hd_hidden_dangers",
        ["grid_cell_id"],
        unique=False,
    )
    op.create_index(
        "ix_hd_hidden_dangers_next_escalation",
        "hd_hidden_dangers",
        ["next_escalation_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_hd_hidden_dangers_reported_at"), "hd_hidden_dangers", ["reported_at"], unique=False
    )
    op.create_index(
        "ix_hd_hidden_dangers_reporter_ip",
        "hd_hidden_dangers",
        ["reporter_ip", "reported_at"],
        unique=False,
    )
    op.create_index(
        "ix_hd_hidden_dangers_status_deadline",
        "hd_hidden_dangers",
        ["status", "deadline"],
        unique=False,
    )
    op.create_table(
        "hd_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hd_notifications")),
    )
    op.create_index(
        "ix_hd_notifications_user_read", "hd_notifications", ["user_id", "read_at"], unique=False
    )
    op.create_table(
        "hd_checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checklist_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("clause", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("suggested_grade", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["hd_checklists.id"],
            name=op.f("fk_hd_checklist_items_checklist_id_hd_checklists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hd_checklist_items")),
    )
    op.create_index(
        op.f("ix_hd_checklist_items_checklist_id"),
        "hd_checklist_items",
        ["checklist_id"],
        unique=False,
    )
    op.create_table(
        "hd_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hidden_danger_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hidden_danger_id"],
            ["hd_hidden_dangers.id"],
            name=op.f("fk_hd_escalations_hidden_danger_id_hd_hidden_dangers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hd_escalations")),
        sa.UniqueConstraint("hidden_danger_id", "step", "deadline", name="uq_hd_escalations_step"),
    )
    op.create_index(
        op.f("ix_hd_escalations_hidden_danger_id"),
        "hd_escalations",
        ["hidden_danger_id"],
        unique=False,
    )
    op.create_table(
        "hd_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hidden_danger_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hidden_danger_id"],
            ["hd_hidden_dangers.id"],
            name=op.f("fk_hd_events_hidden_danger_id_hd_hidden_dangers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hd_events")),
    )
    op.create_index(
        op.f("ix_hd_events_hidden_danger_id"), "hd_events", ["hidden_danger_id"], unique=False
    )
    op.create_table(
        "hd_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("checklist_id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("industry_section", sa.String(length=1), nullable=True),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("assignee_kind", sa.String(length=16), nullable=False),
        sa.Column("assignee_username", sa.String(length=64), nullable=True),
        sa.Column("risk_rule", sa.JSON(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["hd_checklists.id"],
            name=op.f("fk_hd_plans_checklist_id_hd_checklists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hd_plans")),
    )
    op.create_index(op.f("ix_hd_plans_checklist_id"), "hd_plans", ["checklist_id"], unique=False)
    op.create_index(op.f("ix_hd_plans_division_code"), "hd_plans", ["division_code"], unique=False)
    op.create_table(
        "hd_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("checklist_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("assignee_kind", sa.String(length=16), nullable=False),
        sa.Column("assignee_username", sa.String(length=64), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["hd_plans.id"],
            name=op.f("fk_hd_tasks_plan_id_hd_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hd_tasks")),
        sa.UniqueConstraint("plan_id", "enterprise_id", "period", name="uq_hd_tasks_period"),
    )
    op.create_index(op.f("ix_hd_tasks_division_code"), "hd_tasks", ["division_code"], unique=False)
    op.create_index(op.f("ix_hd_tasks_enterprise_id"), "hd_tasks", ["enterprise_id"], unique=False)
    op.create_index(op.f("ix_hd_tasks_plan_id"), "hd_tasks", ["plan_id"], unique=False)
    op.create_table(
        "hd_task_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("hidden_danger_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["hd_tasks.id"],
            name=op.f("fk_hd_task_results_task_id_hd_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hd_task_results")),
    )
    op.create_index(
        op.f("ix_hd_task_results_task_id"), "hd_task_results", ["task_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_hd_task_results_task_id"), table_name="hd_task_results")
    op.drop_table("hd_task_results")
    op.drop_index(op.f("ix_hd_tasks_plan_id"), table_name="hd_tasks")
    op.drop_index(op.f("ix_hd_tasks_enterprise_id"), table_name="hd_tasks")
    op.drop_index(op.f("ix_hd_tasks_division_code"), table_name="hd_tasks")
    op.drop_table("hd_tasks")
    op.drop_index(op.f("ix_hd_plans_division_code"), table_name="hd_plans")
    op.drop_index(op.f("ix_hd_plans_checklist_id"), table_name="hd_plans")
    op.drop_table("hd_plans")
    op.drop_index(op.f("ix_hd_events_hidden_danger_id"), table_name="hd_events")
    op.drop_table("hd_events")
    op.drop_index(op.f("ix_hd_escalations_hidden_danger_id"), table_name="hd_escalations")
    op.drop_table("hd_escalations")
    op.drop_index(op.f("ix_hd_checklist_items_checklist_id"), table_name="hd_checklist_items")
    op.drop_table("hd_checklist_items")
    op.drop_index("ix_hd_notifications_user_read", table_name="hd_notifications")
    op.drop_table("hd_notifications")
    op.drop_index("ix_hd_hidden_dangers_status_deadline", table_name="hd_hidden_dangers")
    op.drop_index("ix_hd_hidden_dangers_reporter_ip", table_name="hd_hidden_dangers")
    op.drop_index(op.f("ix_hd_hidden_dangers_reported_at"), table_name="hd_hidden_dangers")
    op.drop_index("ix_hd_hidden_dangers_next_escalation", table_name="hd_hidden_dangers")
    op.drop_index(op.f("ix_hd_hidden_dangers_grid_cell_id"), table_name="hd_hidden_dangers")
    op.drop_index(op.f("ix_hd_hidden_dangers_enterprise_id"), table_name="hd_hidden_dangers")
    op.drop_index("ix_hd_hidden_dangers_div_status", table_name="hd_hidden_dangers")
    op.drop_table("hd_hidden_dangers")
    op.drop_table("hd_final_counts")
    op.drop_table("hd_checklists")
