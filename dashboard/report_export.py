"""Exporting a saved ECG report as PDF: the clinician report or the patient summary.

The PDF is built from stored data only: the `ecg_reports` row, its `ecg_report_detail` (the
Analysis JSON, conclusions, status), the stored recording's cleaned signal, and the patient's
risk entry that was the latest when the report was saved. Nothing the browser sends goes into
it but the report id and the kind. Rendering is `pipeline.report_pdf`'s.

Each export writes the file under instance/reports/ with a generated name, records it in
`ecg_report_pdf` (one row per report and kind: the latest export) and writes an
`export_report` audit row. Access follows the report page: doctors export their own patients'
reports; staff and admins a signed report (its clinical content is theirs to see once signed).
A refusal is audited (`access_denied`) and raises `ReportAccessDenied`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import audit
from dashboard.audit import Actor, utcnow
from dashboard.config import Settings
from dashboard.db import Database
from dashboard.models import (
    AccountState,
    EcgRecording,
    EcgReport,
    EcgReportDetail,
    EcgReportPdf,
    PatientProfile,
    RiskAssessment,
)
from dashboard.patients import PatientAccessDenied, check_patient_access
from dashboard.reports import CLINICAL_ROLES, NOT_CLASSIFIED, SIGNED, ReportAccessDenied
from pipeline.report_pdf import Institution, clinician_report_pdf, patient_summary_pdf

KINDS = {"clinician": "ECG report", "patient": "ECG summary for the patient"}


@dataclass(frozen=True)
class ExportedPdf:
    report_id: str
    kind: str
    filename: str  # what the browser saves it as
    path: Path
    content: bytes
    sha256: str


def reports_dir(settings: Settings) -> Path:
    return settings.instance_dir / "reports"


def _display_name(session: Session, account_id: str | None) -> str:
    if not account_id:
        return "—"
    state = session.get(AccountState, ("doctor", account_id))
    name = state.display_name if state is not None and state.display_name else None
    return f"{name} ({account_id})" if name else account_id


def _risk_at(session: Session, patient_id: str, report: EcgReport) -> dict | None:
    """Framingham and GRACE as saved in the report row, with the inputs of the risk entry that
    was the patient's latest when the report was saved (None: no risk entry then)."""
    entry = session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.patient_id == patient_id, RiskAssessment.entered_at <= report.report_date)
        .order_by(RiskAssessment.entered_at.desc(), RiskAssessment.id.desc())
        .limit(1)
    ).first()
    if entry is None and not report.framingham_risk:
        return None
    framingham = {
        "risk_pct": report.framingham_risk if report.framingham_risk else None,
        "sbp_mmhg": report.systolic_bp or None,
        "total_cholesterol_mg_dl": report.cholesterol or None,
        "hdl_mg_dl": report.hdl or None,
        "smoker": report.smoker,
        "diabetic": report.diabetes,
    }
    grace = {"points": report.grace_score if report.grace_score else None}
    if entry is not None:
        framingham.update(
            sex=entry.sex,
            age_years=entry.age_years,
            bp_treated=entry.bp_treated,
            points=entry.framingham_points,
            category=entry.framingham_category,
            heart_age_years=entry.heart_age_years,
        )
        grace.update(
            age_years=entry.age_years,
            heart_rate_bpm=entry.heart_rate_bpm,
            sbp_mmhg=entry.sbp_mmhg,
            creatinine_mg_dl=entry.creatinine_mg_dl,
            killip_class=entry.killip_class,
            cardiac_arrest=entry.cardiac_arrest,
            st_deviation=entry.st_deviation,
            elevated_enzymes=entry.elevated_enzymes,
        )
        if entry.grace_points is not None and entry.grace_points == report.grace_score:
            grace["mortality_pct"] = entry.grace_mortality_pct
    return {
        "framingham": framingham if framingham["risk_pct"] is not None else None,
        "grace": grace if grace["points"] is not None else None,
    }


def _report_fields(
    session: Session, report: EcgReport, detail: EcgReportDetail | None, patient: PatientProfile
) -> dict:
    status = "original" if detail is None else detail.status
    return {
        "report_id": report.report_id,
        "report_date": report.report_date,
        "version": detail.version if detail is not None else 1,
        "amends": detail.previous_report_id if detail is not None else None,
        "doctor": _display_name(session, report.doctor_id),
        "status": status,
        "signed_by": _display_name(session, detail.signed_by) if detail is not None else None,
        "signed_at": detail.signed_at if detail is not None else None,
        "conclusions": detail.conclusions if detail is not None else "",
        "notes": detail.notes if detail is not None else "",
        "patient": {
            "name": patient.name,
            "patient_id": patient.patient_id,
            "age": patient.age,
            "gender": patient.gender,
            "sex": (patient.gender or "").strip().lower(),
        },
        "risk": _risk_at(session, patient.patient_id, report),
        # For an original row (no Analysis): its own columns.
        "record": report.record_num,
        "rhythm_label": report.predicted_class if report.predicted_class != NOT_CLASSIFIED else None,
        "confidence": report.confidence,
        "probabilities": report.class_probabilities or {},
        "heart_rate_bpm": report.heart_rate,
        "pr_ms": report.pr_interval,
        "qt_ms": report.qt_interval,
        "beat_count": report.all_beats_count,
    }


def _stored_signal(settings: Settings, recording: EcgRecording | None):
    """The stored cleaned signal (samples x leads), fs and lead names; Nones when not stored."""
    if recording is None:
        return None, None, None
    path = settings.instance_dir / "recordings" / recording.stored_name
    if not path.is_file():
        return None, None, None
    with np.load(path, allow_pickle=False) as stored:
        return stored["cleaned_mv"], float(stored["fs"]), tuple(stored["lead_names"].tolist())


def _refuse(session: Session, actor: Actor, report_id: str, patient_id: str | None = None) -> None:
    audit.record_refusal(session, actor, patient_id=patient_id, target=f"export report {str(report_id)[:40]}")
    raise ReportAccessDenied("This report does not exist or is not one you may export.")


def export_report_pdf(
    database: Database, settings: Settings, actor: Actor, report_id: str, kind: str = "clinician"
) -> ExportedPdf:
    """Build the report's PDF of `kind` ("clinician" or "patient") from stored data, store it,
    audit it, and return it. ReportAccessDenied (audited) when this user may not export it."""
    report_id = str(report_id or "")[:50]
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    with database.transaction() as db:
        report = db.get(EcgReport, report_id) if report_id else None
        if report is None:
            _refuse(db, actor, report_id)
        try:
            patient = check_patient_access(db, actor, report.patient_id)
        except PatientAccessDenied:
            raise ReportAccessDenied("This report does not exist or is not one you may export.") from None
        detail = db.get(EcgReportDetail, report.report_id)
        signed = detail is not None and detail.status == SIGNED
        if actor.role not in CLINICAL_ROLES and not signed:
            _refuse(db, actor, report_id, patient.patient_id)  # findings are shown once signed
        fields = _report_fields(db, report, detail, patient)
        analysis = json.loads(detail.analysis_json) if detail is not None else None
        recording = db.get(EcgRecording, detail.recording_id) if detail is not None else None
        signal, fs, leads = _stored_signal(settings, recording)

    institution = Institution(
        name=settings.institution_name,
        logo_path=str(settings.institution_logo) if settings.institution_logo else None,
    )
    if kind == "clinician":
        content = clinician_report_pdf(
            fields, analysis, signal, fs, leads, institution=institution, paper_size=settings.paper_size
        )
    else:
        content = patient_summary_pdf(
            fields, analysis, institution=institution, paper_size=settings.paper_size
        )
    digest = hashlib.sha256(content).hexdigest()
    folder = reports_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)

    with database.transaction() as db:
        row = db.get(EcgReportPdf, (report_id, kind))
        old_path = folder / row.stored_name if row is not None else None
        if row is not None and row.sha256 == digest and old_path.is_file():
            path = old_path  # the same content: the stored file stays
        else:
            path = folder / f"{uuid.uuid4().hex}.pdf"
            with open(path, "xb") as handle:
                handle.write(content)
            if row is None:
                row = EcgReportPdf(report_id=report_id, kind=kind)
                db.add(row)
            row.stored_name, row.sha256, row.n_bytes = path.name, digest, len(content)
        row.generated_at, row.generated_by = utcnow(), actor.account_id or ""
        audit.record(
            db,
            actor,
            "export_report",
            patient_id=fields["patient"]["patient_id"],
            report_id=report_id,
            detail={"kind": kind, "sha256": digest, "file": path.name, "status": fields["status"]},
        )
    if old_path is not None and old_path != path:
        old_path.unlink(missing_ok=True)  # superseded by the new export
    safe_id = "".join(c for c in report_id if c.isalnum() or c in "-_") or "report"
    suffix = "" if kind == "clinician" else "-patient-summary"
    return ExportedPdf(report_id, kind, f"ECG-{safe_id}{suffix}.pdf", path, content, digest)


def stored_pdf_path(database: Database, settings: Settings, report_id: str, kind: str) -> Path | None:
    """Where the latest export of a report is stored (None: never exported). No access check:
    for tests and maintenance; users get files through `export_report_pdf` only."""
    with database.transaction() as db:
        row = db.get(EcgReportPdf, (str(report_id)[:50], kind))
        return reports_dir(settings) / row.stored_name if row is not None else None
