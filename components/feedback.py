"""Messages shown after a user action: success, refusal, field errors."""

from __future__ import annotations

import dash_bootstrap_components as dbc


def success(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="success", className="py-2", duration=8000)


def refusal(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="danger", className="py-2")
