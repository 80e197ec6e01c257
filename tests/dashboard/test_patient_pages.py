"""The patient pages through their callbacks: the risk form's audit row and messages, the
register's sorting, the start page's links, the age warning, and the page's stylesheets."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from plotly.utils import PlotlyJSONEncoder
from sqlalchemy import func, select

from components.risk import framingham_card
from dashboard import risk_inputs
from dashboard.accounts import Role, create_account
from dashboard.audit import Actor
from dashboard.models import AuditEvent, PatientProfile, RiskAssessment, RiskInput
from dashboard.risk_inputs import RiskFormError
from pipeline.risk import framingham_10y
from tests.conftest import TEST_ACTOR, call, login

STAFF = Actor("staff", "staff.test", "127.0.0.1")


def add_patient(database, patient_id, name="Zoë", age=61, gender="Female", doctor_id="dr.test", day=1):
    with database.transaction() as session:
        session.add(
            PatientProfile(
                patient_id=patient_id,
                name=name,
                age=age,
                gender=gender,
                address="1 Road",
                email="p@example.org",
                personal_contact=600000000 + day,
                emergency_contact=2,
                doctor_id=doctor_id,
                created_at=datetime(2026, 1, day),
                staff_username="staff.test",
            )
        )


def output_with(app, part: str) -> str:
    """The callback_map key of the callback that has this output."""
    return next(key for key in app.callback_map if part in key)


def text_of(response) -> str:
    return json.dumps(response.get_json(), ensure_ascii=False)


def audit_rows(database, **where) -> list[tuple[str, str]]:
    with database.transaction() as session:
        query = select(AuditEvent.actor_id, AuditEvent.action)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return [tuple(row) for row in session.execute(query.order_by(AuditEvent.id))]


# --- Served page ---------------------------------------------------------------------------


def test_the_page_links_each_vendored_stylesheet_once_and_nothing_off_site(app, client, users):
    login(client, "doctor", *users["doctor"])
    page = client.get("/").get_data(as_text=True)
    links = re.findall(r'<link[^>]+href="([^"]+)"', page)
    for sheet in (
        "/assets/vendor/bootstrap.min.css",
        "/assets/vendor/bootstrap-icons/bootstrap-icons.min.css",
    ):
        assert sum(link.split("?")[0] == sheet for link in links) == 1, links
    # Bootstrap before the app's own CSS, so that the app's rules win.
    paths = [link.split("?")[0] for link in links]
    assert paths.index("/assets/vendor/bootstrap.min.css") < paths.index("/assets/app.css")
    addresses = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert addresses and all(
        address.startswith("/") and not address.startswith("//") for address in addresses
    )


# --- Risk-factor form ----------------------------------------------------------------------


def test_opening_the_risk_form_is_an_audited_view_of_the_patient(app, client, database, users):
    with database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.DOCTOR, "dr.other", "Dr. Other", "long-password-1")
    add_patient(database, "P-RISK", name="王芳")
    prefill = output_with(app, "risk-patient-name.children")
    login(client, "staff", *users["staff"])
    shown = text_of(call(client, app, prefill, {"risk-patient-id.data": "P-RISK"}))
    assert "王芳" in shown
    other = app.server.test_client()
    login(other, "doctor", "dr.other", "long-password-1")
    refused = text_of(call(other, app, prefill, {"risk-patient-id.data": "P-RISK"}))
    assert "not one you may see" in refused and "王芳" not in refused
    assert audit_rows(database, patient_id="P-RISK") == [
        ("staff.test", "view_patient"),
        ("dr.other", "access_denied"),
    ]


def save_risk(app, client, patient_id: str, token: str, **fields):
    values = {
        "risk-save.n_clicks": 1,
        "risk-patient-id.data": patient_id,
        "risk-token.data": token,
        "risk-cholesterol-unit.value": "mg/dL",
        "risk-creatinine-unit.value": "mg/dL",
        "risk-total-cholesterol.value": "180",
        "risk-hdl.value": "47",
        "risk-sbp.value": "124",
    }
    values.update({f"risk-{key.replace('_', '-')}.value": value for key, value in fields.items()})
    return call(client, app, output_with(app, "risk-result.children"), values, ["risk-save.n_clicks"])


def count(database, model) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_patient_of_age_zero_gets_a_message_not_an_error(app, client, database, users):
    add_patient(database, "P-BABY", age=0)
    login(client, "staff", *users["staff"])
    response = save_risk(app, client, "P-BABY", "token-baby")
    body = text_of(response)
    assert response.status_code == 200
    assert "age in whole years" in body and "Nothing was saved" in body
    assert "fields marked in red" not in body  # no field of this form is wrong
    assert "Something went wrong" not in body and "global-error" not in body
    assert count(database, RiskAssessment) == count(database, RiskInput) == 0
    # The same service refuses it when called directly.
    with database.transaction() as session:
        draft = risk_inputs.validate_risk_inputs(
            {"total_cholesterol": "180", "hdl": "47", "sbp": "124"}, "Female"
        )
        with pytest.raises(RiskFormError) as caught:
            risk_inputs.record_risk_inputs(session, STAFF, "P-BABY", draft, "token-baby-2")
    assert list(caught.value.errors) == ["age"]


def test_the_form_saves_and_points_to_the_patient_page(app, client, database, users):
    add_patient(database, "P-OK")
    login(client, "staff", *users["staff"])
    body = text_of(save_risk(app, client, "P-OK", "token-ok", smoker=True))
    assert "/patient/P-OK" in body
    assert count(database, RiskAssessment) == 1
    wrong = text_of(save_risk(app, client, "P-OK", "token-wrong", sbp="300"))
    assert "fields marked in red" in wrong and "between 60 and 260 mmHg" in wrong
    assert count(database, RiskAssessment) == 1


@pytest.mark.parametrize(
    "raw,field,shown",
    [
        (
            {"cholesterol_unit": "mmol/L", "total_cholesterol": "1", "hdl": "0.5"},
            "total_cholesterol",
            "(1.3–12.9 mmol/L)",
        ),
        ({"cholesterol_unit": "mmol/L", "total_cholesterol": "5", "hdl": "0.1"}, "hdl", "(0.3–3.9 mmol/L)"),
        (
            {"creatinine_unit": "µmol/L", "creatinine": "5000", "killip_class": "1", "heart_rate": "80"},
            "creatinine",
            "(9–1768 µmol/L)",
        ),
    ],
)
def test_range_messages_also_give_the_unit_that_was_typed(raw, field, shown):
    with pytest.raises(RiskFormError) as caught:
        risk_inputs.validate_risk_inputs(
            {"total_cholesterol": "180", "hdl": "47", "sbp": "124", **raw}, "Female"
        )
    assert shown in caught.value.errors[field]
    assert "mg/dL" in caught.value.errors[field]


def test_range_messages_in_mg_dl_name_only_mg_dl():
    with pytest.raises(RiskFormError) as caught:
        risk_inputs.validate_risk_inputs({"total_cholesterol": "40", "hdl": "30", "sbp": "124"}, "Female")
    assert caught.value.errors["total_cholesterol"] == "Total cholesterol must be between 50 and 500 mg/dL."


# --- Register, start page, score card -------------------------------------------------------


@pytest.fixture
def register_page(app, client, database, users):
    with database.transaction() as session:
        create_account(session, TEST_ACTOR, Role.DOCTOR, "aa.doctor", "Zed Zimmer", "long-password-1")
        create_account(session, TEST_ACTOR, Role.DOCTOR, "zz.doctor", "Anna Abbott", "long-password-1")
    add_patient(database, "P-1", name="One", gender="Male", doctor_id="aa.doctor", day=1)
    add_patient(database, "P-2", name="Two", gender="Female", doctor_id="zz.doctor", day=2)
    add_patient(database, "P-3", name="Three", gender="Other", doctor_id=None, day=3)
    add_patient(database, "P-4", name="Four", gender="Female", doctor_id="dr.test", day=4)
    login(client, "staff", *users["staff"])
    output = output_with(app, "patients-table.data")

    def names(column: str, direction: str = "asc", page_size=25, page=0) -> list[str]:
        values = {
            "patients-table.page_current": page,
            "patients-table.page_size": page_size,
            "patients-table.sort_by": [{"column_id": column, "direction": direction}],
        }
        response = call(client, app, output, values)
        assert response.status_code == 200
        return [row["name"] for row in response.get_json()["response"]["patients-table"]["data"]]

    return names


def test_the_register_sorts_by_every_column_it_shows(register_page):
    # Doctors by the name shown (Anna Abbott, Dr. Test, Zed Zimmer), no doctor last.
    assert register_page("doctor") == ["Two", "Four", "One", "Three"]
    assert register_page("doctor", "desc") == ["Three", "One", "Four", "Two"]
    assert register_page("gender") == ["Two", "Four", "One", "Three"]
    assert register_page("name") == ["Four", "One", "Three", "Two"]
    assert register_page("created_at", "desc") == ["Four", "Three", "Two", "One"]


def test_the_register_survives_a_crafted_page_size(register_page):
    assert len(register_page("name", page_size=1)) == 1
    assert len(register_page("name", page_size=0)) == 4  # the default size instead
    assert len(register_page("name", page_size=10**9)) == 4
    assert register_page("name", page_size="x", page=-3) == ["Four", "One", "Three", "Two"]


def test_the_start_page_links_to_each_patient_and_names_the_doctor(app, client, database, users):
    add_patient(database, "P-HOME")
    login(client, "doctor", *users["doctor"])
    assert '"href": "/patient/P-HOME"' in text_of(call(client, app, "home-cards.children"))
    staff = app.server.test_client()
    login(staff, "staff", *users["staff"])
    cards = text_of(call(staff, app, "home-cards.children"))
    # The doctor's name as on the other pages, not the username:
    assert '"children": "Dr. Test"' in cards and '"children": "dr.test"' not in cards


def card_text(age: int) -> str:
    card = framingham_card(framingham_10y("male", age, 200, 50, 130, False, False, False), "")
    return json.dumps(card, cls=PlotlyJSONEncoder, ensure_ascii=False)


def test_the_score_card_says_when_the_age_is_outside_30_to_74():
    outside, inside = card_text(25), card_text(50)
    assert "outside 30–74 years" in outside
    assert "outside 30–74" not in inside
