"""Edit a patient's details (staff, admin)."""

from dash import Input, Output, State, no_update

from callbacks.patient_form import doctor_options, feedback_outputs, feedback_values, field_states, raw_form
from components.feedback import refusal
from components.patients import PATIENT_FIELDS
from dashboard import patients
from dashboard.auth import current_user, guarded_callback
from dashboard.patients import PatientAccessDenied, PatientFormError

EDITORS = ["staff", "admin"]


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("edit-denied", "children"),
        Output("edit-doctor_id", "options"),
        *[Output(f"edit-{name}", "value") for name in PATIENT_FIELDS],
        Input("edit-patient-id", "data"),
        roles=EDITORS,
    )
    def load(patient_id):
        actor = current_user().actor()
        try:
            with services.database.transaction() as db:
                patient = patients.open_patient(db, actor, patient_id)
                details = patients.patient_details(db, patient)
                options = doctor_options(patients.doctor_names(db))
        except PatientAccessDenied as exc:
            return refusal(str(exc)), [], *[no_update] * len(PATIENT_FIELDS)
        values = [
            details.name,
            details.age,
            details.gender,
            details.address,
            details.email,
            details.personal_phone,
            details.emergency_phone,
            details.doctor_id or "",
        ]
        return None, options, *values

    @guarded_callback(
        app,
        Output("edit-result", "children"),
        Output("edit-go", "href"),
        *feedback_outputs("edit"),
        Input("edit-save", "n_clicks"),
        State("edit-patient-id", "data"),
        *field_states("edit"),
        running=[(Output("edit-save", "disabled"), True, False)],
        prevent_initial_call=True,
        roles=EDITORS,
    )
    def save(_clicks, patient_id, *values):
        actor = current_user().actor()
        try:
            with services.database.transaction() as db:
                draft = patients.validate_patient(db, raw_form(values))
                patients.update_patient(db, actor, patient_id, draft)
        except PatientFormError as exc:
            message = refusal("Please correct the fields marked in red. Nothing was saved.")
            return message, no_update, *feedback_values(exc.errors)
        except PatientAccessDenied as exc:
            return refusal(str(exc)), no_update, *feedback_values({})
        return no_update, f"/patient/{patient_id}", *feedback_values({})
