import uuid

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.forms import field, switch

dash.register_page(
    __name__,
    path_template="/risk-factors/<patient_id>",
    name="Risk factors",
    title="Risk factors · ECG Dashboard",
    roles=["doctor", "staff"],
)

CHOLESTEROL_UNITS = [{"label": "mg/dL", "value": "mg/dL"}, {"label": "mmol/L", "value": "mmol/L"}]
CREATININE_UNITS = [{"label": "mg/dL", "value": "mg/dL"}, {"label": "µmol/L", "value": "µmol/L"}]
KILLIP = [
    {"label": "I — no heart failure", "value": "1"},
    {"label": "II — rales, S3, venous hypertension", "value": "2"},
    {"label": "III — pulmonary oedema", "value": "3"},
    {"label": "IV — cardiogenic shock", "value": "4"},
]


def layout(patient_id: str = "", **_query):
    framingham = dbc.Card(
        dbc.CardBody(
            [
                html.H3("Cardiovascular risk factors (Framingham)", className="h5"),
                dbc.Row(
                    [
                        field(
                            "Sex for the risk equations",
                            dbc.RadioItems(id="risk-sex", options=["female", "male"], inline=True),
                            "risk-sex",
                            "Taken from the patient's profile when it says female or male.",
                            width=12,
                        ),
                        switch("Smoker", "risk-smoker"),
                        switch("Diabetic", "risk-diabetic"),
                        switch("Blood pressure under treatment", "risk-bp-treated"),
                        field(
                            "Cholesterol unit",
                            dbc.RadioItems(
                                id="risk-cholesterol-unit",
                                options=CHOLESTEROL_UNITS,
                                value="mg/dL",
                                inline=True,
                            ),
                            "risk-cholesterol-unit",
                            width=12,
                        ),
                        field(
                            "Total cholesterol",
                            dbc.Input(id="risk-total-cholesterol", inputMode="decimal"),
                            "risk-total-cholesterol",
                            width=4,
                        ),
                        field(
                            "HDL cholesterol",
                            dbc.Input(id="risk-hdl", inputMode="decimal"),
                            "risk-hdl",
                            width=4,
                        ),
                        field(
                            "Systolic blood pressure (mmHg)",
                            dbc.Input(id="risk-sbp", inputMode="decimal"),
                            "risk-sbp",
                            width=4,
                        ),
                        field(
                            "Other issues",
                            dbc.Textarea(id="risk-other-issues", maxLength=200),
                            "risk-other-issues",
                            width=12,
                        ),
                    ]
                ),
            ]
        ),
        className="mb-3",
    )
    grace = dbc.Card(
        dbc.CardBody(
            [
                html.H3(
                    "Acute coronary syndrome (GRACE) — only for a patient admitted with ACS", className="h5"
                ),
                html.P(
                    "Leave these empty for other patients: GRACE is then not calculated.",
                    className="small text-muted",
                ),
                dbc.Row(
                    [
                        field(
                            "Creatinine",
                            dbc.Input(id="risk-creatinine", inputMode="decimal"),
                            "risk-creatinine",
                            width=4,
                        ),
                        field(
                            "Creatinine unit",
                            dbc.RadioItems(
                                id="risk-creatinine-unit",
                                options=CREATININE_UNITS,
                                value="mg/dL",
                                inline=True,
                            ),
                            "risk-creatinine-unit",
                            width=4,
                        ),
                        field(
                            "Killip class",
                            dbc.Select(id="risk-killip", options=KILLIP),
                            "risk-killip",
                            width=4,
                        ),
                        field(
                            "Heart rate (bpm)",
                            dbc.Input(id="risk-heart-rate", inputMode="decimal"),
                            "risk-heart-rate",
                            width=4,
                        ),
                        dbc.Col(
                            html.Div(id="risk-heart-rate-source", className="small text-muted mt-4"), md=8
                        ),
                        switch("Cardiac arrest at admission", "risk-cardiac-arrest"),
                        switch("ST-segment deviation", "risk-st-deviation"),
                        switch("Elevated cardiac enzymes", "risk-elevated-enzymes"),
                    ]
                ),
            ]
        ),
        className="mb-3",
    )
    return html.Div(
        [
            dcc.Store(id="risk-patient-id", data=patient_id),
            dcc.Store(id="risk-token", data=uuid.uuid4().hex),
            dcc.Store(id="risk-heart-rate-origin"),
            dcc.Location(id="risk-go", refresh="callback-nav"),
            html.H2(["Risk factors for ", html.Span(id="risk-patient-name")], className="h4"),
            html.Div(id="risk-denied"),
            framingham,
            grace,
            dbc.Button("Save risk factors", id="risk-save", color="primary"),
            html.Div(id="risk-result", className="mt-3"),
        ],
        style={"maxWidth": "60rem"},
    )
