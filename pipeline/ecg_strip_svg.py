"""ECG rhythm strips as SVG on true ECG paper, for printed reports.

One SVG user unit is one millimetre (the root element's width and height are given in mm and
its viewBox has the same numbers), so what the printer puts on paper is the standard
recording scale: 25 mm/s and 10 mm/mV, on a 1 mm grid with every fifth line heavier, with the
1 mV x 200 ms calibration pulse at the start of each strip (the conventions of the 12-lead ECG,
Kligfield et al., Circulation 2007;115:1306).

`ecg_strip_svg` draws one lead over a stretch of time (10 s by default) at that scale.
`ecg_overview_svg` draws a whole recording compressed onto a few rows (min/max envelope per
0.25 mm, so a 24-hour Holter stays small), with rhythm episodes and unusable stretches marked.

Pure functions: arrays and numbers in, SVG text out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

import numpy as np

PAPER_SPEED_MM_PER_S = 25.0
GAIN_MM_PER_MV = 10.0
CALIBRATION_MV = 1.0
CALIBRATION_S = 0.2
CALIBRATION_ZONE_MM = 8.0  # room left of the trace for the calibration pulse
STRIP_HEIGHT_MM = 35.0  # 3.5 mV of paper: +2.0 mV above the baseline, -1.5 mV below
BASELINE_FROM_TOP_MM = 20.0

GRID_MINOR = "#f6c7c7"
GRID_MAJOR = "#e58f8f"
TRACE = "#111111"
# Episode colours of the overview (background bands), by rhythm class.
EPISODE_COLOURS = {
    "Normal": None,
    "SVT": "#ffd59e",
    "AF": "#ffe08a",
    "VF": "#ff9c9c",
    "VT": "#ffb3b3",
    "Heart block": "#c9d7ff",
    "Other": "#d9d9d9",
    "Noise": "#e8e8e8",
    "VF/VT": "#ff9c9c",  # the validated VF/VT call (pipeline.analysis), where the names are not
}
UNUSABLE = "#bdbdbd"


def _f(value: float) -> str:
    """A coordinate with at most two decimals (0.01 mm), the same text every time."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _grid(x0: float, width: float, height: float) -> str:
    """1 mm and 5 mm lines over a box starting at x0 (both paths; major lines drawn last)."""
    minor, major = [], []
    for i in range(int(round(width)) + 1):
        (major if i % 5 == 0 else minor).append(f"M{_f(x0 + i)} 0V{_f(height)}")
    for j in range(int(round(height)) + 1):
        (major if j % 5 == 0 else minor).append(f"M{_f(x0)} {j}H{_f(x0 + width)}")
    return (
        f'<path d="{"".join(minor)}" stroke="{GRID_MINOR}" stroke-width="0.08" fill="none"/>'
        f'<path d="{"".join(major)}" stroke="{GRID_MAJOR}" stroke-width="0.2" fill="none"/>'
    )


def _calibration_pulse(baseline_y: float) -> str:
    """1 mV high, 200 ms wide: 10 mm by 5 mm at the standard scale."""
    width = CALIBRATION_S * PAPER_SPEED_MM_PER_S
    top = baseline_y - CALIBRATION_MV * GAIN_MM_PER_MV
    x = 1.0
    return (
        f'<path class="calibration" d="M{_f(x)} {_f(baseline_y)}H{_f(x + 1)}V{_f(top)}'
        f'H{_f(x + 1 + width)}V{_f(baseline_y)}H{_f(x + 2 + width)}" '
        f'stroke="{TRACE}" stroke-width="0.25" fill="none"/>'
    )


def strip_width_mm(duration_s: float = 10.0) -> float:
    return CALIBRATION_ZONE_MM + duration_s * PAPER_SPEED_MM_PER_S


def ecg_strip_svg(
    signal_mv: np.ndarray,
    fs: float,
    lead_name: str,
    *,
    start_s: float = 0.0,
    duration_s: float = 10.0,
    height_mm: float = STRIP_HEIGHT_MM,
    baseline_mm: float = BASELINE_FROM_TOP_MM,
    calibrated: bool = True,
) -> str:
    """One lead from `start_s` for `duration_s` seconds at 25 mm/s and 10 mm/mV, as SVG text.

    Args:
        signal_mv: the lead's samples in mV (1-D); NaN samples leave a gap.
        fs: sampling rate, Hz.
        lead_name: printed at the top left of the strip.
        start_s, duration_s: the stretch drawn, s; a recording shorter than that leaves paper blank.
        height_mm, baseline_mm: paper height, and the 0 mV line's distance from the top, mm.
        calibrated: False for a lead whose file gives no gain (`pipeline.ecg.Ecg.uncalibrated_leads`):
            no 1-mV pulse is drawn (it would vouch for a scale nobody measured) and the label says
            the scale is nominal.

    Returns:
        ``<svg>`` text whose width is ``8 + 25 * duration_s`` mm; the trace is the polyline of
        class ``trace``, sample i at ``x = 8 + 25 * (i / fs - start_s)`` mm and
        ``y = baseline_mm - 10 * value_mv`` mm (clipped to the paper).
    """
    signal = np.asarray(signal_mv, dtype=np.float64).ravel()
    width = strip_width_mm(duration_s)
    first = max(0, int(math.floor(start_s * fs)))
    last = min(signal.size, int(math.ceil((start_s + duration_s) * fs)) + 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width)}mm" height="{_f(height_mm)}mm" '
        f'viewBox="0 0 {_f(width)} {_f(height_mm)}">',
        f'<rect x="0" y="0" width="{_f(width)}" height="{_f(height_mm)}" fill="#fffafa"/>',
        _grid(0.0, width, height_mm),
        *([_calibration_pulse(baseline_mm)] if calibrated else []),
    ]
    segments: list[list[str]] = [[]]
    for index in range(first, last):
        value = signal[index]
        if not math.isfinite(value):
            segments.append([])
            continue
        x = CALIBRATION_ZONE_MM + (index / fs - start_s) * PAPER_SPEED_MM_PER_S
        y = min(max(baseline_mm - value * GAIN_MM_PER_MV, 0.0), height_mm)
        segments[-1].append(f"{_f(x)},{_f(y)}")
    for points in segments:
        if len(points) > 1:
            parts.append(
                f'<polyline class="trace" points="{" ".join(points)}" fill="none" stroke="{TRACE}" '
                'stroke-width="0.25" stroke-linejoin="round"/>'
            )
    scale = "10 mm/mV" if calibrated else "10 mm/mV nominal (uncalibrated)"
    label = f"{lead_name} · {start_s:.0f}–{start_s + duration_s:.0f} s · 25 mm/s · {scale}"
    parts.append(
        f'<text x="{_f(CALIBRATION_ZONE_MM + 1)}" y="3.2" font-size="2.8" '
        f'font-family="DejaVu Sans, sans-serif" fill="#333">{escape(label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def ecg_overview_svg(
    signal_mv: np.ndarray,
    fs: float,
    lead_name: str,
    *,
    episodes: Sequence[dict] = (),
    unusable: Sequence[tuple[float, float]] = (),
    width_mm: float = 258.0,
    row_height_mm: float = 12.0,
    max_rows: int = 10,
    min_row_s: float = 60.0,
) -> str:
    """The whole recording of one lead, compressed onto at most `max_rows` rows, as SVG text.

    Each row covers the same time (at least `min_row_s`); the trace is a min/max envelope per
    0.25 mm, at the standard 10 mm/mV. Non-normal rhythm episodes (dicts with ``start_s``,
    ``end_s``, ``label``, as in the Analysis JSON) are coloured bands named at their start;
    unusable stretches (``(start_s, end_s)``) are grey hatched bands.
    """
    signal = np.asarray(signal_mv, dtype=np.float64).ravel()
    duration_s = signal.size / fs if fs > 0 else 0.0
    row_s = max(min_row_s, math.ceil(duration_s / max_rows / 60.0) * 60.0)
    rows = max(1, math.ceil(duration_s / row_s)) if duration_s > 0 else 1
    label_mm = 12.0
    trace_width = width_mm - label_mm
    mm_per_s = trace_width / row_s
    height = rows * row_height_mm
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(width_mm)}mm" height="{_f(height)}mm" '
        f'viewBox="0 0 {_f(width_mm)} {_f(height)}">',
        '<defs><pattern id="hatch" width="1.5" height="1.5" patternUnits="userSpaceOnUse">'
        f'<path d="M0 1.5L1.5 0" stroke="{UNUSABLE}" stroke-width="0.3"/></pattern></defs>',
    ]

    def bands(start: float, end: float, fill: str, css: str, name: str | None) -> None:
        for row in range(rows):
            row_start, row_end = row * row_s, (row + 1) * row_s
            lo, hi = max(start, row_start), min(end, row_end)
            if hi <= lo:
                continue
            x = label_mm + (lo - row_start) * mm_per_s
            w = max((hi - lo) * mm_per_s, 0.3)
            parts.append(
                f'<rect class="{css}" x="{_f(x)}" y="{_f(row * row_height_mm)}" width="{_f(w)}" '
                f'height="{_f(row_height_mm)}" fill="{fill}"/>'
            )
            if name and lo == start:
                parts.append(
                    f'<text x="{_f(x + 0.5)}" y="{_f(row * row_height_mm + 2.6)}" font-size="2.4" '
                    f'font-family="DejaVu Sans, sans-serif" fill="#700">{escape(name)}</text>'
                )

    for start, end in unusable:
        bands(float(start), float(end), "url(#hatch)", "unusable", None)
    for episode in episodes:
        colour = EPISODE_COLOURS.get(episode.get("label"), "#d9d9d9")
        if colour:
            bands(float(episode["start_s"]), float(episode["end_s"]), colour, "episode", episode["label"])

    bins_per_row = int(trace_width * 4)
    samples_per_bin = row_s * fs / bins_per_row
    for row in range(rows):
        top = row * row_height_mm
        baseline = top + row_height_mm * 0.6
        parts.append(
            f'<line x1="{_f(label_mm)}" y1="{_f(top + row_height_mm)}" x2="{_f(width_mm)}" '
            f'y2="{_f(top + row_height_mm)}" stroke="{GRID_MAJOR}" stroke-width="0.15"/>'
        )
        minute = row * row_s
        parts.append(
            f'<text x="0.5" y="{_f(baseline + 1)}" font-size="2.6" font-family="DejaVu Sans, sans-serif" '
            f'fill="#333">{int(minute // 60)}:{int(minute % 60):02d}</text>'
        )
        first = int(round(row * row_s * fs))
        stop = min(signal.size, int(round((row + 1) * row_s * fs)))
        if stop - first < 2:
            continue
        chunk = signal[first:stop]
        edges = np.floor(np.arange(0, chunk.size) / samples_per_bin).astype(np.int64)
        boundaries = np.flatnonzero(np.diff(edges)) + 1
        starts = np.concatenate(([0], boundaries))
        finite = np.where(np.isfinite(chunk), chunk, 0.0)
        highs = np.maximum.reduceat(finite, starts)
        lows = np.minimum.reduceat(finite, starts)
        points = []
        for k, (lo_mv, hi_mv) in enumerate(zip(lows, highs, strict=True)):
            x = label_mm + (edges[starts[k]] + 0.5) / 4
            y_hi = min(max(baseline - hi_mv * GAIN_MM_PER_MV * 0.5, top), top + row_height_mm)
            y_lo = min(max(baseline - lo_mv * GAIN_MM_PER_MV * 0.5, top), top + row_height_mm)
            points.append(f"{_f(x)},{_f(y_hi)} {_f(x)},{_f(y_lo)}")
        parts.append(
            f'<polyline class="trace" points="{" ".join(points)}" fill="none" stroke="{TRACE}" '
            'stroke-width="0.12"/>'
        )
    caption = (
        f"{lead_name} · whole recording, {row_s / 60:.0f} min per row "
        f"({mm_per_s:.2f} mm/s, 5 mm/mV: compressed, not for measurement)"
    )
    parts.append(f"<title>{escape(caption)}</title>")
    parts.append("</svg>")
    return "".join(parts)


def overview_caption(duration_s: float, *, width_mm: float = 258.0, max_rows: int = 10) -> str:
    row_s = max(60.0, math.ceil(duration_s / max_rows / 60.0) * 60.0)
    return f"{row_s / 60:.0f} min per row, {(width_mm - 12.0) / row_s:.2f} mm/s, 5 mm/mV — compressed"


__all__ = ["ecg_overview_svg", "ecg_strip_svg", "overview_caption", "strip_width_mm"]
