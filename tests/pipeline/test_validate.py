"""ecg_validate's limits, one at a time, on signals built around each limit."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.ecg import Ecg
from pipeline.errors import EcgRateError, EcgSignalError, EcgTooShortError
from pipeline.load import load_ecg
from pipeline.validate import (
    MAX_CLIPPED_FRACTION,
    MAX_ECG_RANGE_MV,
    MAX_GAP_S,
    MIN_PEAK_TO_PEAK_MV,
    ecg_validate,
)
from tests.pipeline.physionet_data import physionet_record


def sine_ecg(seconds: float = 12.0, fs: float = 250.0, amplitude_mv: float = 1.0) -> Ecg:
    t = np.arange(round(seconds * fs)) / fs
    return Ecg(amplitude_mv * np.sin(2 * np.pi * 1.3 * t)[:, None], fs, ("II",), "s.csv", "s")


def with_signal(ecg: Ecg, signal: np.ndarray) -> Ecg:
    return Ecg(signal, ecg.fs, ecg.lead_names, ecg.source, ecg.record_name)


def test_a_clean_recording_passes_unchanged():
    ecg = sine_ecg()
    assert ecg_validate(ecg) is ecg


@pytest.mark.parametrize(("fs", "ok"), [(49.9, False), (50.0, True), (10_000.0, True), (10_001.0, False)])
def test_rate_limits(fs, ok):
    ecg = sine_ecg(seconds=10.0, fs=fs)
    if ok:
        ecg_validate(ecg)
    else:
        with pytest.raises(EcgRateError):
            ecg_validate(ecg)


def test_exactly_ten_seconds_passes_and_one_sample_less_does_not():
    ecg_validate(sine_ecg(seconds=10.0, fs=500.0))  # a PTB-XL record: 5000 samples
    short = sine_ecg(seconds=10.0, fs=500.0)
    with pytest.raises(EcgTooShortError):
        ecg_validate(with_signal(short, short.signal_mv[:-1]))


def test_gap_at_the_limit_is_bridged_and_one_sample_longer_is_refused():
    ecg = sine_ecg()
    limit = round(MAX_GAP_S * ecg.fs)  # samples
    signal = ecg.signal_mv.copy()
    signal[1000 : 1000 + limit] = np.nan
    filled = ecg_validate(with_signal(ecg, signal)).signal_mv
    assert np.isfinite(filled).all()
    np.testing.assert_allclose(
        filled[1000 : 1000 + limit, 0],
        np.interp(np.arange(1000, 1000 + limit), [999, 1000 + limit], signal[[999, 1000 + limit], 0]),
        atol=1e-6,
    )

    signal = signal.copy()  # Ecg made the first one read-only
    signal[1000 + limit] = np.inf  # non-finite counts as missing too
    with pytest.raises(EcgSignalError, match="no values"):
        ecg_validate(with_signal(ecg, signal))


def test_gap_at_the_very_start_is_filled_with_the_first_value():
    ecg = sine_ecg()
    signal = ecg.signal_mv.copy()
    signal[:3] = np.nan
    assert np.all(ecg_validate(with_signal(ecg, signal)).signal_mv[:3, 0] == signal[3, 0])


def test_lead_with_no_values_is_refused():
    ecg = sine_ecg()
    with pytest.raises(EcgSignalError, match="holds no values"):
        ecg_validate(with_signal(ecg, np.full_like(ecg.signal_mv, np.nan)))


def test_flat_lead_is_refused_but_a_small_real_one_passes():
    with pytest.raises(EcgSignalError, match="all zeros"):
        ecg_validate(sine_ecg(amplitude_mv=0.0))
    with pytest.raises(EcgSignalError, match="flat line"):
        ecg_validate(sine_ecg(amplitude_mv=MIN_PEAK_TO_PEAK_MV / 4))
    ecg_validate(sine_ecg(amplitude_mv=MIN_PEAK_TO_PEAK_MV))  # peak-to-peak twice the limit


def test_clipping_just_under_the_limit_passes_and_over_it_is_refused():
    ecg = sine_ecg(seconds=20.0)
    sine = ecg.signal_mv[:, 0]
    # Clip a sine at the level that leaves the wanted fraction of samples at its two extremes.
    for fraction, ok in ((MAX_CLIPPED_FRACTION * 0.8, True), (MAX_CLIPPED_FRACTION * 1.2, False)):
        level = np.quantile(np.abs(sine), 1 - fraction)
        clipped = with_signal(ecg, np.clip(sine, -level, level)[:, None])
        if ok:
            ecg_validate(clipped)
        else:
            with pytest.raises(EcgSignalError, match="clipped"):
                ecg_validate(clipped)


def test_a_real_ecg_in_microvolts_marked_as_millivolts_is_refused():
    # mitdb 100 (MLII spans about 2 mV) as a file would carry it with the wrong unit, a thousand
    # times too large; the true one passes, and so does a DC offset of 500 mV, which a
    # DC-coupled amplifier can add and the baseline filter removes.
    ecg = load_ecg(physionet_record("mitdb", "100"))
    assert ecg_validate(ecg) is ecg
    with pytest.raises(EcgSignalError, match="units are probably wrong") as error:
        ecg_validate(with_signal(ecg, ecg.signal_mv * 1000.0))
    assert "MLII" in str(error.value)
    ecg_validate(with_signal(ecg, ecg.signal_mv + 500.0))


def test_the_amplitude_limit_sits_between_any_ecg_and_a_unit_mistake():
    # A 1.3-Hz sine spans twice its amplitude (give or take the baseline filter's few percent).
    ecg_validate(sine_ecg(seconds=60.0, amplitude_mv=MAX_ECG_RANGE_MV / 2 * 0.85))
    with pytest.raises(EcgSignalError, match="swings over"):
        ecg_validate(sine_ecg(seconds=60.0, amplitude_mv=MAX_ECG_RANGE_MV / 2 * 1.15))
