"""One bed's monitor: the live tile (streamed by assets/monitor.js), its alarms, acknowledging."""

from dash import ALL, Input, Output, ctx, no_update

from components.feedback import refusal
from components.monitor import alarm_table, bed_tile
from dashboard.auth import current_user, guarded_callback
from dashboard.monitoring import BedAccessDenied, MonitorError

READERS = ["admin", "doctor", "staff"]


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("monitor-bed-tile", "children"),
        Input("monitor-bed-request", "data"),
        roles=READERS,
    )
    def show_bed(request):
        try:
            bed = services.monitor.open_bed(current_user().actor(), (request or {}).get("bed_id"))
        except BedAccessDenied as denied:
            return refusal(str(denied))
        return bed_tile(bed, dark=False, height=320)

    @guarded_callback(
        app,
        Output("monitor-bed-alarms", "children"),
        Output("monitor-bed-feedback", "children"),
        Input("monitor-bed-refresh", "n_intervals"),
        Input({"type": "monitor-ack", "alarm": ALL}, "n_clicks"),
        Input("monitor-bed-request", "data"),
        roles=READERS,
    )
    def show_alarms(_tick, _clicks, request):
        actor = current_user().actor()
        feedback = no_update
        trigger = ctx.triggered_id
        if isinstance(trigger, dict) and trigger.get("type") == "monitor-ack" and ctx.triggered[0]["value"]:
            try:
                services.monitor.acknowledge(actor, int(trigger["alarm"]))
                feedback = ""
            except (MonitorError, BedAccessDenied, ValueError) as error:
                feedback = refusal(str(error))
        try:
            alarms = services.monitor.alarms(actor, (request or {}).get("bed_id"))
        except BedAccessDenied:
            return "", no_update
        return alarm_table(alarms), feedback
