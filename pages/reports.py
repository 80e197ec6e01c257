"""All ECG reports the user may see, newest first, with filters."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from pipeline.rhythm import RHYTHM_CLASSES

dash.register_page(
    __name__,
    path="/reports",
    name="Reports",
    title="ECG reports · ECG Dashboard",
    roles=["doctor", "staff"],
    nav_order=30,
    icon="bi-file-earmark-medical",
)

RHYTHM_OPTIONS = [{"label": name, "value": name} for name in (*RHYTHM_CLASSES, "Not classified")]


def layout(**_query):
    filters = dbc.Row(
        [
            dbc.Col(dbc.Input(id="reports-patient", placeholder="Patient name or ID", debounce=True), md=3),
            dbc.Col(dbc.Input(id="reports-doctor", placeholder="Doctor ID", debounce=True), md=2),
            dbc.Col(
                dcc.DatePickerRange(id="reports-dates", display_format="YYYY-MM-DD", clearable=True), md=3
            ),
            dbc.Col(dcc.Dropdown(id="reports-rhythm", options=RHYTHM_OPTIONS, placeholder="Rhythm"), md=2),
            dbc.Col(dbc.Switch(id="reports-unsigned", label="Unsigned only", value=False), md=2),
        ],
        className="g-2 mb-3 align-items-center",
    )
    return html.Div(
        [
            html.H1("ECG reports", className="h4 mb-3"),
            filters,
            html.Div(id="reports-table"),
        ]
    )
