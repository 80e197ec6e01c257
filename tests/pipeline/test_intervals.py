"""Interval arithmetic (pipeline.intervals) on hand-made delineations with known answers."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.delineate import ABSENT, Delineation
from pipeline.intervals import MIN_BEATS, intervals_per_beat, intervals_summary

FS = 500.0


def delineation(
    r: list[int],
    *,
    p_onset: int | None = -100,
    qrs_onset: int = -20,
    qrs_offset: int = 25,
    t_offset: int = 180,
    fs: float = FS,
) -> Delineation:
    """Beats at samples ``r`` with every boundary at the same offset (samples) from its R peak;
    ``p_onset=None`` leaves the P wave absent."""
    r_peak = np.asarray(r, dtype=np.int64)

    def at(offset: int | None) -> np.ndarray:
        return np.full(r_peak.size, ABSENT, dtype=np.int64) if offset is None else r_peak + offset

    return Delineation(
        fs=fs,
        r_peak=r_peak,
        p_onset=at(p_onset),
        p_peak=at(None if p_onset is None else p_onset + 25),
        p_offset=at(None if p_onset is None else p_onset + 50),
        qrs_onset=at(qrs_onset),
        qrs_offset=at(qrs_offset),
        t_peak=at(t_offset - 60),
        t_offset=at(t_offset),
        p_amplitude_mv=np.full(r_peak.size, np.nan if p_onset is None else 0.1),
        t_amplitude_mv=np.full(r_peak.size, 0.3),
    )


def test_qtc_of_the_textbook_example():
    # QT 400 ms at 75 bpm (RR 0.8 s): Bazett 400 / sqrt(0.8) = 447.2, Fridericia 400 / 0.8^(1/3) = 430.9.
    beats = delineation([500, 900, 1300, 1700], qrs_onset=-20, t_offset=180)

    per_beat = intervals_per_beat(beats)

    np.testing.assert_allclose(per_beat.qt_ms, 400.0)
    np.testing.assert_allclose(per_beat.rr_ms[1:], 800.0)
    np.testing.assert_allclose(per_beat.qtc_bazett_ms[1:], 447.21, atol=0.01)
    np.testing.assert_allclose(per_beat.qtc_fridericia_ms[1:], 430.89, atol=0.01)
    summary = intervals_summary(per_beat)
    assert summary.qtc_bazett_ms == 447.2
    assert summary.qtc_fridericia_ms == 430.9


def test_pr_qrs_qt_from_the_boundaries():
    beats = delineation([500, 1000, 1500], p_onset=-100, qrs_onset=-20, qrs_offset=25, t_offset=180)

    per_beat = intervals_per_beat(beats)

    np.testing.assert_allclose(per_beat.pr_ms, 160.0)  # (100 - 20) samples at 500 Hz
    np.testing.assert_allclose(per_beat.qrs_ms, 90.0)
    np.testing.assert_allclose(per_beat.qt_ms, 400.0)
    assert len(per_beat) == 3


def test_the_first_beat_has_no_rr_and_no_qtc():
    per_beat = intervals_per_beat(delineation([500, 1000]))

    assert math.isnan(per_beat.rr_ms[0]) and math.isnan(per_beat.qtc_bazett_ms[0])
    assert math.isnan(per_beat.qtc_fridericia_ms[0])
    assert per_beat.qt_ms[0] == 400.0  # QT itself needs no RR


def test_absent_boundaries_give_nan_not_numbers():
    beats = delineation([500, 1000, 1500], p_onset=None)
    t_offset = beats.t_offset.copy()
    t_offset[1] = ABSENT
    beats = dataclasses.replace(beats, t_offset=t_offset)

    per_beat = intervals_per_beat(beats)

    assert np.isnan(per_beat.pr_ms).all()
    assert np.isnan(per_beat.qt_ms[1]) and np.isnan(per_beat.qtc_bazett_ms[1])
    assert not np.isnan(per_beat.qrs_ms).any()


def test_median_ignores_a_mis_measured_beat():
    beats = delineation([500 * k for k in range(1, 8)])
    t_offset = beats.t_offset.copy()
    t_offset[3] += 250  # one T end found 500 ms late
    beats = dataclasses.replace(beats, t_offset=t_offset)

    summary = intervals_summary(intervals_per_beat(beats))

    assert summary.qt_ms == 400.0
    assert summary.beats_measured == 7


def test_include_leaves_beats_out_of_the_medians():
    beats = delineation([500 * k for k in range(1, 8)])
    qrs_offset = beats.qrs_offset.copy()
    qrs_offset[[2, 5]] += 40  # two wide (ectopic) beats
    beats = dataclasses.replace(beats, qrs_offset=qrs_offset)
    include = np.ones(7, dtype=bool)
    include[[2, 5]] = False

    summary = intervals_summary(intervals_per_beat(beats), include)

    assert summary.qrs_ms == 90.0
    assert summary.beats_measured == 5


def test_too_few_measured_beats_give_none():
    per_beat = intervals_per_beat(delineation([500, 1000]))  # 2 beats < MIN_BEATS

    summary = intervals_summary(per_beat)

    assert MIN_BEATS == 3
    assert summary.qt_ms is None and summary.pr_ms is None and summary.qtc_bazett_ms is None
    assert summary.beats_measured == 2


def test_a_p_wave_on_a_minority_of_beats_gives_no_pr():
    # Atrial fibrillation: something P-like on 3 of 10 beats is not a PR interval.
    beats = delineation([500 * k for k in range(1, 11)])
    p_onset = np.full(10, ABSENT, dtype=np.int64)
    p_onset[[1, 4, 7]] = beats.p_onset[[1, 4, 7]]
    beats = dataclasses.replace(beats, p_onset=p_onset)

    summary = intervals_summary(intervals_per_beat(beats))

    assert summary.pr_ms is None
    assert summary.qt_ms == 400.0


def test_empty_and_mismatched_inputs():
    empty = intervals_per_beat(delineation([]))
    assert len(empty) == 0
    assert intervals_summary(empty) == intervals_summary(empty, np.zeros(0, dtype=bool))
    assert intervals_summary(empty).qt_ms is None and intervals_summary(empty).beats_measured == 0
    with pytest.raises(ValueError, match="include has 2 entries for 3 beats"):
        intervals_summary(intervals_per_beat(delineation([500, 1000, 1500])), np.ones(2, dtype=bool))


@given(
    qt_samples=st.integers(min_value=100, max_value=350),
    rr_samples=st.integers(min_value=150, max_value=1000),
)
def test_qtc_formulas_agree_at_60_bpm_and_order_otherwise(qt_samples, rr_samples):
    beats = delineation([1000, 1000 + rr_samples], qrs_onset=0, t_offset=qt_samples)

    per_beat = intervals_per_beat(beats)
    qt, bazett, fridericia = per_beat.qt_ms[1], per_beat.qtc_bazett_ms[1], per_beat.qtc_fridericia_ms[1]

    rr_s = rr_samples / FS
    assert bazett == pytest.approx(qt / math.sqrt(rr_s))
    assert fridericia == pytest.approx(qt / rr_s ** (1 / 3))
    if rr_s < 1.0:  # faster than 60 bpm: both lengthen QT, Bazett more
        assert bazett >= fridericia >= qt
    elif rr_s > 1.0:
        assert bazett <= fridericia <= qt
    else:
        assert bazett == pytest.approx(qt) and fridericia == pytest.approx(qt)
