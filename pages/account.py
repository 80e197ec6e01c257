import dash
import dash_bootstrap_components as dbc
from dash import html

dash.register_page(
    __name__,
    path="/account",
    name="My account",
    title="My account · ECG Dashboard",
    roles=["admin", "doctor", "staff"],
    nav_order=90,
    icon="bi-key",
)


def layout(**_query):
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Change my password", className="h5"),
                dbc.Form(
                    [
                        dbc.Label("Current password", html_for="account-current"),
                        dbc.Input(id="account-current", type="password", className="mb-2"),
                        dbc.Label("New password (at least 10 characters)", html_for="account-new"),
                        dbc.Input(id="account-new", type="password", className="mb-2"),
                        dbc.Label("New password again", html_for="account-repeat"),
                        dbc.Input(id="account-repeat", type="password", className="mb-3"),
                        dbc.Button("Change password", id="account-save", color="primary"),
                    ]
                ),
                html.Div(id="account-feedback", className="mt-3"),
            ]
        ),
        style={"maxWidth": "32rem"},
    )
