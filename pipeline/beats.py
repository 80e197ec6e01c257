"""Flag ectopic beats: which R peaks are not normally conducted beats of the dominant rhythm.

`ectopic_beats` takes one lead and its R peaks and returns, per beat, True where the beat is
ectopic, so that heart rate variability can leave it out of its normal-to-normal (NN) intervals.
`classify_beats` returns the same flags with the measurements behind them. Two tests make a beat
ectopic; either is enough:

1. **Different shape** (ventricular beats, fusion beats, aberrant conduction, artefacts taken for
   beats). Each beat is compared with the lead's *dominant template*, the median shape of the
   beats around it that look alike:

   - Each beat is a window of +-100 ms (the widest normal QRS complex is 120 ms) of the
     0.5-40 Hz signal, sampled at about 120 Hz (QRS complexes hold little above 40 Hz), centred
     on the beat's *energy centroid* (the centre of mass of the squared slope) rather than on the
     R peak: where R and S waves are about equal, the R-peak fiducial jumps between them by
     30-60 ms from beat to beat (MIT-BIH records 108, 114), and shapes compared off-centre do not
     match.
   - The dominant template starts as the medoid of the record's largest cluster of alike beats
     (correlation above 0.9 with the most beats) and is then *tracked* through the record in
     blocks of 32 beats, both ways from there: in each block, the median of the neighbouring
     beats (up to 64 beats each side) that correlate best with the previous template. A
     template that follows the beats copes with slow changes of shape (posture, electrode drift:
     record 114) and stays with the normal beats where ectopic beats are frequent (record 208:
     a third of its beats are ventricular or fusion beats; a template rebuilt from scratch in
     each block took the ventricular cluster there).
   - A beat's shape differs when its correlation with the template is below 0.7, or below 0.9
     while it is more than 1.4 times as wide (the RMS width of its squared slope: ventricular
     beats are wide, over 120 ms, against 80-100 ms for conducted beats).

2. **Premature** (atrial, junctional and ventricular premature beats whose shape looks normal):
   the RR interval before the beat is shorter than 85 % of the reference RR interval, the
   running median of the 33 surrounding RR intervals between beats of normal shape. This test is
   applied only where the rhythm is regular: where the median deviation of those RR intervals
   from their reference is 6 % or more, the beat's prematurity is not judged. In atrial
   fibrillation every interval is irregular, HRV is not meaningful, and a prematurity rule would
   flag a large share of the beats; there only the shape test applies (``irregular_rhythm``
   marks those beats).

The thresholds were set on the 44 non-paced records of the MIT-BIH Arrhythmia Database (lead 0,
our own R peaks, pooled), against its reference beat labels, with V, A, a, J, S, F and E as
ectopic and N, L, R, e and j (normal, bundle branch block and escape beats: conducted or dominant
rhythm) as normal; paced records 102, 104, 107 and 217 were left out (their dominant beats are
paced). Pooled there: 95 % of ventricular beats (V) and 39 % of fusion beats (F) are flagged,
2.5 % of normal beats, 0.5 % of normal beats in atrial fibrillation or flutter by prematurity;
all ectopic labels together: sensitivity 71.5 %, positive predictivity 76.5 % (most misses are
the atrial beats below).
What is not caught: premature atrial beats that are hardly premature (record 232's ectopic atrial
rhythm: its "A" beats are the rhythm itself, at RR ratios of 0.93-1.02) and runs of
supraventricular tachycardia longer than the reference window (record 209). Where beats of two
normal shapes alternate (record 212's intermittent right bundle branch block), the less frequent
shape is flagged too: for HRV this costs intervals, not accuracy.

Choices against the literature: the prematurity threshold of 85 % is stricter than the 20 %
deviation often used to edit RR series for HRV (Malik et al. 1989; 80 %); on the database it
found more premature atrial beats for few more false flags (0.3 % of normal beats).

References:
    Hamilton P. Open source ECG analysis. Computers in Cardiology 2002;29:101-104 (beat
    classification by template matching against the dominant beat, width and prematurity).
    de Chazal P, O'Dwyer M, Reilly RB. Automatic classification of heartbeats using ECG
    morphology and heartbeat interval features. IEEE Trans Biomed Eng 2004;51(7):1196-1206.
    Malik M, Farrell T, Cripps T, Camm AJ. Heart rate variability in relation to prognosis after
    myocardial infarction: selection of optimal processing techniques. Eur Heart J
    1989;10(12):1060-1074.
    Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol
    2001;20(3):45-50.

Example:
    >>> import numpy as np
    >>> fs = 360.0
    >>> t = np.arange(int(20 * fs)) / fs
    >>> beats = np.arange(0.5, 19.5, 1.0)
    >>> beats[10] -= 0.4  # one beat comes 400 ms early
    >>> ecg = sum(np.exp(-((t - b) ** 2) / (2 * 0.01**2)) for b in beats)
    >>> np.flatnonzero(ectopic_beats(ecg, fs, np.round(beats * fs).astype(int))).tolist()
    [10]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from pipeline.errors import EcgRateError, EcgSignalError
from pipeline.running import running_median
from pipeline.validate import MIN_FS_HZ

# The beat window: +-100 ms around the energy centroid, 0.5-40 Hz (the monitoring band), sampled
# at about 120 Hz.
_BAND_HZ = (0.5, 40.0)
_HALF_WINDOW_S = 0.100
_WORK_RATE_HZ = 120.0
_CENTROID_ITERATIONS = 2

# The dominant template (see the module docstring).
_ALIKE_CORRELATION = 0.9
_TRACKING_FLOOR_CORRELATION = 0.7
_GLOBAL_SAMPLE_BEATS = 256
_BLOCK_BEATS = 32
_REACH_BEATS = 64
_BLOCK_SAMPLE_BEATS = 96
_MIN_TEMPLATE_BEATS = 8

# Shape tests, set on the MIT-BIH Arrhythmia Database (module docstring).
_DIFFERENT_CORRELATION = 0.7
_WIDE_CORRELATION = 0.9
_WIDE_RATIO = 1.4

# Prematurity: RR under 85 % of the median of 33 surrounding RR intervals, judged only where those
# deviate from their median by less than 6 % (median absolute deviation ratio).
_PREMATURE_RATIO = 0.85
_REFERENCE_INTERVALS = 33
_MAX_REGULAR_DEVIATION = 0.06

# Fewer beats than this leave no dominant beat to compare with: none is flagged.
_MIN_BEATS = 3


@dataclass(frozen=True)
class BeatClasses:
    """Per R peak: whether the beat is ectopic, and the measurements that decided it.

    Attributes:
        ectopic: True where the beat is not a normally conducted beat of the dominant rhythm
            (``different_shape | premature``).
        different_shape: the QRS shape differs from the dominant template.
        premature: the beat comes early in a regular rhythm.
        irregular_rhythm: the local rhythm is too irregular for prematurity to be judged (atrial
            fibrillation, frequent ectopy); only the shape test applied.
        correlation: Pearson correlation of the beat with the dominant template (-1..1).
        width_ratio: the beat's QRS width over the template's (RMS width of the squared slope).
        rr_ratio: the RR interval before the beat over the reference RR interval (NaN for the
            first beat).
    """

    ectopic: np.ndarray
    different_shape: np.ndarray
    premature: np.ndarray
    irregular_rhythm: np.ndarray
    correlation: np.ndarray
    width_ratio: np.ndarray
    rr_ratio: np.ndarray


def ectopic_beats(signal_mv: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray:
    """Per R peak, True where the beat is ectopic (see the module docstring).

    Args:
        signal_mv: one lead, 1-D, raw or cleaned, in millivolts; finite values only.
        fs: sampling rate, Hz.
        r_peaks: sample indices of the R peaks in ``signal_mv``, increasing.

    Returns:
        A bool array with one value per R peak.

    Raises:
        EcgRateError, EcgSignalError: see `classify_beats`.
    """
    return classify_beats(signal_mv, fs, r_peaks).ectopic


def classify_beats(signal_mv: np.ndarray, fs: float, r_peaks: np.ndarray) -> BeatClasses:
    """The ectopic flags of `ectopic_beats` with the shape and timing measurements behind them.

    Raises:
        EcgRateError: ``fs`` is not a number of at least 50 Hz.
        EcgSignalError: the signal is not one finite lead.
        ValueError: ``r_peaks`` are not increasing sample indices inside the signal.
    """
    x = _lead_checked(signal_mv, fs)
    fs = float(fs)
    peaks = _peaks_checked(r_peaks, x.size)
    n = peaks.size
    if n < _MIN_BEATS:
        no = np.zeros(n, dtype=bool)
        return BeatClasses(no, no, no, no, np.ones(n), np.ones(n), np.full(n, np.nan))

    windows = _beat_windows(x, fs, peaks)
    normalised = _normalised(windows)
    templates = _tracked_templates(windows, normalised)
    correlation = np.einsum("ij,ij->i", normalised, _normalised(templates))
    width_ratio = _rms_width(windows) / np.maximum(_rms_width(templates), 1e-12)
    different_shape = (correlation < _DIFFERENT_CORRELATION) | (
        (correlation < _WIDE_CORRELATION) & (width_ratio > _WIDE_RATIO)
    )
    rr_ratio, irregular = _prematurity(peaks, different_shape)
    premature = (rr_ratio < _PREMATURE_RATIO) & ~irregular
    return BeatClasses(
        ectopic=different_shape | premature,
        different_shape=different_shape,
        premature=premature,
        irregular_rhythm=irregular,
        correlation=correlation,
        width_ratio=width_ratio,
        rr_ratio=rr_ratio,
    )


def _lead_checked(signal_mv: np.ndarray, fs: float) -> np.ndarray:
    if not (np.isfinite(fs) and fs >= MIN_FS_HZ):
        raise EcgRateError(
            f"The sampling rate ({fs} samples per second) is too low to compare heartbeats; "
            f"at least {MIN_FS_HZ:.0f} are needed."
        )
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim == 2 and 1 in x.shape:
        x = x.ravel()
    if x.ndim != 1:
        raise EcgSignalError("Heartbeats are compared in one lead at a time; this signal holds several.")
    if not np.isfinite(x).all():
        raise EcgSignalError("The signal has missing or invalid values; its heartbeats cannot be compared.")
    return x


def _peaks_checked(r_peaks: np.ndarray, n_samples: int) -> np.ndarray:
    peaks = np.asarray(r_peaks)
    if peaks.ndim != 1 or (peaks.size and not np.issubdtype(peaks.dtype, np.integer)):
        raise ValueError("r_peaks must be a 1-D array of sample indices")
    peaks = peaks.astype(np.int64)
    if peaks.size and (peaks[0] < 0 or peaks[-1] >= n_samples or np.any(np.diff(peaks) <= 0)):
        raise ValueError("r_peaks must be increasing sample indices inside the signal")
    return peaks


def _beat_windows(x: np.ndarray, fs: float, peaks: np.ndarray) -> np.ndarray:
    """One row per beat: +-`_HALF_WINDOW_S` of the 0.5-40 Hz signal around its energy centroid,
    sampled every ``round(fs / 120 Hz)`` samples."""
    low, high = _BAND_HZ
    sos = signal.butter(2, (low, min(high, 0.45 * fs)), btype="bandpass", fs=fs, output="sos")
    filtered = signal.sosfiltfilt(sos, x)
    half = max(1, round(_HALF_WINDOW_S * fs))
    slope_energy = np.gradient(filtered) ** 2
    offsets = np.arange(-half, half + 1)
    centres = peaks.copy()
    for _ in range(_CENTROID_ITERATIONS):
        energy = _rows(slope_energy, centres, half)
        total = energy.sum(axis=1)
        shift = np.where(total > 0, energy @ offsets / np.where(total > 0, total, 1.0), 0.0)
        centres = np.clip(centres + np.round(shift).astype(np.int64), 0, x.size - 1)
    step = max(1, round(fs / _WORK_RATE_HZ))
    return _rows(filtered, centres, half)[:, ::step]


def _rows(y: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """``y[c - half : c + half + 1]`` for each centre ``c``, edge values repeated beyond the ends."""
    padded = np.pad(y, half, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)[centres]


def _normalised(rows: np.ndarray) -> np.ndarray:
    """Rows with zero mean and unit norm, so that a dot product is a Pearson correlation."""
    centred = rows - rows.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(centred, axis=1, keepdims=True)
    return centred / np.where(norm > 0, norm, 1.0)


def _tracked_templates(windows: np.ndarray, normalised: np.ndarray) -> np.ndarray:
    """The dominant template in force at each beat (one row per beat; see the module docstring)."""
    n = windows.shape[0]
    sample = np.unique(np.linspace(0, n - 1, min(_GLOBAL_SAMPLE_BEATS, n)).astype(np.int64))
    alike = normalised[sample] @ normalised[sample].T > _ALIKE_CORRELATION
    medoid = int(np.argmax(alike.sum(axis=1)))
    initial = np.median(windows[sample[alike[medoid]]], axis=0)

    templates = np.empty_like(windows)
    n_blocks = -(-n // _BLOCK_BEATS)
    start_block = min(int(sample[medoid]) // _BLOCK_BEATS, n_blocks - 1)

    def track(block: int, previous: np.ndarray) -> np.ndarray:
        first = block * _BLOCK_BEATS
        lo, hi = max(0, first - _REACH_BEATS), min(n, first + _BLOCK_BEATS + _REACH_BEATS)
        neighbours = np.unique(np.linspace(lo, hi - 1, min(_BLOCK_SAMPLE_BEATS, hi - lo)).astype(np.int64))
        correlation = normalised[neighbours] @ _normalised(previous[None, :])[0]
        # The neighbours most like the previous template: all above 0.9, or the better half when
        # fewer are (the shape is drifting), never below 0.7 (those are other shapes).
        threshold = max(_TRACKING_FLOOR_CORRELATION, min(_ALIKE_CORRELATION, float(np.median(correlation))))
        members = neighbours[correlation > threshold]
        current = np.median(windows[members], axis=0) if members.size >= _MIN_TEMPLATE_BEATS else previous
        templates[first : first + _BLOCK_BEATS] = current
        return current

    current = initial
    for block in range(start_block, n_blocks):
        current = track(block, current)
    current = templates[start_block * _BLOCK_BEATS]
    for block in range(start_block - 1, -1, -1):
        current = track(block, current)
    return templates


def _rms_width(rows: np.ndarray) -> np.ndarray:
    """Per row, the RMS width (in samples) of its squared slope around its centre of mass."""
    energy = np.gradient(rows, axis=1) ** 2
    t = np.arange(rows.shape[1], dtype=np.float64)
    total = np.maximum(energy.sum(axis=1), 1e-30)
    mean = energy @ t / total
    return np.sqrt(np.maximum(energy @ (t * t) / total - mean * mean, 0.0))


def _prematurity(peaks: np.ndarray, different_shape: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per beat: the RR interval before it over the reference RR, and whether the rhythm around
    it is too irregular to judge prematurity."""
    rr = np.diff(peaks).astype(np.float64)
    # Interval k ends at beat k + 1; the reference uses intervals between beats of normal shape.
    normal_pair = ~different_shape[1:] & ~different_shape[:-1]
    if np.count_nonzero(normal_pair) < _MIN_BEATS:
        normal_pair = np.ones_like(normal_pair)
    kept = np.flatnonzero(normal_pair)
    reference = running_median(rr[kept], _REFERENCE_INTERVALS)
    deviation = running_median(np.abs(rr[kept] / reference - 1.0), _REFERENCE_INTERVALS)
    nearest = np.clip(np.searchsorted(kept, np.arange(rr.size)), 0, kept.size - 1)
    rr_ratio = np.concatenate(([np.nan], rr / reference[nearest]))
    irregular = np.concatenate(([False], deviation[nearest] >= _MAX_REGULAR_DEVIATION))
    return rr_ratio, irregular
