"""Heart rate and heart rate variability (HRV) from R peaks.

**Heart rate** counts every beat, normal or ectopic, in the usable parts of the recording: an RR
interval counts when both its beats are included (``include``: the caller's mask, False for beats
in unusable-quality windows); an interval across an excluded stretch does not.

- `heart_rate_series`: the heart rate at each beat, as the running median of the 9 RR intervals
  around it (about 8 s at 70 per minute), within each uninterrupted run of intervals; near a
  run's ends, of the 5 to 8 intervals the run has there (not the edge interval repeated, which
  let one false beat at the end of a usable stretch read 1,071 per minute until December 2026).
  A single missed or false beat changes one or two RR intervals and cannot move a median of 9; bedside
  monitors likewise show a rate averaged over several beats (ANSI/AAMI EC13 asks that the
  averaging be disclosed). Runs of fewer than 3 intervals give no value: a median of 1 or 2
  intervals is not robust to one artefact.
- `heart_rate_summary`: mean = 60 000 / mean RR (ms) over all counted intervals, which equals the
  number of beats per minute of counted time; minimum and maximum of `heart_rate_series`.

**HRV** follows the Task Force of the ESC and NASPE (1996). Only normal-to-normal (NN) intervals
count: both beats normal (not ``ectopic``), both included, the interval physiologically
plausible (300-2000 ms, 30-200 per minute; a longer one is a pause or a missed beat, a shorter one
a false beat), and not an outlier among its neighbours: an interval further from the median of the
11 around it than 6 quartile deviations of such deviations (over the 91 around it) and than 15 % of
that median is left out. This is the time-varying threshold of Lipponen & Tarvainen (2019; they
use 5.2 quartile deviations with a pattern classifier, we use 6 without it), with Malik et al.'s
(1989) classic 20 % rule as a floor at 15 %. It catches the ectopic beats whose shape and timing
escaped `pipeline.beats` and the beats the detector missed or added, which otherwise dominate
SDNN and RMSSD: on 17 MIT-BIH records with frequent ectopy or atrial fibrillation, the median
error against the reference N-to-N intervals falls from 9.2 to 5.6 ms (SDNN) and from 13.7 to
4.1 ms (RMSSD). Its price is in strong sinus arrhythmia, where true intervals can be that far
from their neighbours: records 113 and 115 (RMSSD 94 and 74 ms) lose 5.6 and 6.5 ms of RMSSD
(6-9 %).

- Time domain: mean NN; SDNN (standard deviation of NN intervals, n - 1); RMSSD (root mean square
  of the differences between adjacent NN intervals, i.e. two NN intervals sharing a beat); pNN50
  (the share of adjacent NN pairs differing by more than 50 ms, in %: the Task Force divides by
  the number of NN intervals, which for an uninterrupted series is the number of pairs plus one;
  where ectopic beats interrupt the series, only pairs can be compared, so we divide by those, as
  NeuroKit2 nearly does). At least 5 NN intervals are needed.
- Poincare plot (Brennan, Palaniswami & Kamen 2001): SD1 and SD2, the standard deviations (n - 1)
  of (NN_k - NN_k+1) / sqrt 2 and (NN_k + NN_k+1) / sqrt 2 over adjacent pairs.
- Frequency domain: LF (0.04-0.15 Hz) and HF (0.15-0.4 Hz) power, ms^2, and LF/HF. The NN series
  is interpolated at 4 Hz with a cubic spline (across gaps of up to 5 s, where ectopic beats were
  left out; longer gaps split it into pieces) and its power spectrum estimated with Welch's method
  (Hann windows, 50 % overlap, mean removed per window, zero-padded to twice its length for a finer
  frequency grid at the band edges). Windows are 5 minutes long, the Task
  Force's standard for short-term HRV, so a long recording gives the average of 5-minute spectra;
  when no uninterrupted piece lasts 5 minutes, the longest piece is one window. The Task Force
  asks for about 1 minute to assess HF and 2 minutes for LF (ten periods of the band's lowest
  frequency would be 4 minutes; the guideline's own figure is 2); below 2 minutes of
  uninterrupted NN intervals, LF and HF are None and ``frequency_reason`` says why.

A value that cannot be measured is None, never a made-up number, and the ``*_reason`` fields say
why in words a nurse can read. HRV assumes sinus rhythm: in atrial fibrillation RR intervals are
not set by the autonomic nervous system, and the caller should exclude such episodes (``include``).
Where the rhythm is not known, ``irregular`` (per beat: `pipeline.beats.BeatClasses.irregular_rhythm`,
the local RR intervals deviate from their reference by 6 % or more) gives ``irregular_pct``, and
when more than half of the included beats lie in an irregular rhythm, ``caution`` says that HRV
is defined for sinus rhythm and the rhythm must be checked before it is read. The values are
still given: the share does not tell AF from frequent ectopy or marked sinus arrhythmia. On the
MIT-BIH Arrhythmia Database the share exceeds one half in every record with atrial fibrillation
or flutter on most of its beats (201, 203, 210, 219, 221, 222: 64-100 %) and in two records with
ventricular bigeminy (106, 200: 55 %); the strongest sinus arrhythmias (123, 113) reach 48 and
31 %, every other sinus record 18 % at most.

How it was validated (tests/pipeline/test_hrv.py): SDNN, RMSSD, pNN50, SD1, SD2 and the band
powers agree with NeuroKit2 (``hrv_time``, ``hrv_nonlinear``, ``hrv_frequency``) on the same NN
series; and HRV from our R peaks and ectopic flags agrees with HRV from the MIT-BIH reference
annotations' N-to-N intervals.

References:
    Task Force of the European Society of Cardiology and the North American Society of Pacing
    and Electrophysiology. Heart rate variability: standards of measurement, physiological
    interpretation and clinical use. Circulation 1996;93(5):1043-1065.
    Lipponen JA, Tarvainen MP. A robust algorithm for heart rate variability time series artefact
    correction using novel beat classification. J Med Eng Technol 2019;43(3):173-181.
    Malik M, Farrell T, Cripps T, Camm AJ. Heart rate variability in relation to prognosis after
    myocardial infarction: selection of optimal processing techniques. Eur Heart J
    1989;10(12):1060-1074.
    Brennan M, Palaniswami M, Kamen P. Do existing measures of Poincare plot geometry reflect
    nonlinear features of heart rate variability? IEEE Trans Biomed Eng 2001;48(11):1342-1347.
    Welch PD. The use of fast Fourier transform for the estimation of power spectra. IEEE Trans
    Audio Electroacoust 1967;15(2):70-73.
    ANSI/AAMI EC13:2002, Cardiac monitors, heart rate meters, and alarms.

Example:
    >>> import numpy as np
    >>> fs = 360.0
    >>> peaks = np.round(np.arange(0, 600, 0.8) * fs).astype(int)  # 75 per minute for 10 min
    >>> heart_rate_summary(peaks, fs).mean_bpm
    75.0
    >>> hrv = hrv_measure(peaks, fs)
    >>> hrv.nn_count, round(hrv.sdnn_ms, 6), hrv.frequency_reason
    (749, 0.0, None)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import interpolate
from scipy import signal as sp_signal

from pipeline.running import running_median, running_percentile

# Heart rate: running median of 9 RR intervals; runs shorter than 3 intervals give no value.
_HR_MEDIAN_INTERVALS = 9
_HR_MIN_RUN_INTERVALS = 3

# NN intervals: 300-2000 ms (200-30 per minute).
_MIN_NN_MS = 300.0
_MAX_NN_MS = 2000.0
_MIN_NN_TIME_DOMAIN = 5
# Artefact filter (Lipponen & Tarvainen 2019's time-varying threshold): an NN interval further from
# the median of the 11 around it than 6 quartile deviations of those deviations over the 91 around
# it, and than 15 % of that median (Malik et al. 1989 edit at 20 %), is left out.
_ARTEFACT_MEDIAN_INTERVALS = 11
_ARTEFACT_SPREAD_INTERVALS = 91
_ARTEFACT_QUARTILE_DEVIATIONS = 6.0
_ARTEFACT_MIN_FRACTION = 0.15

# Frequency domain (Task Force 1996): bands, 4 Hz resampling, 5-minute Welch windows, at least
# 2 minutes of uninterrupted NN intervals; gaps of up to 5 s are interpolated.
LF_BAND_HZ = (0.04, 0.15)
HF_BAND_HZ = (0.15, 0.40)
_RESAMPLE_HZ = 4.0
_WELCH_WINDOW_S = 300.0
_MIN_SPECTRUM_S = 120.0
_MAX_INTERPOLATED_GAP_S = 5.0


@dataclass(frozen=True)
class HeartRate:
    """Heart rate over the counted (included) RR intervals, beats per minute; None without any.

    Attributes:
        mean_bpm: 60 000 / mean RR interval (ms).
        min_bpm, max_bpm: extremes of the 9-interval running median (`heart_rate_series`).
        interval_count: the RR intervals counted.
    """

    mean_bpm: float | None
    min_bpm: float | None
    max_bpm: float | None
    interval_count: int = 0


@dataclass(frozen=True)
class Hrv:
    """Heart rate variability from NN intervals (see the module docstring); None where not measurable.

    Attributes:
        mean_nn_ms, sdnn_ms, rmssd_ms, pnn50_pct: Task Force time-domain measures.
        lf_ms2, hf_ms2, lf_hf: LF (0.04-0.15 Hz) and HF (0.15-0.4 Hz) power and their ratio.
        sd1_ms, sd2_ms: Poincare plot standard deviations.
        nn_count: the NN intervals used.
        frequency_reason: why LF/HF are None; None when they were computed.
        time_reason: why the time-domain (and Poincare) values are None; None when computed.
        spectrum_s: the NN time the spectrum was estimated from, s (0 when not computed).
        irregular_pct: the share of included beats in an irregular rhythm, %; None when not given.
        caution: a warning for the reader when most beats lie in an irregular rhythm, else None.
    """

    mean_nn_ms: float | None
    sdnn_ms: float | None
    rmssd_ms: float | None
    pnn50_pct: float | None
    lf_ms2: float | None
    hf_ms2: float | None
    lf_hf: float | None
    sd1_ms: float | None
    sd2_ms: float | None
    nn_count: int
    frequency_reason: str | None
    time_reason: str | None
    spectrum_s: float = 0.0
    irregular_pct: float | None = None
    caution: str | None = None


def heart_rate_series(
    r_peaks: np.ndarray, fs: float, include: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The heart rate at each counted beat, for a trend plot (see the module docstring).

    Args:
        r_peaks: sample indices of the R peaks, increasing.
        fs: sampling rate, Hz.
        include: per beat, False to leave it out (unusable signal); None includes all.
        irregular: per beat, True where the local rhythm is irregular
            (`pipeline.beats.BeatClasses.irregular_rhythm`); None: not known.

    Returns:
        (time_s, bpm): the time of the beat ending each counted RR interval, s, and the running
        median heart rate there, per minute. Empty arrays when there is nothing to count.
    """
    rr_ms, end_s, counted = _rr_intervals(r_peaks, fs, include)
    times, rates = [], []
    for start, stop in _runs(counted):
        if stop - start < _HR_MIN_RUN_INTERVALS:
            continue
        smoothed = running_median(rr_ms[start:stop], _HR_MEDIAN_INTERVALS)
        times.append(end_s[start:stop])
        rates.append(60_000.0 / smoothed)
    if not times:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(times), np.concatenate(rates)


def heart_rate_summary(r_peaks: np.ndarray, fs: float, include: np.ndarray | None = None) -> HeartRate:
    """Mean, minimum and maximum heart rate over the counted beats (see the module docstring).

    Args:
        r_peaks: sample indices of the R peaks, increasing.
        fs: sampling rate, Hz.
        include: per beat, False to leave it out (unusable signal); None includes all.

    Returns:
        `HeartRate`; its values are None when no RR interval can be counted.
    """
    rr_ms, _, counted = _rr_intervals(r_peaks, fs, include)
    if not counted.any():
        return HeartRate(None, None, None, 0)
    mean_bpm = 60_000.0 / float(rr_ms[counted].mean())
    _, bpm = heart_rate_series(r_peaks, fs, include)
    low, high = (float(bpm.min()), float(bpm.max())) if bpm.size else (None, None)
    return HeartRate(mean_bpm, low, high, int(np.count_nonzero(counted)))


def hrv_measure(
    r_peaks: np.ndarray,
    fs: float,
    ectopic: np.ndarray | None = None,
    include: np.ndarray | None = None,
    irregular: np.ndarray | None = None,
) -> Hrv:
    """Time-domain, Poincare and frequency-domain HRV from the NN intervals (module docstring).

    Args:
        r_peaks: sample indices of the R peaks, increasing.
        fs: sampling rate, Hz.
        ectopic: per beat, True for ectopic beats (`pipeline.beats.ectopic_beats`); None: none.
        include: per beat, False to leave it out (unusable signal); None includes all.

    Returns:
        `Hrv`, with None and a reason where a measure cannot be computed.
    """
    peaks = _peaks_checked(r_peaks)
    normal = ~_mask(ectopic, peaks.size, False) & _mask(include, peaks.size, True)
    rr_ms, end_s, _ = _rr_intervals(peaks, fs, None)
    nn = normal[1:] & normal[:-1] & (rr_ms >= _MIN_NN_MS) & (rr_ms <= _MAX_NN_MS)
    nn = _artefacts_removed(rr_ms, nn)
    nn_count = int(np.count_nonzero(nn))
    duration_s = (peaks[-1] - peaks[0]) / fs if peaks.size else 0.0

    time_values, time_reason = _time_domain(rr_ms, nn)
    lf, hf, spectrum_s, frequency_reason = _frequency_domain(rr_ms, end_s, nn, duration_s)
    irregular_pct, caution = _irregularity_caution(irregular, _mask(include, peaks.size, True))
    return Hrv(
        **time_values,
        lf_ms2=lf,
        hf_ms2=hf,
        lf_hf=lf / hf if lf is not None and hf is not None and hf > 0 else None,
        nn_count=nn_count,
        frequency_reason=frequency_reason,
        time_reason=time_reason,
        spectrum_s=spectrum_s,
        irregular_pct=irregular_pct,
        caution=caution,
    )


# More than this share of beats in an irregular rhythm: HRV gets a caution (module docstring).
IRREGULAR_CAUTION_SHARE = 0.5


def _irregularity_caution(
    irregular: np.ndarray | None, include: np.ndarray
) -> tuple[float | None, str | None]:
    if irregular is None:
        return None, None
    flags = np.asarray(irregular, dtype=bool)
    if flags.size != include.size or not include.any():
        return None, None
    share = float(np.mean(flags[include]))
    if share <= IRREGULAR_CAUTION_SHARE:
        return 100.0 * share, None
    return 100.0 * share, (
        f"{100.0 * share:.0f} % of the beats lie in an irregular rhythm (atrial fibrillation, frequent "
        "ectopic beats or marked sinus arrhythmia). HRV is defined for sinus rhythm (Task Force of "
        "the ESC/NASPE 1996): check the rhythm before reading these values."
    )


def _peaks_checked(r_peaks: np.ndarray) -> np.ndarray:
    peaks = np.asarray(r_peaks)
    if peaks.ndim != 1 or (peaks.size and not np.issubdtype(peaks.dtype, np.integer)):
        raise ValueError("r_peaks must be a 1-D array of sample indices (integers)")
    peaks = peaks.astype(np.int64)
    if np.any(np.diff(peaks) <= 0):
        raise ValueError("r_peaks must be increasing sample indices")
    return peaks


def _mask(values: np.ndarray | None, n: int, default: bool) -> np.ndarray:
    """A per-beat bool mask of length ``n`` (``default`` everywhere when ``values`` is None)."""
    if values is None:
        return np.full(n, default)
    mask = np.asarray(values, dtype=bool)
    if mask.shape != (n,):
        raise ValueError(f"a per-beat mask needs {n} values, one per R peak, not {mask.shape}")
    return mask


def _rr_intervals(
    r_peaks: np.ndarray, fs: float, include: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RR intervals (ms), the time of each interval's second beat (s), and which are counted."""
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be a positive number of samples per second, not {fs!r}")
    peaks = _peaks_checked(r_peaks)
    included = _mask(include, peaks.size, True)
    rr_ms = np.diff(peaks) * (1000.0 / fs)
    return rr_ms, peaks[1:] / fs, included[1:] & included[:-1]


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True values in ``flags``."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _artefacts_removed(rr_ms: np.ndarray, nn: np.ndarray) -> np.ndarray:
    """``nn`` without the intervals that deviate from their neighbours like missed ectopic beats,
    missed or false detections do (see the module docstring)."""
    kept = np.flatnonzero(nn)
    if kept.size < _ARTEFACT_MEDIAN_INTERVALS:
        return nn
    values = rr_ms[kept]
    deviation = values - running_median(values, _ARTEFACT_MEDIAN_INTERVALS)
    q1, q3 = (running_percentile(deviation, _ARTEFACT_SPREAD_INTERVALS, q) for q in (25, 75))
    threshold = np.maximum(
        _ARTEFACT_QUARTILE_DEVIATIONS * (q3 - q1) / 2.0, _ARTEFACT_MIN_FRACTION * (values - deviation)
    )
    out = nn.copy()
    out[kept[np.abs(deviation) > threshold]] = False
    return out


def _time_domain(rr_ms: np.ndarray, nn: np.ndarray) -> tuple[dict[str, float | None], str | None]:
    """Mean NN, SDNN, RMSSD, pNN50, SD1 and SD2 from the NN intervals, or Nones and the reason."""
    keys = ("mean_nn_ms", "sdnn_ms", "rmssd_ms", "pnn50_pct", "sd1_ms", "sd2_ms")
    values = rr_ms[nn]
    if values.size < _MIN_NN_TIME_DOMAIN:
        reason = (
            f"Only {values.size} intervals between two normal heartbeats could be measured; "
            f"at least {_MIN_NN_TIME_DOMAIN} are needed for heart rate variability."
        )
        return dict.fromkeys(keys), reason
    # Adjacent pairs: NN interval k and k + 1 share a beat.
    adjacent = nn[1:] & nn[:-1]
    first, second = rr_ms[:-1][adjacent], rr_ms[1:][adjacent]
    differences = second - first
    out: dict[str, float | None] = {
        "mean_nn_ms": float(values.mean()),
        "sdnn_ms": float(values.std(ddof=1)),
        "rmssd_ms": None,
        "pnn50_pct": None,
        "sd1_ms": None,
        "sd2_ms": None,
    }
    if differences.size >= 2:
        out["rmssd_ms"] = float(np.sqrt(np.mean(differences**2)))
        # Rounded to 1 ns: a difference of exactly 50 ms (18 samples at 360 Hz) is not "more than
        # 50 ms", whatever the floating-point error of the subtraction.
        over_50_ms = np.count_nonzero(np.round(np.abs(differences), 6) > 50.0)
        out["pnn50_pct"] = 100.0 * float(over_50_ms) / differences.size
        out["sd1_ms"] = float(np.std(differences / np.sqrt(2.0), ddof=1))
        out["sd2_ms"] = float(np.std((first + second) / np.sqrt(2.0), ddof=1))
    return out, None


def _frequency_domain(
    rr_ms: np.ndarray, end_s: np.ndarray, nn: np.ndarray, duration_s: float
) -> tuple[float | None, float | None, float, str | None]:
    """LF and HF power (ms^2) and the NN time used, or Nones with the reason."""
    minutes = _MIN_SPECTRUM_S / 60.0
    if duration_s < _MIN_SPECTRUM_S:
        return (
            None,
            None,
            0.0,
            f"The heartbeats span only {duration_s:.0f} s; at least {minutes:.0f} minutes of normal "
            "heartbeats are needed for LF and HF power (Task Force of ESC/NASPE 1996).",
        )
    pieces = _nn_pieces(end_s[nn], rr_ms[nn])
    longest = max((t[-1] - t[0] for t, _ in pieces), default=0.0)
    if longest < _MIN_SPECTRUM_S:
        return (
            None,
            None,
            0.0,
            f"The longest stretch of normal heartbeats without interruption lasts {longest:.0f} s; at "
            f"least {minutes:.0f} minutes are needed for LF and HF power (Task Force of ESC/NASPE 1996).",
        )
    frequency, psd, used_s = welch_nn_spectrum(pieces, min(_WELCH_WINDOW_S, longest))
    return _band_power(frequency, psd, LF_BAND_HZ), _band_power(frequency, psd, HF_BAND_HZ), used_s, None


def _nn_pieces(times_s: np.ndarray, nn_ms: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The NN series split where consecutive NN intervals lie more than 5 s apart."""
    if times_s.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(times_s) > _MAX_INTERPOLATED_GAP_S) + 1
    return [
        (t, v) for t, v in zip(np.split(times_s, breaks), np.split(nn_ms, breaks), strict=True) if t.size >= 4
    ]


def welch_nn_spectrum(
    pieces: list[tuple[np.ndarray, np.ndarray]], window_s: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Welch power spectral density of an NN series, ms^2/Hz, averaged over all its windows.

    Args:
        pieces: uninterrupted parts of the NN series: (times of the intervals' second beats, s;
            NN intervals, ms). Each is resampled at 4 Hz with a cubic spline.
        window_s: Welch window length, s; pieces shorter than it are skipped.

    Returns:
        (frequency_hz, psd_ms2_per_hz, seconds of NN series used).
    """
    nperseg = max(8, round(window_s * _RESAMPLE_HZ))
    total, count, used_s = None, 0, 0.0
    for times_s, nn_ms in pieces:
        grid = np.arange(times_s[0], times_s[-1], 1.0 / _RESAMPLE_HZ)
        if grid.size < nperseg:
            continue
        resampled = interpolate.CubicSpline(times_s, nn_ms)(grid)
        frequency, psd = sp_signal.welch(
            resampled,
            fs=_RESAMPLE_HZ,
            window="hann",
            nperseg=nperseg,
            nfft=2 * nperseg,
            noverlap=nperseg // 2,
            detrend="constant",
        )
        windows = 1 + (grid.size - nperseg) // (nperseg - nperseg // 2)
        total = psd * windows if total is None else total + psd * windows
        count += windows
        used_s += grid.size / _RESAMPLE_HZ
    if total is None:
        return np.zeros(0), np.zeros(0), 0.0
    return frequency, total / count, used_s


def _band_power(frequency: np.ndarray, psd: np.ndarray, band_hz: tuple[float, float]) -> float:
    """The power in ``band_hz`` (low inclusive, high exclusive): the PSD summed times its bin width."""
    low, high = band_hz
    in_band = (frequency >= low) & (frequency < high)
    return float(psd[in_band].sum() * (frequency[1] - frequency[0]))
