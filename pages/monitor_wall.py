import dash
from dash import dcc, html

from components.monitor import sound_controls

dash.register_page(
    __name__,
    path="/monitor/wall",
    name="Monitor wall",
    title="Monitor wall · ECG Dashboard",
    roles=["admin", "doctor", "staff"],
    nav_order=40,
    icon="bi-display",
)


def layout(beds: str = "", **_query):
    """The ward screen: up to 16 beds (all the user may see, or ?beds=a,b,c), dark, no chrome."""
    return html.Div(
        [
            dcc.Store(id="monitor-wall-request", data={"beds": beds[:600]}),
            html.Div(sound_controls(), className="monitor-wall-bar"),
            html.Div(id="monitor-wall-grid", className="monitor-wall-grid"),
        ],
        className="monitor-wall monitor-dark",
        id="monitor-wall",
    )
