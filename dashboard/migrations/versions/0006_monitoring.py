"""Live monitoring: beds, bedside devices (hashed tokens) and alarm events with their strips.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from dashboard.migrations.collation import table_options_matching

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    like_patients = table_options_matching("patient_profile", "Patient_ID")
    op.create_table(
        "monitor_bed",
        sa.Column("bed_id", sa.String(32), primary_key=True),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("patient_id", sa.String(20), sa.ForeignKey("patient_profile.Patient_ID")),
        sa.Column("source", sa.String(60), nullable=False, server_default="device"),
        sa.Column("hr_low_bpm", sa.Integer, nullable=False, server_default="40"),
        sa.Column("hr_high_bpm", sa.Integer, nullable=False, server_default="140"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        **like_patients,
    )
    op.create_table(
        "monitor_device",
        sa.Column("device_id", sa.String(32), primary_key=True),
        sa.Column("bed_id", sa.String(32), sa.ForeignKey("monitor_bed.bed_id"), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("revoked_at", sa.DateTime),
        **like_patients,
    )
    op.create_index("ix_monitor_device_bed", "monitor_device", ["bed_id"])
    op.create_table(
        "monitor_alarm",
        sa.Column("alarm_id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("bed_id", sa.String(32), sa.ForeignKey("monitor_bed.bed_id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("message", sa.String(255), nullable=False),
        sa.Column("raised_at", sa.DateTime, nullable=False),
        sa.Column("cleared_at", sa.DateTime),
        sa.Column("strip_json", LONG_TEXT, nullable=False),
        sa.Column("acknowledged_at", sa.DateTime),
        sa.Column("acknowledged_by_role", sa.String(16)),
        sa.Column("acknowledged_by_id", sa.String(255)),
        **like_patients,
    )
    op.create_index("ix_monitor_alarm_bed", "monitor_alarm", ["bed_id", "raised_at"])


def downgrade() -> None:
    op.drop_index("ix_monitor_alarm_bed", "monitor_alarm")
    op.drop_table("monitor_alarm")
    op.drop_index("ix_monitor_device_bed", "monitor_device")
    op.drop_table("monitor_device")
    op.drop_table("monitor_bed")
