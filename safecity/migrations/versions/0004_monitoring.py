"""monitoring capability tables

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alarm_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_actions")),
    )
    op.create_index(op.f("ix_alarm_actions_alarm_id"), "alarm_actions", ["alarm_id"], unique=False)
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.Column("sensor_id", sa.Integer(), nullable=True),
        sa.Column("grid_cell_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("peak_level", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("condition_active", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("first_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sa.UniqueConstraint("open_key", name=op.f("uq_alarms_open_key")),
    )
    op.create_index(op.f("ix_alarms_division_code"), "alarms", ["division_code"], unique=False)
    op.create_index(op.f("ix_alarms_sensor_id"), "alarms", ["sensor_id"], unique=False)
    op.create_index("ix_alarms_status_updated", "alarms", ["status", "updated_at"], unique=False)
    op.create_index(op.f("ix_alarms_updated_at"), "alarms", ["updated_at"], unique=False)
    op.create_table(
        "monitoring_rule_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_rule_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_monitoring_rule_versions_version")),
    )
    op.create_table(
        "readings",
        sa.Column("sensor_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("sensor_id", "ts", name=op.f("pk_readings")),
    )
    op.create_table(
        "readings_1h",
        sa.Column("sensor_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("vmin", sa.Float(), nullable=False),
        sa.Column("vmax", sa.Float(), nullable=False),
        sa.Column("vsum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sensor_id", "bucket", name=op.f("pk_readings_1h")),
    )
    op.create_table(
        "readings_1m",
        sa.Column("sensor_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("vmin", sa.Float(), nullable=False),
        sa.Column("vmax", sa.Float(), nullable=False),
        sa.Column("vsum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sensor_id", "bucket", name=op.f("pk_readings_1m")),
    )
    op.create_table(
        "sensor_latest",
        sa.Column("sensor_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("sensor_id", name=op.f("pk_sensor_latest")),
    )
    op.create_table(
        "sensors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sensor_type", sa.String(length=32), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("grid_cell_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("facility", sa.String(length=200), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("install_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("rule_override", sa.JSON(), nullable=True),
        sa.Column("route", sa.JSON(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensors")),
        sa.UniqueConstraint("device_id", name=op.f("uq_sensors_device_id")),
    )
    op.create_index(
        "ix_sensors_div_type", "sensors", ["division_code", "sensor_type"], unique=False
    )
    op.create_index(op.f("ix_sensors_division_code"), "sensors", ["division_code"], unique=False)
    op.create_index(op.f("ix_sensors_enterprise_id"), "sensors", ["enterprise_id"], unique=False)
    op.create_index(op.f("ix_sensors_grid_cell_id"), "sensors", ["grid_cell_id"], unique=False)
    op.create_index(op.f("ix_sensors_sensor_type"), "sensors", ["sensor_type"], unique=False)
    op.create_index(op.f("ix_sensors_token_hash"), "sensors", ["token_hash"], unique=False)
    op.create_table(
        "telemetry_dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_dead_letters")),
    )
    op.create_index(
        op.f("ix_telemetry_dead_letters_device_id"),
        "telemetry_dead_letters",
        ["device_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_telemetry_dead_letters_reason"), "telemetry_dead_letters", ["reason"], unique=False
    )
    op.create_index(
        op.f("ix_telemetry_dead_letters_received_at"),
        "telemetry_dead_letters",
        ["received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_telemetry_dead_letters_received_at"), table_name="telemetry_dead_letters"
    )
    op.drop_index(op.f("ix_telemetry_dead_letters_reason"), table_name="telemetry_dead_letters")
    op.drop_index(op.f("ix_telemetry_dead_letters_device_id"), table_name="telemetry_dead_letters")
    op.drop_table("telemetry_dead_letters")
    op.drop_index(op.f("ix_sensors_token_hash"), table_name="sensors")
    op.drop_index(op.f("ix_sensors_sensor_type"), table_name="sensors")
    op.drop_index(op.f("ix_sensors_grid_cell_id"), table_name="sensors")
    op.drop_index(op.f("ix_sensors_enterprise_id"), table_name="sensors")
    op.drop_index(op.f("ix_sensors_division_code"), table_name="sensors")
    op.drop_index("ix_sensors_div_type", table_name="sensors")
    op.drop_table("sensors")
    op.drop_table("sensor_latest")
    op.drop_table("readings_1m")
    op.drop_table("readings_1h")
    op.drop_table("readings")
    op.drop_table("monitoring_rule_versions")
    op.drop_index(op.f("ix_alarms_updated_at"), table_name="alarms")
    op.drop_index("ix_alarms_status_updated", table_name="alarms")
    op.drop_index(op.f("ix_alarms_sensor_id"), table_name="alarms")
    op.drop_index(op.f("ix_alarms_division_code"), table_name="alarms")
    op.drop_table("alarms")
    op.drop_index(op.f("ix_alarm_actions_alarm_id"), table_name="alarm_actions")
    op.drop_table("alarm_actions")
