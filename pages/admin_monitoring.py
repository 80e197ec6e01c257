import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

dash.register_page(
    __name__,
    path="/admin/monitoring",
    name="Monitoring",
    title="Monitoring setup · ECG Dashboard",
    roles=["admin"],
    nav_order=82,
    icon="bi-broadcast",
)


def layout(**_query):
    bed_form = dbc.Row(
        [
            dbc.Col(
                dbc.Input(id="monitor-new-bed-id", placeholder="Bed ID (e.g. icu-3)", maxLength=32), md=2
            ),
            dbc.Col(dbc.Input(id="monitor-new-bed-label", placeholder="Label", maxLength=80), md=2),
            dbc.Col(
                dbc.Input(id="monitor-new-bed-patient", placeholder="Patient ID (optional)", maxLength=20),
                md=2,
            ),
            dbc.Col(dcc.Dropdown(id="monitor-new-bed-source", placeholder="Source", clearable=False), md=3),
            dbc.Col(dbc.Input(id="monitor-new-bed-low", type="number", value=40, min=20, max=300), md=1),
            dbc.Col(dbc.Input(id="monitor-new-bed-high", type="number", value=140, min=20, max=300), md=1),
            dbc.Col(dbc.Button("Add bed", id="monitor-new-bed", n_clicks=0), md=1),
        ],
        className="g-2 mb-2",
    )
    device_form = dbc.Row(
        [
            dbc.Col(dcc.Dropdown(id="monitor-device-bed", placeholder="Bed"), md=3),
            dbc.Col(dbc.Input(id="monitor-device-label", placeholder="Device label", maxLength=80), md=3),
            dbc.Col(dbc.Button("Create device token", id="monitor-new-device", n_clicks=0), md=3),
        ],
        className="g-2 mb-2",
    )
    return html.Div(
        [
            html.H3("Live monitoring"),
            html.P("Beds (HR alarm limits low/high, bpm), their devices and what each stream received."),
            bed_form,
            device_form,
            html.Div(id="monitor-admin-feedback"),
            html.Div(id="monitor-admin-table"),
            dcc.Interval(id="monitor-admin-refresh", interval=5000),
        ]
    )
