"""Property: whatever signal analyze() is given, it returns a valid Analysis or raises an EcgError.

Random lengths, sampling rates, amplitudes, heart rates and noise levels, including values beyond
every limit (rates under 50 Hz and over 10 kHz, recordings under 10 s, microvolt and volt-sized
amplitudes, noise far larger than the ECG). Nothing else may escape: no IndexError from an empty
array, no NaN in the JSON, no heart rate outside what a heart can do.
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.analysis import analyze
from pipeline.ecg import Ecg
from pipeline.errors import EcgError

# Samples per lead, at most: keeps one example fast on a 2-core machine.
MAX_SAMPLES = 40_000


@st.composite
def recordings(draw):
    fs = draw(st.one_of(st.sampled_from([128.0, 250.0, 360.0, 500.0, 1000.0]), st.floats(20.0, 12_000.0)))
    duration_s = draw(st.one_of(st.floats(10.0, 60.0), st.floats(0.2, 60.0)))
    n = max(2, min(MAX_SAMPLES, int(duration_s * fs)))
    n_leads = draw(st.integers(1, 3))
    amplitude_mv = 10 ** draw(st.floats(-3.0, 3.0))
    heart_rate_bpm = draw(st.floats(25.0, 250.0))
    noise_mv = draw(st.sampled_from([0.0, 0.01, 0.1, 1.0, 10.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    period_s = 60.0 / heart_rate_bpm
    phase = t % period_s
    # QRS-like spike, then a T-like bump: a crude beat, enough to exercise every step.
    beat = np.exp(-((phase - 0.2 * period_s) ** 2) / (2 * 0.012**2))
    beat += 0.25 * np.exp(-((phase - 0.2 * period_s - 0.25) ** 2) / (2 * 0.04**2))
    signal = np.column_stack(
        [amplitude_mv * beat * (1 + lead) + rng.normal(0.0, noise_mv, n) for lead in range(n_leads)]
    )
    return Ecg(signal, fs, tuple(f"L{k}" for k in range(n_leads)), "random.csv", "random")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recordings())
def test_analyze_returns_a_valid_analysis_or_an_ecg_error(ecg):
    try:
        analysis = analyze(ecg)
    except EcgError as error:
        event(f"refused: {type(error).__name__}")
        assert str(error) and "Traceback" not in str(error)
        return
    event("analysed")
    result = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))
    peaks = np.asarray(result["r_peaks"])
    assert np.all(np.diff(peaks) > 0) and (peaks.size == 0 or (peaks[0] >= 0 and peaks[-1] < ecg.n_samples))
    for key in ("mean", "min", "max"):
        bpm = result["heart_rate_bpm"][key]
        assert bpm is None or 20.0 <= bpm <= 350.0
    for key, value in result["intervals_ms"].items():
        if key != "beats_measured" and value is not None:
            assert 0.0 < value < 2000.0
    assert (
        result["quality"] and result["quality"][-1]["end_s"] <= ecg.duration_s + 0.001
    )  # rounded to ms in the JSON
