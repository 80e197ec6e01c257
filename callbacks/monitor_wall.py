"""The monitor wall: one tile per bed the user may see; assets/monitor.js streams them."""

from dash import Input, Output, html

from components.monitor import bed_tile, wall_grid_style
from dashboard.auth import current_user, guarded_callback

MAX_BEDS = 16


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("monitor-wall-grid", "children"),
        Output("monitor-wall-grid", "style"),
        Input("monitor-wall-request", "data"),
        roles=["admin", "doctor", "staff"],
    )
    def show_wall(request):
        beds = services.monitor.visible_beds(current_user().actor())
        wanted = [b for b in str((request or {}).get("beds") or "").split(",") if b]
        if wanted:
            beds = [bed for bed in beds if bed.bed_id in wanted]
        beds = beds[:MAX_BEDS]
        if not beds:
            return html.P("No beds to show.", className="monitor-empty"), {}
        tiles = [bed_tile(bed, dark=True, height=None, link=True) for bed in beds]
        return tiles, wall_grid_style(len(beds))
