"""Analyse an ECG: the doctor's patients, starting the job, the background analysis with its
real progress and a Cancel button, the findings, and saving (or signing) the report."""

from __future__ import annotations

import logging
import uuid

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update

from components.feedback import refusal
from components.findings import RiskSummary, findings_panel
from dashboard import ecg_records, reports
from dashboard.auth import current_user, guarded_callback
from dashboard.ecg_records import AnalysisRefused
from dashboard.reports import ReportAccessDenied, ReportError
from pipeline.errors import EcgError

log = logging.getLogger("dashboard")
DOCTOR = ["doctor"]
VIEWER = {"type": "ecg-view", "viewer": "analysis"}
# How often the page asks the background job for its progress and result (Dash's default is
# 1000 ms): the findings appear at most this long after the analysis ends.
POLL_MS = 250


def risk_summary(risk) -> RiskSummary | None:
    """A risk_assessment row as the findings panel shows it."""
    if risk is None:
        return None
    return RiskSummary(
        framingham_pct=risk.framingham_risk_pct,
        framingham_category=risk.framingham_category,
        grace_points=risk.grace_points,
        grace_mortality_pct=risk.grace_mortality_pct,
        entered=f"{risk.entered_at:%Y-%m-%d %H:%M} UTC",
    )


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("analysis-patient", "options"),
        Output("analysis-patient", "value"),
        Input("analysis-request", "data"),
        roles=DOCTOR,
    )
    def patient_choices(request):
        mine = reports.doctor_patients(services.database, current_user().actor())
        options = [{"label": f"{name} ({patient_id})", "value": patient_id} for patient_id, name in mine]
        wanted = (request or {}).get("patient")
        return options, wanted if wanted in {p for p, _ in mine} else None

    @guarded_callback(
        app,
        Output("analysis-upload-names", "children"),
        Input("analysis-upload", "filename"),
        prevent_initial_call=True,
        roles=DOCTOR,
    )
    def show_upload_names(names):
        names = names if isinstance(names, list) else [names] if names else []
        return ", ".join(ecg_records.display_name(n) for n in names)

    @guarded_callback(
        app,
        Output("analysis-ticket", "data"),
        Output("analysis-message", "children"),
        Output("analysis-progress", "value", allow_duplicate=True),
        Input("analysis-start", "n_clicks"),
        State("analysis-patient", "value"),
        State("analysis-source", "active_tab"),
        State("analysis-sample", "value"),
        State("analysis-upload", "contents"),
        State("analysis-upload", "filename"),
        prevent_initial_call=True,
        roles=DOCTOR,
    )
    def start(_clicks, patient_id, source, sample_key, contents, names):
        if not patient_id:
            return no_update, refusal("Choose the patient first."), 0
        try:
            if source == "upload":
                files = ecg_records.decode_uploads(contents, names)
                ticket = ecg_records.start_analysis(
                    services.database, services.settings, current_user().actor(), patient_id, files=files
                )
            else:
                if not sample_key:
                    return no_update, refusal("Choose a sample recording, or upload one."), 0
                ticket = ecg_records.start_analysis(
                    services.database,
                    services.settings,
                    current_user().actor(),
                    patient_id,
                    sample_key=sample_key,
                )
        except (EcgError, AnalysisRefused) as error:
            return no_update, refusal(str(error)), 0
        return ticket, None, 0

    @guarded_callback(
        app,
        Output(VIEWER, "data"),
        Output("analysis-findings", "children"),
        Output("analysis-recording", "data"),
        Output("analysis-token", "data"),
        Output("analysis-message", "children", allow_duplicate=True),
        Output("analysis-saved", "children"),
        Input("analysis-ticket", "data"),
        background=True,
        running=[
            (Output("analysis-start", "disabled"), True, False),
            (Output("analysis-cancel", "disabled"), False, True),
        ],
        cancel=[Input("analysis-cancel", "n_clicks")],
        progress=[Output("analysis-progress", "value"), Output("analysis-progress", "label")],
        interval=POLL_MS,
        prevent_initial_call=True,
        roles=DOCTOR,
    )
    def analyse(set_progress, ticket):
        # Runs in a background worker without a request: the ticket, signed by the server when
        # the gate had checked the doctor, says who asked for which patient.
        if not ticket:
            return (no_update,) * 6

        def progress(percent: int, label: str) -> None:
            set_progress((percent, f"{percent} % · {label}"))

        try:
            outcome = ecg_records.run_analysis(services.database, services.settings, ticket, progress)
            context = reports.analysis_context(services.database, outcome.actor, outcome.patient_id)
        except (EcgError, AnalysisRefused) as error:
            set_progress((0, ""))
            return no_update, no_update, no_update, no_update, refusal(str(error)), None
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("analysis failed (ref %s)", reference)
            set_progress((0, ""))
            message = f"The analysis could not be completed (reference {reference}). Nothing was saved."
            return no_update, no_update, no_update, no_update, refusal(message), None
        findings = findings_panel(outcome.analysis, sex=context.sex, risk=risk_summary(context.risk))
        header = html.Div(
            [
                html.B(context.patient_name),
                f" · {outcome.analysis.get('source') or outcome.analysis['record']}",
            ],
            className="small mb-2",
        )
        view = {"recording_id": outcome.recording_id, "x_range": [0, 10]}
        done = dbc.Alert(
            "Analysis finished. Review the findings, then save or sign the report.",
            color="info",
            className="py-2",
            duration=6000,
        )
        return view, [header, findings], outcome.recording_id, reports.new_form_token(), done, None

    @guarded_callback(
        app,
        Output("analysis-saved", "children", allow_duplicate=True),
        Output("analysis-token", "data", allow_duplicate=True),
        Input("analysis-save", "n_clicks"),
        Input("analysis-sign", "n_clicks"),
        State("analysis-recording", "data"),
        State("analysis-token", "data"),
        State("analysis-conclusions", "value"),
        State("analysis-notes", "value"),
        prevent_initial_call=True,
        roles=DOCTOR,
    )
    def save(_save, _sign, recording_id, token, conclusions, notes):
        from dash import ctx

        if not recording_id or not token:
            return refusal("Analyse a recording first."), no_update
        sign = ctx.triggered_id == "analysis-sign"
        try:
            report_id = reports.save_report(
                services.database,
                current_user().actor(),
                recording_id,
                conclusions=conclusions,
                notes=notes,
                form_token=token,
                sign=sign,
            )
        except (ReportError, ReportAccessDenied) as error:
            return refusal(str(error)), no_update
        verb = "saved and signed" if sign else "saved as a draft"
        message = dbc.Alert(
            [f"Report {report_id} {verb}. ", dcc.Link("Open the report", href=f"/report/{report_id}")],
            color="success",
            className="py-2",
            id="analysis-saved-alert",
        )
        # The token stays spent: a second click returns the same report. A new analysis gets a new one.
        return message, no_update
