import dash
import dash_bootstrap_components as dbc
from dash import dash_table, html

dash.register_page(
    __name__,
    path="/admin/users",
    name="Users",
    title="Users · ECG Dashboard",
    roles=["admin"],
    nav_order=80,
    icon="bi-people",
)

ROLE_OPTIONS = [
    {"label": "Doctor", "value": "doctor"},
    {"label": "Staff", "value": "staff"},
    {"label": "Administrator", "value": "admin"},
]


def layout(**_query):
    create_form = dbc.Card(
        dbc.CardBody(
            [
                html.H2("New account", className="h5"),
                dbc.Label("Role", html_for="users-new-role"),
                dbc.Select(id="users-new-role", options=ROLE_OPTIONS, value="doctor", className="mb-2"),
                dbc.Label("Login name (Username / Staff ID)", html_for="users-new-login"),
                dbc.Input(id="users-new-login", className="mb-2", maxLength=80),
                dbc.Label("Doctor ID (doctors; defaults to the login name)", html_for="users-new-doctor-id"),
                dbc.Input(id="users-new-doctor-id", className="mb-2", maxLength=20),
                dbc.Label("Full name", html_for="users-new-name"),
                dbc.Input(id="users-new-name", className="mb-2", maxLength=120),
                dbc.Label("Initial password (at least 10 characters)", html_for="users-new-password"),
                dbc.Input(id="users-new-password", type="password", className="mb-3"),
                dbc.Button("Create account", id="users-create", color="primary"),
                html.Div(id="users-create-feedback", className="mt-3"),
            ]
        )
    )
    actions = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Selected account", className="h5"),
                html.P("Select a row in the table.", id="users-selected", className="text-muted"),
                dbc.ButtonGroup(
                    [
                        dbc.Button("Disable", id="users-disable", color="outline-danger"),
                        dbc.Button("Enable", id="users-enable", color="outline-success"),
                        dbc.Button("Unlock", id="users-unlock", color="outline-secondary"),
                    ],
                    className="mb-3",
                ),
                dbc.Label("New password for this account", html_for="users-reset-password"),
                dbc.InputGroup(
                    [
                        dbc.Input(id="users-reset-password", type="password"),
                        dbc.Button("Reset password", id="users-reset", color="warning"),
                    ]
                ),
                html.Div(id="users-action-feedback", className="mt-3"),
            ]
        ),
        className="mt-3",
    )
    table = dash_table.DataTable(
        id="users-table",
        columns=[
            {"name": "Role", "id": "role"},
            {"name": "Login", "id": "login_name"},
            {"name": "Account ID", "id": "account_id"},
            {"name": "Name", "id": "display_name"},
            {"name": "Status", "id": "status"},
            {"name": "Last login (UTC)", "id": "last_login_at"},
        ],
        row_selectable="single",
        sort_action="native",
        filter_action="native",
        page_size=20,
        style_table={"overflowX": "auto"},
        style_cell={"textAlign": "left", "fontFamily": "var(--bs-body-font-family)"},
    )
    return html.Div(
        [
            html.H2("User accounts", className="h4"),
            dbc.Row(
                [dbc.Col(table, lg=8), dbc.Col([create_form, actions], lg=4)],
                className="g-3",
            ),
        ]
    )
