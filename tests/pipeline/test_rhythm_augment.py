"""Training augmentation (pipeline.rhythm_augment) with the real noise of the MIT-BIH Noise Stress
Test Database on real MIT-BIH windows: SNR as set, training and evaluation noise apart, seeds."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb
from scipy.signal import resample_poly, welch

from pipeline.qrs import detect_r_peaks
from pipeline.rhythm_augment import (
    Augmentation,
    amplitude_drifted,
    baseline_wander,
    noise_added,
    noise_class_windows,
    noise_segment,
    nstdb_noise_bank,
    rate_scaled,
    rate_scaled_features,
    time_shifted,
    window_augmented,
    windows_augmented,
)
from pipeline.rhythm_dataset import lead_resampled, lead_windows, wfdb_record_dataset, window_normalised
from pipeline.rhythm_features import RR_FEATURE_NAMES, window_features
from tests.pipeline.physionet_data import PHYSIONET, physionet_record

FS = 250.0
NONE = Augmentation(p_gain=0.0, p_noise=0.0, p_wander=0.0, p_shift=0.0)


@pytest.fixture(scope="module")
def train_bank():
    physionet_record("nstdb", "em")
    return nstdb_noise_bank(PHYSIONET / "nstdb", part="train")


@pytest.fixture(scope="module")
def eval_bank():
    return nstdb_noise_bank(PHYSIONET / "nstdb", part="eval")


@pytest.fixture(scope="module")
def windows() -> np.ndarray:
    """Normalised 10-s windows of MIT-BIH record 100 (normal sinus rhythm), first minute."""
    return wfdb_record_dataset(physionet_record("mitdb", "100"), "mitdb", span_s=(0.0, 60.0)).X


def measured_snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    """The SNR of what was added to ``clean``, computed here on its own: variances in mV^2."""
    added = noisy - clean
    return 10 * np.log10(np.var(clean) / np.var(added))


@pytest.mark.parametrize("record", ["bw", "em", "ma"])
@pytest.mark.parametrize("snr", [0.0, 6.0, 12.0, 24.0])
def test_noise_added_at_snr_measures_that_snr(train_bank, record, snr):
    # A raw 10-s slice of record 100's MLII in mV, resampled to 250 Hz like the windows.
    path = str(physionet_record("mitdb", "100"))
    clean = resample_poly(
        wfdb.rdrecord(path, sampfrom=36_000, sampto=39_600, channels=[0]).p_signal[:, 0], 25, 36
    )
    rng = np.random.default_rng(int(snr) * 10 + len(record))

    noisy = noise_added(clean, noise_segment(train_bank, record, clean.size, rng), snr)

    assert measured_snr_db(clean, noisy) == pytest.approx(snr, abs=0.5)


def test_noise_bank_halves_are_each_records_first_and_second_half(train_bank, eval_bank):
    raw = wfdb.rdrecord(str(physionet_record("nstdb", "em"))).p_signal
    whole = np.column_stack([resample_poly(raw[:, channel], 25, 36) for channel in range(2)])

    joined = np.concatenate([train_bank.noise_mv["em"], eval_bank.noise_mv["em"]])

    np.testing.assert_allclose(joined, whole, atol=1e-5)
    assert train_bank.noise_mv["em"].shape[0] == pytest.approx(whole.shape[0] / 2, abs=1)
    assert (train_bank.part, eval_bank.part) == ("train", "eval")
    assert set(train_bank.noise_mv) == {"bw", "em", "ma"}
    with pytest.raises(ValueError, match="part"):
        nstdb_noise_bank(PHYSIONET / "nstdb", part="test")


def test_noise_segments_come_from_the_banks_half_only(train_bank):
    rng = np.random.default_rng(3)
    half = train_bank.noise_mv["ma"]
    for _ in range(5):
        segment = noise_segment(train_bank, "ma", 2500, rng)
        # A stretch of one channel of the training half, mean removed: its sample-to-sample steps
        # are that stretch's steps.
        steps = np.diff(segment)
        found = []
        for channel in range(2):
            runs = np.lib.stride_tricks.sliding_window_view(np.diff(half[:, channel]), 8)
            for start in np.flatnonzero(np.all(np.isclose(runs, steps[:8], atol=1e-6), axis=1)):
                stretch = half[start : start + 2500, channel]
                found.append(np.allclose(stretch - stretch.mean(), segment, atol=1e-5))
        assert any(found)


def test_same_seed_same_augmentation_other_seed_other(windows, train_bank):
    first = windows_augmented(windows, train_bank, np.random.default_rng(11))
    again = windows_augmented(windows, train_bank, np.random.default_rng(11))
    other = windows_augmented(windows, train_bank, np.random.default_rng(12))

    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.shape == windows.shape and first.dtype == np.float32
    assert np.isfinite(first).all()


def test_augmented_windows_are_normalised_like_dataset_windows(windows, train_bank):
    augmented = windows_augmented(windows, train_bank, np.random.default_rng(5))

    low, median, high = np.percentile(augmented, (1, 50, 99), axis=1)
    np.testing.assert_allclose(median, 0.0, atol=1e-6)
    np.testing.assert_allclose(high - low, 1.0, atol=1e-5)


def test_nothing_switched_on_changes_nothing(windows, train_bank):
    unchanged = window_augmented(windows[0], train_bank, np.random.default_rng(0), NONE)

    np.testing.assert_allclose(unchanged, windows[0], atol=1e-6)


def test_noise_only_augmentation_adds_noise_at_the_drawn_snr(windows, train_bank):
    only_noise = Augmentation(p_gain=0.0, p_noise=1.0, snr_db=(12.0, 12.0), p_wander=0.0, p_shift=0.0)

    augmented = window_augmented(windows[1], train_bank, np.random.default_rng(2), only_noise)

    # Undo the final normalisation by a least-squares fit of the clean window, then measure.
    clean = windows[1].astype(np.float64)
    gain = np.dot(augmented - augmented.mean(), clean - clean.mean()) / np.dot(
        clean - clean.mean(), clean - clean.mean()
    )
    residual = augmented - gain * clean
    assert 10 * np.log10(np.var(gain * clean) / np.var(residual)) == pytest.approx(12.0, abs=1.5)


def test_baseline_wander_is_slow_and_has_the_peak_asked_for():
    rng = np.random.default_rng(4)

    wander = baseline_wander(2500, FS, 0.3, rng)

    assert np.max(np.abs(wander)) == pytest.approx(0.3)
    frequencies, power = welch(wander, fs=FS, nperseg=2500)
    assert power[frequencies <= 0.6].sum() > 0.95 * power.sum()


def test_amplitude_drift_moves_between_two_gains_in_range(windows):
    rng = np.random.default_rng(8)
    ones = np.ones(2500)

    drifted = amplitude_drifted(ones, rng, (0.8, 1.25))

    assert 0.8 <= drifted[0] <= 1.25 and 0.8 <= drifted[-1] <= 1.25
    np.testing.assert_allclose(np.diff(drifted, 2), 0.0, atol=1e-12)  # linear
    # A drifting gain survives normalisation; a constant one would not.
    assert not np.allclose(window_normalised(amplitude_drifted(windows[0], rng)), windows[0], atol=1e-3)


def test_time_shift_is_circular(windows):
    shifted = time_shifted(windows[0], 250)

    np.testing.assert_array_equal(shifted[250:], windows[0][:-250])
    np.testing.assert_array_equal(shifted[:250], windows[0][-250:])


def test_noise_class_windows_are_normalised_em_or_ma_noise(train_bank, eval_bank):
    train = noise_class_windows(train_bank, 8, np.random.default_rng(1))
    held_out = noise_class_windows(eval_bank, 8, np.random.default_rng(1))

    assert train.shape == (8, 2500) and train.dtype == np.float32
    low, median, high = np.percentile(train, (1, 50, 99), axis=1)
    np.testing.assert_allclose(median, 0.0, atol=1e-6)
    np.testing.assert_allclose(high - low, 1.0, atol=1e-5)
    assert not np.allclose(train, held_out)  # the same draws from the other half are other noise
    with pytest.raises(KeyError):
        noise_class_windows(train_bank, 1, np.random.default_rng(1), records=["xx"])


@pytest.fixture(scope="module")
def lbbb_lead() -> np.ndarray:
    """The first minute of MIT-BIH record 109's MLII (left bundle-branch block, about 84/min), mV at 360 Hz."""
    return wfdb.rdrecord(str(physionet_record("mitdb", "109")), sampto=360 * 60, channels=[0]).p_signal[:, 0]


def test_a_faster_window_is_the_recording_itself_played_faster(lbbb_lead):
    windows, starts_s = lead_windows(lbbb_lead, 360.0)
    assert starts_s[1] == 5.0
    faster = rate_scaled(windows[0], windows[1], 1.25)
    # Independently: the recording's first 12.5 s at 250 Hz squeezed into 10 s, normalised.
    raw = lead_resampled(lbbb_lead, 360.0)
    expected = window_normalised(np.interp(np.arange(2500) * 1.25, np.arange(3125), raw[:3125]))
    np.testing.assert_allclose(faster, expected, atol=1e-5)
    # The detector counts 1.25 times the beats' rate.
    before = np.median(np.diff(detect_r_peaks(windows[0].astype(np.float64), FS).samples))
    after = np.median(np.diff(detect_r_peaks(faster.astype(np.float64), FS).samples))
    assert before / after == pytest.approx(1.25, rel=0.03)


def test_a_faster_window_needs_the_window_that_continues_it(lbbb_lead):
    windows, _ = lead_windows(lbbb_lead, 360.0)
    with pytest.raises(ValueError, match="following window"):
        rate_scaled(windows[0], None, 1.2)
    with pytest.raises(ValueError, match="more signal"):
        rate_scaled(windows[0], windows[1], 1.6)  # 16 s of ECG; the two windows hold 15
    slower = rate_scaled(windows[0], None, 0.8)
    assert slower.shape == (2500,) and np.all(np.isfinite(slower))


def test_rate_scaled_features_match_the_features_of_the_faster_window(lbbb_lead):
    windows, _ = lead_windows(lbbb_lead, 360.0)
    faster = rate_scaled(windows[2], windows[3], 1.3)
    measured = window_features(np.stack([windows[2], faster]), FS)
    scaled = rate_scaled_features(measured[0], 1.3)
    rate = RR_FEATURE_NAMES.index("rate")
    assert scaled[rate] - measured[0, rate] == pytest.approx(np.log2(1.3))
    assert scaled[rate] == pytest.approx(measured[1, rate], abs=0.05)  # detected in the faster window
    others = [i for i, name in enumerate(RR_FEATURE_NAMES) if name not in ("rate", "pr")]
    np.testing.assert_array_equal(scaled[others], measured[0, others])


def test_rate_scaled_features_leave_what_is_not_measured():
    features = np.zeros(len(RR_FEATURE_NAMES), dtype=np.float32)
    features[RR_FEATURE_NAMES.index("few_beats")] = 1.0  # under 3 beats: rate and the rest are 0
    np.testing.assert_array_equal(rate_scaled_features(features, 1.2), features)
    features[:] = 0.0
    features[RR_FEATURE_NAMES.index("pr")] = 0.3
    scaled = rate_scaled_features(features, 1.2)
    assert scaled[RR_FEATURE_NAMES.index("pr")] == pytest.approx(0.3 - np.log2(1.2))
    features[RR_FEATURE_NAMES.index("pr")] = 0.0  # no P wave: no PR to shorten
    assert rate_scaled_features(features, 1.2)[RR_FEATURE_NAMES.index("pr")] == 0.0
