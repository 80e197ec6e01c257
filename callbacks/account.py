"""My account: a user changes their own password."""

from dash import Input, Output, State, no_update

from components.feedback import refusal, success
from dashboard import accounts
from dashboard.accounts import AccountError
from dashboard.auth import current_user, guarded_callback


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("account-feedback", "children"),
        Output("account-current", "value"),
        Output("account-new", "value"),
        Output("account-repeat", "value"),
        Input("account-save", "n_clicks"),
        State("account-current", "value"),
        State("account-new", "value"),
        State("account-repeat", "value"),
        prevent_initial_call=True,
        roles=["admin", "doctor", "staff"],
    )
    def change_password(_clicks, current, new, repeat):
        if (new or "") != (repeat or ""):
            return refusal("The two new passwords differ."), no_update, "", ""
        user = current_user()
        try:
            with services.database.transaction() as db:
                accounts.change_own_password(db, user.actor(), current or "", new or "")
        except AccountError as exc:
            return refusal(str(exc)), "", no_update, no_update
        return success("Your password was changed."), "", "", ""
