"""The ECG viewer's behaviour, for every viewer on any page (ids carry the viewer's name).

One callback redraws the paper figure when a recording is chosen, when the user zooms or pans
(the visible range is fetched again at full resolution), clicks the overview strip or an
episode, or changes the lead or the reference-annotation switch. Zoom and pan arrive through
the "ecg-range-request" store, which assets/ecg_viewer.js sets on each Plotly relayout;
calipers are clientside there too. Figures leave through `browser_figure`, which keeps
dcc.Graph's re-render after each pan cheap (see components/ecg_viewer.py).
"""

from __future__ import annotations

from dash import MATCH, Input, Output, Patch, State, ctx, no_update

from components.ecg_viewer import (
    DEFAULT_WINDOW_S,
    MAX_POINTS_PER_LEAD,
    browser_figure,
    empty_figure,
    episode_options,
    lead_options,
    overview_figure,
    paper_figure,
    shown_window_shape,
)
from dashboard import ecg_records
from dashboard.auth import current_user, guarded_callback

READERS = ["admin", "doctor", "staff"]
# The figure holds this share of a screen beyond each side, so a short pan needs no server. Kept
# small: the browser's work on each zoom grows with the points the figure holds.
MARGIN = 0.5


def _id(kind: str) -> dict:
    return {"type": kind, "viewer": MATCH}


def requested_range(request: dict | None, duration_s: float) -> tuple[float, float] | None:
    """The x range a zoom, pan or reset asks for ({"x0", "x1"} or {"autorange": true})."""
    if not request:
        return None
    if request.get("autorange"):
        return 0.0, duration_s
    try:
        return float(request["x0"]), float(request["x1"])
    except (KeyError, TypeError, ValueError):
        return None


def clamp_range(start: float, end: float, duration_s: float) -> tuple[float, float]:
    span = min(max(end - start, 0.5), max(duration_s, 0.5))
    start = min(max(start, 0.0), max(duration_s - span, 0.0))
    return round(start, 4), round(start + span, 4)


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output(_id("ecg-graph"), "figure"),
        Output(_id("ecg-range"), "data"),
        Output(_id("ecg-overview"), "figure"),
        Output(_id("ecg-lead"), "options"),
        Output(_id("ecg-episodes"), "options"),
        Input(_id("ecg-view"), "data"),
        Input(_id("ecg-range-request"), "data"),
        Input(_id("ecg-overview"), "clickData"),
        Input(_id("ecg-episodes"), "value"),
        Input(_id("ecg-lead"), "value"),
        Input(_id("ecg-reference"), "value"),
        State(_id("ecg-range"), "data"),
        roles=READERS,
    )
    def draw(view, range_request, overview_click, episode_start, lead, reference, shown):
        if not view or not view.get("recording_id"):
            return empty_figure("No recording yet."), None, empty_figure(""), no_update, []
        actor = current_user().actor()
        try:
            analysis = ecg_records.recording_analysis(services.database, actor, view["recording_id"])
        except PermissionError as error:
            return empty_figure(str(error)), None, empty_figure(""), no_update, []
        duration = float(analysis.get("duration_s") or 0.0)
        trigger = ctx.triggered_id["type"] if isinstance(ctx.triggered_id, dict) else "ecg-view"
        shown = shown if shown and shown.get("recording_id") == view["recording_id"] else None
        if shown is None:
            trigger = "ecg-view"
        x_range = tuple(shown["x_range"]) if shown else tuple(view.get("x_range") or (0, DEFAULT_WINDOW_S))
        if trigger == "ecg-range-request":
            wanted = requested_range(range_request, duration)
            if wanted is None:
                return (no_update,) * 5
            if _already_drawn(shown, wanted):
                # Panning inside what the browser already holds at full resolution.
                overview = Patch()
                overview["layout"]["shapes"][0] = shown_window_shape(wanted)
                return no_update, {**shown, "x_range": list(wanted)}, overview, no_update, no_update
            x_range = wanted
        elif trigger == "ecg-overview" and overview_click:
            centre = float(overview_click["points"][0].get("base", overview_click["points"][0]["x"]))
            span = x_range[1] - x_range[0]
            x_range = (centre - span / 2, centre + span / 2)
        elif trigger == "ecg-episodes" and episode_start is not None:
            span = x_range[1] - x_range[0]
            x_range = (float(episode_start) - 1.0, float(episode_start) - 1.0 + span)
        x_range = clamp_range(*x_range, duration)
        span = x_range[1] - x_range[0]
        window = ecg_records.signal_window(
            services.database,
            services.settings,
            actor,
            view["recording_id"],
            x_range[0] - MARGIN * span,
            x_range[1] + MARGIN * span,
        )
        figure = browser_figure(
            paper_figure(
                window_start_s=window.start_s,
                fs=window.fs,
                lead_names=window.lead_names,
                cleaned_mv=window.cleaned_mv,
                analysis=analysis,
                x_range=x_range,
                lead=lead or "all",
                annotations=window.annotations,
                show_reference=bool(reference),
            )
        )
        loaded = [window.start_s, window.start_s + window.cleaned_mv.shape[0] / window.fs]
        state = {
            "recording_id": view["recording_id"],
            "x_range": list(x_range),
            "loaded": loaded,
            "full_resolution": window.cleaned_mv.shape[0] <= MAX_POINTS_PER_LEAD,
            "span": span,
        }
        if trigger == "ecg-view":
            options = lead_options(window.lead_names)
            overview = browser_figure(overview_figure(analysis, x_range))
            return figure, state, overview, options, episode_options(analysis)
        overview = Patch()
        overview["layout"]["shapes"][0] = shown_window_shape(x_range)
        return figure, state, overview, no_update, no_update


def _already_drawn(shown: dict | None, wanted: tuple[float, float]) -> bool:
    """Whether the figure already holds `wanted` at a resolution good enough for it."""
    if not shown:
        return False
    loaded = shown["loaded"]
    inside = loaded[0] <= wanted[0] and wanted[1] <= loaded[1]
    span = wanted[1] - wanted[0]
    sharp_enough = shown["full_resolution"] or span >= 0.7 * shown["span"]
    return inside and sharp_enough and span <= 1.3 * shown["span"]
