"""Patient widgets: the register form, the profile card, the register table columns."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.forms import field

PATIENT_FIELDS = (
    "name",
    "age",
    "gender",
    "address",
    "email",
    "personal_phone",
    "emergency_phone",
    "doctor_id",
)
GENDER_OPTIONS = [{"label": g, "value": g} for g in ("Female", "Male", "Other")]


def patient_form(prefix: str, form_token: str, submit_label: str) -> html.Div:
    """The patient_profile fields. Control ids are f"{prefix}-{field}"."""

    def fid(name: str) -> str:
        return f"{prefix}-{name}"

    return html.Div(
        [
            dcc.Store(id=fid("token"), data=form_token),
            dbc.Row(
                [
                    field("Full name", dbc.Input(id=fid("name"), maxLength=45), fid("name"), width=6),
                    field(
                        "Age (years)",
                        dbc.Input(id=fid("age"), type="number", min=0, max=120, step=1),
                        fid("age"),
                        width=2,
                    ),
                    field(
                        "Gender", dbc.Select(id=fid("gender"), options=GENDER_OPTIONS), fid("gender"), width=4
                    ),
                    field("Address", dbc.Input(id=fid("address"), maxLength=60), fid("address"), width=8),
                    field(
                        "E-mail", dbc.Input(id=fid("email"), type="text", maxLength=45), fid("email"), width=4
                    ),
                    field(
                        "Personal phone",
                        dbc.Input(id=fid("personal_phone"), maxLength=32),
                        fid("personal_phone"),
                        "Digits, spaces and a leading + are fine.",
                        width=4,
                    ),
                    field(
                        "Emergency contact phone",
                        dbc.Input(id=fid("emergency_phone"), maxLength=32),
                        fid("emergency_phone"),
                        width=4,
                    ),
                    field(
                        "Assigned doctor",
                        dbc.Select(id=fid("doctor_id"), options=[]),
                        fid("doctor_id"),
                        width=4,
                    ),
                ]
            ),
            dbc.Alert(id=fid("duplicates"), color="warning", is_open=False),
            dbc.Button(
                "Register anyway",
                id=fid("confirm"),
                color="warning",
                size="sm",
                className="me-2 mb-3",
                style={"display": "none"},
            ),
            dbc.Button(submit_label, id=fid("save"), color="primary"),
            html.Div(id=fid("result"), className="mt-3"),
            dcc.Location(id=fid("go"), refresh="callback-nav"),
        ]
    )


def details_card(details, can_edit: bool, can_enter_risk: bool) -> dbc.Card:
    rows = [
        ("Patient ID", details.patient_id),
        ("Age", f"{details.age} years"),
        ("Gender", details.gender),
        ("Address", details.address),
        ("E-mail", details.email),
        ("Personal phone", details.personal_phone),
        ("Emergency contact", details.emergency_phone),
        ("Assigned doctor", details.doctor_name),
        ("Registered", f"{details.created_at:%Y-%m-%d} by {details.registered_by}"),
    ]
    actions = []
    if can_edit:
        actions.append(
            dbc.Button(
                "Edit details",
                href=f"/edit-patient/{details.patient_id}",
                color="secondary",
                size="sm",
                className="me-2",
                id="patient-edit-link",
            )
        )
    if can_enter_risk:
        actions.append(
            dbc.Button(
                "Enter risk factors",
                href=f"/risk-factors/{details.patient_id}",
                color="primary",
                size="sm",
                id="patient-risk-link",
            )
        )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(details.name, className="h4", id="patient-name"),
                html.Dl(
                    [
                        item
                        for label, value in rows
                        for item in (html.Dt(label, className="col-5"), html.Dd(value, className="col-7"))
                    ],
                    className="row mb-2 small",
                ),
                html.Div(actions),
            ]
        )
    )
