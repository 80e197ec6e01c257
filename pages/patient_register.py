import uuid

import dash
from dash import html

from components.patients import patient_form

dash.register_page(
    __name__,
    path="/patients/register",
    name="Register patient",
    title="Register patient · ECG Dashboard",
    roles=["admin", "staff"],
)


def layout(**_query):
    return html.Div(
        [
            html.H2("Register a patient", className="h4"),
            html.P("All fields are required except the assigned doctor.", className="text-muted small"),
            patient_form("register", uuid.uuid4().hex, "Register patient"),
        ],
        style={"maxWidth": "60rem"},
    )
