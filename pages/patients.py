import dash
import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html

dash.register_page(
    __name__,
    path="/patients",
    name="Patients",
    title="Patients · ECG Dashboard",
    roles=["admin", "doctor", "staff"],
    nav_order=10,
    icon="bi-person-vcard",
)

PAGE_SIZE = 25
RISK_OPTIONS = [
    {"label": "Low (< 10 %)", "value": "low"},
    {"label": "Intermediate (10–20 %)", "value": "intermediate"},
    {"label": "High (> 20 %)", "value": "high"},
    {"label": "No risk inputs yet", "value": "none"},
]


def layout(**_query):
    filters = dbc.Row(
        [
            dbc.Col(
                dbc.RadioItems(
                    id="patients-scope",
                    options=[
                        {"label": "My patients", "value": "mine"},
                        {"label": "All patients (recorded in the audit log)", "value": "all"},
                    ],
                    value="mine",
                    inline=True,
                ),
                md=12,
                id="patients-scope-col",
            ),
            dbc.Col(dbc.Input(id="patients-search", placeholder="Name or Patient ID", debounce=True), md=3),
            dbc.Col(dcc.Dropdown(id="patients-doctor", placeholder="Doctor"), md=3),
            dbc.Col(
                dbc.Input(
                    id="patients-age-min",
                    type="number",
                    min=0,
                    max=120,
                    placeholder="Age ≥",
                    debounce=True,
                ),
                md=1,
            ),
            dbc.Col(
                dbc.Input(
                    id="patients-age-max", type="number", min=0, max=120, placeholder="Age ≤", debounce=True
                ),
                md=1,
            ),
            dbc.Col(
                dcc.Dropdown(id="patients-risk", options=RISK_OPTIONS, placeholder="Last risk level"), md=2
            ),
            dbc.Col(
                dbc.Button(
                    [html.I(className="bi bi-person-plus me-1"), "Register patient"],
                    href="/patients/register",
                    color="primary",
                    id="patients-register",
                ),
                md=2,
                className="text-end",
            ),
        ],
        className="g-2 mb-3 align-items-center",
    )
    table = dash_table.DataTable(
        id="patients-table",
        columns=[
            {"name": "Patient ID", "id": "link", "presentation": "markdown"},
            {"name": "Name", "id": "name"},
            {"name": "Age", "id": "age"},
            {"name": "Gender", "id": "gender"},
            {"name": "Doctor", "id": "doctor"},
            {"name": "Last Framingham risk", "id": "risk", "sortable_id": "risk"},
            {"name": "Registered", "id": "created_at"},
        ],
        page_action="custom",
        page_current=0,
        page_size=PAGE_SIZE,
        sort_action="custom",
        sort_mode="single",
        sort_by=[{"column_id": "created_at", "direction": "desc"}],
        markdown_options={"link_target": "_self"},
        style_table={"overflowX": "auto"},
        style_cell={"textAlign": "left", "fontFamily": "var(--bs-body-font-family)"},
    )
    return html.Div(
        [
            html.H2("Patients", className="h4"),
            filters,
            html.Div(id="patients-total", className="text-muted small mb-2"),
            table,
        ]
    )
