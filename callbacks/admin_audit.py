"""Audit log page (admin): filter and page through the log; export it as CSV."""

import csv
import io
from datetime import datetime, timedelta

from dash import Input, Output, State, dcc

from dashboard import audit
from dashboard.audit import AuditQuery
from dashboard.auth import current_user, guarded_callback

ADMIN = ["admin"]
EXPORT_CHUNK = 500
EXPORT_MAX_ROWS = 200_000


def _query(actor, action, outcome, patient, start, end, page=0, page_size=50) -> AuditQuery:
    return AuditQuery(
        actor_id=(actor or "").strip() or None,
        action=action or None,
        outcome=outcome or None,
        patient_id=(patient or "").strip() or None,
        since=datetime.fromisoformat(start) if start else None,
        # The end date is inclusive for the user: up to midnight after it.
        until=datetime.fromisoformat(end) + timedelta(days=1) if end else None,
        page=page or 0,
        page_size=page_size,
    )


FILTERS = [
    Input("audit-actor", "value"),
    Input("audit-action", "value"),
    Input("audit-outcome", "value"),
    Input("audit-patient", "value"),
    Input("audit-dates", "start_date"),
    Input("audit-dates", "end_date"),
]


def register(app, services) -> None:
    @guarded_callback(app, Output("audit-action", "options"), Input("audit-table", "id"), roles=ADMIN)
    def list_actions(_):
        return list(audit.ACTIONS)

    @guarded_callback(
        app,
        Output("audit-table", "data"),
        Output("audit-table", "page_count"),
        Output("audit-total", "children"),
        *FILTERS,
        Input("audit-table", "page_current"),
        State("audit-table", "page_size"),
        roles=ADMIN,
    )
    def show_page(actor, action, outcome, patient, start, end, page, page_size):
        with services.database.transaction() as db:
            result = audit.search(db, _query(actor, action, outcome, patient, start, end, page, page_size))
        pages = max(1, -(-result.total // page_size))
        return result.rows, pages, f"{result.total} events"

    @guarded_callback(
        app,
        Output("audit-export-log", "data"),
        Input("audit-export", "n_clicks"),
        *[State(f.component_id, f.component_property) for f in FILTERS],
        prevent_initial_call=True,
        roles=ADMIN,
    )
    def log_export(clicks, actor, action, outcome, patient, start, end):
        filters = dict(actor=actor, action=action, outcome=outcome, patient=patient, start=start, end=end)
        with services.database.transaction() as db:
            audit.record(
                db,
                current_user().actor(),
                "export_audit",
                detail={k: v for k, v in filters.items() if v},
            )
        return clicks

    @guarded_callback(
        app,
        Output("audit-download", "data"),
        Input("audit-export", "n_clicks"),
        *[State(f.component_id, f.component_property) for f in FILTERS],
        State("audit-table", "id"),
        background=True,
        running=[
            (Output("audit-export", "disabled"), True, False),
            (Output("audit-export-cancel", "disabled"), False, True),
        ],
        cancel=[Input("audit-export-cancel", "n_clicks")],
        progress=[Output("audit-export-progress", "value"), Output("audit-export-progress", "max")],
        prevent_initial_call=True,
        roles=ADMIN,
    )
    def export_csv(set_progress, _clicks, actor, action, outcome, patient, start, end, _table):
        # Runs in a background worker with no request: the gate checked the user when the
        # job was started, and log_export wrote the audit row.
        buffer = io.StringIO()
        writer = None
        page, written = 0, 0
        while written < EXPORT_MAX_ROWS:
            with services.database.transaction() as db:
                result = audit.search(
                    db, _query(actor, action, outcome, patient, start, end, page, EXPORT_CHUNK)
                )
            if writer is None:
                fields = list(result.rows[0]) if result.rows else ["occurred_at", "action"]
                writer = csv.DictWriter(buffer, fieldnames=fields)
                writer.writeheader()
            writer.writerows(result.rows)
            written += len(result.rows)
            set_progress((written, max(result.total, 1)))
            if len(result.rows) < EXPORT_CHUNK:
                break
            page += 1
        return dcc.send_string(buffer.getvalue(), "audit-log.csv")
