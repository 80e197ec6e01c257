"""Risk score displays: Framingham and GRACE cards, the history chart, what to treat first."""

from __future__ import annotations

from datetime import timedelta

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import html

from pipeline.risk import GRACE_INTENDED_USE, FraminghamResult, GraceResult, RiskReduction

CATEGORY_COLOURS = {"low": "success", "intermediate": "warning", "high": "danger"}
CATEGORY_TEXT = {
    "low": "low (under 10 %)",
    "intermediate": "intermediate (10–20 %)",
    "high": "high (over 20 %)",
}


def _points_table(factors, total_label: str, total: int) -> dbc.Table:
    body = [html.Tr([html.Td(f.factor), html.Td(f.band), html.Td(f"{f.points:+d}")]) for f in factors]
    body.append(html.Tr([html.Th(total_label, colSpan=2), html.Th(str(total))]))
    return dbc.Table(
        [html.Thead(html.Tr([html.Th("Factor"), html.Th("Value"), html.Th("Points")])), html.Tbody(body)],
        size="sm",
        className="mb-2",
    )


def framingham_card(result: FraminghamResult, entered: str) -> dbc.Card:
    chance = round(result.risk_pct)
    warnings = [dbc.Alert(text, color="warning", className="py-2 small") for text in result.warnings]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3("Framingham 10-year cardiovascular risk", className="h5"),
                html.Div(
                    [
                        html.Span(
                            f"{result.risk_pct:.1f} %", className="display-6 me-3", id="framingham-risk"
                        ),
                        dbc.Badge(
                            CATEGORY_TEXT[result.category],
                            color=CATEGORY_COLOURS[result.category],
                            id="framingham-category",
                        ),
                    ],
                    className="mb-2",
                ),
                *warnings,
                html.P(
                    f"About {chance} in 100 people with these risk factors have a heart attack, stroke or "
                    "other cardiovascular event within 10 years. Heart age: "
                    f"{result.heart_age_text} (the age of a person with the same risk and normal blood "
                    "pressure, cholesterol, no smoking and no diabetes).",
                    className="small",
                ),
                html.Details(
                    [
                        html.Summary("How the points add up (D'Agostino et al. 2008)"),
                        _points_table(result.factors, "Total points", result.points),
                        html.P(
                            f"The paper's points table gives {result.points_risk_text} % for "
                            f"{result.points} points; the number above is from the full equation.",
                            className="small text-muted",
                        ),
                    ]
                ),
                html.P(entered, className="small text-muted mb-0 mt-2"),
            ]
        ),
        id="framingham-card",
    )


def grace_card(result: GraceResult, entered: str) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3("GRACE in-hospital death risk", className="h5"),
                html.Div(
                    [
                        html.Span(f"{result.points} points", className="display-6 me-3", id="grace-points"),
                        html.Span(f"in-hospital death {result.mortality_text}", id="grace-mortality"),
                    ],
                    className="mb-2",
                ),
                dbc.Alert(GRACE_INTENDED_USE, color="info", className="py-2 small"),
                html.Details(
                    [
                        html.Summary("How the points add up (Granger et al. 2003)"),
                        _points_table(result.factors, "Total points", result.points),
                    ]
                ),
                html.P(entered, className="small text-muted mb-0 mt-2"),
            ]
        ),
        id="grace-card",
    )


def no_grace_card() -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3("GRACE in-hospital death risk", className="h5"),
                html.P(
                    "Not calculated: creatinine, Killip class and heart rate have not been entered. "
                    + GRACE_INTENDED_USE,
                    className="small text-muted mb-0",
                ),
            ]
        ),
        id="grace-card",
    )


def treat_first_table(reductions: list[RiskReduction]) -> html.Div:
    if not reductions:
        return html.P("Every modifiable factor is at its target.", className="small text-muted")
    rows = [
        html.Tr(
            [
                html.Td(r.factor),
                html.Td(r.current),
                html.Td(r.target),
                html.Td(f"{r.risk_after_pct:.1f} %"),
                html.Td(f"−{r.reduction_pct_points:.1f}"),
            ]
        )
        for r in reductions
    ]
    header = ["Factor", "Now", "Target", "Risk at target", "Points of %"]
    return html.Div(
        [
            dbc.Table(
                [html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
                size="sm",
                id="treat-first",
            ),
            html.P(
                "Each row changes one factor alone, with the same Framingham equation. Decision "
                "support for the doctor, not a prescription.",
                className="small text-muted",
            ),
        ]
    )


def history_figure(history) -> go.Figure:
    """Both scores over time, one point per entry of the risk-factor form."""
    times = [entry.entered_at for entry in history]
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=times,
            y=[entry.framingham_risk_pct for entry in history],
            mode="lines+markers",
            name="Framingham 10-y risk (%)",
        )
    )
    grace = [(entry.entered_at, entry.grace_points) for entry in history if entry.grace_points is not None]
    if grace:
        figure.add_trace(
            go.Scatter(
                x=[t for t, _ in grace],
                y=[p for _, p in grace],
                mode="lines+markers",
                name="GRACE points",
                yaxis="y2",
            )
        )
    xaxis = dict(type="date", tickformat="%Y-%m-%d")
    if len({t.date() for t in times}) <= 1 and times:
        # One day of entries: show a month around it rather than sub-second ticks.
        xaxis["range"] = [times[0] - timedelta(days=15), times[0] + timedelta(days=15)]
    figure.update_layout(
        xaxis=xaxis,
        margin=dict(l=50, r=50, t=20, b=40),
        height=280,
        yaxis=dict(title="Framingham (%)", rangemode="tozero"),
        yaxis2=dict(title="GRACE points", overlaying="y", side="right", rangemode="tozero"),
        legend=dict(orientation="h", y=-0.25),
        template="plotly_white",
    )
    return figure
