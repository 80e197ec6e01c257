"""Patients' phone numbers as typed, risk assessments (history of the risk-factor form with
both scores), and form tokens against double submission.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from dashboard.migrations.collation import table_options_matching

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    like_patients = table_options_matching("patient_profile", "Patient_ID")
    op.create_table(
        "patient_contact",
        sa.Column("patient_id", sa.String(20), sa.ForeignKey("patient_profile.Patient_ID"), primary_key=True),
        sa.Column("personal_phone", sa.String(32), nullable=False),
        sa.Column("emergency_phone", sa.String(32), nullable=False),
        **like_patients,
    )
    op.create_table(
        "risk_assessment",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("record_id", sa.Integer, sa.ForeignKey("input.Record_ID"), nullable=False, unique=True),
        sa.Column("patient_id", sa.String(20), sa.ForeignKey("patient_profile.Patient_ID"), nullable=False),
        sa.Column("entered_at", sa.DateTime, nullable=False),
        sa.Column("entered_by_role", sa.String(16), nullable=False),
        sa.Column("entered_by_id", sa.String(255), nullable=False),
        sa.Column("sex", sa.String(8), nullable=False),
        sa.Column("age_years", sa.Integer, nullable=False),
        sa.Column("smoker", sa.Boolean, nullable=False),
        sa.Column("diabetic", sa.Boolean, nullable=False),
        sa.Column("total_cholesterol_mg_dl", sa.Float, nullable=False),
        sa.Column("hdl_mg_dl", sa.Float, nullable=False),
        sa.Column("sbp_mmhg", sa.Float, nullable=False),
        sa.Column("bp_treated", sa.Boolean, nullable=False),
        sa.Column("other_issues", sa.String(200), nullable=False, server_default=""),
        sa.Column("creatinine_mg_dl", sa.Float),
        sa.Column("killip_class", sa.Integer),
        sa.Column("cardiac_arrest", sa.Boolean),
        sa.Column("st_deviation", sa.Boolean),
        sa.Column("elevated_enzymes", sa.Boolean),
        sa.Column("heart_rate_bpm", sa.Float),
        sa.Column("heart_rate_source", sa.String(80)),
        sa.Column("framingham_risk_pct", sa.Float, nullable=False),
        sa.Column("framingham_points", sa.Integer, nullable=False),
        sa.Column("framingham_category", sa.String(16), nullable=False),
        sa.Column("heart_age_years", sa.Float, nullable=False),
        sa.Column("grace_points", sa.Integer),
        sa.Column("grace_mortality_pct", sa.Float),
        **like_patients,
    )
    op.create_index("ix_risk_assessment_patient_latest", "risk_assessment", ["patient_id", "id"])
    op.create_index("ix_risk_assessment_entered_at", "risk_assessment", ["entered_at"])
    op.create_index("ix_risk_assessment_framingham_category", "risk_assessment", ["framingham_category"])
    op.create_table(
        "form_submission",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("result_id", sa.String(50), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        **like_patients,
    )
    # Finding a patient by name (search, duplicate check) on large registers.
    op.create_index("ix_patient_profile_name", "patient_profile", ["Patient_Name"])
    op.create_index("ix_patient_profile_created", "patient_profile", ["Created_At"])


def downgrade() -> None:
    op.drop_index("ix_patient_profile_created", "patient_profile")
    op.drop_index("ix_patient_profile_name", "patient_profile")
    op.drop_table("form_submission")
    op.drop_table("risk_assessment")
    op.drop_table("patient_contact")
