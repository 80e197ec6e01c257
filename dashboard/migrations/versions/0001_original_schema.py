"""The original hospital_ecg_db schema (staff, doctor, patient_profile, input, ecg_reports).

A hospital that created these tables with the original SQL already has them: each table is
created only when it is missing, so their rows are kept and later migrations build on them.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MYSQL_TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
TINYINT = sa.SmallInteger().with_variant(mysql.TINYINT(), "mysql", "mariadb")
TINYINT_1 = sa.SmallInteger().with_variant(mysql.TINYINT(display_width=1), "mysql", "mariadb")


def _timestamp_defaults(dialect: str) -> tuple[sa.TextClause, sa.TextClause]:
    if dialect in ("mysql", "mariadb"):
        return (
            sa.text("CURRENT_TIMESTAMP"),
            sa.text("CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP"),
        )
    return sa.text("CURRENT_TIMESTAMP"), sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())

    if "staff" not in existing:
        op.create_table(
            "staff",
            sa.Column("Staff_ID", sa.String(80), primary_key=True),
            sa.Column("Password", sa.String(80), nullable=False),
            sa.Column("StaffName", sa.String(80)),
            **MYSQL_TABLE_OPTIONS,
        )
    if "doctor" not in existing:
        op.create_table(
            "doctor",
            sa.Column("Doctor_ID", sa.String(255), primary_key=True),
            sa.Column("Username", sa.String(255), nullable=False),
            sa.Column("Password", sa.String(255), nullable=False),
            sa.UniqueConstraint("Username", name="Username"),
            **MYSQL_TABLE_OPTIONS,
        )
    if "patient_profile" not in existing:
        op.create_table(
            "patient_profile",
            sa.Column("Patient_ID", sa.String(20), primary_key=True),
            sa.Column("Patient_Name", sa.String(45), nullable=False),
            sa.Column("Age", sa.Integer, nullable=False),
            sa.Column("Gender", sa.String(45), nullable=False),
            sa.Column("Address", sa.String(60), nullable=False),
            sa.Column("Email_ID", sa.String(45), nullable=False),
            sa.Column("Personal_Contact", sa.BigInteger, nullable=False),
            sa.Column("Emergency_Contact", sa.BigInteger, nullable=False),
            sa.Column("Doctor_ID", sa.String(255)),
            sa.Column("Created_At", sa.DateTime, nullable=False),
            sa.Column("Staff_Username", sa.String(80), nullable=False),
            sa.ForeignKeyConstraint(["Doctor_ID"], ["doctor.Doctor_ID"], name="fk_patient_doctor"),
            **MYSQL_TABLE_OPTIONS,
        )
        op.create_index("fk_patient_doctor", "patient_profile", ["Doctor_ID"])
    if "input" not in existing:
        op.create_table(
            "input",
            sa.Column("Record_ID", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("Patient_ID", sa.String(20)),
            sa.Column("Smoker", TINYINT, nullable=False),
            sa.Column("Diabetic", TINYINT, nullable=False),
            sa.Column("Cholesterol", sa.Float, nullable=False),
            sa.Column("HDL", sa.Integer, nullable=False),
            sa.Column("Blood_Pressure", sa.Float, nullable=False),
            sa.Column("Other_Issues", sa.String(200), nullable=False, server_default=""),
            sa.Column("Generated_AT", sa.String(45), nullable=False, server_default="Timestamp(Now)"),
            sa.Column("Doctor_ID", sa.String(20)),
            **MYSQL_TABLE_OPTIONS,
        )
        op.create_index("_idx", "input", ["Patient_ID"])
    if "ecg_reports" not in existing:
        created_default, updated_default = _timestamp_defaults(bind.dialect.name)
        op.create_table(
            "ecg_reports",
            sa.Column("report_id", sa.String(50), primary_key=True),
            sa.Column("patient_id", sa.String(20), nullable=False),
            sa.Column("doctor_id", sa.String(20)),
            sa.Column("report_date", sa.DateTime, nullable=False),
            sa.Column("record_num", sa.String(20)),
            sa.Column("predicted_class", sa.String(50), nullable=False),
            sa.Column("confidence", sa.Float, nullable=False, server_default="0"),
            sa.Column("heart_rate", sa.Float, nullable=False, server_default="0"),
            sa.Column("qt_interval", sa.Float, nullable=False, server_default="0"),
            sa.Column("pr_interval", sa.Float, nullable=False, server_default="0"),
            sa.Column("framingham_risk", sa.Float, nullable=False, server_default="0"),
            sa.Column("grace_score", sa.Float, nullable=False, server_default="0"),
            sa.Column("systolic_bp", sa.Float, nullable=False, server_default="0"),
            sa.Column("cholesterol", sa.Float, nullable=False, server_default="0"),
            sa.Column("hdl", sa.Float, nullable=False, server_default="0"),
            sa.Column("smoker", TINYINT_1, nullable=False, server_default="0"),
            sa.Column("diabetes", TINYINT_1, nullable=False, server_default="0"),
            sa.Column("all_beats_count", sa.Integer, nullable=False, server_default="0"),
            sa.Column("class_probabilities", sa.JSON),
            sa.Column("ecg_image_path", sa.String(255)),
            sa.Column("created_at", sa.TIMESTAMP, nullable=True, server_default=created_default),
            sa.Column("updated_at", sa.TIMESTAMP, nullable=True, server_default=updated_default),
            sa.ForeignKeyConstraint(
                ["patient_id"], ["patient_profile.Patient_ID"], name="ecg_reports_ibfk_1"
            ),
            sa.ForeignKeyConstraint(["doctor_id"], ["doctor.Doctor_ID"], name="ecg_reports_ibfk_2"),
            **MYSQL_TABLE_OPTIONS,
        )
        op.create_index("idx_patient", "ecg_reports", ["patient_id"])
        op.create_index("idx_doctor", "ecg_reports", ["doctor_id"])
        op.create_index("idx_report_date", "ecg_reports", ["report_date"])


def downgrade() -> None:
    # The original tables hold the hospital's clinical records: never dropped by a downgrade.
    pass
