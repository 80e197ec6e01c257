"""The ECG viewer's pure parts: down-sampling keeps every peak, ranges asked by zoom and pan,
the paper grid at 25 mm/s and 10 mm/mV, episode labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from plotly.io.json import to_json_plotly

from callbacks.ecg_viewer import _already_drawn, clamp_range, requested_range
from components.ecg_viewer import (
    TOP_MV,
    browser_figure,
    clock,
    episode_options,
    minmax_decimate,
    paper_figure,
    unusable_stretches,
)


def test_minmax_decimation_keeps_every_spike_and_the_point_budget():
    rng = np.random.default_rng(3)
    values = rng.normal(0, 0.05, 650_000)
    spikes = rng.choice(values.size, 2000, replace=False)
    values[spikes] = 2.0
    index, kept = minmax_decimate(values, 6000)
    assert kept.size <= 6000 and np.all(np.diff(index) >= 0)
    # Every bucket holding a spike keeps it at full height.
    assert np.count_nonzero(kept == 2.0) >= len(set(spikes // int(np.ceil(values.size / 3000))))
    short = np.arange(10.0)
    assert minmax_decimate(short, 6000)[1].tolist() == short.tolist()


def test_ranges_asked_by_zoom_pan_and_reset():
    assert requested_range({"x0": 3, "x1": 8, "at": 1}, 300) == (3.0, 8.0)
    assert requested_range({"autorange": True}, 300) == (0.0, 300)
    assert requested_range({"x0": "bad"}, 300) is None and requested_range(None, 300) is None
    assert clamp_range(-5, 5, 300) == (0.0, 10.0)
    assert clamp_range(295, 305, 300) == (290.0, 300.0)
    shown = {"loaded": [0, 15], "full_resolution": False, "span": 10}
    assert _already_drawn(shown, (2, 12))  # a pan inside what the browser holds
    assert not _already_drawn(shown, (20, 30))  # beyond it
    assert not _already_drawn(shown, (2, 4))  # a zoom in needs the full resolution


def test_the_paper_keeps_its_millimetres():
    fs = 360.0
    signal = np.zeros((3600, 2), dtype=np.float32)
    analysis = {
        "r_peaks": [180, 540],
        "beats": {"ectopic": [False, True], "usable": [True, True]},
        "quality": [{"start_s": 0, "end_s": 10, "usable": False, "reason": "lead off"}],
        "rhythm": {"episodes": [{"start_s": 0, "end_s": 10, "label": "AF", "probability": 0.93}]},
    }
    figure = paper_figure(
        window_start_s=0.0,
        fs=fs,
        lead_names=("MLII", "V1"),
        cleaned_mv=signal,
        analysis=analysis,
        x_range=(0, 10),
    )
    x, y = figure.layout.xaxis, figure.layout.yaxis
    assert y.scaleanchor == "x" and y.scaleratio == pytest.approx(10 / 25)  # 10 mm/mV against 25 mm/s
    assert x.minor.dtick == pytest.approx(0.04) and y.minor.dtick == pytest.approx(0.1)
    # A major line every 5 mm (0.2 s, 0.5 mV); labels on every whole second and millivolt.
    assert x.dtick == pytest.approx(0.2) and y.dtick == pytest.approx(0.5)
    assert x.tick0 == 0 and y.tick0 == 0 and x.ticklabelstep == 5 and y.ticklabelstep == 2
    assert list(x.range) == [0, 10]
    # Two stacked leads, 30 mm apart: the paper runs from 2 mV below the second one to TOP_MV.
    assert y.autorange is True and y.range is None
    assert (y.autorangeoptions.minallowed, y.autorangeoptions.maxallowed) == (-5.0, TOP_MV)
    labels = [a.text for a in figure.layout.annotations]
    assert "AF 0.93" in labels and "unusable: lead off" in labels
    beats = next(trace for trace in figure.data if trace.name == "R peaks")
    assert list(beats.text) == ["N", "E"]
    # SVG, not WebGL: without a GPU the browser renders WebGL in software, several times slower.
    assert all(trace.type == "scatter" for trace in figure.data)
    assert figure.data[0].meta == {"window": [0.0, pytest.approx(3599 / fs)]}


def test_the_browser_gets_plain_arrays_and_no_template():
    fs = 360.0
    signal = np.sin(np.arange(3600, dtype=np.float32) / 50).reshape(-1, 1)
    analysis = {"r_peaks": [180, 540]}
    figure = paper_figure(
        window_start_s=0.0, fs=fs, lead_names=("MLII",), cleaned_mv=signal, analysis=analysis, x_range=(0, 10)
    )
    sent = browser_figure(figure)
    lead = sent["data"][0]
    # Re-rendering unchanged data stays cheap only with arrays Plotly.react can compare (see
    # browser_figure): no base64 typed arrays, no template object in the layout.
    assert isinstance(json.loads(to_json_plotly(sent))["data"][0]["x"], list)
    assert len(lead["x"]) == len(lead["y"]) <= 3000
    assert "template" not in sent["layout"] and sent["layout"]["yaxis"]["scaleanchor"] == "x"


def test_episodes_and_unusable_stretches():
    analysis = {
        "quality": [
            {"start_s": 0, "end_s": 10, "usable": False, "reason": "noise"},
            {"start_s": 10, "end_s": 20, "usable": False, "reason": "noise"},
            {"start_s": 20, "end_s": 30, "usable": True, "reason": None},
        ],
        "rhythm": {"episodes": [{"start_s": 723.0, "end_s": 729.4, "label": "VT", "probability": 0.94}]},
    }
    assert unusable_stretches(analysis) == [(0, 20, "noise")]
    assert episode_options(analysis) == [{"label": "VT, 12:03–12:09, 0.94", "value": 723.0}]
    assert episode_options({"rhythm": None})[0]["disabled"]
    assert clock(3725) == "1:02:05"


def test_where_only_the_vf_vt_call_is_validated_its_episodes_are_shown():
    from components.ecg_viewer import overview_figure
    from components.findings import rhythm_section

    episode = {"start_s": 62.5, "end_s": 72.5, "label": "VF/VT", "probability": 0.77}
    windows = [{"start_s": 5.0 * k, "end_s": 5.0 * k + 10, "probability": 0.1} for k in range(59)]
    call = {"rule": "VF/VT where P(VF) + P(VT) >= 0.5 in a 10-s window", "threshold": 0.5}
    analysis = {
        "duration_s": 300.0,
        "quality": [],
        "heart_rate_trend": {"time_s": [], "bpm": []},
        "rhythm": None,
        "rhythm_reason": "The rhythm model has not yet passed its validation.",
        "vf_vt": {**call, "windows": windows, "windows_called": 1, "episodes": [episode]},
    }

    assert episode_options(analysis) == [{"label": "VF/VT, 1:02–1:12, 0.77", "value": 62.5}]
    overview = overview_figure(analysis, (0.0, 10.0))
    assert [trace.name for trace in overview.data if trace.y is not None and "rhythm" in trace.y] == ["VF/VT"]
    section = str(rhythm_section(analysis))
    assert "VF/VT called in 1 of 59 windows" in section and "1:02–1:12, p = 0.77" in section
    assert "Rhythm not classified: The rhythm model has not yet passed" in section

    quiet = {**analysis, "vf_vt": {**call, "windows": windows, "windows_called": 0, "episodes": []}}
    assert episode_options(quiet)[0] == {
        "label": "None: no VF/VT called; other rhythms not classified.",
        "value": -1,
        "disabled": True,
    }
    assert "No VF/VT" in str(rhythm_section(quiet)) and "any of the 59 10-s windows" in str(
        rhythm_section(quiet)
    )


def test_the_findings_warn_when_amplitudes_are_nominal():
    """A lead without a gain in its file (Ecg.uncalibrated_leads) is flagged next to the signal
    figures; a calibrated recording shows no such warning."""
    from components.findings import findings_panel

    notice = (
        "Amplitude not calibrated: the file gives no gain for lead 'II', so millivolts there are nominal."
    )
    analysis = {"duration_s": 60.0, "quality": [], "rhythm": None, "lead": "II", "beat_count": 70}

    flagged = findings_panel(analysis | {"amplitude_notice": notice}, sex=None, risk=None)
    plain = findings_panel(analysis | {"amplitude_notice": None}, sex=None, risk=None)

    alerts = [c for c in flagged.children if getattr(c, "id", None) == "findings-amplitude"]
    assert len(alerts) == 1 and alerts[0].children == notice and alerts[0].color == "warning"
    assert "findings-amplitude" not in str(plain) and "not calibrated" not in str(plain)


def test_the_findings_say_when_beats_were_counted_on_another_lead():
    from components.findings import findings_panel

    reason = "Beats counted on lead V3: 27 % of the 946 beats found on lead D3 have no beat on lead V3."
    analysis = {"duration_s": 60.0, "quality": [], "rhythm": None, "lead": "D3", "beat_count": 70}

    shown = findings_panel(analysis | {"beats_lead_reason": reason}, sex=None, risk=None)
    plain = findings_panel(analysis | {"beats_lead_reason": None}, sex=None, risk=None)

    alerts = [c for c in shown.children if getattr(c, "id", None) == "findings-beats-lead"]
    assert len(alerts) == 1 and alerts[0].children == reason
    assert "findings-beats-lead" not in str(plain)
