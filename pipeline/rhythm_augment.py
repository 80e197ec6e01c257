"""Augment rhythm windows for training with real noise, baseline wander, amplitude drift and time shift.

A classifier trained on clean Holter excerpts meets electrode motion, muscle noise and wander in
use. `window_augmented` gives a training window (`pipeline.rhythm_dataset`: 10 s at 250 Hz,
normalised) each of these, with its own probability, and normalises the result again with
`pipeline.rhythm_dataset.window_normalised`, as the classifier normalises what it is given:

1. **Amplitude drift** (`amplitude_drifted`): a gain that moves linearly across the window from
   one value to another, each drawn log-uniformly in 0.8-1.25 (breathing and electrode contact
   change the ECG's amplitude within a strip). A constant gain would be undone by the final
   normalisation; a drifting one is not.
2. **Real noise** (`noise_added`): a segment of the MIT-BIH Noise Stress Test Database's noise
   records, baseline wander (``bw``), electrode motion (``em``) or muscle artefact (``ma``), added
   at a signal-to-noise ratio drawn uniformly in 6-24 dB. The nstdb records were made on active
   volunteers with the electrodes placed where the ECG is not visible, so they are noise alone
   (Moody, Muldrow & Mark 1984). Their 360 Hz is resampled to the windows' 250 Hz, and each
   record's two channels serve as two sources. The SNR here is ``10 log10(Ps / Pn)`` with Ps and
   Pn the mean powers of the window and of the added noise after removing their means; nstdb's
   own SNR uses the QRS amplitude instead (S = peak-to-peak QRS amplitude squared / 8), so the
   same number here is noisier than there. Below 6 dB electrode motion can hide the rhythm the
   window's label names; such windows belong to the Noise class rather than to augmentation.
3. **Synthetic baseline wander** (`baseline_wander`): one to three sinusoids of 0.05-0.5 Hz
   (respiration lies at 0.15-0.5 Hz, body movement below), random phases, summed and scaled to
   a peak of 5-50 % of the window's 1st-99th percentile range (about one QRS height).
4. **Time shift** (`time_shifted`): a circular shift by up to 2.5 s, half the dataset's default
   stride, so the model sees beats at every position between two window starts. The wrapped part
   meets the start at one seam; both ends sit near the window's median (its baseline), and a
   label that covers the whole window covers every part of it, so the label still holds. One RR
   interval is cut at the seam.

`noise_class_windows` makes windows of the Noise class from ``em`` and ``ma`` alone.

**Rate scaling** (`rate_scaled`, used by `pipeline.train` when asked: ``--rate-scaling P``): the
window played faster or slower by a factor, so the network meets each rhythm at rates its
training subjects did not show (a wide-complex sinus rhythm at 110/min where the training set's
bundle-branch blocks beat at 50-90/min). Faster needs more than the window: the next window of
the same episode (5 s later, overlapping by 5 s) continues it, brought to the window's scale by
the affine map that matches the two on their overlap (both are the same samples, normalised
each by its own median and range), so up to 1.5 times faster is possible. Resampled by linear
interpolation: at 250 Hz and a factor within 0.7-1.4 the ECG's band (below 40-50 Hz) stays well
under the Nyquist rate. The window's RR features follow (`rate_scaled_features`): the rate moves
by log2 of the factor, the PR interval by the opposite; the others are ratios of intervals and
do not change. QRS and P waves are scaled with everything else (a complex 25 % narrower at 1.25
times the rate), which keeps factors modest.

**Training and evaluation noise stay apart.** `nstdb_noise_bank` holds one half of each noise
record: ``part="train"`` the first half (0-15 min), ``part="eval"`` the second. Augment training
data and make training Noise windows with the training half only; evaluate robustness (and make
test Noise windows) with the evaluation half, so a model is never scored on noise it has learnt.

Every random choice comes from the `numpy.random.Generator` passed in, so a seed reproduces
an augmented epoch exactly.

References:
    Moody GB, Muldrow WE, Mark RG. A noise stress test for arrhythmia detectors. Computers in
    Cardiology 1984;11:381-384 (nstdb; its SNR definition).
    Sörnmo L, Laguna P. Bioelectrical Signal Processing in Cardiac and Neurological
    Applications. Elsevier 2005, ch. 7 (baseline wander below 0.5 Hz; respiration).

Example:
    >>> bank = nstdb_noise_bank("/work/shared/data/physionet/nstdb")  # doctest: +SKIP
    >>> rng = np.random.default_rng(7)  # doctest: +SKIP
    >>> augmented = windows_augmented(dataset.X[:32], bank, rng)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np

from pipeline.load import load_ecg
from pipeline.rhythm_dataset import (
    DEFAULT_STRIDE_S,
    TARGET_FS_HZ,
    WINDOW_S,
    lead_resampled,
    window_normalised,
)
from pipeline.rhythm_features import FEATURE_CLIP, RR_FEATURE_NAMES

# The three noise records of nstdb (Moody, Muldrow & Mark 1984).
NSTDB_NOISE_RECORDS: tuple[str, ...] = ("bw", "em", "ma")
# The Noise class: noise that hides the ECG. Baseline wander alone does not (a high-pass removes it).
NOISE_CLASS_RECORDS: tuple[str, ...] = ("em", "ma")

# First half of each noise record for training, second half for evaluation.
_TRAIN_FRACTION = 0.5

# Ranges for each augmentation (see the module docstring for their sources).
DEFAULT_SNR_DB = (6.0, 24.0)
DEFAULT_GAIN_RANGE = (0.8, 1.25)
DEFAULT_WANDER_HZ = (0.05, 0.5)
DEFAULT_WANDER_PEAK = (0.05, 0.5)  # fraction of the window's 1st-99th percentile range
DEFAULT_MAX_SHIFT_S = 2.5  # half of pipeline.rhythm_dataset.DEFAULT_STRIDE_S
_MAX_WANDER_COMPONENTS = 3
_RANGE_PERCENTILES = (1.0, 99.0)
_RATE, _FEW_BEATS, _PR = (RR_FEATURE_NAMES.index(name) for name in ("rate", "few_beats", "pr"))

NoisePart = Literal["train", "eval"]


@dataclass(frozen=True, eq=False)
class NoiseBank:
    """One half of each nstdb noise record, resampled for the windows.

    Attributes:
        noise_mv: record name (``"bw"``, ``"em"``, ``"ma"``) -> samples x channels, mV, read-only.
        fs: their sampling rate, Hz (the windows').
        part: ``"train"`` (first half of each record) or ``"eval"`` (second half).
    """

    noise_mv: Mapping[str, np.ndarray]
    fs: float
    part: NoisePart

    def __post_init__(self) -> None:
        for noise in self.noise_mv.values():
            noise.flags.writeable = False
        object.__setattr__(self, "noise_mv", MappingProxyType(dict(self.noise_mv)))


@dataclass(frozen=True)
class Augmentation:
    """How likely each augmentation is, and its range (the module docstring gives the reasons).

    Attributes:
        p_gain, gain_range: amplitude drift: probability; the gains at the two ends are drawn
            log-uniformly in this range.
        p_noise, snr_db, noise_records: real noise: probability; SNR range in dB; which nstdb
            records to draw from (uniformly).
        p_wander, wander_hz, wander_peak: synthetic baseline wander: probability; frequency
            range, Hz; peak as a fraction of the window's 1st-99th percentile range.
        p_shift, max_shift_s: time shift: probability; the largest shift either way, s.
    """

    p_gain: float = 0.5
    gain_range: tuple[float, float] = DEFAULT_GAIN_RANGE
    p_noise: float = 0.5
    snr_db: tuple[float, float] = DEFAULT_SNR_DB
    noise_records: tuple[str, ...] = NSTDB_NOISE_RECORDS
    p_wander: float = 0.3
    wander_hz: tuple[float, float] = DEFAULT_WANDER_HZ
    wander_peak: tuple[float, float] = DEFAULT_WANDER_PEAK
    p_shift: float = 0.5
    max_shift_s: float = DEFAULT_MAX_SHIFT_S


def nstdb_noise_bank(
    nstdb_dir: str | os.PathLike[str],
    *,
    part: NoisePart = "train",
    fs: float = TARGET_FS_HZ,
    records: Sequence[str] = NSTDB_NOISE_RECORDS,
) -> NoiseBank:
    """The ``part`` half of nstdb's noise records (``bw``, ``em``, ``ma``), resampled to ``fs``.

    Each record is resampled whole and then split, so the two halves meet exactly and share no
    sample.

    Args:
        nstdb_dir: the folder holding ``bw``, ``em`` and ``ma`` (``.hea`` + ``.dat``).
        part: ``"train"`` for the first half of each record, ``"eval"`` for the second.
        fs: the rate to resample to, Hz.
        records: which noise records to read.

    Raises:
        ValueError: ``part`` is neither ``"train"`` nor ``"eval"``; EcgError: a record cannot be read.
    """
    if part not in ("train", "eval"):
        raise ValueError(f"part must be 'train' or 'eval', got {part!r}")
    noise: dict[str, np.ndarray] = {}
    for name in records:
        ecg = load_ecg(Path(nstdb_dir) / name)
        channels = np.column_stack(
            [lead_resampled(ecg.signal_mv[:, channel], ecg.fs, fs) for channel in range(ecg.n_leads)]
        )
        half = round(channels.shape[0] * _TRAIN_FRACTION)
        noise[name] = channels[:half] if part == "train" else channels[half:]
    return NoiseBank(noise_mv=noise, fs=float(fs), part=part)


def noise_segment(bank: NoiseBank, record: str, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """``n_samples`` of one channel of noise record ``record``, from a random place; mean removed, mV."""
    noise = bank.noise_mv[record]
    if noise.shape[0] < n_samples:
        raise ValueError(f"The {record} noise holds {noise.shape[0]} samples, fewer than {n_samples}")
    start = int(rng.integers(0, noise.shape[0] - n_samples + 1))
    channel = int(rng.integers(0, noise.shape[1]))
    segment = noise[start : start + n_samples, channel].astype(np.float64)
    return segment - segment.mean()


def mean_power(x: np.ndarray) -> float:
    """The mean power of ``x`` after removing its mean (its variance), in its units squared."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.mean((x - x.mean()) ** 2))


def snr_db(signal: np.ndarray, noise: np.ndarray) -> float:
    """``10 log10(Ps / Pn)``: the signal-to-noise ratio of ``noise`` added to ``signal``, dB."""
    return float(10.0 * np.log10(mean_power(signal) / mean_power(noise)))


def noise_added(window: np.ndarray, noise: np.ndarray, snr: float) -> np.ndarray:
    """``window`` plus ``noise`` scaled so that their SNR (`snr_db`) is ``snr`` dB; float64.

    Raises:
        ValueError: the window or the noise is flat (no power to set a ratio between).
    """
    signal_power, noise_power = mean_power(window), mean_power(noise)
    if signal_power == 0.0 or noise_power == 0.0:
        raise ValueError("noise_added: a flat window or flat noise has no signal-to-noise ratio")
    gain = np.sqrt(signal_power / (noise_power * 10.0 ** (snr / 10.0)))
    noise = np.asarray(noise, dtype=np.float64)
    return np.asarray(window, dtype=np.float64) + gain * (noise - noise.mean())


def baseline_wander(
    n_samples: int,
    fs: float,
    peak: float,
    rng: np.random.Generator,
    *,
    band_hz: tuple[float, float] = DEFAULT_WANDER_HZ,
) -> np.ndarray:
    """Synthetic baseline wander: 1-3 sinusoids in ``band_hz`` with random phases, scaled to ``peak``."""
    t = np.arange(n_samples) / fs
    n_components = int(rng.integers(1, _MAX_WANDER_COMPONENTS + 1))
    wander = np.zeros(n_samples)
    for _ in range(n_components):
        frequency = rng.uniform(*band_hz)
        wander += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * frequency * t + rng.uniform(0, 2 * np.pi))
    largest = np.max(np.abs(wander))
    return wander * (peak / largest) if largest > 0 else wander


def amplitude_drifted(
    window: np.ndarray, rng: np.random.Generator, gain_range: tuple[float, float] = DEFAULT_GAIN_RANGE
) -> np.ndarray:
    """``window`` times a gain moving linearly between two log-uniform draws in ``gain_range``."""
    low, high = np.log(gain_range[0]), np.log(gain_range[1])
    start, end = np.exp(rng.uniform(low, high, size=2))
    return np.asarray(window, dtype=np.float64) * np.linspace(start, end, np.shape(window)[-1])


def time_shifted(window: np.ndarray, shift_samples: int) -> np.ndarray:
    """``window`` shifted circularly by ``shift_samples`` (positive: later); the end wraps to the start."""
    return np.roll(np.asarray(window), int(shift_samples), axis=-1)


def rate_scaled(window: np.ndarray, following: np.ndarray | None, factor: float) -> np.ndarray:
    """``window`` (1-D, normalised) played ``factor`` times as fast (above 1: a faster rhythm),
    continued where needed by ``following``, the window of the same episode that starts
    `pipeline.rhythm_dataset.DEFAULT_STRIDE_S` later (None: none; then only slower is possible).

    Raises:
        ValueError: a factor above 1 without ``following``, or larger than the two windows allow.
    """
    window = np.asarray(window, dtype=np.float64)
    n = window.size
    source = window
    if factor > 1.0:
        if following is None:
            raise ValueError("a faster rhythm needs the following window")
        following = np.asarray(following, dtype=np.float64)
        overlap = n - round(DEFAULT_STRIDE_S / WINDOW_S * n)
        # Both windows are the same samples on their overlap, each normalised by its own median and
        # range: window = a * following + b there, exactly but for float32 rounding.
        a, b = np.polyfit(following[:overlap], window[n - overlap :], 1)
        source = np.concatenate([window, a * following[overlap:] + b])
    positions = np.arange(n) * factor
    if positions[-1] > source.size - 1:
        raise ValueError(f"a factor of {factor:g} needs more signal than the two windows hold")
    return window_normalised(np.interp(positions, np.arange(source.size), source))


def rate_scaled_features(rr: np.ndarray, factor: float) -> np.ndarray:
    """The RR features (`pipeline.rhythm_features`) of a window played ``factor`` times as fast:
    rate up by log2(factor), PR down by as much where measured; the ratios unchanged; clipped."""
    scaled = np.array(rr, dtype=np.float32)
    if scaled[_FEW_BEATS] == 0.0:
        scaled[_RATE] += np.log2(factor)
    if scaled[_PR] != 0.0:  # 0: no P wave (the feature's convention), nothing to scale
        scaled[_PR] -= np.log2(factor)
    return np.clip(scaled, -FEATURE_CLIP, FEATURE_CLIP)


def window_augmented(
    window: np.ndarray,
    bank: NoiseBank,
    rng: np.random.Generator,
    augmentation: Augmentation = Augmentation(),
) -> np.ndarray:
    """One training window (1-D, at ``bank.fs``) augmented as the module describes, normalised; float32."""
    clean = np.asarray(window, dtype=np.float64)
    x = (
        amplitude_drifted(clean, rng, augmentation.gain_range)
        if rng.random() < augmentation.p_gain
        else clean
    )
    if rng.random() < augmentation.p_noise and mean_power(clean) > 0.0:
        record = augmentation.noise_records[int(rng.integers(0, len(augmentation.noise_records)))]
        noise = noise_segment(bank, record, clean.size, rng)
        x = noise_added(x, noise, rng.uniform(*augmentation.snr_db))
    if rng.random() < augmentation.p_wander:
        low, high = np.percentile(clean, _RANGE_PERCENTILES)
        peak = rng.uniform(*augmentation.wander_peak) * (high - low)
        x = x + baseline_wander(clean.size, bank.fs, peak, rng, band_hz=augmentation.wander_hz)
    if rng.random() < augmentation.p_shift:
        largest = round(augmentation.max_shift_s * bank.fs)
        x = time_shifted(x, int(rng.integers(-largest, largest + 1)))
    return window_normalised(x)


def windows_augmented(
    windows: np.ndarray,
    bank: NoiseBank,
    rng: np.random.Generator,
    augmentation: Augmentation = Augmentation(),
) -> np.ndarray:
    """Each of ``windows`` (windows x samples) augmented independently (`window_augmented`); float32."""
    windows = np.asarray(windows)
    augmented = np.empty(windows.shape, dtype=np.float32)
    for row in range(windows.shape[0]):
        augmented[row] = window_augmented(windows[row], bank, rng, augmentation)
    return augmented


def noise_class_windows(
    bank: NoiseBank,
    n_windows: int,
    rng: np.random.Generator,
    *,
    records: Sequence[str] = NOISE_CLASS_RECORDS,
) -> np.ndarray:
    """``n_windows`` normalised 10-s windows of electrode-motion or muscle noise alone: the Noise class.

    Each window is a random stretch of one channel of a record drawn uniformly from ``records``,
    from the bank's half only (train or eval), normalised like every dataset window. Returns
    float32 windows x samples.
    """
    n_samples = round(WINDOW_S * bank.fs)
    windows = np.empty((n_windows, n_samples), dtype=np.float32)
    for row in range(n_windows):
        record = records[int(rng.integers(0, len(records)))]
        windows[row] = window_normalised(noise_segment(bank, record, n_samples, rng))
    return windows
