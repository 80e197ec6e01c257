"""The reports list: filters in, the matching reports (newest first) out."""

from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from dashboard import reports
from dashboard.auth import current_user, guarded_callback

READERS = ["doctor", "staff"]


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def reports_table(rows, *, with_patient: bool = True, table_id: str = "reports-list"):
    """A table of report rows, each opening its report (shared with the patient page)."""
    if not rows:
        return html.P("No ECG reports.", className="text-muted small mb-0")
    header = (["Patient"] if with_patient else []) + [
        "Report",
        "Date (UTC)",
        "Doctor",
        "Rhythm",
        "Heart rate",
        "Status",
    ]
    body = []
    for r in rows:
        cells = [html.Td(f"{r.patient_name} ({r.patient_id})")] if with_patient else []
        cells += [
            html.Td(dcc.Link(r.report_id, href=f"/report/{r.report_id}")),
            html.Td(r.report_date),
            html.Td(r.doctor),
            html.Td(r.rhythm),
            html.Td(r.heart_rate),
            html.Td(r.status + (f" (v{r.version})" if r.version > 1 else "")),
        ]
        body.append(html.Tr(cells))
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(body)],
        size="sm",
        id=table_id,
        hover=True,
    )


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("reports-table", "children"),
        Input("reports-patient", "value"),
        Input("reports-doctor", "value"),
        Input("reports-dates", "start_date"),
        Input("reports-dates", "end_date"),
        Input("reports-rhythm", "value"),
        Input("reports-unsigned", "value"),
        roles=READERS,
    )
    def list_reports(patient, doctor, start, end, rhythm, unsigned):
        filters = reports.ReportFilters(
            patient=patient or "",
            doctor=doctor or "",
            start=_day(start),
            end=_day(end),
            rhythm=rhythm or "",
            unsigned_only=bool(unsigned),
        )
        rows = reports.search_reports(services.database, current_user().actor(), filters)
        return reports_table(rows)
