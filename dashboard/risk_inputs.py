"""The risk-factor form: checking an entry, storing it (history, never overwritten), and the
patient's scores over time. The formulas live in pipeline.risk."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import audit
from dashboard.audit import Actor, utcnow
from dashboard.models import EcgReport, PatientProfile, RiskAssessment, RiskInput
from dashboard.patients import check_patient_access, previous_submission, remember_submission
from pipeline.risk import (
    cholesterol_mmol_l_to_mg_dl,
    creatinine_umol_l_to_mg_dl,
    framingham_10y,
    grace_in_hospital,
)

# Plausible ranges, in canonical units; values outside are typing errors, not patients.
RANGES = {
    "total_cholesterol": (50.0, 500.0, "mg/dL"),
    "hdl": (10.0, 150.0, "mg/dL"),
    "sbp": (60.0, 260.0, "mmHg"),
    "creatinine": (0.1, 20.0, "mg/dL"),
    "heart_rate": (20.0, 250.0, "bpm"),
}
LABELS = {
    "total_cholesterol": "Total cholesterol",
    "hdl": "HDL cholesterol",
    "sbp": "Systolic blood pressure",
    "creatinine": "Creatinine",
    "heart_rate": "Heart rate",
}
MAX_OTHER_ISSUES = 200
ENTER_ROLES = ("staff", "doctor")


class RiskFormError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class RiskDraft:
    sex: str  # "male" / "female", for the equations
    smoker: bool
    diabetic: bool
    bp_treated: bool
    total_cholesterol_mg_dl: float
    hdl_mg_dl: float
    sbp_mmhg: float
    other_issues: str
    creatinine_mg_dl: float | None
    killip_class: int | None
    cardiac_arrest: bool
    st_deviation: bool
    elevated_enzymes: bool
    heart_rate_bpm: float | None
    heart_rate_source: str | None

    @property
    def has_grace_inputs(self) -> bool:
        return None not in (self.creatinine_mg_dl, self.killip_class, self.heart_rate_bpm)


def sex_for_equations(gender: str) -> str | None:
    return {"female": "female", "male": "male"}.get((gender or "").strip().lower())


# For a value typed in another unit: (unit, canonical -> that unit, decimals) for the message.
ENTERED_UNITS = {
    "mmol/L": ("mmol/L", lambda mg_dl: mg_dl / cholesterol_mmol_l_to_mg_dl(1.0), 1),
    "µmol/L": ("µmol/L", lambda mg_dl: mg_dl / creatinine_umol_l_to_mg_dl(1.0), 0),
}


def _number(
    raw, key: str, errors: dict, *, required: bool, convert=None, entered_unit: str | None = None
) -> float | None:
    text = str(raw if raw is not None else "").strip().replace(",", ".")
    low, high, unit = RANGES[key]
    if not text:
        if required:
            errors[key] = f"Enter the {LABELS[key].lower()}."
        return None
    try:
        value = float(text)
    except ValueError:
        errors[key] = f"{LABELS[key]} must be a number."
        return None
    if not math.isfinite(value):
        errors[key] = f"{LABELS[key]} must be a number."
        return None
    if convert is not None:
        value = convert(value)
    if not low <= value <= high:
        message = f"{LABELS[key]} must be between {low:g} and {high:g} {unit}"
        if entered_unit in ENTERED_UNITS:
            shown, to_unit, decimals = ENTERED_UNITS[entered_unit]
            message += f" ({to_unit(low):.{decimals}f}–{to_unit(high):.{decimals}f} {shown})"
        errors[key] = message + "."
        return None
    return value


def validate_risk_inputs(raw: dict, profile_gender: str) -> RiskDraft:
    """Check an entry; convert mmol/L and µmol/L to mg/dL; raise RiskFormError per field."""
    errors: dict[str, str] = {}
    sex = sex_for_equations(profile_gender) or sex_for_equations(raw.get("sex"))
    if sex is None:
        errors["sex"] = "Choose the sex the risk equations should use (female or male)."
    mmol = raw.get("cholesterol_unit") == "mmol/L"
    to_mg_dl = cholesterol_mmol_l_to_mg_dl if mmol else None
    cholesterol_unit = "mmol/L" if mmol else None
    total = _number(
        raw.get("total_cholesterol"),
        "total_cholesterol",
        errors,
        required=True,
        convert=to_mg_dl,
        entered_unit=cholesterol_unit,
    )
    hdl = _number(
        raw.get("hdl"), "hdl", errors, required=True, convert=to_mg_dl, entered_unit=cholesterol_unit
    )
    if total is not None and hdl is not None and hdl >= total:
        errors["hdl"] = "HDL cholesterol must be lower than total cholesterol."
    sbp = _number(raw.get("sbp"), "sbp", errors, required=True)
    umol = raw.get("creatinine_unit") == "µmol/L"
    creatinine = _number(
        raw.get("creatinine"),
        "creatinine",
        errors,
        required=False,
        convert=creatinine_umol_l_to_mg_dl if umol else None,
        entered_unit="µmol/L" if umol else None,
    )
    heart_rate = _number(raw.get("heart_rate"), "heart_rate", errors, required=False)
    killip = raw.get("killip_class")
    killip = int(killip) if str(killip or "").strip() in ("1", "2", "3", "4") else None
    grace_given = [creatinine is not None, killip is not None, heart_rate is not None]
    if any(grace_given) and not all(grace_given):
        # GRACE needs all three measurements; a partial entry is a mistake, not a score.
        for key, given in zip(("creatinine", "killip_class", "heart_rate"), grace_given, strict=True):
            if not given and key not in errors:
                errors[key] = "Needed for the GRACE score (or leave all GRACE measurements empty)."
    other = " ".join(str(raw.get("other_issues") or "").split())
    if len(other) > MAX_OTHER_ISSUES:
        errors["other_issues"] = f"Other issues may have at most {MAX_OTHER_ISSUES} characters."
    if errors:
        raise RiskFormError(errors)
    return RiskDraft(
        sex=sex,
        smoker=bool(raw.get("smoker")),
        diabetic=bool(raw.get("diabetic")),
        bp_treated=bool(raw.get("bp_treated")),
        total_cholesterol_mg_dl=round(total, 1),
        hdl_mg_dl=round(hdl, 1),
        sbp_mmhg=sbp,
        other_issues=other,
        creatinine_mg_dl=round(creatinine, 2) if creatinine is not None else None,
        killip_class=killip,
        cardiac_arrest=bool(raw.get("cardiac_arrest")),
        st_deviation=bool(raw.get("st_deviation")),
        elevated_enzymes=bool(raw.get("elevated_enzymes")),
        heart_rate_bpm=heart_rate,
        heart_rate_source=(str(raw.get("heart_rate_source"))[:80] or None)
        if heart_rate is not None
        else None,
    )


@dataclass(frozen=True)
class LatestHeartRate:
    bpm: float
    report_id: str
    report_date: datetime


def latest_ecg_heart_rate(session: Session, patient_id: str) -> LatestHeartRate | None:
    """The heart rate of the patient's newest ECG report, to prefill the form."""
    report = session.scalars(
        select(EcgReport)
        .where(EcgReport.patient_id == patient_id, EcgReport.heart_rate > 0)
        .order_by(EcgReport.report_date.desc())
        .limit(1)
    ).first()
    return LatestHeartRate(report.heart_rate, report.report_id, report.report_date) if report else None


def record_risk_inputs(
    session: Session, actor: Actor, patient_id: str, draft: RiskDraft, form_token: str
) -> RiskAssessment:
    """Store one entry: the original `input` row and its assessment, with both scores."""
    if actor.role not in ENTER_ROLES:
        audit.record_refusal(session, actor, patient_id=patient_id[:20], target="enter risk factors")
        raise PermissionError("Only staff and doctors enter risk factors.")
    patient = check_patient_access(session, actor, patient_id)
    earlier = previous_submission(session, form_token)
    if earlier is not None:
        return session.get(RiskAssessment, int(earlier))
    if not isinstance(patient.age, int) or patient.age < 1:
        # ln(age) in the Framingham equation: a newborn (age 0, allowed in the profile) or a
        # broken original row cannot be scored. Said on the form; nothing is saved.
        raise RiskFormError(
            {
                "age": f"The risk scores need the patient's age in whole years (1 or more); the "
                f"profile says {patient.age}. Correct it in the patient's details first."
            }
        )
    now = utcnow()
    framingham = framingham_10y(
        draft.sex,
        patient.age,
        draft.total_cholesterol_mg_dl,
        draft.hdl_mg_dl,
        draft.sbp_mmhg,
        draft.bp_treated,
        draft.smoker,
        draft.diabetic,
    )
    grace = None
    if draft.has_grace_inputs:
        grace = grace_in_hospital(
            patient.age,
            draft.heart_rate_bpm,
            draft.sbp_mmhg,
            draft.creatinine_mg_dl,
            draft.killip_class,
            draft.cardiac_arrest,
            draft.st_deviation,
            draft.elevated_enzymes,
        )
    original = RiskInput(
        patient_id=patient.patient_id,
        smoker=draft.smoker,
        diabetic=draft.diabetic,
        cholesterol=draft.total_cholesterol_mg_dl,
        hdl=round(draft.hdl_mg_dl),  # an int column in the original schema
        blood_pressure=draft.sbp_mmhg,
        other_issues=draft.other_issues,
        generated_at=now.strftime("%Y-%m-%d %H:%M:%S"),
        doctor_id=(actor.account_id if actor.role == "doctor" else patient.doctor_id or "")[:20] or None,
    )
    session.add(original)
    session.flush()
    assessment = RiskAssessment(
        record_id=original.record_id,
        patient_id=patient.patient_id,
        entered_at=now,
        entered_by_role=actor.role,
        entered_by_id=actor.account_id,
        sex=draft.sex,
        age_years=patient.age,
        smoker=draft.smoker,
        diabetic=draft.diabetic,
        total_cholesterol_mg_dl=draft.total_cholesterol_mg_dl,
        hdl_mg_dl=draft.hdl_mg_dl,
        sbp_mmhg=draft.sbp_mmhg,
        bp_treated=draft.bp_treated,
        other_issues=draft.other_issues,
        creatinine_mg_dl=draft.creatinine_mg_dl,
        killip_class=draft.killip_class,
        cardiac_arrest=draft.cardiac_arrest if grace else None,
        st_deviation=draft.st_deviation if grace else None,
        elevated_enzymes=draft.elevated_enzymes if grace else None,
        heart_rate_bpm=draft.heart_rate_bpm,
        heart_rate_source=draft.heart_rate_source,
        framingham_risk_pct=framingham.risk_pct,
        framingham_points=framingham.points,
        framingham_category=framingham.category,
        heart_age_years=framingham.heart_age_years,
        grace_points=grace.points if grace else None,
        grace_mortality_pct=grace.mortality_pct if grace else None,
    )
    session.add(assessment)
    session.flush()
    remember_submission(session, form_token, "risk_inputs", str(assessment.id))
    audit.record(
        session,
        actor,
        "enter_risk_inputs",
        patient_id=patient.patient_id,
        target=f"input {original.record_id}",
    )
    return assessment


def risk_history(session: Session, patient: PatientProfile) -> list[RiskAssessment]:
    """All entries of one patient, oldest first."""
    return list(
        session.scalars(
            select(RiskAssessment)
            .where(RiskAssessment.patient_id == patient.patient_id)
            .order_by(RiskAssessment.entered_at, RiskAssessment.id)
        )
    )
