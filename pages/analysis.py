"""Analyse an ECG (doctor): choose the patient and a recording, watch the analysis, write the report."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ecg_viewer import ecg_viewer
from dashboard.sample_library import SAMPLES

dash.register_page(
    __name__,
    path="/analysis",
    name="Analyse ECG",
    title="Analyse ECG · ECG Dashboard",
    roles=["doctor"],
    nav_order=20,
    icon="bi-activity",
)

ACCEPTED = ".hea,.dat,.atr,.zip,.edf,.bdf,.csv,.tsv,.txt"


def _source_card():
    samples = dbc.RadioItems(
        id="analysis-sample",
        options=[
            {
                "label": html.Span(
                    [html.B(s.title), html.Span(f" — {s.description}", className="text-muted")]
                ),
                "value": s.key,
            }
            for s in SAMPLES
        ],
        value=None,
        className="small",
    )
    upload = dcc.Upload(
        id="analysis-upload",
        multiple=True,
        accept=ACCEPTED,
        children=html.Div(
            [
                html.I(className="bi bi-cloud-arrow-up fs-3 d-block"),
                "Drop files here or click to choose: WFDB (.hea + .dat [+ .atr], or one .zip), EDF, CSV",
            ]
        ),
        className="analysis-dropzone",
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("1. Patient and recording", className="h6"),
                dcc.Dropdown(
                    id="analysis-patient", placeholder="Choose one of your patients", className="mb-3"
                ),
                dbc.Tabs(
                    [
                        dbc.Tab(samples, label="Sample library", tab_id="sample", className="pt-2"),
                        dbc.Tab(
                            [upload, html.Div(id="analysis-upload-names", className="small text-muted mt-1")],
                            label="Upload",
                            tab_id="upload",
                            className="pt-2",
                        ),
                    ],
                    id="analysis-source",
                    active_tab="sample",
                ),
                html.Div(
                    [
                        dbc.Button(
                            [html.I(className="bi bi-activity me-1"), "Analyse"],
                            id="analysis-start",
                            color="primary",
                            className="me-2",
                        ),
                        dbc.Button("Cancel", id="analysis-cancel", color="outline-secondary", disabled=True),
                    ],
                    className="mt-3",
                ),
                dbc.Progress(
                    id="analysis-progress", value=0, label="", className="mt-3", style={"height": "1.4rem"}
                ),
                html.Div(id="analysis-message", className="mt-2"),
            ]
        ),
        className="mb-3",
    )


def _report_card():
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("3. Report", className="h6"),
                dbc.Label("Conclusions", html_for="analysis-conclusions"),
                dbc.Textarea(id="analysis-conclusions", rows=3, className="mb-2", maxLength=20000),
                dbc.Label("Notes", html_for="analysis-notes"),
                dbc.Textarea(id="analysis-notes", rows=2, className="mb-2", maxLength=20000),
                dbc.Button("Save draft", id="analysis-save", color="outline-primary", className="me-2"),
                dbc.Button(
                    [html.I(className="bi bi-pen me-1"), "Save and sign"], id="analysis-sign", color="success"
                ),
                html.Div(id="analysis-saved", className="mt-2"),
            ]
        ),
    )


def layout(patient: str = "", **_query):
    return html.Div(
        [
            dcc.Store(id="analysis-request", data={"patient": patient}),
            dcc.Store(id="analysis-ticket"),
            dcc.Store(id="analysis-recording"),
            dcc.Store(id="analysis-token"),
            html.H1("Analyse an ECG", className="h4 mb-3"),
            dbc.Row(
                [
                    dbc.Col(_source_card(), xl=3, lg=4),
                    dbc.Col(
                        [
                            dbc.Card(
                                dbc.CardBody(
                                    [html.H2("2. Recording", className="h6"), ecg_viewer("analysis")]
                                ),
                                className="mb-3",
                            ),
                        ],
                        xl=6,
                        lg=8,
                    ),
                    dbc.Col(
                        [
                            dbc.Card(
                                dbc.CardBody(
                                    [
                                        html.H2("Findings", className="h6"),
                                        html.Div(
                                            "Choose a recording and click Analyse.",
                                            id="analysis-findings",
                                            className="text-muted small",
                                        ),
                                    ]
                                ),
                                className="mb-3",
                            ),
                            _report_card(),
                        ],
                        xl=3,
                        lg=12,
                    ),
                ],
                className="g-3",
            ),
        ]
    )
