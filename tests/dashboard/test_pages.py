"""Behaviour of the start page and the account page."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from dashboard.models import AuditEvent, PatientProfile
from tests.conftest import call, login

PASSWORD_OUTPUT = (
    "..account-feedback.children...account-current.value...account-new.value...account-repeat.value.."
)


def add_patient(database, patient_id: str, name: str, doctor_id: str | None) -> None:
    with database.transaction() as session:
        session.add(
            PatientProfile(
                patient_id=patient_id,
                name=name,
                age=50,
                gender="Female",
                address="1 Road",
                email="p@example.org",
                personal_contact=1,
                emergency_contact=2,
                doctor_id=doctor_id,
                created_at=datetime(2026, 1, 1),
                staff_username="staff.test",
            )
        )


def start_cards(client, app) -> str:
    return json.dumps(call(client, app, "home-cards.children").get_json(), ensure_ascii=False)


def test_a_doctor_sees_only_their_own_patients_staff_see_all(app, client, database, users):
    from dashboard.accounts import Role, create_account
    from tests.conftest import TEST_ACTOR

    with database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.DOCTOR, "dr.other", "Dr. Other", "long-password-1")
    add_patient(database, "P-1", "王芳", "dr.test")
    add_patient(database, "P-2", "<script>alert(1)</script>", "dr.other")
    login(client, "doctor", *users["doctor"])
    mine = start_cards(client, app)
    assert "王芳" in mine and "alert(1)" not in mine and "My patients (1)" in mine
    client.post("/logout", data={})
    staff = app.server.test_client()
    login(staff, "staff", *users["staff"])
    everyone = start_cards(staff, app)
    assert "王芳" in everyone and "<script>alert(1)</script>" in everyone  # as text, in JSON
    assert "2 in all" in everyone


def test_change_own_password(app, client, database, users):
    login_name, password = users["doctor"]
    login(client, "doctor", login_name, password)
    values = {
        "account-save.n_clicks": 1,
        "account-current.value": "wrong",
        "account-new.value": "new-password-1",
        "account-repeat.value": "new-password-1",
    }
    refused = json.dumps(call(client, app, PASSWORD_OUTPUT, values, ["account-save.n_clicks"]).get_json())
    assert "current password is not correct" in refused
    values["account-current.value"] = password
    values["account-repeat.value"] = "different"
    assert "differ" in json.dumps(
        call(client, app, PASSWORD_OUTPUT, values, ["account-save.n_clicks"]).get_json()
    )
    values["account-repeat.value"] = "new-password-1"
    done = json.dumps(call(client, app, PASSWORD_OUTPUT, values, ["account-save.n_clicks"]).get_json())
    assert "was changed" in done
    assert login(app.server.test_client(), "doctor", login_name, "new-password-1").status_code == 302
    assert login(app.server.test_client(), "doctor", login_name, password).status_code == 401
    with database.transaction() as session:
        changed = session.scalars(select(AuditEvent).where(AuditEvent.action == "password_changed")).all()
    assert [event.actor_id for event in changed] == [login_name]


def test_opening_a_patient_through_the_page_is_audited_both_ways(app, client, database, users):
    from dashboard.accounts import Role, create_account
    from tests.conftest import TEST_ACTOR

    with database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.DOCTOR, "dr.other", "Dr. Other", "long-password-1")
    add_patient(database, "P-7", "Zoë", "dr.test")
    output = (
        "..patient-denied.children...patient-details.children...patient-framingham.children..."
        "patient-grace.children...patient-treat-first.children...patient-history-table.children..."
        "patient-reports.children...patient-history.figure.."
    )
    login(client, "doctor", "dr.other", "long-password-1")
    refused = json.dumps(
        call(client, app, output, {"patient-request.data": {"patient_id": "P-7"}}).get_json()
    )
    assert "not one you may see" in refused and "Zo\\u00eb" not in refused
    mine = app.server.test_client()
    login(mine, "doctor", *users["doctor"])
    shown = json.dumps(call(mine, app, output, {"patient-request.data": {"patient_id": "P-7"}}).get_json())
    assert "Zo\\u00eb" in shown
    with database.transaction() as session:
        rows = session.execute(
            select(AuditEvent.actor_id, AuditEvent.action).where(AuditEvent.patient_id == "P-7")
        ).all()
    assert rows == [("dr.other", "access_denied"), ("dr.test", "view_patient")]
