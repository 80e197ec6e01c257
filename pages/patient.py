import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

dash.register_page(
    __name__,
    path_template="/patient/<patient_id>",
    name="Patient",
    title="Patient · ECG Dashboard",
    roles=["admin", "doctor", "staff"],
)


def layout(patient_id: str = "", via: str = "", **_query):
    return html.Div(
        [
            dcc.Store(id="patient-request", data={"patient_id": patient_id, "via_all": via == "all"}),
            html.Div(id="patient-denied"),
            dbc.Row(
                [
                    dbc.Col(html.Div(id="patient-details"), lg=4),
                    dbc.Col(
                        [
                            dbc.Row(
                                [
                                    dbc.Col(html.Div(id="patient-framingham"), md=6),
                                    dbc.Col(html.Div(id="patient-grace"), md=6),
                                ],
                                className="g-3 mb-3",
                            ),
                            html.Div(id="patient-treat-first"),
                        ],
                        lg=8,
                    ),
                ],
                className="g-3 mb-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H3("Risk over time", className="h5"),
                        dcc.Graph(id="patient-history", config={"displaylogo": False}),
                        html.Div(id="patient-history-table"),
                    ]
                ),
                className="mb-3",
            ),
            dbc.Card(dbc.CardBody([html.H3("ECG reports", className="h5"), html.Div(id="patient-reports")])),
        ]
    )
