"""Form building blocks: a labelled field with its own error message under it."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def feedback_id(field_id: str) -> str:
    return f"{field_id}-feedback"


def field(label: str, control, field_id: str, help_text: str | None = None, width: int = 12) -> dbc.Col:
    """A label, the control (whose id is field_id) and the message shown when it is invalid."""
    parts = [dbc.Label(label, html_for=field_id), control]
    if help_text:
        parts.append(dbc.FormText(help_text))
    parts.append(dbc.FormFeedback(id=feedback_id(field_id), type="invalid"))
    return dbc.Col(html.Div(parts, className="mb-3"), md=width)


def switch(label: str, field_id: str, value: bool = False) -> dbc.Col:
    return dbc.Col(dbc.Switch(id=field_id, label=label, value=value, className="mb-3"), md=4)
