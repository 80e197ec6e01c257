"""Risk-factor form (staff, doctors): prefill from the profile and the latest ECG, check every
field, store the entry as history, then show the patient's page with both scores."""

from dash import Input, Output, State, no_update
from sqlalchemy.exc import IntegrityError

from components.feedback import refusal
from components.forms import feedback_id
from dashboard import patients, risk_inputs
from dashboard.auth import current_user, guarded_callback
from dashboard.patients import PatientAccessDenied
from dashboard.risk_inputs import RiskFormError

ENTER = list(risk_inputs.ENTER_ROLES)
# Form key -> control id. The checked fields show their message under the control.
CONTROLS = {
    "sex": "risk-sex",
    "smoker": "risk-smoker",
    "diabetic": "risk-diabetic",
    "bp_treated": "risk-bp-treated",
    "cholesterol_unit": "risk-cholesterol-unit",
    "total_cholesterol": "risk-total-cholesterol",
    "hdl": "risk-hdl",
    "sbp": "risk-sbp",
    "other_issues": "risk-other-issues",
    "creatinine": "risk-creatinine",
    "creatinine_unit": "risk-creatinine-unit",
    "killip_class": "risk-killip",
    "heart_rate": "risk-heart-rate",
    "cardiac_arrest": "risk-cardiac-arrest",
    "st_deviation": "risk-st-deviation",
    "elevated_enzymes": "risk-elevated-enzymes",
}
CHECKED = (
    "sex",
    "total_cholesterol",
    "hdl",
    "sbp",
    "other_issues",
    "creatinine",
    "killip_class",
    "heart_rate",
)
NO_INVALID_PROP = ("sex",)  # radio buttons: the message alone is shown


def _feedback_outputs() -> list[Output]:
    outputs = []
    for key in CHECKED:
        if key not in NO_INVALID_PROP:
            outputs.append(Output(CONTROLS[key], "invalid"))
        outputs += [
            Output(feedback_id(CONTROLS[key]), "children"),
            Output(feedback_id(CONTROLS[key]), "style"),
        ]
    return outputs


def _feedback_values(errors: dict[str, str]) -> list:
    values = []
    for key in CHECKED:
        if key not in NO_INVALID_PROP:
            values.append(key in errors)
        values += [errors.get(key, ""), {"display": "block"} if key in errors else {}]
    return values


def _form_message(errors: dict[str, str]) -> str:
    """The alert above the form: problems no field shows (e.g. the patient's age), then a
    pointer to the fields marked in red."""
    parts = [text for key, text in errors.items() if key not in CHECKED]
    if any(key in CHECKED for key in errors):
        parts.append("Please correct the fields marked in red.")
    return " ".join([*parts, "Nothing was saved."])


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("risk-denied", "children"),
        Output("risk-patient-name", "children"),
        Output("risk-sex", "value"),
        Output("risk-sex", "options"),
        Output("risk-heart-rate", "value"),
        Output("risk-heart-rate-source", "children"),
        Output("risk-heart-rate-origin", "data"),
        Input("risk-patient-id", "data"),
        roles=ENTER,
    )
    def prefill(patient_id):
        actor = current_user().actor()
        try:
            with services.database.transaction() as db:
                # Opening the form shows the patient: a view, audited like any other.
                patient = patients.open_patient(db, actor, patient_id)
                heart_rate = risk_inputs.latest_ecg_heart_rate(db, patient.patient_id)
        except PatientAccessDenied as exc:
            return refusal(f"{exc} The attempt was recorded."), "", None, [], None, None, None
        sex = risk_inputs.sex_for_equations(patient.gender)
        options = [{"label": s, "value": s, "disabled": sex is not None} for s in ("female", "male")]
        if heart_rate is None:
            return None, patient.name, sex, options, None, "No ECG report yet: enter the heart rate.", None
        source = f"ECG report {heart_rate.report_id}"
        note = f"From {source} of {heart_rate.report_date:%Y-%m-%d}; change it if it is not current."
        return None, patient.name, sex, options, round(heart_rate.bpm), note, source

    @guarded_callback(
        app,
        Output("risk-result", "children"),
        Output("risk-go", "href"),
        *_feedback_outputs(),
        Input("risk-save", "n_clicks"),
        State("risk-patient-id", "data"),
        State("risk-token", "data"),
        State("risk-heart-rate-origin", "data"),
        *[State(control, "value") for control in CONTROLS.values()],
        running=[(Output("risk-save", "disabled"), True, False)],
        prevent_initial_call=True,
        roles=ENTER,
    )
    def save(_clicks, patient_id, token, heart_rate_origin, *values):
        actor = current_user().actor()
        raw = dict(zip(CONTROLS, values, strict=True))
        raw["heart_rate_source"] = heart_rate_origin or "entered"
        try:
            with services.database.transaction() as db:
                patient = patients.check_patient_access(db, actor, patient_id)
                draft = risk_inputs.validate_risk_inputs(raw, patient.gender)
                risk_inputs.record_risk_inputs(db, actor, patient.patient_id, draft, token)
        except RiskFormError as exc:
            return refusal(_form_message(exc.errors)), no_update, *_feedback_values(exc.errors)
        except PatientAccessDenied as exc:
            return refusal(f"{exc} The attempt was recorded."), no_update, *_feedback_values({})
        except IntegrityError:  # a second click saved the same form at the same moment
            pass
        return no_update, f"/patient/{patient_id}", *_feedback_values({})
