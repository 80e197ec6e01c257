import dash
from dash import dcc, html

dash.register_page(__name__, path="/404", roles=["admin", "doctor", "staff"], title="Not found")


def layout(**_query):
    return html.Div([html.H2("Page not found", className="h4"), dcc.Link("Back to the start page", href="/")])
