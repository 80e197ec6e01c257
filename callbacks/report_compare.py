"""Two reports of one patient side by side, each from its stored data."""

from __future__ import annotations

from dash import Input, Output, html

from components.feedback import refusal
from components.findings import findings_panel
from dashboard import reports
from dashboard.auth import current_user, guarded_callback
from dashboard.reports import ReportAccessDenied

READERS = ["admin", "doctor", "staff"]


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("compare-message", "children"),
        Output({"type": "ecg-view", "viewer": "compare-a"}, "data"),
        Output({"type": "ecg-view", "viewer": "compare-b"}, "data"),
        Output("compare-title-a", "children"),
        Output("compare-title-b", "children"),
        Output("compare-findings-a", "children"),
        Output("compare-findings-b", "children"),
        Input("compare-request", "data"),
        roles=READERS,
    )
    def compare(request):
        actor = current_user().actor()
        request = request or {}
        try:
            pair = reports.report_pair(services.database, actor, request.get("a"), request.get("b"))
        except (ReportAccessDenied, PermissionError, ValueError) as error:
            return refusal(str(error)), None, None, None, None, None, None
        views, titles, findings = [], [], []
        context = reports.analysis_context(services.database, actor, pair[0].patient.patient_id)
        for stored in pair:
            views.append(
                {"recording_id": stored.recording_id, "x_range": [0, 10]} if stored.recording_id else None
            )
            titles.append(
                html.H2(
                    f"{stored.report.report_id} · {stored.report.report_date:%Y-%m-%d %H:%M} · "
                    f"{stored.report.predicted_class}",
                    className="h6",
                )
            )
            findings.append(
                findings_panel(stored.analysis, sex=context.sex, risk=None)
                if stored.analysis
                else html.P("Findings shown once signed.", className="text-muted")
            )
        return None, views[0], views[1], titles[0], titles[1], findings[0], findings[1]
