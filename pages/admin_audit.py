import dash
import dash_bootstrap_components as dbc
from dash import dash_table, dcc, html

dash.register_page(
    __name__,
    path="/admin/audit",
    name="Audit log",
    title="Audit log · ECG Dashboard",
    roles=["admin"],
    nav_order=85,
    icon="bi-journal-text",
)

PAGE_SIZE = 50


def layout(**_query):
    filters = dbc.Row(
        [
            dbc.Col(dbc.Input(id="audit-actor", placeholder="User (account ID)"), md=2),
            dbc.Col(dcc.Dropdown(id="audit-action", placeholder="Action"), md=2),
            dbc.Col(
                dcc.Dropdown(
                    id="audit-outcome",
                    placeholder="Outcome",
                    options=["ok", "failed", "denied"],
                ),
                md=2,
            ),
            dbc.Col(dbc.Input(id="audit-patient", placeholder="Patient ID"), md=2),
            dbc.Col(
                dcc.DatePickerRange(
                    id="audit-dates", start_date_placeholder_text="From", end_date_placeholder_text="To"
                ),
                md=4,
            ),
        ],
        className="g-2 mb-3",
    )
    table = dash_table.DataTable(
        id="audit-table",
        columns=[
            {"name": "When (UTC)", "id": "occurred_at"},
            {"name": "Role", "id": "actor_role"},
            {"name": "User", "id": "actor_id"},
            {"name": "Action", "id": "action"},
            {"name": "Outcome", "id": "outcome"},
            {"name": "Patient", "id": "patient_id"},
            {"name": "Report", "id": "report_id"},
            {"name": "Target", "id": "target"},
            {"name": "Detail", "id": "detail"},
            {"name": "Client", "id": "client_ip"},
        ],
        page_action="custom",
        page_current=0,
        page_size=PAGE_SIZE,
        style_table={"overflowX": "auto"},
        style_cell={
            "textAlign": "left",
            "fontFamily": "var(--bs-body-font-family)",
            "maxWidth": "24rem",
            "overflow": "hidden",
            "textOverflow": "ellipsis",
        },
    )
    export = html.Div(
        [
            dbc.Button(
                [html.I(className="bi bi-download me-1"), "Export filtered log (CSV)"],
                id="audit-export",
                color="secondary",
                size="sm",
            ),
            dbc.Button("Cancel", id="audit-export-cancel", color="link", size="sm", disabled=True),
            dbc.Progress(id="audit-export-progress", value=0, className="mt-2", style={"height": "6px"}),
            dcc.Download(id="audit-download"),
            dcc.Store(id="audit-export-log"),
        ],
        className="mb-3",
    )
    return html.Div(
        [
            html.H2("Audit log", className="h4"),
            filters,
            export,
            html.Div(id="audit-total", className="text-muted small mb-2"),
            table,
        ]
    )
