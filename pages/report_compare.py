"""Two ECG reports of the same patient side by side (current and prior)."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.ecg_viewer import ecg_viewer

dash.register_page(
    __name__,
    path="/reports/compare",
    name="Compare ECGs",
    title="Compare ECGs · ECG Dashboard",
    roles=["admin", "doctor", "staff"],
)


def layout(a: str = "", b: str = "", **_query):
    return html.Div(
        [
            dcc.Store(id="compare-request", data={"a": a, "b": b}),
            html.H1("Compare two ECGs", className="h4 mb-3"),
            html.Div(id="compare-message"),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                [
                                    html.Div(id="compare-title-a"),
                                    ecg_viewer("compare-a"),
                                    html.Div(id="compare-findings-a", className="mt-2"),
                                ]
                            )
                        ),
                        lg=6,
                    ),
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                [
                                    html.Div(id="compare-title-b"),
                                    ecg_viewer("compare-b"),
                                    html.Div(id="compare-findings-b", className="mt-2"),
                                ]
                            )
                        ),
                        lg=6,
                    ),
                ],
                className="g-3",
            ),
        ]
    )
