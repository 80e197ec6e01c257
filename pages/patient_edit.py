import uuid

import dash
from dash import dcc, html

from components.patients import patient_form

dash.register_page(
    __name__,
    path_template="/edit-patient/<patient_id>",
    name="Edit patient",
    title="Edit patient · ECG Dashboard",
    roles=["admin", "staff"],
)


def layout(patient_id: str = "", **_query):
    return html.Div(
        [
            dcc.Store(id="edit-patient-id", data=patient_id),
            html.H2("Edit patient details", className="h4"),
            html.Div(id="edit-denied"),
            patient_form("edit", uuid.uuid4().hex, "Save changes"),
        ],
        style={"maxWidth": "60rem"},
    )
