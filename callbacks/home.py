"""Start page: what this role works on."""

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from dashboard import patients
from dashboard.auth import current_user, guarded_callback


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("home-cards", "children"),
        Input("home-title", "id"),
        roles=["admin", "doctor", "staff"],
    )
    def show_start_cards(_):
        user = current_user()
        with services.database.transaction() as db:
            if user.role == "doctor":
                total = patients.count_patients(db, user.account_id)
                rows = patients.recent_patients(db, user.account_id)
                title = f"My patients ({total})"
            else:
                total = patients.count_patients(db)
                rows = patients.recent_patients(db)
                title = f"Recently registered patients ({total} in all)"
        return [
            dbc.Col(_welcome(user), lg=4),
            dbc.Col(_patient_card(title, rows), lg=8),
        ]


WHAT_YOU_DO = {
    "doctor": "Analyse ECGs and write and sign reports for your patients.",
    "staff": "Register patients and enter their cardiovascular risk factors.",
    "admin": "Manage user accounts and review the audit log.",
}


def _welcome(user) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3(f"Welcome, {user.display_name}", className="h5", id="home-welcome"),
                html.P(WHAT_YOU_DO[user.role], className="mb-0"),
            ]
        )
    )


def _patient_card(title: str, rows) -> dbc.Card:
    if not rows:
        body = html.P("No patients yet.", className="text-muted mb-0")
    else:
        body = dbc.Table(
            [
                html.Thead(
                    html.Tr(
                        [
                            html.Th("Patient ID"),
                            html.Th("Name"),
                            html.Th("Age"),
                            html.Th("Sex"),
                            html.Th("Doctor"),
                        ]
                    )
                ),
                html.Tbody(
                    [
                        html.Tr(
                            [
                                html.Td(dcc.Link(r.patient_id, href=f"/patient/{r.patient_id}")),
                                html.Td(r.name),
                                html.Td(r.age),
                                html.Td(r.gender),
                                html.Td(r.doctor),
                            ]
                        )
                        for r in rows
                    ]
                ),
            ],
            size="sm",
            hover=True,
            className="mb-0",
            id="home-patients",
        )
    return dbc.Card(dbc.CardBody([html.H3(title, className="h5"), body]))
