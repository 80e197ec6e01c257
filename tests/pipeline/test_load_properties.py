"""Property: whatever a CSV holds, load_ecg + ecg_clean give a valid result or an EcgError, nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.clean import ecg_clean
from pipeline.errors import EcgError
from pipeline.load import load_ecg
from pipeline.validate import MIN_DURATION_S

# Rows per file, at most: keeps one example fast on a 2-core machine.
MAX_ROWS = 30_000


@st.composite
def csv_recordings(draw):
    # Most examples are plausible recordings, so the success path is exercised as much as the
    # refusals; the rest reach beyond every limit (rate, length, amplitude, gaps, clipping).
    fs = draw(st.one_of(st.sampled_from([100.0, 250.0, 360.0, 500.0]), st.floats(10.0, 2000.0)))
    duration_s = draw(st.one_of(st.floats(10.0, 40.0), st.floats(0.5, 40.0)))
    n_rows = max(2, min(MAX_ROWS, int(duration_s * fs)))
    n_leads = draw(st.integers(1, 3))
    amplitude_mv = 10 ** draw(st.one_of(st.floats(-1.0, 1.0), st.floats(-4.0, 4.0)))
    noise_mv = draw(st.sampled_from([0.0, 0.01, 0.1, 1.0, 100.0]))
    time_column = draw(st.sampled_from([None, "time_s", "time_ms"]))
    gap_samples = draw(st.sampled_from([0, 1, 5, 40, 2000]))
    clip_mv = draw(st.sampled_from([None, None, None, 0.1, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    return fs, n_rows, n_leads, amplitude_mv, noise_mv, time_column, gap_samples, clip_mv, seed


def csv_written(folder: Path, recording) -> tuple[Path, float, bool]:
    fs, n_rows, n_leads, amplitude_mv, noise_mv, time_column, gap_samples, clip_mv, seed = recording
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows) / fs
    # A beat-like waveform: a sharp periodic spike at ~72/min, plus breathing drift and noise.
    beats = np.exp(-(((t % 0.83) - 0.4) ** 2) / (2 * 0.01**2))
    leads = [
        amplitude_mv * (beats * (lead + 1) + 0.2 * np.sin(2 * np.pi * 0.25 * t))
        + rng.normal(0, noise_mv, n_rows)
        for lead in range(n_leads)
    ]
    signal = np.column_stack(leads)
    if clip_mv is not None:
        signal = np.clip(signal, -clip_mv, clip_mv)
    if gap_samples:
        start = int(rng.integers(0, max(1, n_rows - gap_samples)))
        signal[start : start + gap_samples, 0] = np.nan
    names = [f"Lead {lead + 1}" for lead in range(n_leads)]
    columns = [signal]
    if time_column is not None:
        scale = 1000.0 if time_column == "time_ms" else 1.0
        columns.insert(0, (t * scale)[:, None])
        names.insert(0, time_column)
    path = folder / "property.csv"
    np.savetxt(path, np.hstack(columns), fmt="%.9g", delimiter=",", header=",".join(names), comments="")
    return path, fs, time_column is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recording=csv_recordings())
def test_any_csv_loads_and_cleans_or_raises_an_ecg_error(recording):
    with tempfile.TemporaryDirectory() as folder:
        path, fs, needs_rate = csv_written(Path(folder), recording)
        try:
            ecg = load_ecg(path, fs=fs if needs_rate else None)
            cleaned = ecg_clean(ecg.signal_mv, ecg.fs)
        except EcgError as error:
            event(type(error).__name__)
            message = str(error)
            assert message and folder not in message
            return

    event("loaded and cleaned")
    assert abs(ecg.fs - fs) <= 1e-3 * fs
    assert ecg.signal_mv.dtype == np.float32
    assert ecg.signal_mv.shape == (ecg.n_samples, len(ecg.lead_names))
    assert ecg.n_samples >= round(MIN_DURATION_S * ecg.fs)
    assert np.isfinite(ecg.signal_mv).all()
    assert cleaned.shape == ecg.signal_mv.shape and cleaned.dtype == np.float32
    assert np.isfinite(cleaned).all()
