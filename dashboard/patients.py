"""Patients: who may see whom, registering and editing, and the searchable register.

Access rules (checked here, on every call, whatever the page shows):
* staff and admin see every patient's demographics and risk inputs, and register/edit them;
* a doctor sees the patients assigned to them; another patient only through the explicit
  "all patients" view, which is audited;
* every opening of a patient writes a `view_patient` audit row, every refusal an
  `access_denied` row.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from dashboard import audit
from dashboard.audit import Actor, utcnow
from dashboard.models import (
    AccountState,
    Doctor,
    FormSubmission,
    PatientContact,
    PatientProfile,
    RiskAssessment,
)

GENDERS = ("Female", "Male", "Other")
# Column sizes of the original patient_profile table.
MAX_NAME, MAX_ADDRESS, MAX_EMAIL, MAX_GENDER = 45, 60, 45, 45
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
# E.164 numbers have at most 15 digits; 6 covers short hospital extensions.
PHONE_DIGITS = (6, 15)
ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


class PatientAccessDenied(PermissionError):
    """The user may not see this patient (or it does not exist); already audited."""


class PatientFormError(ValueError):
    """Field-level problems with a patient form: {field: message}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# --- Access ---------------------------------------------------------------------------------


def may_edit_demographics(actor: Actor) -> bool:
    return actor.role in ("staff", "admin")


def open_patient(session: Session, actor: Actor, patient_id: str, *, via_all: bool = False) -> PatientProfile:
    """The patient, if this user may see them; writes the view (or refusal) audit row."""
    patient = check_patient_access(session, actor, patient_id, via_all=via_all)
    detail = None
    if actor.role == "doctor" and patient.doctor_id != actor.account_id:
        detail = {"access": "all-patients view (not the assigned doctor)"}
    audit.record(session, actor, "view_patient", patient_id=patient.patient_id, detail=detail)
    return patient


def check_patient_access(
    session: Session, actor: Actor, patient_id: str, *, via_all: bool = False
) -> PatientProfile:
    """The patient if this user may see them, else PatientAccessDenied (audited)."""
    patient = session.get(PatientProfile, (patient_id or "")[:20]) if patient_id else None
    allowed = patient is not None and (
        actor.role in ("staff", "admin")
        or (actor.role == "doctor" and (patient.doctor_id == actor.account_id or via_all))
    )
    if not allowed:
        audit.record_refusal(
            session,
            actor,
            patient_id=patient.patient_id if patient else None,
            target=f"patient {str(patient_id)[:40]}",
        )
        raise PatientAccessDenied("This patient does not exist or is not one you may see.")
    return patient


# --- Registering and editing ------------------------------------------------------------------


@dataclass(frozen=True)
class PatientDraft:
    name: str
    age: int
    gender: str
    address: str
    email: str
    personal_phone: str  # as typed, normalised: optional + and digits
    emergency_phone: str
    doctor_id: str | None


def _clean_text(value) -> str:
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")  # no control chars


def _phone(value, label: str, errors: dict, field: str) -> str:
    text = _clean_text(value)
    if not text:
        errors[field] = f"Enter the {label}."
        return ""
    if not re.fullmatch(r"\+?[0-9 ()./-]+", text):
        errors[field] = f"The {label} may contain only digits, spaces, brackets, dashes and a leading +."
        return ""
    digits = re.sub(r"\D", "", text)
    if not PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1]:
        errors[field] = f"The {label} must have {PHONE_DIGITS[0]} to {PHONE_DIGITS[1]} digits."
        return ""
    return ("+" if text.startswith("+") else "") + digits


def validate_patient(session: Session, raw: dict) -> PatientDraft:
    """Check every field; raise PatientFormError with a message per wrong field."""
    errors: dict[str, str] = {}
    name = _clean_text(raw.get("name"))
    if not name:
        errors["name"] = "Enter the patient's name."
    elif len(name) > MAX_NAME:
        errors["name"] = f"The name may have at most {MAX_NAME} characters."
    age = None
    try:
        age = int(str(raw.get("age", "")).strip())
        if not 0 <= age <= 120:
            errors["age"] = "Age must be a whole number from 0 to 120."
    except ValueError:
        errors["age"] = "Age must be a whole number from 0 to 120."
    gender = _clean_text(raw.get("gender"))
    if gender not in GENDERS:
        errors["gender"] = "Choose the gender."
    address = _clean_text(raw.get("address"))
    if not address:
        errors["address"] = "Enter the address."
    elif len(address) > MAX_ADDRESS:
        errors["address"] = f"The address may have at most {MAX_ADDRESS} characters."
    email = _clean_text(raw.get("email"))
    if not EMAIL.match(email):
        errors["email"] = "Enter an e-mail address like name@example.org."
    elif len(email) > MAX_EMAIL:
        errors["email"] = f"The e-mail address may have at most {MAX_EMAIL} characters."
    personal = _phone(raw.get("personal_phone"), "personal phone number", errors, "personal_phone")
    emergency = _phone(raw.get("emergency_phone"), "emergency contact number", errors, "emergency_phone")
    doctor_id = _clean_text(raw.get("doctor_id")) or None
    if doctor_id and session.get(Doctor, doctor_id) is None:
        errors["doctor_id"] = "Choose a doctor from the list."
    if errors:
        raise PatientFormError(errors)
    return PatientDraft(name, age, gender, address, email, personal, emergency, doctor_id)


def find_duplicates(
    session: Session, name: str, phone: str, exclude: str | None = None
) -> list[PatientProfile]:
    """Patients with the same personal phone number and the same name, ignoring case in any
    script (compared in Python: SQLite's lower() knows only ASCII)."""
    digits = int(re.sub(r"\D", "", phone) or 0)
    query = select(PatientProfile).where(PatientProfile.personal_contact == digits)
    if exclude:
        query = query.where(PatientProfile.patient_id != exclude)
    wanted = name.casefold()
    return [patient for patient in session.scalars(query) if patient.name.casefold() == wanted]


@dataclass(frozen=True)
class RegisterOutcome:
    patient_id: str | None
    duplicates: tuple[str, ...] = ()  # IDs of look-alikes, when not confirmed
    repeated: bool = False  # the same form was submitted before: nothing new was saved


def register_patient(
    session: Session, actor: Actor, draft: PatientDraft, form_token: str, *, confirm_duplicate: bool = False
) -> RegisterOutcome:
    """Create the patient (Patient_ID, Created_At and Staff_Username from the server)."""
    if not may_edit_demographics(actor):
        audit.record_refusal(session, actor, target="register patient")
        raise PatientAccessDenied("Only staff and administrators register patients.")
    earlier = previous_submission(session, form_token)
    if earlier is not None:
        return RegisterOutcome(patient_id=earlier, repeated=True)
    duplicates = find_duplicates(session, draft.name, draft.personal_phone)
    if duplicates and not confirm_duplicate:
        return RegisterOutcome(patient_id=None, duplicates=tuple(p.patient_id for p in duplicates))
    patient_id = _new_patient_id(session)
    patient = PatientProfile(patient_id=patient_id, created_at=utcnow(), staff_username=actor.account_id[:80])
    _apply(patient, draft)
    session.add(patient)
    session.flush()
    session.add(
        PatientContact(
            patient_id=patient_id, personal_phone=draft.personal_phone, emergency_phone=draft.emergency_phone
        )
    )
    remember_submission(session, form_token, "register_patient", patient_id)
    audit.record(
        session,
        actor,
        "create_patient",
        patient_id=patient_id,
        detail={"duplicate_confirmed": True} if duplicates else None,
    )
    return RegisterOutcome(patient_id=patient_id)


def update_patient(session: Session, actor: Actor, patient_id: str, draft: PatientDraft) -> PatientProfile:
    if not may_edit_demographics(actor):
        audit.record_refusal(session, actor, patient_id=patient_id[:20], target="edit patient")
        raise PatientAccessDenied("Only staff and administrators edit patient details.")
    patient = check_patient_access(session, actor, patient_id)
    changed = sorted(
        field
        for field, before, after in (
            ("name", patient.name, draft.name),
            ("age", patient.age, draft.age),
            ("gender", patient.gender, draft.gender),
            ("address", patient.address, draft.address),
            ("email", patient.email, draft.email),
            ("doctor", patient.doctor_id, draft.doctor_id),
            ("personal phone", patient.personal_contact, _phone_number(draft.personal_phone)),
            ("emergency phone", patient.emergency_contact, _phone_number(draft.emergency_phone)),
        )
        if before != after
    )
    _apply(patient, draft)
    contact = session.get(PatientContact, patient_id)
    if contact is None:
        session.add(
            PatientContact(
                patient_id=patient_id,
                personal_phone=draft.personal_phone,
                emergency_phone=draft.emergency_phone,
            )
        )
    else:
        contact.personal_phone, contact.emergency_phone = draft.personal_phone, draft.emergency_phone
    audit.record(session, actor, "update_patient", patient_id=patient_id, detail={"changed": changed})
    return patient


def _phone_number(phone: str) -> int:
    return int(re.sub(r"\D", "", phone))


def _apply(patient: PatientProfile, draft: PatientDraft) -> None:
    patient.name = draft.name
    patient.age = draft.age
    patient.gender = draft.gender
    patient.address = draft.address
    patient.email = draft.email
    patient.personal_contact = _phone_number(draft.personal_phone)
    patient.emergency_contact = _phone_number(draft.emergency_phone)
    patient.doctor_id = draft.doctor_id


def _new_patient_id(session: Session) -> str:
    while True:
        candidate = "P" + "".join(secrets.choice(ID_ALPHABET) for _ in range(9))
        if session.get(PatientProfile, candidate) is None:
            return candidate


def previous_submission(session: Session, form_token: str) -> str | None:
    row = session.get(FormSubmission, form_token)
    return row.result_id if row else None


def remember_submission(session: Session, form_token: str, kind: str, result_id: str) -> None:
    """Record the form token in this transaction; a concurrent second submit of the same
    token fails on the primary key and rolls back whole (see `is_repeated_submission`)."""
    if not form_token or len(form_token) > 64:
        raise ValueError("a form token is required")
    session.add(FormSubmission(token=form_token, kind=kind, result_id=str(result_id), created_at=utcnow()))
    session.flush()


def is_repeated_submission(error: IntegrityError) -> bool:
    return "form_submission" in str(error.orig).lower() or "primary" in str(error.orig).lower()


# --- Reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientSummary:
    patient_id: str
    name: str
    age: int
    gender: str
    doctor: str


@dataclass(frozen=True)
class PatientDetails:
    patient_id: str
    name: str
    age: int
    gender: str
    address: str
    email: str
    personal_phone: str
    emergency_phone: str
    doctor_id: str | None
    doctor_name: str
    created_at: datetime
    registered_by: str


def patient_details(session: Session, patient: PatientProfile) -> PatientDetails:
    contact = session.get(PatientContact, patient.patient_id)
    return PatientDetails(
        patient_id=patient.patient_id,
        name=patient.name,
        age=patient.age,
        gender=patient.gender,
        address=patient.address,
        email=patient.email,
        personal_phone=contact.personal_phone if contact else str(patient.personal_contact),
        emergency_phone=contact.emergency_phone if contact else str(patient.emergency_contact),
        doctor_id=patient.doctor_id,
        doctor_name=doctor_names(session).get(patient.doctor_id, "not assigned")
        if patient.doctor_id
        else "not assigned",
        created_at=patient.created_at,
        registered_by=patient.staff_username,
    )


def doctor_names(session: Session) -> dict[str, str]:
    """Doctor_ID -> the name to show (display name, else username)."""
    names = {
        doctor_id: username
        for doctor_id, username in session.execute(select(Doctor.doctor_id, Doctor.username))
    }
    for state in session.scalars(select(AccountState).where(AccountState.role == "doctor")):
        if state.account_id in names and state.display_name:
            names[state.account_id] = state.display_name
    return names


def count_patients(session: Session, doctor_id: str | None = None) -> int:
    query = select(func.count()).select_from(PatientProfile)
    if doctor_id is not None:
        query = query.where(PatientProfile.doctor_id == doctor_id)
    return session.scalar(query) or 0


def recent_patients(session: Session, doctor_id: str | None = None, limit: int = 10) -> list[PatientSummary]:
    """Newest registrations first; only the doctor's own patients when doctor_id is given.
    Doctors are named as on the other pages (display name, else username)."""
    query = (
        select(PatientProfile)
        .order_by(PatientProfile.created_at.desc(), PatientProfile.patient_id)
        .limit(limit)
    )
    if doctor_id is not None:
        query = query.where(PatientProfile.doctor_id == doctor_id)
    names = doctor_names(session)
    return [
        PatientSummary(p.patient_id, p.name, p.age, p.gender, names.get(p.doctor_id, "—"))
        for p in session.scalars(query)
    ]


RISK_LEVELS = ("low", "intermediate", "high", "none")
SORTABLE = {
    "patient_id": PatientProfile.patient_id,
    "name": PatientProfile.name,
    "age": PatientProfile.age,
    "gender": PatientProfile.gender,
    "created_at": PatientProfile.created_at,
}


@dataclass(frozen=True)
class PatientQuery:
    scope: str = "mine"  # doctors: "mine" or "all" (audited); staff and admin always see all
    search: str = ""  # part of the name, or the start of the Patient ID
    doctor_id: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    risk_level: str | None = None  # one of RISK_LEVELS ("none": no risk inputs yet)
    sort_by: str = "created_at"
    descending: bool = True
    offset: int = 0
    limit: int = 25


@dataclass(frozen=True)
class PatientPage:
    rows: list[dict]
    total: int


def list_patients(session: Session, actor: Actor, query: PatientQuery) -> PatientPage:
    """One page of the register, filtered, sorted and counted in the database."""
    # The patient's newest risk entry, found through the (patient_id, id) index.
    latest_id = (
        select(func.max(RiskAssessment.id))
        .where(RiskAssessment.patient_id == PatientProfile.patient_id)
        .correlate(PatientProfile)
        .scalar_subquery()
    )
    risk = aliased(RiskAssessment)
    conditions = []
    if actor.role == "doctor":
        if query.scope == "all":
            if query.offset == 0:  # once per listing, not per page turned
                audit.record(session, actor, "view_all_patients", detail=_filters_detail(query))
        else:
            conditions.append(PatientProfile.doctor_id == actor.account_id)
    elif actor.role not in ("staff", "admin"):
        audit.record_refusal(session, actor, target="list patients")
        raise PatientAccessDenied("This role may not list patients.")
    if query.search.strip():
        term = query.search.strip()
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(
            or_(
                PatientProfile.name.ilike(f"%{escaped}%", escape="\\"),
                PatientProfile.patient_id.ilike(f"{escaped}%", escape="\\"),
            )
        )
    if query.doctor_id:
        conditions.append(PatientProfile.doctor_id == query.doctor_id)
    if query.age_min is not None:
        conditions.append(PatientProfile.age >= query.age_min)
    if query.age_max is not None:
        conditions.append(PatientProfile.age <= query.age_max)
    if query.risk_level == "none":
        conditions.append(risk.id.is_(None))
    elif query.risk_level in RISK_LEVELS:
        conditions.append(risk.framingham_category == query.risk_level)

    base = (
        select(PatientProfile, Doctor.username, risk.framingham_category, risk.framingham_risk_pct)
        .outerjoin(Doctor, Doctor.doctor_id == PatientProfile.doctor_id)
        .outerjoin(risk, and_(risk.patient_id == PatientProfile.patient_id, risk.id == latest_id))
        .where(*conditions)
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    names = doctor_names(session)
    if query.sort_by == "risk":
        order = risk.framingham_risk_pct
    elif query.sort_by == "doctor":
        order = _doctor_name_order(names)
    else:
        order = SORTABLE.get(query.sort_by, PatientProfile.created_at)
    ordering = [order.desc() if query.descending else order.asc(), PatientProfile.patient_id]
    page = session.execute(base.order_by(*ordering).offset(max(query.offset, 0)).limit(min(query.limit, 200)))
    rows = [
        {
            "patient_id": patient.patient_id,
            "name": patient.name,
            "age": patient.age,
            "gender": patient.gender,
            "doctor": names.get(patient.doctor_id, username or ""),
            "risk": f"{category} ({risk_pct:.1f} %)" if category else "no risk inputs",
            "created_at": patient.created_at.strftime("%Y-%m-%d"),
        }
        for patient, username, category, risk_pct in page
    ]
    return PatientPage(rows=rows, total=total)


def _doctor_name_order(names: dict[str, str]):
    """Order by the doctor's name as shown (display names live in account_state, whose
    collation may differ from the original tables' on a hospital's MySQL: ranked here, not
    joined). Patients without a doctor come last."""
    ranked = sorted(names, key=lambda doctor_id: (names[doctor_id].casefold(), doctor_id))
    if not ranked:
        return literal(0)
    return case(
        {doctor_id: rank for rank, doctor_id in enumerate(ranked)},
        value=PatientProfile.doctor_id,
        else_=len(ranked),
    )


def _filters_detail(query: PatientQuery) -> dict:
    return {
        key: value
        for key, value in (
            ("search", query.search),
            ("doctor", query.doctor_id),
            ("age_min", query.age_min),
            ("age_max", query.age_max),
            ("risk", query.risk_level),
        )
        if value not in (None, "")
    }


def patients_of_doctor(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(Patient ID, name) of the patients assigned to this doctor, by name; empty for others."""
    if actor.role != "doctor":
        return []
    rows = session.execute(
        select(PatientProfile.patient_id, PatientProfile.name)
        .where(PatientProfile.doctor_id == actor.account_id)
        .order_by(PatientProfile.name, PatientProfile.patient_id)
    )
    return [(patient_id, name) for patient_id, name in rows]
