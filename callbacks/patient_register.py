"""Register a patient (staff, admin): field messages, duplicate warning, one row per form."""

from dash import Input, Output, State, ctx, no_update
from sqlalchemy.exc import IntegrityError

from callbacks.patient_form import doctor_options, feedback_outputs, feedback_values, field_states, raw_form
from components.feedback import refusal
from dashboard import patients
from dashboard.auth import current_user, guarded_callback
from dashboard.patients import PatientFormError

EDITORS = ["staff", "admin"]
SHOWN, HIDDEN = {"display": "inline-block"}, {"display": "none"}


def register(app, services) -> None:
    @guarded_callback(
        app, Output("register-doctor_id", "options"), Input("register-token", "data"), roles=EDITORS
    )
    def list_doctors(_token):
        with services.database.transaction() as db:
            return doctor_options(patients.doctor_names(db))

    @guarded_callback(
        app,
        Output("register-result", "children"),
        Output("register-duplicates", "children"),
        Output("register-duplicates", "is_open"),
        Output("register-confirm", "style"),
        Output("register-go", "href"),
        *feedback_outputs("register"),
        Input("register-save", "n_clicks"),
        Input("register-confirm", "n_clicks"),
        State("register-token", "data"),
        *field_states("register"),
        running=[(Output("register-save", "disabled"), True, False)],
        prevent_initial_call=True,
        roles=EDITORS,
    )
    def save(_clicks, _confirm_clicks, token, *values):
        actor = current_user().actor()
        try:
            with services.database.transaction() as db:
                draft = patients.validate_patient(db, raw_form(values))
                confirmed = ctx.triggered_id == "register-confirm"
                outcome = patients.register_patient(db, actor, draft, token, confirm_duplicate=confirmed)
        except PatientFormError as exc:
            message = refusal("Please correct the fields marked in red. Nothing was saved.")
            return message, no_update, no_update, no_update, no_update, *feedback_values(exc.errors)
        except IntegrityError:  # the same form saved at the same moment by a second click
            with services.database.transaction() as db:
                outcome = patients.RegisterOutcome(patients.previous_submission(db, token), repeated=True)
        if outcome.patient_id is None:
            warning = (
                "A patient with the same name and personal phone number already exists: "
                + ", ".join(outcome.duplicates)
                + ". Check that this is a different person, then press “Register anyway”."
            )
            return no_update, warning, True, SHOWN, no_update, *feedback_values({})
        return no_update, no_update, False, HIDDEN, f"/patient/{outcome.patient_id}", *feedback_values({})
