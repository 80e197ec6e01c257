"""Stored ECG recordings with their analysis, and the signed, versioned part of each report.

`ecg_recording`: one uploaded or sample recording, linked to its patient; the signal itself is
a file under instance/recordings/ with a generated name (never the upload's name).
`ecg_report_detail`: one row per `ecg_reports` row written by the dashboard: the full Analysis
JSON the viewer reopens, conclusions and notes, draft/signed status, and the version chain of
amendments. The original `ecg_reports` table keeps its columns unchanged.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from dashboard.migrations.collation import table_options_matching

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# A 24-hour Holter's Analysis JSON (per-beat arrays) runs to megabytes: more than MySQL's TEXT.
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    like_patients = table_options_matching("patient_profile", "Patient_ID")
    op.create_table(
        "ecg_recording",
        sa.Column("recording_id", sa.String(32), primary_key=True),
        sa.Column("patient_id", sa.String(20), sa.ForeignKey("patient_profile.Patient_ID"), nullable=False),
        sa.Column("stored_name", sa.String(80), nullable=False, unique=True),
        sa.Column("source_name", sa.String(255), nullable=False),
        sa.Column("sample_key", sa.String(40)),
        sa.Column("record_name", sa.String(80), nullable=False),
        sa.Column("fs", sa.Float, nullable=False),
        sa.Column("n_samples", sa.Integer, nullable=False),
        sa.Column("lead_names", sa.String(255), nullable=False),
        sa.Column("uploaded_at", sa.DateTime, nullable=False),
        sa.Column("uploaded_by_role", sa.String(16), nullable=False),
        sa.Column("uploaded_by_id", sa.String(255), nullable=False),
        sa.Column("analysis_json", LONG_TEXT, nullable=False),
        **like_patients,
    )
    op.create_index("ix_ecg_recording_patient", "ecg_recording", ["patient_id", "uploaded_at"])
    op.create_table(
        "ecg_report_detail",
        sa.Column("report_id", sa.String(50), sa.ForeignKey("ecg_reports.report_id"), primary_key=True),
        sa.Column("recording_id", sa.String(32), sa.ForeignKey("ecg_recording.recording_id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("previous_report_id", sa.String(50), sa.ForeignKey("ecg_reports.report_id")),
        sa.Column("superseded_by", sa.String(50)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("conclusions", sa.Text, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("rhythm_label", sa.String(50), nullable=False),
        sa.Column("analysis_json", LONG_TEXT, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("signed_at", sa.DateTime),
        sa.Column("signed_by", sa.String(255)),
        **table_options_matching("ecg_reports", "report_id"),
    )
    op.create_index("ix_ecg_report_detail_status", "ecg_report_detail", ["status"])
    op.create_index("ix_ecg_report_detail_rhythm", "ecg_report_detail", ["rhythm_label"])


def downgrade() -> None:
    op.drop_index("ix_ecg_report_detail_rhythm", "ecg_report_detail")
    op.drop_index("ix_ecg_report_detail_status", "ecg_report_detail")
    op.drop_table("ecg_report_detail")
    op.drop_index("ix_ecg_recording_patient", "ecg_recording")
    op.drop_table("ecg_recording")
