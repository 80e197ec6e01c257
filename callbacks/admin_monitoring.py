"""Monitoring setup (admins): beds, device tokens, and each stream's counters."""

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update

from components.feedback import refusal
from dashboard.auth import current_user, guarded_callback
from dashboard.monitoring import COUNTERS, MonitorError
from dashboard.sample_library import SAMPLES


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("monitor-admin-table", "children"),
        Output("monitor-device-bed", "options"),
        Output("monitor-new-bed-source", "options"),
        Output("monitor-admin-feedback", "children"),
        Input("monitor-admin-refresh", "n_intervals"),
        Input("monitor-new-bed", "n_clicks"),
        Input("monitor-new-device", "n_clicks"),
        State("monitor-new-bed-id", "value"),
        State("monitor-new-bed-label", "value"),
        State("monitor-new-bed-patient", "value"),
        State("monitor-new-bed-source", "value"),
        State("monitor-new-bed-low", "value"),
        State("monitor-new-bed-high", "value"),
        State("monitor-device-bed", "value"),
        State("monitor-device-label", "value"),
        roles=["admin"],
    )
    def monitoring_admin(
        _tick, _bed, _device, bed_id, label, patient_id, source, low, high, device_bed, device_label
    ):
        actor = current_user().actor()
        monitor = services.monitor
        feedback = no_update
        try:
            if ctx.triggered_id == "monitor-new-bed":
                monitor.create_bed(
                    actor,
                    bed_id or "",
                    label or "",
                    patient_id=(patient_id or "").strip() or None,
                    source=source or "device",
                    hr_low_bpm=int(low or 40),
                    hr_high_bpm=int(high or 140),
                )
                feedback = dbc.Alert(f"Bed {bed_id} added.", color="success", className="py-2")
            elif ctx.triggered_id == "monitor-new-device":
                device_id, token = monitor.create_device(actor, device_bed or "", device_label or "")
                feedback = dbc.Alert(
                    [
                        f"Device {device_id} created. Its token is shown only now; set it on the device: ",
                        html.Code(token, id="monitor-new-token"),
                    ],
                    color="warning",
                    className="py-2",
                )
        except (MonitorError, ValueError, TypeError) as error:
            feedback = refusal(str(error))
        rows = monitor.admin_overview()
        columns = ["bed_id", "label", "source", "devices", *COUNTERS]
        table = dbc.Table(
            [
                html.Thead(html.Tr([html.Th(c.replace("_", " ")) for c in columns])),
                html.Tbody([html.Tr([html.Td(str(row[c])) for c in columns]) for row in rows]),
            ],
            size="sm",
            striped=True,
            id="monitor-counters",
        )
        beds = [{"label": row["label"] or row["bed_id"], "value": row["bed_id"]} for row in rows[:-1]]
        sources = [{"label": "Bedside device (ingest API)", "value": "device"}] + [
            {"label": f"Replay: {s.title} ({s.key})", "value": f"replay:{s.key}"} for s in SAMPLES
        ]
        return table, beds, sources, feedback
