"""One ECG report, reopened from stored data: the viewer, the findings, the text; sign or amend."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ecg_viewer import ecg_viewer

dash.register_page(
    __name__,
    path_template="/report/<report_id>",
    name="Report",
    title="ECG report · ECG Dashboard",
    roles=["admin", "doctor", "staff"],
)


def layout(report_id: str = "", **_query):
    return html.Div(
        [
            dcc.Store(id="report-request", data={"report_id": report_id}),
            dcc.Store(id="report-token"),
            html.Div(id="report-header", className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(dbc.Card(dbc.CardBody(ecg_viewer("report"))), xl=8, lg=12),
                    dbc.Col(
                        [
                            dbc.Card(dbc.CardBody(html.Div(id="report-findings")), className="mb-3"),
                            dbc.Card(
                                dbc.CardBody(
                                    [
                                        html.H2("Report", className="h6"),
                                        html.Div(id="report-text"),
                                        html.Div(id="report-actions", className="mt-2"),
                                        html.Div(id="report-message", className="mt-2"),
                                    ]
                                )
                            ),
                            dbc.Card(
                                dbc.CardBody(
                                    [
                                        html.H2("PDF", className="h6"),
                                        dbc.RadioItems(
                                            id="report-pdf-kind",
                                            options=[
                                                {"label": "Clinician report", "value": "clinician"},
                                                {"label": "Patient summary", "value": "patient"},
                                            ],
                                            value="clinician",
                                            inline=True,
                                            className="mb-2",
                                        ),
                                        dbc.Button(
                                            [html.I(className="bi bi-file-earmark-pdf me-1"), "Download PDF"],
                                            id="report-pdf-download",
                                            color="outline-primary",
                                        ),
                                        dcc.Download(id="report-pdf"),
                                        html.Div(id="report-pdf-message", className="mt-2"),
                                    ]
                                ),
                                className="mt-3",
                            ),
                        ],
                        xl=4,
                        lg=12,
                    ),
                ],
                className="g-3",
            ),
        ]
    )
