"""ECG reports as other pages list them. Creating, signing and exporting reports come with the
analysis feature; this module is where they belong."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.audit import Actor
from dashboard.models import EcgReport, PatientProfile

CLINICAL_ROLES = ("doctor",)


@dataclass(frozen=True)
class ReportRow:
    report_id: str
    report_date: str
    doctor: str
    rhythm: str
    heart_rate: str


def reports_for_patient(session: Session, actor: Actor, patient: PatientProfile) -> list[ReportRow]:
    """Newest first. The clinical content (rhythm, rate) is shown to doctors only: reports
    have no signature yet, and staff see conclusions only once a report is signed."""
    reports = session.scalars(
        select(EcgReport)
        .where(EcgReport.patient_id == patient.patient_id)
        .order_by(EcgReport.report_date.desc())
    )
    clinical = actor.role in CLINICAL_ROLES
    return [
        ReportRow(
            report_id=report.report_id,
            report_date=f"{report.report_date:%Y-%m-%d %H:%M}",
            doctor=report.doctor_id or "",
            rhythm=report.predicted_class if clinical else "(shown once signed)",
            heart_rate=f"{report.heart_rate:.0f} bpm" if clinical and report.heart_rate else "—",
        )
        for report in reports
    ]
