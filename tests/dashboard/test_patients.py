"""Patient services: validation, registration, duplicates, double submission, access rules,
risk-factor entries and the register's filters. On SQLite here; the unicode round trip
also on MariaDB."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from dashboard import patients, risk_inputs
from dashboard.accounts import Role, create_account
from dashboard.audit import Actor
from dashboard.db import Database
from dashboard.migrate import upgrade_to_head
from dashboard.models import (
    AuditEvent,
    EcgReport,
    PatientContact,
    PatientProfile,
    RiskAssessment,
    RiskInput,
)
from dashboard.patients import PatientAccessDenied, PatientFormError, PatientQuery
from dashboard.risk_inputs import RiskFormError
from tests.conftest import TEST_ACTOR

STAFF = Actor("staff", "staff.test", "127.0.0.1")
ADMIN = Actor("admin", "admin.test", "127.0.0.1")
DOCTOR = Actor("doctor", "dr.test", "127.0.0.1")
OTHER_DOCTOR = Actor("doctor", "dr.other", "127.0.0.1")

VALID = {
    "name": "Zoë Ñúñez",
    "age": "61",
    "gender": "Female",
    "address": "12 Rue des Lilas, Lyon",
    "email": "zoe@example.org",
    "personal_phone": "06 12 34 56 78",
    "emergency_phone": "+44 20 7946 0958",
    "doctor_id": "dr.test",
}
RISK = {"total_cholesterol": "180", "hdl": "47", "sbp": "124", "smoker": True, "cholesterol_unit": "mg/dL"}


@pytest.fixture
def db(database, users):
    with database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.DOCTOR, "dr.other", "Dr. Other", "long-password-1")
    return database


def register(database, raw=None, actor=STAFF, token=None, confirm=False):
    with database.transaction() as session:
        draft = patients.validate_patient(session, {**VALID, **(raw or {})})
        return patients.register_patient(session, actor, draft, token or _token(), confirm_duplicate=confirm)


_counter = iter(range(10**6))


def _token() -> str:
    return f"token-{next(_counter)}"


def audit_actions(database, **where) -> list[str]:
    with database.transaction() as session:
        query = select(AuditEvent.action)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return list(session.scalars(query.order_by(AuditEvent.id)))


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("name", "", "Enter the patient's name"),
        ("name", "x" * 46, "at most 45"),
        ("age", "121", "0 to 120"),
        ("age", "-1", "0 to 120"),
        ("age", "sixty", "0 to 120"),
        ("age", "61.5", "0 to 120"),
        ("gender", "", "Choose the gender"),
        ("address", "", "Enter the address"),
        ("email", "zoe.example.org", "name@example.org"),
        ("email", "a@b", "name@example.org"),
        ("email", "<script>@x.org", "name@example.org"),
        ("personal_phone", "", "Enter the personal phone"),
        ("personal_phone", "06-12-ab", "only digits"),
        ("personal_phone", "123", "6 to 15 digits"),
        ("emergency_phone", "1" * 16, "6 to 15 digits"),
        ("doctor_id", "dr.nobody", "Choose a doctor"),
    ],
)
def test_each_field_is_checked_and_nothing_is_saved(db, field, value, message):
    with pytest.raises(PatientFormError) as caught:
        register(db, {field: value})
    assert list(caught.value.errors) == [field]
    assert message in caught.value.errors[field]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(PatientProfile)) == 0


def test_several_wrong_fields_each_get_a_message(db):
    with pytest.raises(PatientFormError) as caught:
        register(db, {"name": "", "email": "x", "age": "200"})
    assert set(caught.value.errors) == {"name", "email", "age"}


def test_registration_fills_id_time_and_author_on_the_server(db):
    outcome = register(db)
    assert re.fullmatch(r"P[0-9A-HJKMNP-TV-Z]{9}", outcome.patient_id)
    with db.transaction() as session:
        patient = session.get(PatientProfile, outcome.patient_id)
        assert patient.staff_username == "staff.test"
        assert abs((datetime.utcnow() - patient.created_at).total_seconds()) < 60
        assert patient.personal_contact == 612345678  # the original bigint column
        contact = session.get(PatientContact, outcome.patient_id)
        assert contact.personal_phone == "0612345678"  # as typed: the leading 0 is kept
        assert contact.emergency_phone == "+442079460958"
    assert audit_actions(db, patient_id=outcome.patient_id) == ["create_patient"]


def test_duplicates_are_warned_then_registered_on_confirmation(db):
    first = register(db)
    again = register(db, {"name": "ZOË ÑÚÑEZ", "personal_phone": "0612 345 678"})
    assert again.patient_id is None and again.duplicates == (first.patient_id,)
    confirmed = register(db, {"name": "ZOË ÑÚÑEZ"}, confirm=True)
    assert confirmed.patient_id not in (None, first.patient_id)
    other_phone = register(db, {"personal_phone": "0700000000"})
    assert other_phone.patient_id is not None


def test_a_double_submit_makes_one_row(db):
    first = register(db, token="same-form")
    second = register(db, token="same-form")
    assert second.repeated and second.patient_id == first.patient_id
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(PatientProfile)) == 1


@pytest.mark.mysql
def test_a_concurrent_double_submit_rolls_back_the_second(mysql_database_url):
    """Two clicks whose transactions overlap both pass the token check; the token's primary
    key makes the second fail whole. (SQLite has one writer at a time, so this needs InnoDB.)"""
    import threading
    import time

    from sqlalchemy.exc import IntegrityError

    database = Database(mysql_database_url)
    upgrade_to_head(database)
    with database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.DOCTOR, "dr.test", "Dr. Test", "long-password-1")
    errors = []

    def click(pause: float) -> None:
        try:
            with database.transaction() as session:
                draft = patients.validate_patient(session, VALID)
                patients.register_patient(session, STAFF, draft, "race")
                time.sleep(pause)  # the first click holds its transaction open a moment
        except IntegrityError as exc:
            errors.append(exc)

    first = threading.Thread(target=click, args=(1.0,))
    second = threading.Thread(target=click, args=(0.0,))
    first.start()
    time.sleep(0.3)
    second.start()
    first.join(30)
    second.join(30)
    assert len(errors) == 1 and patients.is_repeated_submission(errors[0])
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(PatientProfile)) == 1
    database.dispose()


def test_only_staff_and_admin_register_and_edit(db):
    with pytest.raises(PatientAccessDenied):
        register(db, actor=DOCTOR)
    assert register(db, actor=ADMIN).patient_id
    patient_id = register(db, {"personal_phone": "0799999999"}).patient_id
    with db.transaction() as session:
        draft = patients.validate_patient(session, {**VALID, "address": "New address 1"})
        with pytest.raises(PatientAccessDenied):
            patients.update_patient(session, DOCTOR, patient_id, draft)
    with db.transaction() as session:
        patients.update_patient(session, STAFF, patient_id, draft)
    with db.transaction() as session:
        assert session.get(PatientProfile, patient_id).address == "New address 1"
    assert "update_patient" in audit_actions(db, patient_id=patient_id)


def test_who_may_open_a_patient(db):
    patient_id = register(db).patient_id  # assigned to dr.test
    for actor in (STAFF, ADMIN, DOCTOR):
        with db.transaction() as session:
            assert patients.open_patient(session, actor, patient_id).patient_id == patient_id
    with pytest.raises(PatientAccessDenied):
        with db.transaction() as session:
            patients.open_patient(session, OTHER_DOCTOR, patient_id)
    with db.transaction() as session:
        patients.open_patient(session, OTHER_DOCTOR, patient_id, via_all=True)
    with pytest.raises(PatientAccessDenied):
        with db.transaction() as session:
            patients.open_patient(session, DOCTOR, "PNOSUCHONE")
    other = audit_actions(db, actor_id="dr.other")
    assert other == ["access_denied", "view_patient"]
    with db.transaction() as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "access_denied")).all()
        assert {event.patient_id for event in denied} == {patient_id, None}
        viewed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "view_patient", AuditEvent.actor_id == "dr.other")
        ).one()
        assert "all-patients view" in viewed.detail


def enter(db, patient_id, raw=None, actor=STAFF, token=None, gender="Female"):
    with db.transaction() as session:
        draft = risk_inputs.validate_risk_inputs({**RISK, **(raw or {})}, gender)
        return risk_inputs.record_risk_inputs(session, actor, patient_id, draft, token or _token())


@pytest.mark.parametrize(
    "raw,field,message",
    [
        ({"sbp": "59"}, "sbp", "between 60 and 260 mmHg"),
        ({"sbp": "261"}, "sbp", "between 60 and 260 mmHg"),
        ({"sbp": ""}, "sbp", "Enter the systolic"),
        ({"sbp": "abc"}, "sbp", "must be a number"),
        ({"sbp": "nan"}, "sbp", "must be a number"),
        ({"total_cholesterol": "40"}, "total_cholesterol", "between 50 and 500"),
        ({"hdl": "190", "total_cholesterol": "200"}, "hdl", "between 10 and 150"),
        ({"hdl": "120", "total_cholesterol": "110"}, "hdl", "lower than total"),
        ({"creatinine": "1.0"}, "killip_class", "Needed for the GRACE score"),
        ({"creatinine": "25"}, "creatinine", "between 0.1 and 20"),
        ({"heart_rate": "300", "creatinine": "1", "killip_class": "1"}, "heart_rate", "between 20 and 250"),
        ({"other_issues": "x" * 201}, "other_issues", "at most 200"),
    ],
)
def test_risk_fields_are_checked(raw, field, message):
    with pytest.raises(RiskFormError) as caught:
        risk_inputs.validate_risk_inputs({**RISK, **raw}, "Female")
    assert message in caught.value.errors[field]


def test_range_edges_are_accepted():
    for sbp in ("60", "260"):
        assert risk_inputs.validate_risk_inputs({**RISK, "sbp": sbp}, "Male").sbp_mmhg == float(sbp)


def test_units_are_converted_to_mg_dl():
    draft = risk_inputs.validate_risk_inputs(
        {**RISK, "cholesterol_unit": "mmol/L", "total_cholesterol": "4.65", "hdl": "1,2",
         "creatinine": "88.42", "creatinine_unit": "µmol/L", "killip_class": "1", "heart_rate": "80"},
        "Female",
    )  # fmt: skip
    assert draft.total_cholesterol_mg_dl == pytest.approx(179.8, abs=0.1)
    assert draft.hdl_mg_dl == pytest.approx(46.4, abs=0.1)
    assert draft.creatinine_mg_dl == pytest.approx(1.0)
    assert draft.has_grace_inputs


def test_sex_comes_from_the_profile_or_must_be_chosen():
    assert risk_inputs.validate_risk_inputs(RISK, "Male").sex == "male"
    with pytest.raises(RiskFormError) as caught:
        risk_inputs.validate_risk_inputs(RISK, "Other")
    assert "sex" in caught.value.errors
    assert risk_inputs.validate_risk_inputs({**RISK, "sex": "female"}, "Other").sex == "female"


def test_entries_are_history_with_both_scores_and_the_original_row(db):
    patient_id = register(db).patient_id
    first = enter(db, patient_id)
    second = enter(db, patient_id, {"smoker": False, "creatinine": "1.0", "killip_class": "1",
                                    "heart_rate": "80", "st_deviation": True, "elevated_enzymes": True},
                   actor=DOCTOR)  # fmt: skip
    with db.transaction() as session:
        history = risk_inputs.risk_history(session, session.get(PatientProfile, patient_id))
        assert [entry.id for entry in history] == [first.id, second.id]
        assert history[0].framingham_risk_pct == pytest.approx(10.48, abs=0.05)  # the paper's example
        assert history[0].grace_points is None
        assert history[1].grace_points == 150 and history[1].grace_mortality_pct == pytest.approx(3.9)
        original = session.get(RiskInput, history[0].record_id)
        assert (original.smoker, original.cholesterol, original.hdl, original.blood_pressure) == (
            True,
            180,
            47,
            124,
        )
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", original.generated_at)
        assert original.doctor_id == "dr.test"  # the patient's doctor when staff entered it
        assert session.get(RiskInput, history[1].record_id).doctor_id == "dr.test"
    assert audit_actions(db, patient_id=patient_id).count("enter_risk_inputs") == 2


def test_risk_double_submit_and_roles(db):
    patient_id = register(db).patient_id
    enter(db, patient_id, token="risk-form")
    enter(db, patient_id, token="risk-form")
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(RiskAssessment)) == 1
        assert session.scalar(select(func.count()).select_from(RiskInput)) == 1
    with pytest.raises(PermissionError):
        enter(db, patient_id, actor=ADMIN)
    with pytest.raises(PatientAccessDenied):
        enter(db, patient_id, actor=OTHER_DOCTOR)


def test_heart_rate_is_prefilled_from_the_latest_ecg(db):
    patient_id = register(db).patient_id
    with db.transaction() as session:
        assert risk_inputs.latest_ecg_heart_rate(session, patient_id) is None
        for report_id, day, rate in (("R-1", 1, 64.0), ("R-2", 3, 88.0), ("R-3", 2, 70.0)):
            session.add(EcgReport(report_id=report_id, patient_id=patient_id, doctor_id="dr.test",
                                  report_date=datetime(2026, 1, day), predicted_class="Normal",
                                  heart_rate=rate))  # fmt: skip
    with db.transaction() as session:
        latest = risk_inputs.latest_ecg_heart_rate(session, patient_id)
    assert (latest.bpm, latest.report_id) == (88.0, "R-2")


def test_register_filters_sorting_paging_and_scope(db):
    ids = {}
    for name, age, doctor, phone in (
        ("Anna 100%_x", 40, "dr.test", "0600000001"),
        ("Bruno", 70, "dr.test", "0600000002"),
        ("Chloé", 55, "dr.other", "0600000003"),
        ("Dmitri", 30, "", "0600000004"),
    ):
        ids[name] = register(db, {"name": name, "age": str(age), "doctor_id": doctor,
                                  "personal_phone": phone}).patient_id  # fmt: skip
    enter(db, ids["Bruno"], {"smoker": True, "diabetic": True, "sbp": "170"})  # high risk
    enter(db, ids["Chloé"], {"smoker": False})  # low-ish

    def names(actor, **query):
        with db.transaction() as session:
            page = patients.list_patients(session, actor, PatientQuery(**{"sort_by": "name", "descending": False,
                                                                            **query}))  # fmt: skip
        return [row["name"] for row in page.rows], page.total

    assert names(STAFF) == (["Anna 100%_x", "Bruno", "Chloé", "Dmitri"], 4)
    assert names(DOCTOR) == (["Anna 100%_x", "Bruno"], 2)
    assert names(DOCTOR, scope="all")[1] == 4
    assert audit_actions(db, actor_id="dr.test").count("view_all_patients") == 1
    assert names(STAFF, search="100%")[0] == ["Anna 100%_x"]  # % and _ are literal
    assert names(STAFF, search="%")[0] == ["Anna 100%_x"]
    assert names(STAFF, search=ids["Dmitri"])[0] == ["Dmitri"]  # the start of a Patient ID
    assert names(STAFF, search=ids["Dmitri"].lower())[0] == ["Dmitri"]
    assert names(STAFF, age_min=50)[0] == ["Bruno", "Chloé"]
    assert names(STAFF, age_min=35, age_max=60)[0] == ["Anna 100%_x", "Chloé"]
    assert names(STAFF, doctor_id="dr.other")[0] == ["Chloé"]
    assert names(STAFF, risk_level="high")[0] == ["Bruno"]
    assert names(STAFF, risk_level="none")[0] == ["Anna 100%_x", "Dmitri"]
    assert names(STAFF, sort_by="age", descending=True)[0] == ["Bruno", "Chloé", "Anna 100%_x", "Dmitri"]
    assert names(STAFF, offset=2, limit=2) == (["Chloé", "Dmitri"], 4)
    assert names(STAFF, sort_by="risk", descending=True)[0][0] == "Bruno"


@pytest.mark.mysql
def test_unicode_patients_and_risk_entries_on_mariadb(mysql_database_url):
    database = Database(mysql_database_url)
    upgrade_to_head(database)
    with database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.DOCTOR, "dr.test", "Dr. Test", "long-password-1")
        create_account(session, TEST_ACTOR, Role.STAFF, "staff.test", "Staff", "long-password-1")
    made = {}
    for name, phone in (("Zoë Ñúñez", "0611111111"), ("王芳", "0622222222"), ("محمد الأحمد", "0633333333")):
        made[name] = register(database, {"name": name, "personal_phone": phone}).patient_id
        enter(database, made[name])
    with database.transaction() as session:
        for name, patient_id in made.items():
            assert session.get(PatientProfile, patient_id).name == name
        page = patients.list_patients(session, STAFF, PatientQuery(search="王"))
        assert [row["name"] for row in page.rows] == ["王芳"]
        assert session.scalar(select(func.count()).select_from(RiskAssessment)) == 3
    # Duplicate detection compares names case-insensitively on MariaDB too.
    again = register(database, {"name": "ZOË ÑÚÑEZ", "personal_phone": "0611111111"})
    assert again.duplicates == (made["Zoë Ñúñez"],)
    database.dispose()
