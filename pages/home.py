import dash
import dash_bootstrap_components as dbc
from dash import html

dash.register_page(
    __name__,
    path="/",
    name="Home",
    title="ECG Dashboard",
    roles=["admin", "doctor", "staff"],
    nav_order=0,
    icon="bi-house",
)


def layout(**_query):
    return html.Div(
        [
            html.H2("Start", className="h4", id="home-title"),
            dbc.Row(id="home-cards", className="g-3"),
        ]
    )
