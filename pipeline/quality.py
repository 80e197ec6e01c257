"""Signal quality of one ECG lead, window by window: can a reader see the heartbeats here?

`signal_quality` cuts a lead into consecutive windows (10 s by default, the length of a standard
ECG strip and of the rhythm classifier's windows) and says of each whether it is usable and, if
not, why. The checks run in this order; the first that fails names the window's reason:

1. **Lead off** and **flat line**: a stretch of at least 2 s in which the signal stays within
   20 microvolts (peak to peak, in every 0.2-s block of the stretch). No heart can be seen there:
   even low-voltage QRS complexes exceed 0.5 mV (Kligfield et al. 2007), and 2 s without any QRS
   complex is a pause that no normal rhythm has. The stretch is a *lead off* when it sits at the
   lead's rail (its highest or lowest value anywhere in the recording: the saturated amplifier of
   a detached electrode) or more than 1 mV away from the lead's median level (the step to a
   detached electrode's DC offset); otherwise it is a *flat line* (a zero-filled dropout, an
   unused channel). Without an electrode-impedance signal, an asystole cannot be told from a
   disconnected electrode: a true asystole with a clean baseline is called "flat line" here, and
   the window must still be shown.
2. **Clipping**: 10 % or more of the window's samples sit at the lead's rails. Clipped R-wave tips
   alone (a few samples per beat, about 1 % of a window) leave rate and rhythm readable and do not
   trip this; a tenth means whole waves are cut off (`pipeline.validate` refuses a recording with
   20 % over its whole length).
3. **Noise**: no QRS complex stands out. Two signal quality indices decide it:

   - *QRS contrast*: the 95th over the 50th percentile of the 10-25 Hz envelope (RMS over
     100 ms). QRS complexes concentrate their energy in this band (Thakor, Webster & Tompkins
     1984: centre 17 Hz), P and T waves and baseline wander have little there, so in a readable
     window the envelope has peaks (the QRS complexes, 10-25 % of the time) several times its
     median (the baseline between them). Electrode-motion artefact and noise fill the band
     evenly. A contrast of at least 4.5 is required.
   - *QRS power fraction* (pSQI, Li, Mark & Clifford 2008): the power at 5-15 Hz over the power at
     5-40 Hz. Muscle artefact spreads its power to high frequencies; at least 0.3 is required.

   A window failing either is "noise", **unless it holds an organised oscillation**: ventricular
   fibrillation and flutter have no distinct QRS complexes, so they fail the contrast test, but
   they are rhythms a doctor must see, not noise. A window counts as an organised oscillation
   when its 1-20 Hz autocorrelation has a peak of at least 0.5 at a lag of 0.1-0.7 s, i.e. it
   repeats at 85-600 per minute (the autocorrelation VF detector of Chen, Thakor & Mower 1987),
   or when it is a continuous oscillation: QRS-band (5-15 Hz) envelope contrast below 2.4 with a
   5-15 Hz envelope median of at least 20 microvolts and a QRS power fraction of at least 0.8
   (coarse VF: large, even waves without high-frequency content). Such windows are usable and
   marked ``organized_oscillation``.

The last window: a remainder of at least half a window is a window of its own; a shorter one is
merged into the window before it (so windows are between 0.5 and 1.5 times ``window_s``, except
for a recording shorter than one window, which is one window).

How the thresholds were set and what they give (10-s windows, first lead unless stated, measured
with this module):

- clean MIT-BIH Arrhythmia records 100, 103, 117, 122: 100 % usable; all 48 records: 99.3 %;
  record 105 (the database's noisiest): 95.0 % usable;
- MIT-BIH Noise Stress Test noise records, both leads: electrode motion 'em' 11.6 % usable,
  muscle 'ma' 1.7 %, baseline wander 'bw' 0.8 % (these hold no ECG at all);
- the noise stress test's protocol (Moody, Muldrow & Mark 1984; 'em' or 'ma' added to clean
  records 100, 103, 117, 118, 119, 122 at the SNR that PhysioNet's ``nst`` defines): 'em' at
  -6 dB 13.0 % usable, at +12 dB 100 %; 'ma' at -6 dB 5.5 %, at +12 dB 80.5 %;
- MIT-BIH Malignant Ventricular Ectopy Database windows wholly inside ventricular fibrillation
  or flutter, both leads: 92.9 % usable, all through the organised-oscillation rule; ventricular
  tachycardia: 86.2 %.

The contrast and fraction thresholds were chosen on these same pooled data (clean records against
the pure noise records), not record by record.

References:
    Kligfield P, et al. Recommendations for the standardization and interpretation of the
    electrocardiogram, Part I. Circulation 2007;115:1306-1324.
    Thakor NV, Webster JG, Tompkins WJ. Estimation of QRS complex power spectra for design of a
    QRS filter. IEEE Trans Biomed Eng 1984;31(11):702-706.
    Li Q, Mark RG, Clifford GD. Robust heart rate estimation from multiple asynchronous noisy
    sources using signal quality indices and a Kalman filter. Physiol Meas 2008;29(1):15-32.
    Chen S, Thakor NV, Mower MM. Ventricular fibrillation detection by a regression test on the
    autocorrelation function. Med Biol Eng Comput 1987;25(3):241-249.
    Moody GB, Muldrow WE, Mark RG. A noise stress test for arrhythmia detectors. Computers in
    Cardiology 1984;11:381-384.

Example:
    >>> import numpy as np
    >>> fs = 360.0
    >>> phase = (np.arange(int(30 * fs)) / fs) % 1.0  # one beat a second: R and S waves
    >>> ecg = np.exp(-((phase - 0.5) ** 2) / 2e-4) - 0.3 * np.exp(-((phase - 0.53) ** 2) / 2e-4)
    >>> ecg[int(12 * fs) : int(17 * fs)] = 0.0  # 5 s of dropout
    >>> [(w.start_s, w.usable, w.reason) for w in signal_quality(ecg, fs)]
    [(0.0, True, None), (10.0, False, 'flat line'), (20.0, True, None)]
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

from pipeline.errors import EcgRateError, EcgSignalError, EcgTooShortError
from pipeline.validate import MIN_FS_HZ, MIN_PEAK_TO_PEAK_MV

FLAT_LINE = "flat line"
CLIPPING = "clipping"
LEAD_OFF = "lead off"
NOISE = "noise"

# A remainder shorter than half a window is merged into the window before it.
_MIN_LAST_WINDOW_FRACTION = 0.5

# Flat line: 2 s within 20 microvolts (the same peak-to-peak floor `pipeline.validate` applies to
# whole leads), checked in 0.2-s blocks.
_FLAT_BLOCK_S = 0.2
_FLAT_MIN_S = 2.0
# Lead off: the flat stretch sits at the lead's rail, or this far from the lead's median level.
_LEAD_OFF_OFFSET_MV = 1.0

# Clipping: this share of a window's samples at the lead's rails.
_CLIPPED_FRACTION = 0.10

# QRS contrast: 10-25 Hz (Thakor et al. 1984), RMS envelope over 100 ms (about a QRS complex).
_QRS_BAND_HZ = (10.0, 25.0)
_ENVELOPE_S = 0.100
_ENVELOPE_STEP_S = 0.010
_CONTRAST_PERCENTILES = (95.0, 50.0)
_MIN_QRS_CONTRAST = 4.5
# pSQI (Li, Mark & Clifford 2008): power at 5-15 Hz over power at 5-40 Hz.
_PSQI_NUMERATOR_HZ = (5.0, 15.0)
_PSQI_DENOMINATOR_HZ = (5.0, 40.0)
_MIN_QRS_POWER_FRACTION = 0.3

# Organised oscillation (VF, flutter): autocorrelation of the 1-20 Hz signal at 0.1-0.7 s lags
# (Chen, Thakor & Mower 1987), or a continuous, even 5-15 Hz oscillation.
_PERIODICITY_BAND_HZ = (1.0, 20.0)
_PERIODICITY_LAGS_S = (0.1, 0.7)
_AUTOCORRELATION_RATE_HZ = 100.0
_MIN_PERIODICITY = 0.5
_OSCILLATION_BAND_HZ = (5.0, 15.0)
_MAX_OSCILLATION_CONTRAST = 2.4
_MIN_OSCILLATION_ENVELOPE_MV = 0.020
_MIN_OSCILLATION_POWER_FRACTION = 0.8

_MIN_DURATION_S = 1.0


@dataclass(frozen=True)
class QualityWindow:
    """The signal quality of one window of one lead.

    Attributes:
        start_s, end_s: the window, seconds from the start of the recording.
        usable: whether heartbeats (or an organised ventricular rhythm) can be read in it.
        reason: None when usable; otherwise `LEAD_OFF`, `FLAT_LINE`, `CLIPPING` or `NOISE`.
        qrs_contrast: 95th over 50th percentile of the 10-25 Hz envelope (see the module);
            readable ECG scores 4.5 or more, noise 2-4.
        qrs_power_fraction: power at 5-15 Hz over power at 5-40 Hz (pSQI); muscle noise < 0.3.
        periodicity: the largest autocorrelation of the 1-20 Hz signal at lags of 0.1-0.7 s,
            after its first zero crossing (-1..1); high for flutter and fibrillation waves.
        organized_oscillation: usable only because it holds an organised oscillation without
            distinct QRS complexes (ventricular fibrillation or flutter look like this).
    """

    start_s: float
    end_s: float
    usable: bool
    reason: str | None
    qrs_contrast: float
    qrs_power_fraction: float
    periodicity: float
    organized_oscillation: bool


@dataclass(frozen=True)
class _LeadLevels:
    """What the flat-line and clipping checks compare a window with: the whole lead's levels."""

    lead_mv: np.ndarray
    rail_high_mv: float
    rail_low_mv: float

    @functools.cached_property
    def median_mv(self) -> float:
        """The lead's median level (computed only when a flat stretch needs it)."""
        return float(np.median(self.lead_mv))


def signal_quality(signal_mv: np.ndarray, fs: float, window_s: float = 10.0) -> tuple[QualityWindow, ...]:
    """The quality of each consecutive ``window_s`` window of one lead (see the module docstring).

    Args:
        signal_mv: one lead, 1-D, raw (not filtered), in millivolts; finite values only.
        fs: sampling rate, Hz (50 Hz or more).
        window_s: window length, s; the last window absorbs a remainder under half a window.

    Returns:
        One `QualityWindow` per window, in time order, covering the whole signal.

    Raises:
        EcgRateError: ``fs`` is not a number of at least 50 Hz.
        EcgTooShortError: the signal lasts less than 1 s.
        EcgSignalError: the signal is not one lead, or has missing (non-finite) values.
        ValueError: ``window_s`` is not a positive number.
    """
    x = _lead_checked(signal_mv, fs)
    fs = float(fs)
    if not (math.isfinite(window_s) and window_s > 0):
        raise ValueError(f"window_s must be a positive number of seconds, not {window_s!r}")
    bounds = _window_bounds(x.size, fs, window_s)
    levels = _LeadLevels(x, float(x.max()), float(x.min()))

    qrs_envelope, step = _envelope(x, fs, _QRS_BAND_HZ)
    oscillation_envelope, _ = _envelope(x, fs, _OSCILLATION_BAND_HZ)
    flat_blocks, block = _flat_blocks(x, fs)
    at_rail = (x == levels.rail_high_mv) | (x == levels.rail_low_mv)
    indices = _window_indices(x, fs, bounds, qrs_envelope, oscillation_envelope, step)

    windows = []
    for (start, stop), (contrast, fraction, periodicity, oscillating) in zip(bounds, indices, strict=True):
        reason = _flat_reason(x, flat_blocks, block, start, stop, fs, levels)
        if reason is None and np.count_nonzero(at_rail[start:stop]) >= _CLIPPED_FRACTION * (stop - start):
            reason = CLIPPING
        readable = contrast >= _MIN_QRS_CONTRAST and fraction >= _MIN_QRS_POWER_FRACTION
        if reason is None and not (readable or oscillating):
            reason = NOISE
        windows.append(
            QualityWindow(
                start_s=start / fs,
                end_s=stop / fs,
                usable=reason is None,
                reason=reason,
                qrs_contrast=contrast,
                qrs_power_fraction=fraction,
                periodicity=periodicity,
                organized_oscillation=reason is None and not readable and oscillating,
            )
        )
    return tuple(windows)


def _lead_checked(signal_mv: np.ndarray, fs: float) -> np.ndarray:
    """``signal_mv`` as float64 after checking it is one finite lead of at least 1 s at ``fs``."""
    if not (np.isfinite(fs) and fs >= MIN_FS_HZ):
        raise EcgRateError(
            f"The sampling rate ({fs} samples per second) is too low to judge the signal quality; "
            f"at least {MIN_FS_HZ:.0f} are needed."
        )
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim == 2 and 1 in x.shape:
        x = x.ravel()
    if x.ndim != 1:
        raise EcgSignalError("Signal quality is judged one lead at a time; this signal holds several.")
    if x.size < _MIN_DURATION_S * fs:
        raise EcgTooShortError(
            f"The signal lasts {x.size / fs:.2f} seconds; at least one second is needed to judge its quality."
        )
    if not np.isfinite(x).all():
        raise EcgSignalError("The signal has missing or invalid values; its quality cannot be judged.")
    return x


def _window_bounds(n_samples: int, fs: float, window_s: float) -> list[tuple[int, int]]:
    """(start, stop) sample pairs of consecutive windows covering ``n_samples``."""
    length = max(1, round(window_s * fs))
    n_full = n_samples // length
    if n_full == 0:
        return [(0, n_samples)]
    remainder = n_samples - n_full * length
    starts = [k * length for k in range(n_full)]
    if remainder >= _MIN_LAST_WINDOW_FRACTION * length:
        starts.append(n_full * length)
    return list(zip(starts, starts[1:] + [n_samples], strict=True))


def _envelope(x: np.ndarray, fs: float, band_hz: tuple[float, float]) -> tuple[np.ndarray, int]:
    """The RMS envelope (over `_ENVELOPE_S`) of ``x`` band-passed to ``band_hz``, mV, sampled every
    ``step`` samples (about 10 ms: enough for its percentiles); returns it and ``step``.

    One forward pass of the filter: the envelope's percentiles do not depend on its phase.
    """
    low, high = band_hz
    sos = signal.butter(2, (low, min(high, 0.45 * fs)), btype="bandpass", fs=fs, output="sos")
    filtered = signal.sosfilt(sos, x)
    step = max(1, round(_ENVELOPE_STEP_S * fs))
    blocks_per_window = max(1, round(_ENVELOPE_S / (step / fs)))
    # Energy in blocks of ``step`` samples, then in windows of ``blocks_per_window`` blocks centred
    # on each block (shorter at the edges): a moving RMS sampled once a block.
    n_blocks = -(-x.size // step)
    squared = np.zeros(n_blocks * step)
    squared[: x.size] = filtered * filtered
    energy = np.concatenate(([0.0], np.cumsum(squared.reshape(n_blocks, step).sum(axis=1))))
    centres = np.arange(n_blocks)
    lo = np.clip(centres - blocks_per_window // 2, 0, n_blocks)
    hi = np.clip(centres + blocks_per_window - blocks_per_window // 2, 0, n_blocks)
    power = (energy[hi] - energy[lo]) / ((hi - lo) * step)
    return np.sqrt(np.maximum(power, 0.0)), step


def _contrast(envelope: np.ndarray) -> np.ndarray:
    """95th over 50th percentile of each row of envelopes; 0 where the median is zero (no signal)."""
    high, middle = np.percentile(envelope, _CONTRAST_PERCENTILES, axis=-1)
    return np.where(middle > 0, high / np.where(middle > 0, middle, 1.0), 0.0)


def _flat_blocks(x: np.ndarray, fs: float) -> tuple[np.ndarray, int]:
    """Per `_FLAT_BLOCK_S` block, whether it stays within the flat-line band; and the block length."""
    block = max(1, round(_FLAT_BLOCK_S * fs))
    n_blocks = x.size // block
    blocks = x[: n_blocks * block].reshape(n_blocks, block)
    return np.ptp(blocks, axis=1) < MIN_PEAK_TO_PEAK_MV, block


def _flat_reason(
    x: np.ndarray,
    flat_blocks: np.ndarray,
    block: int,
    start: int,
    stop: int,
    fs: float,
    levels: _LeadLevels,
) -> str | None:
    """`LEAD_OFF` or `FLAT_LINE` when a flat stretch of `_FLAT_MIN_S` overlaps the window, else None."""
    window = x[start:stop]
    if np.ptp(window) < MIN_PEAK_TO_PEAK_MV:
        return _flat_kind(float(np.median(window)), levels)
    min_blocks = math.ceil(_FLAT_MIN_S * fs / block)
    first = start // block
    last = min(flat_blocks.size, -(-stop // block))
    # Look beyond the window by a stretch's length, so a stretch that starts in the window before
    # still counts here.
    lo, hi = max(0, first - min_blocks), min(flat_blocks.size, last + min_blocks)
    flags = flat_blocks[lo:hi]
    if not flags.any():
        return None
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    run_starts, run_stops = np.flatnonzero(edges == 1) + lo, np.flatnonzero(edges == -1) + lo
    for run_start, run_stop in zip(run_starts, run_stops, strict=True):
        if run_stop - run_start >= min_blocks and run_stop > first and run_start < last:
            level = float(np.median(x[run_start * block : run_stop * block]))
            return _flat_kind(level, levels)
    return None


def _flat_kind(level_mv: float, levels: _LeadLevels) -> str:
    """A flat stretch at ``level_mv`` is a lead off at a rail or after a step, else a flat line."""
    at_rail = (
        min(abs(level_mv - levels.rail_high_mv), abs(level_mv - levels.rail_low_mv)) < MIN_PEAK_TO_PEAK_MV
    )
    stepped = abs(level_mv - levels.median_mv) > _LEAD_OFF_OFFSET_MV
    return LEAD_OFF if at_rail or stepped else FLAT_LINE


def _window_indices(
    x: np.ndarray,
    fs: float,
    bounds: list[tuple[int, int]],
    qrs_envelope: np.ndarray,
    oscillation_envelope: np.ndarray,
    step: int,
) -> list[tuple[float, float, float, bool]]:
    """Per window: QRS contrast, QRS power fraction, periodicity and whether it is an organised
    oscillation. Windows of equal length are computed together, as rows of one array."""
    out: list[tuple[float, float, float, bool]] = []
    lengths = [stop - start for start, stop in bounds]
    k = 0
    while k < len(bounds):
        same = k
        while same < len(bounds) and lengths[same] == lengths[k]:
            same += 1
        starts = np.array([start for start, _ in bounds[k:same]])
        length = lengths[k]
        windows = x[starts[:, None] + np.arange(length)]
        first, count = starts // step, max(1, length // step)
        envelope_rows = np.minimum(first[:, None] + np.arange(count), qrs_envelope.size - 1)
        contrast = _contrast(qrs_envelope[envelope_rows])
        oscillation = oscillation_envelope[envelope_rows]
        fraction, periodicity = _spectral_indices(windows, fs)
        organised = (periodicity >= _MIN_PERIODICITY) | (
            (np.median(oscillation, axis=1) >= _MIN_OSCILLATION_ENVELOPE_MV)
            & (_contrast(oscillation) < _MAX_OSCILLATION_CONTRAST)
            & (fraction >= _MIN_OSCILLATION_POWER_FRACTION)
        )
        out += [
            (float(c), float(f), float(p), bool(o))
            for c, f, p, o in zip(contrast, fraction, periodicity, organised, strict=True)
        ]
        k = same
    return out


def _spectral_indices(windows_mv: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Each window's (row's) QRS power fraction (pSQI) and periodicity, from one zero-padded FFT."""
    n = windows_mv.shape[1]
    spectrum = np.fft.rfft(windows_mv - windows_mv.mean(axis=1, keepdims=True), 2 * n, axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    frequency = np.fft.rfftfreq(2 * n, 1.0 / fs)

    def band_power(band_hz: tuple[float, float]) -> np.ndarray:
        low, high = band_hz
        return power[:, (frequency >= low) & (frequency < high)].sum(axis=1)

    total = band_power(_PSQI_DENOMINATOR_HZ)
    fraction = band_power(_PSQI_NUMERATOR_HZ) / np.where(total > 0, total, 1.0)

    # Autocorrelation of the 1-20 Hz signal: the inverse FFT of its power spectrum (Wiener-Khinchin).
    low, high = _PERIODICITY_BAND_HZ
    banded = np.where((frequency >= low) & (frequency <= high), power, 0.0)
    # The band ends at 20 Hz, so the autocorrelation is computed at a lag step of 1/100 s (the
    # inverse FFT of the spectrum's first bins only): 5 times finer than its fastest oscillation.
    kept_bins = min(power.shape[1], int(np.searchsorted(frequency, _AUTOCORRELATION_RATE_HZ / 2)) + 1)
    lag_rate = 2 * (kept_bins - 1) / (2 * n) * fs
    max_lag = min(round(_PERIODICITY_LAGS_S[1] * lag_rate), round((n - 1) / fs * lag_rate))
    autocorrelation = np.fft.irfft(banded[:, :kept_bins], 2 * (kept_bins - 1), axis=1)[:, : max_lag + 1]
    zero_lag = autocorrelation[:, :1]
    lags = np.arange(max_lag + 1)
    # Normalised, and unbiased: each lag divided by the number of sample pairs it has.
    pairs = n - lags * (fs / lag_rate)
    autocorrelation = autocorrelation / np.where(zero_lag > 0, zero_lag, 1.0) * n / pairs
    # The peak after the first zero crossing: periodicity, not mere smoothness.
    below_zero = autocorrelation < 0
    first = np.where(below_zero.any(axis=1), below_zero.argmax(axis=1), max_lag + 1)
    first = np.maximum(first, round(_PERIODICITY_LAGS_S[0] * lag_rate))
    masked = np.where(lags[None, :] >= first[:, None], autocorrelation, -1.0)
    periodicity = np.where((zero_lag[:, 0] > 0) & (first <= max_lag), masked.max(axis=1), 0.0)
    return fraction, periodicity
