"""The live monitor's building blocks: a bedside trace on ECG paper and a bed's tile.

The trace is filled in the browser (assets/monitor.js appends only the new samples to it);
these builders give it its grid, its axes and the empty places for HR, rhythm and alarms.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components.ecg_viewer import MAJOR_COLOUR, MAJOR_S, MINOR_COLOUR, MINOR_S, MM_PER_MV, MM_PER_S

VISIBLE_S = 8.0  # seconds of trace on screen (a bedside monitor shows 6-10 s)
DARK_MAJOR, DARK_MINOR, DARK_BG, DARK_TRACE = "#1f4d2e", "#123020", "#050a07", "#39ff88"
ALARM_SOUND = "/assets/monitor-alarm.wav"


def bedside_figure(*, dark: bool, minor_grid: bool = True, height: int | None = 220) -> go.Figure:
    """An empty live trace on the ECG paper grid (1 mm = 0.04 s / 0.1 mV, 5 mm bold).

    The grid uses dtick rather than fixed tick values, so it scrolls with the trace."""
    major, minor = (DARK_MAJOR, DARK_MINOR) if dark else (MAJOR_COLOUR, MINOR_COLOUR)
    figure = go.Figure(
        go.Scatter(
            x=[],
            y=[],
            mode="lines",
            line={"color": DARK_TRACE if dark else "#111111", "width": 1.6 if dark else 1.1},
            hoverinfo="skip",
        )
    )

    def axis(dtick: float, minor_dtick: float, axis_range: list[float]) -> dict:
        return {
            "range": axis_range,
            "dtick": dtick,
            "showgrid": True,
            "gridcolor": major,
            "zeroline": False,
            "showticklabels": False,
            "fixedrange": True,
            "minor": {"dtick": minor_dtick, "showgrid": minor_grid, "gridcolor": minor},
        }

    figure.update_layout(
        xaxis=axis(MAJOR_S, MINOR_S, [0.0, VISIBLE_S]),
        yaxis={**axis(0.5, 0.1, [-2.0, 2.5]), "scaleanchor": None},
        plot_bgcolor=DARK_BG if dark else "#fff8f6",
        paper_bgcolor=DARK_BG if dark else "white",
        margin={"l": 4, "r": 4, "t": 4, "b": 4},
        height=height,
        showlegend=False,
        uirevision="live",
        # assets/monitor.js draws the trace on a canvas over the plot area, in this colour.
        meta={
            "mm_per_s": MM_PER_S,
            "mm_per_mv": MM_PER_MV,
            "visible_s": VISIBLE_S,
            "trace_colour": DARK_TRACE if dark else "#111111",
        },
    )
    return figure


def bed_tile(bed, *, dark: bool, height: int | None, link: bool = False) -> html.Div:
    """One bed: name, patient, HR, rhythm, state, alarm banner and its live trace.

    With `height=None` the trace fills what the tile leaves (the wall's grid cells)."""
    fill = height is None
    title = html.Span(bed.label, className="monitor-bed-label")
    if link:
        title = html.A(bed.label, href=f"/monitor/bed/{bed.bed_id}", className="monitor-bed-label")
    return html.Div(
        [
            html.Div(id=f"monitor-alarm-{bed.bed_id}", className="monitor-alarm-banner", hidden=True),
            html.Div(
                [
                    html.Div(
                        [title, html.Div(bed.patient_name or "", className="monitor-patient")],
                        className="monitor-tile-title",
                    ),
                    html.Div(
                        [
                            html.Span("HR", className="monitor-hr-unit"),
                            html.Span("--", id=f"monitor-hr-{bed.bed_id}", className="monitor-hr"),
                        ],
                        className="monitor-hr-box",
                    ),
                ],
                className="monitor-tile-head",
            ),
            html.Div(
                [
                    html.Span("rhythm not classified", id=f"monitor-rhythm-{bed.bed_id}"),
                    html.Span("connecting…", id=f"monitor-state-{bed.bed_id}", className="monitor-state"),
                ],
                className="monitor-tile-status",
            ),
            dcc.Graph(
                id=f"monitor-trace-{bed.bed_id}",
                figure=bedside_figure(dark=dark, minor_grid=not dark, height=None),
                responsive=True,
                config={"staticPlot": True, "displayModeBar": False},
                className="monitor-trace",
                style={"height": "100%" if fill else f"{height}px"},
            ),
        ],
        className="monitor-tile",
        **{"data-monitor-bed": bed.bed_id, "data-hr-low": bed.hr_low_bpm, "data-hr-high": bed.hr_high_bpm},
    )


def wall_grid_style(n_beds: int) -> dict:
    """Columns and rows for 1–16 beds, filling the screen."""
    columns = 1 if n_beds <= 1 else 2 if n_beds <= 4 else 3 if n_beds <= 9 else 4
    rows = max(1, -(-n_beds // columns))
    return {
        "gridTemplateColumns": f"repeat({columns}, 1fr)",
        "gridTemplateRows": f"repeat({rows}, 1fr)",
    }


def sound_controls() -> html.Div:
    return html.Div(
        [
            html.Audio(id="monitor-alarm-sound", src=ALARM_SOUND, loop=True, preload="auto"),
            dbc.Button(
                [html.I(className="bi bi-volume-up me-1"), "Sound on"],
                id="monitor-mute",
                color="secondary",
                size="sm",
                n_clicks=0,
            ),
            html.Span("", id="monitor-connection", className="monitor-connection ms-2"),
        ],
        className="monitor-controls",
    )


# How the bed page names each kind of alarm (dashboard.monitoring.ALARM_KINDS).
ALARM_NAMES = {
    "vf_vt": "VF/VT",
    "asystole": "Asystole",
    "hr_high": "HR high",
    "hr_low": "HR low",
    "signal_lost": "Signal lost",
}


def alarm_table(alarms) -> dbc.Table | html.P:
    if not alarms:
        return html.P("No alarms.", className="text-muted")
    rows = []
    for alarm in alarms:
        if alarm.acknowledged_at is None:
            action = dbc.Button(
                "Acknowledge",
                id={"type": "monitor-ack", "alarm": alarm.alarm_id},
                color="danger",
                size="sm",
                n_clicks=0,
            )
        else:
            action = f"by {alarm.acknowledged_by_id} at {alarm.acknowledged_at:%H:%M:%S} UTC"
        rows.append(
            html.Tr(
                [
                    html.Td(f"{alarm.raised_at:%Y-%m-%d %H:%M:%S}"),
                    html.Td(ALARM_NAMES.get(alarm.kind, alarm.kind)),
                    html.Td(alarm.message),
                    html.Td("active" if alarm.cleared_at is None else f"ended {alarm.cleared_at:%H:%M:%S}"),
                    html.Td(action),
                ]
            )
        )
    header = html.Thead(html.Tr([html.Th(h) for h in ("Raised (UTC)", "Alarm", "", "State", "Acknowledged")]))
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True)
