"""RR-interval features of rhythm windows (pipeline.rhythm_features): exact values on beat patterns
whose answer is arithmetic, and, on real records, the features of the detected beats against those
of the cardiologists' reference beats."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from pipeline.load import load_ecg
from pipeline.rhythm_features import (
    FEATURE_CLIP,
    N_RR_FEATURES,
    RR_FEATURE_NAMES,
    RecordingBeats,
    beats_features,
    recording_beats,
    window_features,
)
from tests.pipeline.physionet_data import physionet_record

BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")


def beats_at(
    times_s: np.ndarray, ectopic: np.ndarray | None = None, pr_s: np.ndarray | None = None
) -> RecordingBeats:
    n = times_s.size
    flags = np.zeros(n, dtype=bool) if ectopic is None else ectopic
    pr = np.full(n, np.nan) if pr_s is None else pr_s
    return RecordingBeats(times_s, np.ones(n), np.zeros(n, dtype=bool), flags, pr)


def features_of(
    beats_s: np.ndarray, ectopic: np.ndarray | None = None, pr_s: np.ndarray | None = None
) -> dict[str, float]:
    row = beats_features(beats_at(beats_s, ectopic, pr_s), np.array([0.0]))[0]
    return dict(zip(RR_FEATURE_NAMES, row.tolist(), strict=True))


def test_a_regular_rhythm_at_75_bpm():
    f = features_of(np.arange(0.4, 10.0, 0.8))
    assert f["rate"] == pytest.approx(0.0, abs=1e-6)
    assert f["few_beats"] == 0.0
    assert f["rr_cv"] == pytest.approx(0.0, abs=1e-6) and f["rmssd"] == pytest.approx(0.0, abs=1e-6)
    assert f["successive_irregular"] == 0.0 and f["near_median"] == 1.0
    assert f["min_ratio"] == pytest.approx(1.0) and f["max_ratio"] == pytest.approx(1.0)
    assert f["amplitude_cv"] == 0.0 and f["searchback"] == 0.0


def test_the_rate_doubles_to_one_octave():
    assert features_of(np.arange(0.2, 10.0, 0.4))["rate"] == pytest.approx(1.0, abs=1e-6)  # 150 bpm


def test_a_dropped_beat_doubles_one_interval():
    beats = np.delete(np.arange(0.5, 10.0, 1.0), 5)  # 60 bpm, the sixth beat not conducted
    f = features_of(beats)
    assert f["max_ratio"] == pytest.approx(2.0) and f["min_ratio"] == pytest.approx(1.0)
    assert f["near_median"] == pytest.approx(7 / 8)


def test_premature_beats_leave_the_normal_to_normal_intervals_regular():
    # Sinus rhythm at 60 bpm with a premature ventricular beat 0.5 s early every third beat
    # (and its compensatory pause): irregular beat to beat, regular between normal beats.
    beats = np.arange(0.5, 10.0, 1.0)
    ectopic = np.arange(beats.size) % 3 == 2
    beats[ectopic] -= 0.5
    f = features_of(beats, ectopic)
    assert f["successive_irregular"] > 0.5 and f["near_median"] < 0.5
    assert f["ectopic_share"] == pytest.approx(3 / 10)
    assert f["nn_near_median"] == 1.0 and f["nn_rr_cv"] == pytest.approx(0.0, abs=1e-6)
    assert f["nn_successive_irregular"] == 0.0


def test_bigeminy_alternates_at_every_beat():
    intervals = np.tile([0.5, 1.0], 6)  # a premature beat, then a compensatory pause, and again
    f = features_of(np.cumsum(np.concatenate([[0.2], intervals]))[:-1])
    assert f["turning_points"] == 1.0
    assert f["successive_irregular"] == 1.0


def test_conducted_p_waves_at_a_fixed_pr_interval():
    beats = np.arange(0.4, 10.0, 0.8)
    f = features_of(beats, pr_s=np.full(beats.size, 0.16))
    assert f["p_share"] == 1.0 and f["pr"] == pytest.approx(0.0, abs=1e-6) and f["pr_spread"] == 0.0
    # First-degree AV block: PR 320 ms, one octave above the 160 ms reference.
    assert features_of(beats, pr_s=np.full(beats.size, 0.32))["pr"] == pytest.approx(1.0)


def test_no_p_waves_give_no_pr_interval():
    f = features_of(np.arange(0.4, 10.0, 0.8))  # every PR NaN: no P wave found
    assert f["p_share"] == 0.0 and f["pr"] == 0.0 and f["pr_spread"] == 0.0


def test_p_waves_with_a_wandering_pr_interval_spread():
    # Half the beats with a P wave, at PR 100, 200, 300, 400 ... ms: IQR over median.
    beats = np.arange(0.4, 10.0, 0.8)
    pr = np.full(beats.size, np.nan)
    pr[::2] = np.resize([0.1, 0.2, 0.3, 0.4], pr[::2].size)
    f = features_of(beats, pr_s=pr)
    measured = pr[np.isfinite(pr)]
    q1, q3 = np.percentile(measured, [25, 75])
    assert f["p_share"] == pytest.approx(measured.size / beats.size)
    assert f["pr_spread"] == pytest.approx((q3 - q1) / np.median(measured))


def test_only_the_beats_inside_each_window_count():
    beats = np.concatenate([np.arange(0.5, 10.0, 1.0), np.arange(10.25, 20.0, 0.5)])  # 60 then 120 bpm
    rows = beats_features(beats_at(beats), np.array([0.0, 10.0]))
    rate = RR_FEATURE_NAMES.index("rate")
    assert rows[0, rate] == pytest.approx(np.log2(60 / 75)) and rows[1, rate] == pytest.approx(
        np.log2(120 / 75)
    )


def test_fewer_than_three_beats_are_no_rhythm_to_measure():
    f = features_of(np.array([1.0, 9.0]))
    assert f["few_beats"] == 1.0
    assert [v for name, v in f.items() if name not in ("few_beats", "rate")] == [0.0] * (N_RR_FEATURES - 2)
    assert features_of(np.array([]))["few_beats"] == 1.0


def test_a_broken_detection_stays_bounded():
    f = features_of(np.array([0.1, 0.3, 9.9]))
    assert all(abs(v) <= FEATURE_CLIP for v in f.values())


def test_flat_and_too_short_windows_give_no_beats_not_an_error():
    flat = np.zeros((2, 2500))
    rows = window_features(flat, 250.0)
    assert rows.shape == (2, N_RR_FEATURES) and np.all(rows[:, RR_FEATURE_NAMES.index("few_beats")] == 1.0)
    assert recording_beats(np.zeros(100), 250.0).times_s.size == 0  # 0.4 s: the detector refuses it


def reference_and_detected(record: str, start_s: float, n_windows: int) -> tuple[np.ndarray, np.ndarray]:
    path = physionet_record("mitdb", record)
    ecg = load_ecg(path)
    lead = ecg.signal_mv[:, ecg.lead_closest_to_ii()]
    annotation = wfdb.rdann(str(path), "atr")
    beats = np.array(
        [s for s, sym in zip(annotation.sample, annotation.symbol, strict=True) if sym in BEAT_SYMBOLS]
    )
    starts = start_s + 10.0 * np.arange(n_windows)
    detected = beats_features(recording_beats(lead, ecg.fs), starts)
    reference = beats_features(beats_at(beats / ecg.fs), starts)
    return reference, detected


@pytest.mark.parametrize(("record", "start_s"), [("100", 0.0), ("201", 10.0), ("203", 0.0)])
def test_detected_beats_give_the_reference_beats_irregularity(record, start_s):
    # 100: sinus rhythm; 201 from 10 s and 203: atrial fibrillation in the reference rhythm labels.
    reference, detected = reference_and_detected(record, start_s, 12)
    for name in ("rate", "successive_irregular", "near_median", "nn_successive_irregular"):
        k = RR_FEATURE_NAMES.index(name)
        assert np.median(np.abs(detected[:, k] - reference[:, k])) < 0.1, name


def test_atrial_fibrillation_is_irregular_where_sinus_rhythm_is_not():
    sinus, _ = reference_and_detected("100", 0.0, 12)
    fibrillation, _ = reference_and_detected("201", 10.0, 12)
    k = RR_FEATURE_NAMES.index("successive_irregular")
    assert np.median(fibrillation[:, k]) > 0.4 > 0.1 > np.median(sinus[:, k])


@pytest.mark.parametrize(("record", "start_s", "n_windows"), [("203", 0.0, 12), ("221", 0.0, 12)])
def test_atrial_fibrillation_has_few_p_waves_where_sinus_rhythm_has_them(record, start_s, n_windows):
    # The cardiologists' rhythm labels: 100 sinus rhythm throughout, 203 and 221 atrial
    # fibrillation throughout (mitdb), where by definition no distinct P waves precede the QRS.
    def p_share(name: str, start: float, n: int) -> np.ndarray:
        ecg = load_ecg(physionet_record("mitdb", name))
        beats = recording_beats(ecg.signal_mv[:, ecg.lead_closest_to_ii()], ecg.fs, ecg.signal_mv)
        return beats_features(beats, start + 10.0 * np.arange(n))[:, RR_FEATURE_NAMES.index("p_share")]

    sinus = p_share("100", 0.0, 12)
    fibrillation = p_share(record, start_s, n_windows)
    assert np.median(sinus) > 0.9 and np.median(fibrillation) < 0.3
