"""The findings panel of one analysis: rhythm, rate, intervals with normal ranges, HRV, quality,
and the patient's latest risk scores. Built from the Analysis JSON alone, so a stored report
shows exactly what was seen when it was written."""

from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components.ecg_viewer import RHYTHM_COLOURS, clock


@dataclass(frozen=True)
class RiskSummary:
    framingham_pct: float | None
    framingham_category: str | None
    grace_points: int | None
    grace_mortality_pct: float | None
    entered: str  # "2026-11-30 10:12 UTC"


# Normal limits of the adult resting ECG. Sources: AHA/ACCF/HRS recommendations for the
# standardization and interpretation of the ECG (Surawicz et al., Circulation 2009;119:e235 for
# conduction, Rautaharju et al., Circulation 2009;119:e241 for the QT interval).
HR_RANGE_BPM = (60.0, 100.0)  # < 60 bradycardia, > 100 tachycardia
PR_RANGE_MS = (120.0, 200.0)  # PR > 200 ms: first-degree AV block; < 120 ms: short PR (pre-excitation?)
QRS_WIDE_MS = 120.0  # QRS >= 120 ms: complete bundle-branch block or ventricular conduction
QRS_BORDERLINE_MS = 110.0  # 110-119 ms: incomplete block / non-specific delay
QTC_LONG_MS = {"male": 450.0, "female": 470.0}  # prolonged QTc (Rautaharju 2009)
QTC_SHORT_MS = 390.0  # short QTc


def _value(value, unit: str, digits: int = 0) -> str:
    return "not measured" if value is None else f"{value:.{digits}f} {unit}"


def _flag(text: str, colour: str) -> dbc.Badge:
    return dbc.Badge(text, color=colour, className="ms-1")


def _interval_rows(intervals: dict, sex: str | None) -> list[html.Tr]:
    pr, qrs, qt = intervals.get("pr"), intervals.get("qrs"), intervals.get("qt")
    bazett, fridericia = intervals.get("qtc_bazett"), intervals.get("qtc_fridericia")
    long_qtc = QTC_LONG_MS.get(sex or "", None)
    long_text = f"> {long_qtc:.0f} ms" if long_qtc else "> 450 ms men, > 470 ms women"

    def pr_flag():
        if pr is None:
            return None
        if pr > PR_RANGE_MS[1]:
            return _flag("first-degree AV block", "danger")
        if pr < PR_RANGE_MS[0]:
            return _flag("short", "warning")
        return _flag("normal", "success")

    def qrs_flag():
        if qrs is None:
            return None
        if qrs >= QRS_WIDE_MS:
            return _flag("wide", "danger")
        if qrs >= QRS_BORDERLINE_MS:
            return _flag("borderline", "warning")
        return _flag("normal", "success")

    def qtc_flag(value):
        if value is None:
            return None
        limit = long_qtc or QTC_LONG_MS["male"]
        if value > limit:
            return _flag("prolonged", "danger")
        if value < QTC_SHORT_MS:
            return _flag("short", "warning")
        return _flag("normal", "success")

    rows = [
        ("PR", _value(pr, "ms"), "120–200 ms", pr_flag()),
        ("QRS", _value(qrs, "ms"), "< 120 ms", qrs_flag()),
        ("QT", _value(qt, "ms"), "rate-dependent", None),
        ("QTc Bazett", _value(bazett, "ms"), f"normal ≤ {long_text[2:]}", qtc_flag(bazett)),
        ("QTc Fridericia", _value(fridericia, "ms"), f"normal ≤ {long_text[2:]}", qtc_flag(fridericia)),
    ]
    return [
        html.Tr(
            [
                html.Td(name),
                html.Td([value, flag] if flag else value),
                html.Td(normal, className="text-muted"),
            ]
        )
        for name, value, normal, flag in rows
    ]


def rhythm_section(analysis: dict) -> html.Div:
    rhythm = analysis.get("rhythm")
    if not rhythm:
        reason = analysis.get("rhythm_reason") or "no classifier result."
        return html.Div(
            [
                *vf_vt_block(analysis.get("vf_vt")),
                dbc.Alert(f"Rhythm not classified: {reason}", color="secondary", className="py-2 mb-2"),
            ],
            id="findings-rhythm",
        )
    probabilities = rhythm.get("probabilities") or {}
    names = list(probabilities)
    figure = go.Figure(
        go.Bar(
            x=[probabilities[n] for n in names],
            y=names,
            orientation="h",
            marker={"color": [RHYTHM_COLOURS.get(n, "#546e7a") for n in names]},
            text=[f"{probabilities[n]:.2f}" for n in names],
            textposition="outside",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    figure.update_layout(
        height=190,
        margin={"l": 80, "r": 30, "t": 4, "b": 20},
        xaxis={"range": [0, 1.1], "tickformat": ".0%", "tickfont": {"size": 9}},
        yaxis={"autorange": "reversed", "tickfont": {"size": 11}},
        plot_bgcolor="white",
        paper_bgcolor="white",
    )
    return html.Div(
        [
            html.Div(
                [
                    html.Span("Dominant rhythm ", className="text-muted"),
                    html.Span(rhythm["label"], className="fs-4 fw-bold", id="findings-rhythm-label"),
                    html.Span(
                        f"  {rhythm['confidence']:.0%}", className="ms-2 fs-5", id="findings-confidence"
                    ),
                ]
            ),
            dcc.Graph(figure=figure, config={"displayModeBar": False}, id="findings-probabilities"),
        ],
        id="findings-rhythm",
    )


def vf_vt_block(call: dict | None) -> list:
    """The validated VF/VT call, where the rhythm names are not in use: its episodes (a red
    alert, each to be confirmed on the trace) or that no window was called VF/VT."""
    if not call:
        return []
    windows = len(call.get("windows") or [])
    episodes = call.get("episodes") or []
    rule = f"{call.get('rule', 'VF/VT call')}, validated on unseen patients"
    if not episodes:
        return [
            dbc.Alert(
                [html.Strong("No VF/VT"), f" in any of the {windows} 10-s windows ({rule})."],
                color="success",
                className="py-2 mb-2",
                id="findings-vf-vt",
            )
        ]
    listed = [
        html.Li(f"{clock(e['start_s'])}–{clock(e['end_s'])}, p = {e['probability']:.2f}") for e in episodes
    ]
    return [
        dbc.Alert(
            [
                html.Strong(f"VF/VT called in {call.get('windows_called', 0)} of {windows} windows"),
                html.Span(f" ({rule}); confirm on the trace:"),
                html.Ul(listed, className="mb-0 small"),
            ],
            color="danger",
            className="py-2 mb-2",
            id="findings-vf-vt",
        )
    ]


def findings_panel(analysis: dict, *, sex: str | None, risk: RiskSummary | None) -> html.Div:
    """Everything the analysis found, with normal ranges and flags; `sex` is 'male'/'female'."""
    rate = analysis.get("heart_rate_bpm") or {}
    mean = rate.get("mean")
    rate_flag = None
    if mean is not None:
        if mean < HR_RANGE_BPM[0]:
            rate_flag = _flag("bradycardia", "warning")
        elif mean > HR_RANGE_BPM[1]:
            rate_flag = _flag("tachycardia", "warning")
    hrv = analysis.get("hrv") or {}
    usable = analysis.get("usable_fraction")
    unusable = [w for w in analysis.get("quality") or [] if not w.get("usable")]
    quality_colour = "success" if (usable or 0) >= 0.9 else "warning" if (usable or 0) >= 0.5 else "danger"
    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th("Measure"), html.Th("Value"), html.Th("Normal")])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td("Heart rate, mean"),
                            html.Td([_value(mean, "bpm"), rate_flag] if rate_flag else _value(mean, "bpm")),
                            html.Td("60–100 bpm", className="text-muted"),
                        ]
                    ),
                    html.Tr(
                        [
                            html.Td("Heart rate, min – max"),
                            html.Td(f"{_value(rate.get('min'), '')}– {_value(rate.get('max'), 'bpm')}"),
                            html.Td(""),
                        ]
                    ),
                    *_interval_rows(analysis.get("intervals_ms") or {}, sex),
                ]
            ),
        ],
        size="sm",
        className="mb-2 small",
        id="findings-intervals",
    )
    hrv_rows = [
        ("Mean NN", _value(hrv.get("mean_nn_ms"), "ms")),
        ("SDNN", _value(hrv.get("sdnn_ms"), "ms")),
        ("RMSSD", _value(hrv.get("rmssd_ms"), "ms")),
        ("pNN50", _value(hrv.get("pnn50_pct"), "%", 1)),
        ("LF / HF", _value(hrv.get("lf_hf"), "", 2)),
        ("SD1 / SD2", f"{_value(hrv.get('sd1_ms'), '')}/ {_value(hrv.get('sd2_ms'), 'ms')}"),
        ("NN intervals", str(hrv.get("nn_count") or 0)),
    ]
    hrv_notes = [r for r in (hrv.get("caution"), hrv.get("time_reason"), hrv.get("frequency_reason")) if r]
    return html.Div(
        [
            rhythm_section(analysis),
            table,
            html.Div(
                f"Measured on {(analysis.get('intervals_ms') or {}).get('beats_measured') or 0} beats, lead "
                f"{analysis.get('lead')}; ranges: AHA/ACCF/HRS 2009.",
                className="small text-muted mb-2",
            ),
            _beats_lead_alert(analysis.get("beats_lead_reason")),
            html.H4("Heart-rate variability", className="h6 mt-2"),
            dbc.Table(
                html.Tbody([html.Tr([html.Td(n), html.Td(v)]) for n, v in hrv_rows]),
                size="sm",
                className="small mb-1",
                id="findings-hrv",
            ),
            html.Div("; ".join(hrv_notes), className="small text-muted mb-2") if hrv_notes else None,
            html.H4("Signal", className="h6 mt-2"),
            html.Div(
                [
                    html.Span(
                        f"{analysis.get('beat_count', 0)} beats", id="findings-beats", className="me-3"
                    ),
                    html.Span(f"{analysis.get('duration_s', 0):.0f} s", className="me-3"),
                    dbc.Badge(
                        f"{(usable or 0):.0%} usable",
                        color=quality_colour,
                        id="findings-quality",
                        className="me-2",
                    ),
                    html.Span(
                        f"{len(unusable)} unusable 10-s windows" if unusable else "",
                        className="small text-muted",
                    ),
                ],
                className="mb-2",
            ),
            _amplitude_alert(analysis.get("amplitude_notice")),
            html.H4("Cardiovascular risk (latest entry)", className="h6 mt-2"),
            _risk_block(risk),
        ],
        className="findings",
    )


def _beats_lead_alert(reason: str | None) -> dbc.Alert | None:
    """Where the beats were counted on another lead than the one shown, and why."""
    if not reason:
        return None
    return dbc.Alert(reason, color="info", id="findings-beats-lead", className="py-2 mb-2 small")


def _amplitude_alert(notice: str | None) -> dbc.Alert | None:
    """The analysis's warning that some leads' millivolts are nominal (no gain in the file)."""
    if not notice:
        return None
    return dbc.Alert(notice, color="warning", id="findings-amplitude", className="py-2 mb-2 small")


def _risk_block(risk: RiskSummary | None) -> html.Div:
    if risk is None:
        return html.Div(
            "No risk factors entered for this patient.", className="small text-muted", id="findings-risk"
        )
    framingham = (
        f"Framingham 10-year risk {risk.framingham_pct:.1f} % ({risk.framingham_category})"
        if risk.framingham_pct is not None
        else "Framingham: not computed"
    )
    grace = (
        f"GRACE {risk.grace_points} points, in-hospital death {risk.grace_mortality_pct:.1f} %"
        if risk.grace_points is not None
        else "GRACE: not computed (needs creatinine, Killip class and heart rate)"
    )
    return html.Div(
        [html.Div(framingham), html.Div(grace), html.Div(f"Entered {risk.entered}", className="text-muted")],
        className="small",
        id="findings-risk",
    )
