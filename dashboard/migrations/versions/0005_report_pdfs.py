"""Exported PDF reports: the stored file of each report's latest clinician report and patient summary.

`ecg_report_pdf`: one row per report and kind ("clinician", "patient"): the generated file name
under instance/reports/, its SHA-256 and size, when and by whom it was generated. The original
`ecg_reports` table keeps its columns unchanged.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from dashboard.migrations.collation import table_options_matching

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ecg_report_pdf",
        sa.Column("report_id", sa.String(50), sa.ForeignKey("ecg_reports.report_id"), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("stored_name", sa.String(80), nullable=False, unique=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("n_bytes", sa.Integer, nullable=False),
        sa.Column("generated_at", sa.DateTime, nullable=False),
        sa.Column("generated_by", sa.String(255), nullable=False),
        **table_options_matching("ecg_reports", "report_id"),
    )


def downgrade() -> None:
    op.drop_table("ecg_report_pdf")
