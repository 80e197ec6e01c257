import dash
from dash import dcc, html

from components.monitor import sound_controls

dash.register_page(
    __name__,
    path_template="/monitor/bed/<bed_id>",
    name="Bed monitor",
    title="Bed monitor · ECG Dashboard",
    roles=["admin", "doctor", "staff"],
)


def layout(bed_id: str = "", **_query):
    return html.Div(
        [
            dcc.Store(id="monitor-bed-request", data={"bed_id": bed_id[:32]}),
            sound_controls(),
            html.Div(id="monitor-bed-tile", className="monitor-bed-view mt-2"),
            html.H5("Alarms", className="mt-3"),
            html.Div(id="monitor-bed-feedback"),
            html.Div(id="monitor-bed-alarms"),
            dcc.Interval(id="monitor-bed-refresh", interval=2000),
        ]
    )
