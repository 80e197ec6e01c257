"""Reading patients for the start page. Registration and editing come with the patients
feature; this module is where they belong."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.models import Doctor, PatientProfile


@dataclass(frozen=True)
class PatientSummary:
    patient_id: str
    name: str
    age: int
    gender: str
    doctor: str


def count_patients(session: Session, doctor_id: str | None = None) -> int:
    query = select(func.count()).select_from(PatientProfile)
    if doctor_id is not None:
        query = query.where(PatientProfile.doctor_id == doctor_id)
    return session.scalar(query) or 0


def recent_patients(session: Session, doctor_id: str | None = None, limit: int = 10) -> list[PatientSummary]:
    """Newest registrations first; only the doctor's own patients when doctor_id is given."""
    query = (
        select(PatientProfile, Doctor.username)
        .outerjoin(Doctor, Doctor.doctor_id == PatientProfile.doctor_id)
        .order_by(PatientProfile.created_at.desc(), PatientProfile.patient_id)
        .limit(limit)
    )
    if doctor_id is not None:
        query = query.where(PatientProfile.doctor_id == doctor_id)
    return [
        PatientSummary(p.patient_id, p.name, p.age, p.gender, username or "—")
        for p, username in session.execute(query)
    ]
