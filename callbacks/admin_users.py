"""Users page (admin): list, create, disable/enable, unlock, reset passwords."""

from dash import Input, Output, State, ctx, no_update

from components.feedback import refusal, success
from dashboard import accounts
from dashboard.accounts import AccountError, Role
from dashboard.audit import utcnow
from dashboard.auth import current_user, guarded_callback

ADMIN = ["admin"]


def _table_rows(services) -> list[dict]:
    with services.database.transaction() as db:
        rows = accounts.list_accounts(db, utcnow())
    return [
        {
            "key": f"{row.role}:{row.account_id}",
            "role": row.role,
            "login_name": row.login_name,
            "account_id": row.account_id,
            "display_name": row.display_name,
            "status": "disabled" if row.disabled else ("locked" if row.locked else "active"),
            "last_login_at": row.last_login_at,
        }
        for row in rows
    ]


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("users-table", "data"),
        Input("users-create-feedback", "children"),
        Input("users-action-feedback", "children"),
        roles=ADMIN,
    )
    def list_users(_created, _changed):
        return _table_rows(services)

    @guarded_callback(
        app,
        Output("users-create-feedback", "children"),
        Output("users-new-password", "value"),
        Input("users-create", "n_clicks"),
        State("users-new-role", "value"),
        State("users-new-login", "value"),
        State("users-new-doctor-id", "value"),
        State("users-new-name", "value"),
        State("users-new-password", "value"),
        prevent_initial_call=True,
        roles=ADMIN,
    )
    def create_user(_clicks, role, login_name, doctor_id, display_name, password):
        try:
            with services.database.transaction() as db:
                account = accounts.create_account(
                    db,
                    current_user().actor(),
                    Role(role),
                    login_name or "",
                    display_name or "",
                    password or "",
                    doctor_id=doctor_id or None,
                )
        except (AccountError, ValueError) as exc:
            return refusal(str(exc)), no_update
        return success(f"Account {account.login_name} ({account.role.value}) created."), ""

    @guarded_callback(
        app,
        Output("users-selected", "children"),
        Input("users-table", "selected_rows"),
        State("users-table", "data"),
        roles=ADMIN,
    )
    def show_selection(selected, data):
        if not selected or not data or selected[0] >= len(data):
            return "Select a row in the table."
        row = data[selected[0]]
        return f"{row['display_name']} — {row['role']} {row['login_name']} ({row['status']})"

    @guarded_callback(
        app,
        Output("users-action-feedback", "children"),
        Output("users-reset-password", "value"),
        Input("users-disable", "n_clicks"),
        Input("users-enable", "n_clicks"),
        Input("users-unlock", "n_clicks"),
        Input("users-reset", "n_clicks"),
        State("users-table", "selected_rows"),
        State("users-table", "data"),
        State("users-reset-password", "value"),
        prevent_initial_call=True,
        roles=ADMIN,
    )
    def change_user(_d, _e, _u, _r, selected, data, new_password):
        if not selected or not data or selected[0] >= len(data):
            return refusal("Select an account first."), no_update
        row = data[selected[0]]
        role, account_id = Role(row["role"]), row["account_id"]
        me = current_user().actor()
        try:
            with services.database.transaction() as db:
                if ctx.triggered_id == "users-disable":
                    accounts.set_disabled(db, me, role, account_id, True)
                    done = "disabled"
                elif ctx.triggered_id == "users-enable":
                    accounts.set_disabled(db, me, role, account_id, False)
                    done = "enabled"
                elif ctx.triggered_id == "users-unlock":
                    accounts.unlock(db, me, role, account_id)
                    done = "unlocked"
                else:
                    accounts.set_password(db, me, role, account_id, new_password or "")
                    done = "given a new password"
        except AccountError as exc:
            return refusal(str(exc)), no_update
        return success(f"{row['login_name']} was {done}."), ""
