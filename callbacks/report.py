"""One report: reopened from stored data (no re-analysis); its author signs or amends it."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, no_update

from callbacks.analysis import risk_summary
from components.feedback import refusal
from components.findings import findings_panel
from dashboard import report_export, reports
from dashboard.auth import current_user, guarded_callback
from dashboard.reports import ReportAccessDenied, ReportError

READERS = ["admin", "doctor", "staff"]
VIEWER = {"type": "ecg-view", "viewer": "report"}


def report_header(stored) -> html.Div:
    report, detail = stored.report, stored.detail
    if detail is None:
        status = dbc.Badge("original record", color="secondary")
    elif detail.status == reports.SIGNED:
        status = dbc.Badge(
            f"signed {detail.signed_at:%Y-%m-%d %H:%M} UTC by {detail.signed_by}", color="success"
        )
    else:
        status = dbc.Badge("draft", color="warning", text_color="dark")
    chain = []
    if detail is not None and detail.previous_report_id:
        chain.append(
            html.Span(
                [
                    " · amends ",
                    dcc.Link(detail.previous_report_id, href=f"/report/{detail.previous_report_id}"),
                ]
            )
        )
    if detail is not None and detail.superseded_by:
        chain.append(
            html.Span(
                [" · amended by ", dcc.Link(detail.superseded_by, href=f"/report/{detail.superseded_by}")]
            )
        )
    return html.Div(
        [
            html.H1(f"ECG report {report.report_id}", className="h4 mb-1", id="report-title"),
            html.Div(
                [
                    dcc.Link(
                        f"{stored.patient.name} ({stored.patient.patient_id})",
                        href=f"/patient/{stored.patient.patient_id}",
                    ),
                    f" · {report.report_date:%Y-%m-%d %H:%M} UTC · Dr {report.doctor_id} · ",
                    f"version {detail.version if detail else 1} · ",
                    status,
                    *chain,
                ],
                className="small",
            ),
        ]
    )


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("report-header", "children"),
        Output(VIEWER, "data"),
        Output("report-findings", "children"),
        Output("report-text", "children"),
        Output("report-actions", "children"),
        Output("report-token", "data"),
        Input("report-request", "data"),
        roles=READERS,
    )
    def show(request):
        actor = current_user().actor()
        try:
            stored = reports.open_report(services.database, actor, (request or {}).get("report_id"))
            context = reports.analysis_context(services.database, actor, stored.patient.patient_id)
        except (ReportAccessDenied, PermissionError) as error:
            return refusal(f"{error} The attempt was recorded."), None, None, None, None, None
        if not stored.clinical:
            message = html.P("The findings are shown once the report is signed.", className="text-muted")
            return report_header(stored), None, message, None, None, None
        findings = (
            findings_panel(stored.analysis, sex=context.sex, risk=risk_summary(context.risk))
            if stored.analysis
            else html.P(
                f"Rhythm {stored.report.predicted_class}, {stored.report.heart_rate:.0f} bpm "
                "(a report from before the dashboard: no stored recording)."
            )
        )
        view = {"recording_id": stored.recording_id, "x_range": [0, 10]} if stored.recording_id else None
        detail = stored.detail
        if stored.editable:
            text = [
                dbc.Label("Conclusions", html_for="report-conclusions"),
                dbc.Textarea(id="report-conclusions", value=detail.conclusions, rows=3, className="mb-2"),
                dbc.Label("Notes", html_for="report-notes"),
                dbc.Textarea(id="report-notes", value=detail.notes, rows=2),
            ]
            actions = [
                dbc.Button("Save draft", id="report-save", color="outline-primary", className="me-2"),
                dbc.Button("Sign", id="report-sign", color="success"),
            ]
        else:
            text = [
                html.H3("Conclusions", className="h6"),
                html.P(
                    detail.conclusions if detail else "—",
                    id="report-conclusions-text",
                    style={"whiteSpace": "pre-wrap"},
                ),
                html.H3("Notes", className="h6"),
                html.P((detail.notes if detail else "") or "—", style={"whiteSpace": "pre-wrap"}),
            ]
            can_amend = (
                detail is not None
                and detail.status == reports.SIGNED
                and not detail.superseded_by
                and actor.role == "doctor"
                and stored.report.doctor_id == actor.account_id[:20]
            )
            actions = (
                [dbc.Button("Amend (new version)", id="report-amend", color="outline-secondary")]
                if can_amend
                else []
            )
        return report_header(stored), view, findings, text, actions, reports.new_form_token()

    @guarded_callback(
        app,
        Output("report-message", "children"),
        Output("report-request", "data"),
        Input("report-save", "n_clicks"),
        Input("report-sign", "n_clicks"),
        State("report-request", "data"),
        State("report-conclusions", "value"),
        State("report-notes", "value"),
        prevent_initial_call=True,
        roles=["doctor"],
    )
    def save_or_sign(save_clicks, sign_clicks, request, conclusions, notes):
        if not (save_clicks or sign_clicks):
            return no_update, no_update
        actor = current_user().actor()
        report_id = (request or {}).get("report_id")
        try:
            if ctx.triggered_id == "report-sign":
                reports.sign_report(services.database, actor, report_id, conclusions=conclusions, notes=notes)
                return dbc.Alert("Report signed.", color="success", className="py-2"), {
                    "report_id": report_id
                }
            reports.update_draft(services.database, actor, report_id, conclusions=conclusions, notes=notes)
        except (ReportError, ReportAccessDenied) as error:
            return refusal(str(error)), no_update
        return dbc.Alert("Draft saved.", color="success", className="py-2", duration=4000), no_update

    @guarded_callback(
        app,
        Output("report-message", "children", allow_duplicate=True),
        Input("report-amend", "n_clicks"),
        State("report-request", "data"),
        State("report-token", "data"),
        prevent_initial_call=True,
        roles=["doctor"],
    )
    def amend(clicks, request, token):
        if not clicks:
            return no_update
        actor = current_user().actor()
        report_id = (request or {}).get("report_id")
        try:
            stored = reports.open_report(services.database, actor, report_id)
            new_id = reports.amend_report(
                services.database,
                actor,
                report_id,
                conclusions=stored.detail.conclusions,
                notes=stored.detail.notes,
                form_token=token,
            )
        except (ReportError, ReportAccessDenied) as error:
            return refusal(str(error))
        return dbc.Alert(
            [
                "Amendment created as a draft: ",
                dcc.Link(new_id, href=f"/report/{new_id}", id="report-amendment-link"),
            ],
            color="info",
            className="py-2",
        )

    @guarded_callback(
        app,
        Output("report-pdf", "data"),
        Output("report-pdf-message", "children"),
        Input("report-pdf-download", "n_clicks"),
        State("report-request", "data"),
        State("report-pdf-kind", "value"),
        prevent_initial_call=True,
        roles=READERS,
    )
    def download_pdf(clicks, request, kind):
        """The PDF is built on the server from the stored report; only its id and kind come from here."""
        if not clicks:
            return no_update, no_update
        actor = current_user().actor()
        try:
            exported = report_export.export_report_pdf(
                services.database,
                services.settings,
                actor,
                (request or {}).get("report_id"),
                kind if kind in report_export.KINDS else "clinician",
            )
        except ReportAccessDenied as error:
            return no_update, refusal(f"{error} The attempt was recorded.")
        return dcc.send_bytes(exported.content, exported.filename, type="application/pdf"), None
