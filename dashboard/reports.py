"""ECG reports: saving an analysed recording as a report, signing, amending, finding, reopening.

A report is the original `ecg_reports` row (every original column filled: the rhythm and its
probabilities, heart rate, intervals, beat count, and the risk factors and scores from the
patient's latest risk entry) plus an `ecg_report_detail` row with the full Analysis JSON, the
doctor's conclusions and notes, and its status. Both, and the audit row, are written in one
transaction.

* A draft may be edited by its author; signing makes it read-only for good.
* Amending a signed report makes a new report (version + 1, `previous_report_id` naming the
  old one); the old one is kept unchanged, marked as superseded.
* A second click on Save never makes a second report: each form carries a one-time token,
  unique in the database (as the risk-factor form does).
* Doctors see the reports of their own patients; staff and admins see that a report exists,
  and its clinical content once it is signed.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard import audit
from dashboard.audit import Actor, utcnow
from dashboard.db import Database
from dashboard.models import EcgRecording, EcgReport, EcgReportDetail, PatientProfile, RiskAssessment
from dashboard.patients import (
    PatientAccessDenied,
    check_patient_access,
    is_repeated_submission,
    previous_submission,
    remember_submission,
)

CLINICAL_ROLES = ("doctor",)
READ_ROLES = ("doctor", "staff", "admin")
NOT_CLASSIFIED = "Not classified"
MAX_TEXT = 20_000
DRAFT, SIGNED = "draft", "signed"
ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class ReportError(ValueError):
    """A report cannot be saved, signed or amended as asked; the message says why."""


class ReportAccessDenied(PermissionError):
    """The user may not see or change this report (already audited)."""


@dataclass(frozen=True)
class ReportRow:
    report_id: str
    report_date: str
    doctor: str
    rhythm: str
    heart_rate: str
    status: str = ""
    patient_id: str = ""
    patient_name: str = ""
    version: int = 1


@dataclass(frozen=True)
class StoredReport:
    """A report as the report page shows it again, from stored data only."""

    report: EcgReport
    detail: EcgReportDetail | None
    patient: PatientProfile
    analysis: dict | None
    recording_id: str | None
    clinical: bool  # whether this user sees the findings
    editable: bool  # a draft of this user's

    @property
    def signed(self) -> bool:
        return self.detail is not None and self.detail.status == SIGNED


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def _new_report_id(now: datetime) -> str:
    return f"R-{now:%Y%m%d}-" + "".join(secrets.choice(ID_ALPHABET) for _ in range(8))


def _clean_text(value) -> str:
    text = str(value or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise ReportError(f"Conclusions and notes may have at most {MAX_TEXT:,} characters each.")
    return text


def _latest_risk(session: Session, patient_id: str) -> RiskAssessment | None:
    return session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.patient_id == patient_id)
        .order_by(RiskAssessment.entered_at.desc(), RiskAssessment.id.desc())
        .limit(1)
    ).first()


def latest_risk_summary(database: Database, actor: Actor, patient_id: str) -> RiskAssessment | None:
    """The patient's newest risk entry (Framingham, GRACE, factors), for the findings panel."""
    with database.transaction() as db:
        patient = check_patient_access(db, actor, patient_id)
        return _latest_risk(db, patient.patient_id)


def _report_columns(analysis: dict, risk: RiskAssessment | None) -> dict:
    """The original ecg_reports columns from an Analysis JSON and the latest risk entry."""
    rhythm = analysis.get("rhythm") or {}
    intervals = analysis.get("intervals_ms") or {}
    heart_rate = (analysis.get("heart_rate_bpm") or {}).get("mean")
    return dict(
        record_num=str(analysis.get("record") or "")[:20] or None,
        predicted_class=rhythm.get("label") or NOT_CLASSIFIED,
        confidence=float(rhythm.get("confidence") or 0.0),
        heart_rate=float(heart_rate or 0.0),  # 0: the original schema's "not measured"
        qt_interval=float(intervals.get("qt") or 0.0),
        pr_interval=float(intervals.get("pr") or 0.0),
        framingham_risk=float(risk.framingham_risk_pct) if risk else 0.0,
        grace_score=float(risk.grace_points) if risk and risk.grace_points is not None else 0.0,
        systolic_bp=float(risk.sbp_mmhg) if risk else 0.0,
        cholesterol=float(risk.total_cholesterol_mg_dl) if risk else 0.0,
        hdl=float(risk.hdl_mg_dl) if risk else 0.0,
        smoker=bool(risk.smoker) if risk else False,
        diabetes=bool(risk.diabetic) if risk else False,
        all_beats_count=int(analysis.get("beat_count") or 0),
        class_probabilities=rhythm.get("probabilities") or None,
    )


def _doctor_only(session: Session, actor: Actor, target: str, patient_id: str | None = None) -> None:
    if actor.role not in CLINICAL_ROLES:
        audit.record_refusal(session, actor, patient_id=patient_id, target=target)
        raise ReportAccessDenied("Only doctors write and sign ECG reports.")


def save_report(
    database: Database,
    actor: Actor,
    recording_id: str,
    *,
    conclusions: str,
    notes: str,
    form_token: str,
    sign: bool = False,
) -> str:
    """Save an analysed recording as a new report (signed at once if `sign`); its report_id.

    The same form token twice (a double click, two requests racing, or Save then Sign) never
    makes a second report: the first one is updated (a draft's text) or signed instead.
    """
    with database.transaction() as db:
        earlier = previous_submission(db, form_token)
    if earlier is None:
        try:
            with database.transaction() as db:
                return _save_report(db, actor, recording_id, conclusions, notes, form_token, sign)
        except IntegrityError as error:
            if not is_repeated_submission(error):
                raise
            with database.transaction() as db:
                earlier = previous_submission(db, form_token)
            if earlier is None:
                raise
    with database.transaction() as db:
        detail = _own_detail(db, actor, earlier, "save")
        status = detail.status
    if sign:
        sign_report(database, actor, earlier, conclusions=conclusions, notes=notes)
    elif status == DRAFT:
        update_draft(database, actor, earlier, conclusions=conclusions, notes=notes)
    return earlier


def _save_report(db, actor, recording_id, conclusions, notes, form_token, sign, previous=None) -> str:
    _doctor_only(db, actor, "save report")
    earlier = previous_submission(db, form_token)
    if earlier is not None:
        return earlier
    recording = db.get(EcgRecording, str(recording_id or "")[:32])
    if recording is None:
        audit.record_refusal(db, actor, target=f"recording {str(recording_id)[:40]}")
        raise ReportAccessDenied("This recording does not exist or is not one you may see.")
    try:
        patient = check_patient_access(db, actor, recording.patient_id)
    except PatientAccessDenied as error:
        raise ReportAccessDenied(str(error)) from error
    if patient.doctor_id != actor.account_id:
        raise ReportAccessDenied("Only the patient's own doctor writes their ECG reports.")
    conclusions, notes = _clean_text(conclusions), _clean_text(notes)
    if sign and not conclusions:
        raise ReportError("Write the conclusions before signing the report.")
    analysis = json.loads(recording.analysis_json)
    now = utcnow()
    report_id = _new_report_id(now)
    row = EcgReport(
        report_id=report_id,
        patient_id=patient.patient_id,
        doctor_id=actor.account_id[:20],
        report_date=now,
        ecg_image_path=None,
        **_report_columns(analysis, _latest_risk(db, patient.patient_id)),
    )
    db.add(row)
    db.flush()
    detail = EcgReportDetail(
        report_id=report_id,
        recording_id=recording.recording_id,
        version=1 if previous is None else previous.version + 1,
        previous_report_id=None if previous is None else previous.report_id,
        status=SIGNED if sign else DRAFT,
        conclusions=conclusions,
        notes=notes,
        rhythm_label=row.predicted_class,
        analysis_json=recording.analysis_json,
        created_by=actor.account_id,
        signed_at=now if sign else None,
        signed_by=actor.account_id if sign else None,
    )
    db.add(detail)
    if previous is not None:
        previous.superseded_by = report_id
    db.flush()
    remember_submission(db, form_token, "ecg_report", report_id)
    action = "create_report" if previous is None else "amend_report"
    details = {"recording": recording.recording_id, "rhythm": row.predicted_class}
    if previous is not None:
        details["amends"] = previous.report_id
    audit.record(db, actor, action, patient_id=patient.patient_id, report_id=report_id, detail=details)
    if sign:
        audit.record(db, actor, "sign_report", patient_id=patient.patient_id, report_id=report_id)
    return report_id


def _own_detail(db: Session, actor: Actor, report_id: str, doing: str) -> EcgReportDetail:
    _doctor_only(db, actor, f"{doing} report {str(report_id)[:40]}")
    report = db.get(EcgReport, str(report_id or "")[:50])
    detail = db.get(EcgReportDetail, report.report_id) if report else None
    if report is None or detail is None or report.doctor_id != actor.account_id[:20]:
        audit.record_refusal(
            db, actor, patient_id=report.patient_id if report else None, target=f"{doing} report"
        )
        raise ReportAccessDenied("This report does not exist or is not one of yours.")
    return detail


def update_draft(database: Database, actor: Actor, report_id: str, *, conclusions: str, notes: str) -> None:
    """Change a draft's text; a signed report is read-only (ReportError)."""
    with database.transaction() as db:
        detail = _own_detail(db, actor, report_id, "edit")
        if detail.status != DRAFT:
            raise ReportError("This report is signed and can no longer be changed. Amend it instead.")
        detail.conclusions, detail.notes = _clean_text(conclusions), _clean_text(notes)
        report = db.get(EcgReport, report_id)
        audit.record(db, actor, "edit_report", patient_id=report.patient_id, report_id=report_id)


def sign_report(database: Database, actor: Actor, report_id: str, *, conclusions: str, notes: str) -> None:
    """Sign a draft with its final text. Signing twice is harmless; a signed text never changes."""
    with database.transaction() as db:
        detail = _own_detail(db, actor, report_id, "sign")
        if detail.status == SIGNED:
            return
        conclusions = _clean_text(conclusions)
        if not conclusions:
            raise ReportError("Write the conclusions before signing the report.")
        detail.conclusions, detail.notes = conclusions, _clean_text(notes)
        detail.status, detail.signed_at, detail.signed_by = SIGNED, utcnow(), actor.account_id
        report = db.get(EcgReport, report_id)
        audit.record(db, actor, "sign_report", patient_id=report.patient_id, report_id=report_id)


def amend_report(
    database: Database, actor: Actor, report_id: str, *, conclusions: str, notes: str, form_token: str
) -> str:
    """A new version of a signed report (as a draft); the signed one is kept unchanged."""
    with database.transaction() as db:
        earlier = previous_submission(db, form_token)
        if earlier is not None:
            return earlier
        detail = _own_detail(db, actor, report_id, "amend")
        if detail.status != SIGNED:
            raise ReportError("Only a signed report is amended; edit the draft instead.")
        if detail.superseded_by:
            raise ReportError(f"This report was already amended by {detail.superseded_by}; amend that one.")
        return _save_report(
            db, actor, detail.recording_id, conclusions, notes, form_token, sign=False, previous=detail
        )


def open_report(database: Database, actor: Actor, report_id: str) -> StoredReport:
    """A stored report and its analysis, for the report page (audited as view_report)."""
    with database.transaction() as db:
        report = db.get(EcgReport, str(report_id or "")[:50])
        if report is None:
            audit.record_refusal(db, actor, target=f"report {str(report_id)[:40]}")
            raise ReportAccessDenied("This report does not exist or is not one you may see.")
        try:
            patient = check_patient_access(db, actor, report.patient_id)
        except PatientAccessDenied as error:
            raise ReportAccessDenied("This report does not exist or is not one you may see.") from error
        detail = db.get(EcgReportDetail, report.report_id)
        signed = detail is not None and detail.status == SIGNED
        clinical = actor.role in CLINICAL_ROLES or signed
        audit.record(db, actor, "view_report", patient_id=patient.patient_id, report_id=report.report_id)
        analysis = json.loads(detail.analysis_json) if detail is not None and clinical else None
        return StoredReport(
            report=report,
            detail=detail,
            patient=patient,
            analysis=analysis,
            recording_id=detail.recording_id if detail is not None and clinical else None,
            clinical=clinical,
            editable=detail is not None
            and detail.status == DRAFT
            and actor.role == "doctor"
            and report.doctor_id == actor.account_id[:20],
        )


# --- Lists ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilters:
    patient: str = ""  # Patient ID or part of the name
    doctor: str = ""
    start: date | None = None
    end: date | None = None
    rhythm: str = ""
    unsigned_only: bool = False
    limit: int = 200


def search_reports(database: Database, actor: Actor, filters: ReportFilters) -> list[ReportRow]:
    """The reports this user may see, newest first, filtered."""
    if actor.role not in READ_ROLES:
        raise ReportAccessDenied("You may not list reports.")
    with database.transaction() as db:
        query = (
            select(EcgReport, EcgReportDetail, PatientProfile)
            .join(PatientProfile, PatientProfile.patient_id == EcgReport.patient_id)
            .outerjoin(EcgReportDetail, EcgReportDetail.report_id == EcgReport.report_id)
            .order_by(EcgReport.report_date.desc(), EcgReport.report_id.desc())
            .limit(max(1, min(filters.limit, 1000)))
        )
        if actor.role == "doctor":
            query = query.where(PatientProfile.doctor_id == actor.account_id)
        if filters.patient.strip():
            text = filters.patient.strip()[:45]
            query = query.where(
                or_(PatientProfile.patient_id == text, PatientProfile.name.ilike(f"%{text}%"))
            )
        if filters.doctor.strip():
            query = query.where(EcgReport.doctor_id == filters.doctor.strip()[:20])
        if filters.start:
            query = query.where(EcgReport.report_date >= datetime.combine(filters.start, datetime.min.time()))
        if filters.end:
            end = datetime.combine(filters.end, datetime.min.time()) + timedelta(days=1)
            query = query.where(EcgReport.report_date < end)
        if filters.rhythm:
            query = query.where(EcgReport.predicted_class == filters.rhythm)
        if filters.unsigned_only:
            query = query.where(or_(EcgReportDetail.status == DRAFT, EcgReportDetail.status.is_(None)))
        return [_row(actor, report, detail, patient) for report, detail, patient in db.execute(query)]


def reports_for_patient(session: Session, actor: Actor, patient: PatientProfile) -> list[ReportRow]:
    """Newest first. The clinical content (rhythm, rate) is shown to doctors, and to others once
    the report is signed."""
    rows = session.execute(
        select(EcgReport, EcgReportDetail)
        .outerjoin(EcgReportDetail, EcgReportDetail.report_id == EcgReport.report_id)
        .where(EcgReport.patient_id == patient.patient_id)
        .order_by(EcgReport.report_date.desc(), EcgReport.report_id.desc())
    )
    return [_row(actor, report, detail, patient) for report, detail in rows]


def _row(
    actor: Actor, report: EcgReport, detail: EcgReportDetail | None, patient: PatientProfile
) -> ReportRow:
    signed = detail is not None and detail.status == SIGNED
    clinical = actor.role in CLINICAL_ROLES or signed
    if detail is None:
        status = "original"
    elif detail.superseded_by:
        status = f"signed, amended by {detail.superseded_by}"
    else:
        status = detail.status
    return ReportRow(
        report_id=report.report_id,
        report_date=f"{report.report_date:%Y-%m-%d %H:%M}",
        doctor=report.doctor_id or "",
        rhythm=report.predicted_class if clinical else "(shown once signed)",
        heart_rate=f"{report.heart_rate:.0f} bpm" if clinical and report.heart_rate else "—",
        status=status,
        patient_id=patient.patient_id,
        patient_name=patient.name,
        version=detail.version if detail is not None else 1,
    )


@dataclass(frozen=True)
class AnalysisContext:
    """What the analysis page shows of the patient beside the findings."""

    patient_id: str
    patient_name: str
    sex: str | None  # "male"/"female" for the QTc limits, None when the profile says neither
    risk: RiskAssessment | None


def analysis_context(database: Database, actor: Actor, patient_id: str) -> AnalysisContext:
    with database.transaction() as db:
        patient = check_patient_access(db, actor, patient_id)
        sex = {"female": "female", "male": "male"}.get((patient.gender or "").strip().lower())
        return AnalysisContext(patient.patient_id, patient.name, sex, _latest_risk(db, patient.patient_id))


def doctor_patients(database: Database, actor: Actor) -> list[tuple[str, str]]:
    from dashboard.patients import patients_of_doctor

    with database.transaction() as db:
        return patients_of_doctor(db, actor)


def report_pair(
    database: Database, actor: Actor, first: str, second: str
) -> tuple[StoredReport, StoredReport]:
    """Two reports of the same patient, for the side-by-side comparison."""
    if not first or not second:
        raise ValueError("Choose two reports of the patient to compare.")
    a, b = open_report(database, actor, first), open_report(database, actor, second)
    if a.patient.patient_id != b.patient.patient_id:
        raise ValueError("Only two ECGs of the same patient are compared.")
    return a, b
