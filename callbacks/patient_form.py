"""Behaviour shared by the register and edit pages' patient form (prefix "register"/"edit")."""

from __future__ import annotations

from dash import Output, State

from components.forms import feedback_id
from components.patients import PATIENT_FIELDS


def field_states(prefix: str) -> list[State]:
    return [State(f"{prefix}-{name}", "value") for name in PATIENT_FIELDS]


def feedback_outputs(prefix: str) -> list[Output]:
    outputs = []
    for name in PATIENT_FIELDS:
        outputs += [
            Output(f"{prefix}-{name}", "invalid"),
            Output(feedback_id(f"{prefix}-{name}"), "children"),
        ]
    return outputs


def feedback_values(errors: dict[str, str]) -> list:
    values = []
    for name in PATIENT_FIELDS:
        values += [name in errors, errors.get(name, "")]
    return values


def raw_form(values: list) -> dict:
    return dict(zip(PATIENT_FIELDS, values, strict=True))


def doctor_options(names: dict[str, str]) -> list[dict]:
    options = [{"label": "— not assigned —", "value": ""}]
    options += [
        {"label": name, "value": doctor_id} for doctor_id, name in sorted(names.items(), key=lambda x: x[1])
    ]
    return options
