"""The ECG viewer: a trace on standard ECG paper, an overview strip, episodes, calipers.

Used by the analysis page, the report page and the comparison (and later the monitor). Every
element's id is a dict with the viewer's name, so several viewers can share a page; the
callbacks in callbacks/ecg_viewer.py drive them all.

Paper: 25 mm/s and 10 mm/mV, so 1 mm is 0.04 s across and 0.1 mV up; the grid has a line every
1 mm (0.04 s, 0.1 mV) and a heavier one every 5 mm (0.2 s, 0.5 mV). The y axis is anchored to
the x axis with scaleratio 10/25, so zooming keeps the millimetres square (Kligfield et al.,
AHA/ACCF/HRS recommendations for the standardization of the ECG, Circulation 2007;115:1306).

Large recordings: the browser only ever receives the visible stretch (plus half a screen each
side), reduced server-side to at most `MAX_POINTS_PER_LEAD` points per lead by keeping each
bucket's minimum and maximum (which keeps every R peak's height); zooming in re-fetches the
visible range at full resolution.

Speed. A zoom or jump that needs new data must be redrawn within 300 ms in headless Chromium
without a GPU (`python -m dashboard.bench analysis`: relayout to the new stretch drawn). Each
such jump draws the figure three times: Plotly.relayout for the new range, dcc.Graph's
re-render when it writes that range back into its figure, and the server's new figure. What
made it 380-820 ms (measured with Chromium's profiler), and what this module does instead:

* WebGL (`scattergl`) is rasterised on the CPU by SwiftShader there, and the browser waited
  100-200 ms for every frame (a 12-lead figure: 700-850 ms). The traces are SVG (`scatter`);
  a few thousand points per lead draw in 10-20 ms.
* The grid's ticks were explicit arrays (200 values over three screens, most with an empty
  label) and the plotly template turned `automargin` on, which drew the figure twice. The
  grid is now linear ticks (`dtick` 5 mm, `ticklabelstep` for a label every second and
  millivolt, the minor grid every 1 mm), margins are fixed and labels are not clipped to the
  plot (`ticklabeloverflow`), which Plotly measured label by label.
* dcc.Graph's re-render after a pan copied the layout, and Plotly.react redrew everything
  (45 ms) because of base64 arrays, the template object, `layout.meta` and a y range the
  paper's aspect had stretched: see `browser_figure`; the y range is an autorange pinned to
  the same ends, and the stretch a figure holds is in its traces' `meta`. It now costs ~10 ms.
* One `go.Figure(data, layout)` instead of `update_layout`: 6 ms on the server instead of 20.

MIT-BIH 100 on this 2-core machine while a CNN trained beside it, old code and this one run in
turn: jump with new data 524 and 817 ms -> 139, 171 and 197 ms median; with two other CPU-bound
jobs beside it 1210 ms -> 307 and 446 ms. Pan inside the loaded stretch 154-172 -> 56-109 ms;
largest figure 177 -> 113 KB. A 12-lead 10-s PTB-XL record (500 Hz): zoom with new data
4.3 s -> 0.38 s median.
"""

from __future__ import annotations

import math

import dash_bootstrap_components as dbc
import numpy as np
import plotly.graph_objects as go
from dash import dcc, html

MM_PER_S, MM_PER_MV = 25.0, 10.0
MINOR_S, MAJOR_S = 0.04, 0.2
MINOR_MV, MAJOR_MV = 0.1, 0.5
LEAD_SPACING_MV = 3.0  # stacked leads: one every 30 mm
DEFAULT_WINDOW_S = 10.0
MAX_POINTS_PER_LEAD = 3000
TOP_MV = 2.5  # the paper's top edge: room above the first lead for its R peaks and their markers
PX_PER_LEAD = 120
# Beyond these spans the lines would be closer than a pixel; the grid then thins out.
MINOR_GRID_MAX_S, MAJOR_GRID_MAX_S = 30.0, 150.0

PAPER_BG = "#fff8f6"
MINOR_COLOUR = "#f6cfc9"
MAJOR_COLOUR = "#e58e84"
TRACE_COLOUR = "#111111"
RHYTHM_COLOURS = {
    "Normal": "#2e7d32",
    "SVT": "#ef6c00",
    "AF": "#c62828",
    "VF": "#6a1b9a",
    "VT": "#ad1457",
    "Heart block": "#1565c0",
    "Other": "#546e7a",
    "Noise": "#9e9e9e",
    "VF/VT": "#b71c1c",  # the validated VF/VT call, shown where the rhythm names are not
}
# No plotly template (see browser_figure); the one style of the default template that shows.
PLAIN_STYLE = {"template": "none", "font": {"color": "#2a3f5f"}}
GRAPH_CONFIG = {"displaylogo": False, "scrollZoom": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def _id(kind: str, viewer: str) -> dict:
    return {"type": kind, "viewer": viewer}


# --- Layout -------------------------------------------------------------------------------------


def ecg_viewer(viewer: str, *, view: dict | None = None) -> html.Div:
    """The viewer's skeleton; `view` ({"recording_id": ...}) tells its callbacks what to draw."""
    controls = html.Div(
        [
            dbc.RadioItems(
                id=_id("ecg-lead", viewer),
                options=[{"label": "All leads", "value": "all"}],
                value="all",
                inline=True,
                className="me-3",
            ),
            dbc.Switch(
                id=_id("ecg-reference", viewer),
                label="Reference annotations",
                value=False,
                className="me-3 mb-0",
            ),
            html.Button(
                [html.I(className="bi bi-rulers me-1"), "Calipers"],
                id=f"ecg-caliper-toggle-{viewer}",
                className="ecg-caliper-toggle btn btn-outline-secondary btn-sm me-2",
                type="button",
                **{"data-viewer": viewer},
            ),
            html.Span(
                "Click two points on the trace to measure.",
                id=f"ecg-caliper-readout-{viewer}",
                className="small text-muted ecg-caliper-readout",
            ),
        ],
        className="d-flex flex-wrap align-items-center gap-1 mb-2",
    )
    return html.Div(
        [
            dcc.Store(id=_id("ecg-view", viewer), data=view),
            dcc.Store(id=_id("ecg-range", viewer)),
            dcc.Store(id=_id("ecg-range-request", viewer)),  # set by assets/ecg_viewer.js
            controls,
            html.Div(
                dcc.Graph(
                    id=_id("ecg-graph", viewer), config=GRAPH_CONFIG, figure=empty_figure("No recording yet.")
                ),
                className="ecg-paper",
                **{"data-viewer": viewer},
            ),
            html.Div("Whole recording — click to jump there", className="small text-muted mt-2"),
            dcc.Graph(
                id=_id("ecg-overview", viewer),
                config={"displayModeBar": False},
                figure=empty_figure(""),
                style={"height": "150px"},
            ),
            html.Div(
                [
                    html.Div("Rhythm episodes — click to jump there", className="small text-muted"),
                    dcc.RadioItems(
                        id=_id("ecg-episodes", viewer),
                        options=[],
                        className="ecg-episode-list small",
                        inputClassName="me-2",
                    ),
                ],
                className="mt-2",
            ),
        ],
        className="ecg-viewer",
    )


def empty_figure(message: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "font": {"color": "#6c757d"}}] if message else [],
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        plot_bgcolor="white",
        paper_bgcolor="white",
        height=260,
    )
    return figure


# --- Down-sampling ----------------------------------------------------------------------------


def minmax_decimate(values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of at most `max_points` samples keeping each bucket's min and max.

    Min-max decimation keeps every spike's full height (an R peak or a pacing spike never
    vanishes when zoomed out), unlike taking every n-th sample.
    """
    n = values.size
    if n <= max_points:
        return np.arange(n), values
    buckets = max(1, max_points // 2)
    size = math.ceil(n / buckets)
    padded = np.full(buckets * size, np.nan, dtype=np.float64)
    padded[:n] = values
    blocks = padded.reshape(buckets, size)
    finite = ~np.all(np.isnan(blocks), axis=1)
    blocks = blocks[finite]
    offsets = np.flatnonzero(finite) * size
    low, high = np.nanargmin(blocks, axis=1), np.nanargmax(blocks, axis=1)
    first, second = np.minimum(low, high), np.maximum(low, high)
    index = np.column_stack([offsets + first, offsets + second]).ravel()
    return index, values[index]


# --- The paper figure ---------------------------------------------------------------------------


def lead_options(lead_names) -> list[dict]:
    return [{"label": "All leads", "value": "all"}] + [{"label": name, "value": name} for name in lead_names]


def paper_figure(
    *,
    window_start_s: float,
    fs: float,
    lead_names: tuple[str, ...],
    cleaned_mv: np.ndarray,
    analysis: dict,
    x_range: tuple[float, float],
    lead: str = "all",
    annotations: dict | None = None,
    show_reference: bool = False,
) -> go.Figure:
    """The trace(s) of one stretch on ECG paper, with beats, episodes and unusable windows."""
    shown = [i for i, name in enumerate(lead_names) if lead in ("all", name)] or [0]
    t = window_start_s + np.arange(cleaned_mv.shape[0]) / fs
    offsets = {index: -row * LEAD_SPACING_MV for row, index in enumerate(shown)}
    # Each lead's trace names the stretch it holds (the layout's meta would do too, but
    # Plotly.react redraws everything when a layout object like it is a copy, see browser_figure).
    window = {"window": [float(t[0]) if t.size else 0.0, float(t[-1]) if t.size else 0.0]}
    traces = []
    for index in shown:
        keep, values = minmax_decimate(cleaned_mv[:, index].astype(np.float64), MAX_POINTS_PER_LEAD)
        traces.append(
            go.Scatter(
                x=np.round(t[keep], 4),
                y=np.round(values + offsets[index], 4),
                mode="lines",
                line={"color": TRACE_COLOUR, "width": 1.1},
                name=lead_names[index],
                hovertemplate="%{x:.3f} s<extra>" + lead_names[index] + "</extra>",
                meta=window,
            )
        )
    top = float(np.nanmax(cleaned_mv[:, shown[0]])) if cleaned_mv.size else 1.0
    # Beats are found on the analysed lead; their markers go above the top trace shown.
    traces += _beat_traces(analysis, fs, t, offsets[shown[0]], top)
    if show_reference and annotations:
        traces += _reference_traces(annotations, fs, top)
    shapes, labels = _bands(analysis, x_range)
    span = x_range[1] - x_range[0]
    bottom = -LEAD_SPACING_MV * (len(shown) - 1) - 2.0
    # One go.Figure(data, layout) call: figure.update_layout() would take 10 times as long.
    layout = {
        "shapes": shapes,
        "annotations": labels
        + [
            {
                "x": 0,
                "xref": "paper",
                "y": offsets[index] + 0.6,
                "yref": "y",
                "text": f"<b>{lead_names[index]}</b>",
                "showarrow": False,
                "xanchor": "left",
                "bgcolor": "rgba(255,255,255,0.7)",
            }
            for index in shown
        ],
        **PLAIN_STYLE,
        "plot_bgcolor": PAPER_BG,
        "paper_bgcolor": "white",
        "margin": {"l": 48, "r": 20, "t": 26, "b": 38},
        "showlegend": False,
        "hovermode": "x",
        "dragmode": "pan",
        "height": 110 + PX_PER_LEAD * len(shown),
        "xaxis": {
            **_paper_axis(MINOR_S, MAJOR_S, span, title="time (s) · 25 mm/s, 10 mm/mV", labels_every=1.0),
            "range": list(x_range),
        },
        "yaxis": {
            **_paper_axis(MINOR_MV, MAJOR_MV, span, title="mV", labels_every=1.0),
            # The leads' extent, from `bottom` to TOP_MV, as an autorange with both ends pinned:
            # what "range": [bottom, TOP_MV] shows, but Plotly.react leaves an autoranged axis
            # alone when dcc.Graph writes a pan back into the figure (with a fixed range it sees
            # the range the paper's aspect stretched differ from this one, and redraws it all).
            "autorange": True,
            "autorangeoptions": {"minallowed": bottom, "maxallowed": TOP_MV},
            "scaleanchor": "x",
            "scaleratio": MM_PER_MV / MM_PER_S,
            # When the screen's shape differs from the paper's, time grows to the right and mV
            # downwards: the strip still starts where asked, the first lead stays on top.
            "constraintoward": "top",
        },
    }
    return go.Figure(data=traces, layout=layout)


def browser_figure(figure: go.Figure) -> dict:
    """`figure` as dcc.Graph should get it, so that re-rendering it unchanged is cheap.

    dcc.Graph re-renders its figure after every pan or zoom, to write the new range back into
    it, with a deep copy of the layout; `Plotly.react` takes any data array or layout object whose
    identity changed for new content and then recalculates and redraws the whole figure (45 ms
    instead of ~10 ms). So the figures keep nothing of that kind: the layout has no `meta`
    (the traces carry it) and its y range is an autorange (a fixed range would differ from the
    one the paper's aspect stretched it to), the figures are built with `template="none"` and
    the empty template is left out here, and data arrays go as JSON lists, not base64 typed
    arrays (plotly.js decodes those into new arrays on every react). The traces are still built
    from numpy arrays: plotly validates a list element by element, which doubled the server's time.
    """
    layout = figure.layout.to_plotly_json()
    layout.pop("template", None)
    return {"data": [trace.to_plotly_json() for trace in figure.data], "layout": layout}


def _paper_axis(minor: float, major: float, span_s: float, *, title: str, labels_every: float) -> dict:
    """One axis of the paper: a grid line every `major` (5 mm) and `minor` (1 mm); labels only
    every `labels_every` units, so that they stay readable."""
    axis = {
        "showgrid": True,
        "gridcolor": MAJOR_COLOUR,
        "gridwidth": 1,
        "zeroline": False,
        "ticks": "",
        "title": {"text": title, "standoff": 4},
        "constrain": "range",
        "constraintoward": "left",
        "tickfont": {"size": 10},
        # Fixed margins (the figure's) and labels left unclipped: otherwise Plotly measures every
        # label, and pushing a margin makes it draw the whole figure a second time.
        "automargin": False,
        "ticklabeloverflow": "allow",
    }
    if span_s > MAJOR_GRID_MAX_S:
        return axis  # zoomed far out: plain automatic ticks
    # Linear ticks cover whatever a pan brings into view, before the server redraws.
    axis.update(
        tickmode="linear",
        tick0=0,
        dtick=major,
        ticklabelstep=round(labels_every / major),
        minor={"dtick": minor, "tick0": 0, "showgrid": span_s <= MINOR_GRID_MAX_S, "gridcolor": MINOR_COLOUR},
    )
    return axis


def _beat_traces(analysis, fs, t, offset, top) -> list[go.Scatter]:
    """R-peak markers labelled N (normal), E (ectopic) or ? (in an unusable window)."""
    if offset is None or not t.size:
        return []
    peaks = np.asarray(analysis.get("r_peaks") or [], dtype=np.int64)
    beats = analysis.get("beats") or {}
    ectopic = np.asarray(beats.get("ectopic") or [False] * peaks.size, dtype=bool)
    usable = np.asarray(beats.get("usable") or [True] * peaks.size, dtype=bool)
    times = peaks / fs
    inside = (times >= t[0]) & (times <= t[-1])
    if not inside.any():
        return []
    labels = np.where(~usable, "?", np.where(ectopic, "E", "N"))[inside]
    return [
        go.Scatter(
            x=np.round(times[inside], 4),
            y=[offset + max(top, 0.5) + 0.35] * int(inside.sum()),
            mode="markers+text",
            marker={"symbol": "triangle-down", "size": 7, "color": "#0d6efd"},
            text=labels,
            textposition="top center",
            textfont={"size": 10, "color": "#0d6efd"},
            name="R peaks",
            hovertemplate="R peak %{x:.3f} s: %{text}<extra></extra>",
        )
    ]


def _reference_traces(annotations, fs, top) -> list[go.Scatter]:
    """The record's own annotations (e.g. MIT-BIH .atr), for comparison with the analysis."""
    samples = np.asarray(annotations.get("sample") or [], dtype=np.int64)
    if not samples.size:
        return []
    text = [
        (aux or symbol) for symbol, aux in zip(annotations["symbol"], annotations["aux_note"], strict=True)
    ]
    return [
        go.Scatter(
            x=np.round(samples / fs, 4),
            y=[max(top, 0.5) + 1.1] * samples.size,
            mode="text",
            text=text,
            textfont={"size": 10, "color": "#b35c00"},
            name="Reference",
            hovertemplate="reference %{x:.3f} s: %{text}<extra></extra>",
        )
    ]


def _bands(analysis: dict, x_range) -> tuple[list[dict], list[dict]]:
    """Rhythm episodes as coloured bands with class and probability; unusable windows grey."""
    shapes, labels = [], []
    for start, end, reason in unusable_stretches(analysis):
        if end < x_range[0] or start > x_range[1]:
            continue
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": start,
                "x1": end,
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(120,120,120,0.28)",
                "line": {"width": 0},
                "layer": "above",
            }
        )
        labels.append(_band_label((start + end) / 2, f"unusable: {reason or 'poor signal'}", "#555"))
    for episode in shown_episodes(analysis):
        start, end = episode["start_s"], episode["end_s"]
        if end < x_range[0] or start > x_range[1]:
            continue
        colour = RHYTHM_COLOURS.get(episode["label"], "#546e7a")
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": start,
                "x1": end,
                "y0": 0.97,
                "y1": 1.0,
                "fillcolor": colour,
                "opacity": 0.55,
                "line": {"width": 0},
            }
        )
        middle = (max(start, x_range[0]) + min(end, x_range[1])) / 2
        labels.append(_band_label(middle, f"{episode['label']} {episode['probability']:.2f}", colour))
    return shapes, labels


def _band_label(x: float, text: str, colour: str) -> dict:
    return {
        "x": x,
        "xref": "x",
        "y": 1.0,
        "yref": "paper",
        "yanchor": "bottom",
        "text": text,
        "showarrow": False,
        "font": {"size": 11, "color": colour},
    }


def unusable_stretches(analysis: dict) -> list[tuple[float, float, str | None]]:
    """Consecutive unusable quality windows merged: (start_s, end_s, first reason)."""
    merged: list[tuple[float, float, str | None]] = []
    for window in analysis.get("quality") or []:
        if window.get("usable"):
            continue
        if merged and abs(merged[-1][1] - window["start_s"]) < 1e-6:
            merged[-1] = (merged[-1][0], window["end_s"], merged[-1][2])
        else:
            merged.append((window["start_s"], window["end_s"], window.get("reason")))
    return merged


# --- Overview strip and episode list -------------------------------------------------------------


def overview_figure(analysis: dict, x_range: tuple[float, float] | None = None) -> go.Figure:
    """Heart rate over the whole recording above a rhythm timeline; the shown stretch shaded."""
    duration = float(analysis.get("duration_s") or 0.0)
    trend = analysis.get("heart_rate_trend") or {}
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=trend.get("time_s") or [],
            y=trend.get("bpm") or [],
            mode="lines",
            line={"color": "#0d6efd", "width": 1},
            name="heart rate",
            hovertemplate="%{x:.0f} s: %{y:.0f} bpm<extra></extra>",
            yaxis="y",
        )
    )
    episodes = shown_episodes(analysis)
    for label in dict.fromkeys(e["label"] for e in episodes):
        mine = [e for e in episodes if e["label"] == label]
        figure.add_trace(
            go.Bar(
                x=[e["end_s"] - e["start_s"] for e in mine],
                base=[e["start_s"] for e in mine],
                y=["rhythm"] * len(mine),
                orientation="h",
                marker={"color": RHYTHM_COLOURS.get(label, "#546e7a")},
                name=label,
                customdata=[e["probability"] for e in mine],
                hovertemplate=label + " %{base:.0f} s, p = %{customdata:.2f}<extra></extra>",
                yaxis="y2",
            )
        )
    # The shown stretch is always shape 0, so a callback can move it alone (a Patch).
    shapes = [shown_window_shape(x_range or (0.0, 0.0))] + [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": start,
            "x1": end,
            "y0": 0,
            "y1": 1,
            "fillcolor": "rgba(120,120,120,0.3)",
            "line": {"width": 0},
        }
        for start, end, _ in unusable_stretches(analysis)
    ]
    figure.update_layout(
        margin={"l": 48, "r": 10, "t": 4, "b": 28},
        height=150,
        showlegend=bool(episodes),
        legend={"orientation": "h", "y": -0.35, "font": {"size": 10}},
        barmode="overlay",
        **PLAIN_STYLE,
        plot_bgcolor="white",
        paper_bgcolor="white",
        shapes=shapes,
        hovermode="x",  # a click anywhere picks the nearest time: jump there
        xaxis={"range": [0, max(duration, 1.0)], "title": None, "tickfont": {"size": 10}},
        yaxis={"domain": [0.32, 1], "title": {"text": "bpm", "font": {"size": 10}}, "tickfont": {"size": 9}},
        yaxis2={"domain": [0, 0.24], "showticklabels": False, "fixedrange": True},
    )
    if not episodes:
        figure.add_annotation(
            text=_no_episodes_text(analysis),
            x=duration / 2,
            y=0.12,
            xref="x",
            yref="paper",
            showarrow=False,
            font={"size": 10, "color": "#6c757d"},
        )
    return figure


def shown_window_shape(x_range) -> dict:
    """The overview's highlight of the stretch the paper figure shows."""
    return {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": x_range[0],
        "x1": x_range[1],
        "y0": 0,
        "y1": 1,
        "fillcolor": "rgba(13,110,253,0.15)",
        "line": {"color": "#0d6efd", "width": 1},
    }


def clock(seconds: float) -> str:
    """Seconds from the start as m:ss (or h:mm:ss)."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def shown_episodes(analysis: dict) -> list[dict]:
    """The episodes the viewer shows: the rhythm's, or where only the VF/VT call is validated,
    its VF/VT episodes (``analysis["vf_vt"]``, label "VF/VT")."""
    rhythm = analysis.get("rhythm")
    if rhythm:
        return rhythm.get("episodes") or []
    return (analysis.get("vf_vt") or {}).get("episodes") or []


def _no_episodes_text(analysis: dict) -> str:
    if not analysis.get("rhythm") and analysis.get("vf_vt"):
        return "no VF/VT called; other rhythms not classified"
    return "the rhythm was not classified"


def episode_options(analysis: dict) -> list[dict]:
    """'VT, 9:38–10:33, 0.94' per episode; the value is where to jump (its start, s)."""
    episodes = shown_episodes(analysis)
    if not episodes:
        return [{"label": f"None: {_no_episodes_text(analysis)}.", "value": -1, "disabled": True}]
    return [
        {
            "label": f"{e['label']}, {clock(e['start_s'])}–{clock(e['end_s'])}, {e['probability']:.2f}",
            "value": round(float(e["start_s"]), 3),
        }
        for e in episodes
    ]
