"""A patient's page: profile, both scores and their history, what to treat first, reports."""

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html, no_update

from components.feedback import refusal
from components.patients import details_card
from components.risk import framingham_card, grace_card, history_figure, no_grace_card, treat_first_table
from dashboard import patients, reports, risk_inputs
from dashboard.auth import current_user, guarded_callback
from dashboard.patients import PatientAccessDenied
from pipeline.risk import framingham_10y, framingham_modifiable_factors, grace_in_hospital

READERS = ["admin", "doctor", "staff"]
OUTPUTS = (
    "patient-details",
    "patient-framingham",
    "patient-grace",
    "patient-treat-first",
    "patient-history-table",
    "patient-reports",
)


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("patient-denied", "children"),
        *[Output(component, "children") for component in OUTPUTS],
        Output("patient-history", "figure"),
        Input("patient-request", "data"),
        roles=READERS,
    )
    def show_patient(request):
        actor = current_user().actor()
        request = request or {}
        try:
            with services.database.transaction() as db:
                patient = patients.open_patient(
                    db, actor, request.get("patient_id"), via_all=bool(request.get("via_all"))
                )
                details = patients.patient_details(db, patient)
                history = risk_inputs.risk_history(db, patient)
                report_rows = reports.reports_for_patient(db, actor, patient)
        except PatientAccessDenied as exc:
            return refusal(f"{exc} The attempt was recorded."), *[None] * len(OUTPUTS), no_update
        card = details_card(
            details,
            can_edit=patients.may_edit_demographics(actor),
            can_enter_risk=actor.role in risk_inputs.ENTER_ROLES,
        )
        framingham, grace, treat_first = _latest_scores(history)
        return (
            None,
            card,
            framingham,
            grace,
            treat_first,
            _history_table(history),
            _reports_table(report_rows, patient.patient_id, actor.role),
            history_figure(history),
        )


def _latest_scores(history):
    if not history:
        empty = dbc.Alert("No risk factors entered yet.", color="light", id="framingham-card")
        return empty, no_grace_card(), None
    latest = history[-1]
    entered = f"Entered {latest.entered_at:%Y-%m-%d %H:%M} UTC by {latest.entered_by_id}."
    args = (
        latest.sex,
        latest.age_years,
        latest.total_cholesterol_mg_dl,
        latest.hdl_mg_dl,
        latest.sbp_mmhg,
        latest.bp_treated,
        latest.smoker,
        latest.diabetic,
    )
    framingham = framingham_card(framingham_10y(*args), entered)
    treat_first = html.Div(
        [
            html.H3("Which factor to treat first", className="h5"),
            treat_first_table(framingham_modifiable_factors(*args)),
        ]
    )
    if latest.grace_points is None:
        grace = no_grace_card()
    else:
        grace = grace_card(
            grace_in_hospital(
                latest.age_years,
                latest.heart_rate_bpm,
                latest.sbp_mmhg,
                latest.creatinine_mg_dl,
                latest.killip_class,
                bool(latest.cardiac_arrest),
                bool(latest.st_deviation),
                bool(latest.elevated_enzymes),
            ),
            entered,
        )
    return framingham, grace, treat_first


def _history_table(history):
    if not history:
        return None
    header = ["Entered (UTC)", "By", "TC", "HDL", "SBP", "Smoker", "Diabetic", "Framingham", "GRACE"]
    rows = [
        html.Tr(
            [
                html.Td(f"{e.entered_at:%Y-%m-%d %H:%M}"),
                html.Td(e.entered_by_id),
                html.Td(f"{e.total_cholesterol_mg_dl:g}"),
                html.Td(f"{e.hdl_mg_dl:g}"),
                html.Td(f"{e.sbp_mmhg:g}{' (treated)' if e.bp_treated else ''}"),
                html.Td("yes" if e.smoker else "no"),
                html.Td("yes" if e.diabetic else "no"),
                html.Td(f"{e.framingham_risk_pct:.1f} % ({e.framingham_category})"),
                html.Td(
                    "—" if e.grace_points is None else f"{e.grace_points} ({e.grace_mortality_pct:.1f} %)"
                ),
            ]
        )
        for e in reversed(history)
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
        size="sm",
        className="small",
        id="risk-history-table",
    )


def _reports_table(rows, patient_id: str, role: str):
    from callbacks.reports import reports_table

    links = []
    if role == "doctor":
        links.append(
            dcc.Link("Analyse an ECG", href=f"/analysis?patient={patient_id}", id="patient-analyse-link")
        )
    if len(rows) >= 2:
        compare = f"/reports/compare?a={rows[0].report_id}&b={rows[1].report_id}"
        links.append(
            dcc.Link("Compare the newest ECG with the one before", href=compare, id="patient-compare-link")
        )
    actions = html.Div([html.Span(link, className="me-3") for link in links], className="small mb-2")
    return html.Div([actions, reports_table(rows, with_patient=False, table_id="patient-reports-table")])
