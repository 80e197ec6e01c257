"""ORM models.

The first five classes map the original MySQL schema (shared/docs/seed-schema.sql) with
its exact table and column names, so a hospital that created those tables keeps its rows.
Everything added since lives in new tables brought in by Alembic migrations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.mysql import LONGTEXT
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# MySQL's BIGINT AUTO_INCREMENT; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntegerId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


# --- The original schema ---------------------------------------------------------------


class Staff(Base):
    __tablename__ = "staff"

    staff_id: Mapped[str] = mapped_column("Staff_ID", String(80), primary_key=True)
    password_hash: Mapped[str] = mapped_column("Password", String(80))
    name: Mapped[str | None] = mapped_column("StaffName", String(80))


class Doctor(Base):
    __tablename__ = "doctor"

    doctor_id: Mapped[str] = mapped_column("Doctor_ID", String(255), primary_key=True)
    username: Mapped[str] = mapped_column("Username", String(255), unique=True)
    password_hash: Mapped[str] = mapped_column("Password", String(255))


class PatientProfile(Base):
    __tablename__ = "patient_profile"

    patient_id: Mapped[str] = mapped_column("Patient_ID", String(20), primary_key=True)
    name: Mapped[str] = mapped_column("Patient_Name", String(45))
    age: Mapped[int] = mapped_column("Age", Integer)
    gender: Mapped[str] = mapped_column("Gender", String(45))
    address: Mapped[str] = mapped_column("Address", String(60))
    email: Mapped[str] = mapped_column("Email_ID", String(45))
    personal_contact: Mapped[int] = mapped_column("Personal_Contact", BigInteger)
    emergency_contact: Mapped[int] = mapped_column("Emergency_Contact", BigInteger)
    doctor_id: Mapped[str | None] = mapped_column(
        "Doctor_ID", String(255), ForeignKey("doctor.Doctor_ID"), index=True
    )
    created_at: Mapped[datetime] = mapped_column("Created_At", DateTime)
    staff_username: Mapped[str] = mapped_column("Staff_Username", String(80))


class RiskInput(Base):
    """One entry of cardiovascular risk factors (the original `input` table)."""

    __tablename__ = "input"

    record_id: Mapped[int] = mapped_column("Record_ID", Integer, primary_key=True)
    patient_id: Mapped[str | None] = mapped_column("Patient_ID", String(20), index=True)
    smoker: Mapped[bool] = mapped_column("Smoker", Boolean)
    diabetic: Mapped[bool] = mapped_column("Diabetic", Boolean)
    cholesterol: Mapped[float] = mapped_column("Cholesterol", Float)
    hdl: Mapped[int] = mapped_column("HDL", Integer)
    blood_pressure: Mapped[float] = mapped_column("Blood_Pressure", Float)
    other_issues: Mapped[str] = mapped_column("Other_Issues", String(200), default="")
    generated_at: Mapped[str] = mapped_column("Generated_AT", String(45))
    doctor_id: Mapped[str | None] = mapped_column("Doctor_ID", String(20))


class EcgReport(Base):
    __tablename__ = "ecg_reports"

    report_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(20), ForeignKey("patient_profile.Patient_ID"), index=True)
    doctor_id: Mapped[str | None] = mapped_column(String(20), ForeignKey("doctor.Doctor_ID"), index=True)
    report_date: Mapped[datetime] = mapped_column(DateTime, index=True)
    record_num: Mapped[str | None] = mapped_column(String(20))
    predicted_class: Mapped[str] = mapped_column(String(50))
    confidence: Mapped[float] = mapped_column(Float, default=0)
    heart_rate: Mapped[float] = mapped_column(Float, default=0)
    qt_interval: Mapped[float] = mapped_column(Float, default=0)
    pr_interval: Mapped[float] = mapped_column(Float, default=0)
    framingham_risk: Mapped[float] = mapped_column(Float, default=0)
    grace_score: Mapped[float] = mapped_column(Float, default=0)
    systolic_bp: Mapped[float] = mapped_column(Float, default=0)
    cholesterol: Mapped[float] = mapped_column(Float, default=0)
    hdl: Mapped[float] = mapped_column(Float, default=0)
    smoker: Mapped[bool] = mapped_column(Boolean, default=False)
    diabetes: Mapped[bool] = mapped_column(Boolean, default=False)
    all_beats_count: Mapped[int] = mapped_column(Integer, default=0)
    class_probabilities: Mapped[dict | None] = mapped_column(JSON)
    ecg_image_path: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )


# --- Added by migrations -----------------------------------------------------------------


class Admin(Base):
    """Administrators manage accounts; the original schema had no such role."""

    __tablename__ = "app_admin"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    password_hash: Mapped[str] = mapped_column("password", String(255))
    name: Mapped[str | None] = mapped_column(String(120))


class AccountState(Base):
    """Per-account state the original tables lack: display name, disabled, lockout."""

    __tablename__ = "account_state"

    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(120))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoginThrottle(Base):
    """Failed logins per client address, so one machine cannot guess across accounts."""

    __tablename__ = "login_throttle"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)


class AuthSession(Base):
    """A login session, known to the server: the cookie is accepted only while it is open."""

    __tablename__ = "auth_session"
    __table_args__ = (Index("ix_auth_session_account", "role", "account_id"),)

    session_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(255))
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_why: Mapped[str | None] = mapped_column(String(16))


class AuditEvent(Base):
    """Who did what to which patient or report, and when (UTC)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(255), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    patient_id: Mapped[str | None] = mapped_column(String(20), index=True)
    report_id: Mapped[str | None] = mapped_column(String(50), index=True)
    target: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str | None] = mapped_column(Text)
    client_ip: Mapped[str | None] = mapped_column(String(64))


class PatientContact(Base):
    """Phone numbers as typed: the original bigint columns drop a leading 0 or +."""

    __tablename__ = "patient_contact"

    patient_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("patient_profile.Patient_ID"), primary_key=True
    )
    personal_phone: Mapped[str] = mapped_column(String(32))
    emergency_phone: Mapped[str] = mapped_column(String(32))


class RiskAssessment(Base):
    """One entry of the risk-factor form, in canonical units, with both scores as computed
    when it was entered. Its `input` row (the original table) carries the same entry."""

    __tablename__ = "risk_assessment"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("input.Record_ID"), unique=True)
    patient_id: Mapped[str] = mapped_column(String(20), ForeignKey("patient_profile.Patient_ID"), index=True)
    entered_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    entered_by_role: Mapped[str] = mapped_column(String(16))
    entered_by_id: Mapped[str] = mapped_column(String(255))
    sex: Mapped[str] = mapped_column(String(8))
    age_years: Mapped[int] = mapped_column(Integer)
    smoker: Mapped[bool] = mapped_column(Boolean)
    diabetic: Mapped[bool] = mapped_column(Boolean)
    total_cholesterol_mg_dl: Mapped[float] = mapped_column(Float)
    hdl_mg_dl: Mapped[float] = mapped_column(Float)
    sbp_mmhg: Mapped[float] = mapped_column(Float)
    bp_treated: Mapped[bool] = mapped_column(Boolean)
    other_issues: Mapped[str] = mapped_column(String(200), default="")
    creatinine_mg_dl: Mapped[float | None] = mapped_column(Float)
    killip_class: Mapped[int | None] = mapped_column(Integer)
    cardiac_arrest: Mapped[bool | None] = mapped_column(Boolean)
    st_deviation: Mapped[bool | None] = mapped_column(Boolean)
    elevated_enzymes: Mapped[bool | None] = mapped_column(Boolean)
    heart_rate_bpm: Mapped[float | None] = mapped_column(Float)
    heart_rate_source: Mapped[str | None] = mapped_column(String(80))
    framingham_risk_pct: Mapped[float] = mapped_column(Float)
    framingham_points: Mapped[int] = mapped_column(Integer)
    framingham_category: Mapped[str] = mapped_column(String(16), index=True)
    heart_age_years: Mapped[float] = mapped_column(Float)
    grace_points: Mapped[int | None] = mapped_column(Integer)
    grace_mortality_pct: Mapped[float | None] = mapped_column(Float)


class FormSubmission(Base):
    """One row per submitted form token: a second click on Save finds it and saves nothing."""

    __tablename__ = "form_submission"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    result_id: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime)


# A 24-hour Holter's Analysis JSON runs to megabytes: more than MySQL's TEXT (see migration 0004).
LongText = Text().with_variant(LONGTEXT(), "mysql", "mariadb")


class EcgRecording(Base):
    """One stored recording of a patient: the signal is a file under instance/recordings/ with a
    generated name (`stored_name`); `source_name` is the upload's name, for display only."""

    __tablename__ = "ecg_recording"

    recording_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(20), ForeignKey("patient_profile.Patient_ID"))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    source_name: Mapped[str] = mapped_column(String(255))
    sample_key: Mapped[str | None] = mapped_column(String(40))
    record_name: Mapped[str] = mapped_column(String(80))
    fs: Mapped[float] = mapped_column(Float)
    n_samples: Mapped[int] = mapped_column(Integer)
    lead_names: Mapped[str] = mapped_column(String(255))  # comma-separated, in column order
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
    uploaded_by_role: Mapped[str] = mapped_column(String(16))
    uploaded_by_id: Mapped[str] = mapped_column(String(255))
    analysis_json: Mapped[str] = mapped_column(LongText)


class EcgReportDetail(Base):
    """What a dashboard-written `ecg_reports` row carries beyond the original columns: the full
    Analysis JSON (the viewer reopens it without re-analysis), the doctor's text, draft/signed
    status, and the chain of amendments (a signed report is never changed; an amendment is a
    new report whose `previous_report_id` names it)."""

    __tablename__ = "ecg_report_detail"

    report_id: Mapped[str] = mapped_column(String(50), ForeignKey("ecg_reports.report_id"), primary_key=True)
    recording_id: Mapped[str] = mapped_column(String(32), ForeignKey("ecg_recording.recording_id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    previous_report_id: Mapped[str | None] = mapped_column(String(50), ForeignKey("ecg_reports.report_id"))
    superseded_by: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(16), index=True)  # "draft" or "signed"
    conclusions: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    rhythm_label: Mapped[str] = mapped_column(String(50), index=True)
    analysis_json: Mapped[str] = mapped_column(LongText)
    created_by: Mapped[str] = mapped_column(String(255))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime)
    signed_by: Mapped[str | None] = mapped_column(String(255))


# --- Live monitoring (migration 0006) ----------------------------------------------------


class MonitorBed(Base):
    """A monitored bed: its patient (optional), its source and its heart-rate alarm limits.

    `source` is "device" (chunks POSTed by a bedside device) or "replay:<sample key>" (a
    sample-library recording replayed at real speed, looping: the demo)."""

    __tablename__ = "monitor_bed"

    bed_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(80))
    patient_id: Mapped[str | None] = mapped_column(String(20), ForeignKey("patient_profile.Patient_ID"))
    source: Mapped[str] = mapped_column(String(60), default="device")
    hr_low_bpm: Mapped[int] = mapped_column(Integer, default=40)
    hr_high_bpm: Mapped[int] = mapped_column(Integer, default=140)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class MonitorDevice(Base):
    """A bedside device's token: only its SHA-256 is stored (the token is 256 random bits,
    shown once when an admin creates it); a revoked device is refused."""

    __tablename__ = "monitor_device"

    device_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bed_id: Mapped[str] = mapped_column(String(32), ForeignKey("monitor_bed.bed_id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(255))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class MonitorAlarm(Base):
    """One alarm of a bed (VF, VT, asystole, HR high/low, signal lost) with the strip around
    its onset, and who acknowledged it when."""

    __tablename__ = "monitor_alarm"

    alarm_id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    bed_id: Mapped[str] = mapped_column(String(32), ForeignKey("monitor_bed.bed_id"))
    kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(String(255))
    raised_at: Mapped[datetime] = mapped_column(DateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime)
    strip_json: Mapped[str] = mapped_column(LongText)  # {"fs", "start_index", "detected_index", "samples_mv"}
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by_role: Mapped[str | None] = mapped_column(String(16))
    acknowledged_by_id: Mapped[str | None] = mapped_column(String(255))


class EcgReportPdf(Base):
    """The latest exported PDF of a report, per kind ("clinician" or "patient"): a file under
    instance/reports/ with a generated name, and the SHA-256 of its bytes."""

    __tablename__ = "ecg_report_pdf"

    report_id: Mapped[str] = mapped_column(String(50), ForeignKey("ecg_reports.report_id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    n_bytes: Mapped[int] = mapped_column(Integer)
    generated_at: Mapped[datetime] = mapped_column(DateTime)
    generated_by: Mapped[str] = mapped_column(String(255))
