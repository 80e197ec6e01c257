"""Detect R peaks in one ECG lead: the Pan-Tompkins QRS detector, with the refinements it needs.

`detect_r_peaks` takes one lead in millivolts at any sampling rate and returns the sample index
of every R peak, placed on the R wave's extremum of the signal itself (not on a filtered
waveform's delayed peak). Every duration is in seconds and every band in Hz, so the detector
behaves the same at 128, 250, 360 or 1000 Hz.

The steps, in the order they run:

1. **Band-pass 5-15 Hz** (Pan & Tompkins 1985), where the QRS complex has most of its energy
   and P/T waves, baseline wander, muscle noise and mains hum have little. A 2nd-order
   Butterworth run forwards and backwards (zero phase) replaces the paper's integer filters,
   which were designed for 200 Hz only and delayed the signal.
2. **Derivative** (the paper's five-point derivative), **squaring**, and **moving-window
   integration over 150 ms** (the widest normal QRS complex). The window is centred, so the
   integrated peak lies on its QRS complex.
3. **Candidates**: local maxima of the integrated signal at least 200 ms apart, the paper's
   refractory period (no two QRS complexes are closer).
4. **Dual adaptive thresholds**: a candidate is a QRS complex when both its integrated peak and
   its band-passed peak exceed ``noise + 0.3125 * (signal - noise)``, each level being the
   median of the last 8 QRS (signal) or non-QRS (noise) peaks.
5. **T-wave discrimination**: a candidate within 360 ms of the previous QRS whose steepest slope
   is less than half that QRS's is a T wave (Pan & Tompkins 1985).
6. **Search-back**: when no QRS is found for 166 % of the average RR interval, the largest
   candidate since the last QRS above half the thresholds is taken (Pan & Tompkins 1985). The
   average is RR AVERAGE 2 (intervals within 92-116 % of itself) in a regular rhythm and
   RR AVERAGE 1 (the last 8 intervals) in an irregular one.
7. **R extremum**: each detection moves to the largest deflection of the 0.5-40 Hz band-passed
   signal within +-75 ms (see "Polarity" below).

What differs from the paper, and why (each measured on the 48 records of the MIT-BIH
Arrhythmia Database, lead 0, pooled, against the reference beat annotations; the finished
detector scores Se 99.83 % / +P 99.82 % there; the figures say what removing that one change
does to it):

- **Median of the last 8 peaks instead of running averages** (Hamilton & Tompkins 1986). A
  single large ectopic beat raised the paper's running estimate of the QRS level for many beats
  and smaller normal beats then fell below the threshold (record 114). Threshold coefficient
  0.3125 instead of 0.25: Hamilton's published detector (OSEA, qrsdet2.c). A beat found in
  search-back also leaves the noise estimate it had wrongly entered.
- **Thresholds on the root of the integrated signal** (an amplitude, not an energy). Squaring
  makes a QRS complex with half the slope carry a quarter of the energy, so aberrant and
  ectopic beats with lower slopes fell under an energy threshold (record 201's aberrated atrial
  beats); Hamilton & Tompkins (1986) likewise integrate the absolute derivative, not its square.
  Without this: Se 99.36 %.
- **No halving of the thresholds in irregular rhythms.** The paper halves them after an
  irregular RR interval; with amplitude thresholds that doubled the false detections (T and P
  waves in sinus arrhythmia, record 113, and atrial fibrillation, record 222): +P 99.47 % (with
  the equivalent factor 0.71 on amplitudes), for Se 99.88 %. RR AVERAGE 1 and 2 still set the
  search-back limit.
- **Slope for the T-wave test from the 0.5-40 Hz signal**, not the 5-15 Hz one. A narrow QRS
  complex keeps much of its slope above 15 Hz, so in the 5-15 Hz band its slope was not twice a
  steep T wave's, and T waves were counted as beats (record 114: 167 false detections instead of
  5; +P 99.65 %).
- **Search-back skips the first 360 ms after a QRS** (Hamilton 2002): a T wave there would be
  the largest candidate and hide a smaller beat that follows it.
- **P-wave discrimination**, the mirror image of the T-wave test: when a candidate follows the
  last detection by less than 300 ms (the longest P-to-R distance of ordinary AV conduction),
  its integrated peak is at least 1.22 times larger (1.5 times in the paper's squared units),
  the last detection came early (before 92 % of RR AVERAGE 2) and the candidate comes on time
  (80-120 % of RR AVERAGE 2 after the beat before), then the last detection was a tall P wave:
  it is withdrawn and the candidate kept. Record 108's P waves are as tall as its QRS complexes.
  Without this: 1,381 false detections in record 108 instead of 37, +P 98.59 %.
- **Threshold reset after 8 s without a QRS** (Hamilton 2002): the QRS level is rebuilt from the
  largest candidate of each of the last 8 seconds, so the detector recovers when the signal
  becomes much smaller (electrode change, gain change) instead of waiting for search-back.
  Changes one beat on the 48 records.
- **No detection where the band-passed signal has no spikes** (kurtosis below 3.5 over 10 s).
  QRS complexes make the 5-15 Hz signal spiky (kurtosis 3.8 or more around every detected beat
  of the 48 records; Li, Mark & Clifford 2008 use kurtosis as a signal quality index); Gaussian
  noise has kurtosis 3 and otherwise yields a "beat" every few hundred milliseconds, since the
  thresholds adapt to any signal. Costs no beat on the 48 records. The gate is a statistic
  of 10 s of signal, so chance raises it on some noise: on 30 one-minute realisations of
  Gaussian noise the detector still marks a median of 6 and at most 32 "beats" (a heart gives
  60-100). Telling noise from ECG is the signal-quality step's job (`pipeline.quality`), which
  marks such windows unusable so no heart rate is reported from them.
- **...except where the signal repeats at a heart rate.** Wide complexes that follow one another
  without an isoelectric stretch - ventricular tachycardia, flutter - are not spiky (kurtosis
  about 2) and the gate alone silenced them: of the 23 VT episodes of 10 s or more in the MIT-BIH
  Malignant Ventricular Ectopy Database (vfdb), 5 were detected at 100 a minute or more (VT's
  definition), record 611's 904 s of VT at 2 a minute. A window below the kurtosis gate still
  counts when its 5-15 Hz signal repeats at 80-300 a minute: its autocorrelation at lags of
  0.2-0.75 s reaches 0.5 (normalised by the overlap). Gaussian noise reaches 0.25 at most (30
  one-minute realisations), and none of the low-kurtosis 10-s windows of nstdb's three noise
  records or of vfdb's (NOISE episodes reaches 0.5. With it 18 of the 23 VT episodes (60 % of the
  VT time) are found at 100 a minute or more (median 129); the rest are slow or low complexes
  (427, 602, 614). No beat changes on the 48 MIT-BIH Arrhythmia records.

Polarity: an R peak is the QRS complex's largest deflection from the baseline, and it can point
down: in leads looking away from the heart's axis (aVR, often V1-V2), in QS complexes, in many
ventricular beats. The lead's polarity is decided once from all its beats: positive (the R
wave, by definition upright) unless the median downward deflection is more than 1.43 times
(1 / 0.7) the median upward one. A beat whose other deflection is more than twice as large
(an inverted ectopic beat) takes that one. One polarity per lead keeps the fiducial point on
the same wave from beat to beat where R and S are about equal (paced records 107 and 217),
instead of jumping 60-80 ms between them, which would turn into false RR variability.

On records it was not developed on - the 67 beat-annotated QT Database records that are not
MIT-BIH Arrhythmia excerpts (European ST-T, ST Change, Supraventricular Arrhythmia, Long-Term
ST, Normal Sinus Rhythm and sudden-death Holters; `python -m pipeline.bench qrs --db qtdb
--exclude-source mitdb`) - it scores Se 99.97 % / +P 99.57 % (NeuroKit2 99.91 / 98.90,
pantompkins1985 99.65 / 99.21 in the same run). 284 of its 307 false detections are in one
record, sele0129: lead 0 is lead III, where the QRS complex is small and notched and the T wave
steep (its slope 40-60 % of the QRS's, so the T-wave test's 50 % does not hold) at 40 beats a
minute (the T wave's upstroke 360-370 ms after the R peak, just past the test's 360 ms). Once a
T wave is taken, the median QRS level falls and P and T waves pass for minutes; the other lead
(V3) gives every beat. NeuroKit2's detectors fail on the same stretch. Widening the T-wave test
(a 0.6 slope ratio, a 400-ms window) halves those errors but costs beats on the MIT-BIH
Arrhythmia Database (FN 188 -> 209-212), so it is not done. The analysis instead checks the
lead against the record's other leads (`r_peaks_across_leads`): with it, sele0129's beats come
from V3 and the 67 records score Se 99.98 % / +P 99.97 %; no MIT-BIH record changes lead.

**Checking the lead against the others** (`r_peaks_across_leads`, used by the analysis). The
detector runs on every lead; the preferred lead's beats are replaced by another lead's only
when that lead (a) leaves more than 10 % of the preferred lead's beats unconfirmed (no beat of
its own within 150 ms), (b) has 99 % or more of its own beats confirmed by the preferred lead,
and (c) has a regular interval (80-120 % of the median of its 9 intervals around it) around at
least 80 % of the unconfirmed beats: the preferred lead has added beats (P or T waves,
artefacts) inside the other lead's steady rhythm. Condition (c) tells that apart from the other
lead missing beats (small complexes, an ectopic beat invisible in it), where its interval around
the unconfirmed beat is about twice its median and the preferred lead is right. On the 48 MIT-BIH Arrhythmia
records and the QT Database's 67 others it changes the lead of exactly one record, sele0129.

References:
    Pan J, Tompkins WJ. A real-time QRS detection algorithm. IEEE Trans Biomed Eng
    1985;32(3):230-236.
    Hamilton PS, Tompkins WJ. Quantitative investigation of QRS detection rules using the
    MIT/BIH arrhythmia database. IEEE Trans Biomed Eng 1986;33(12):1157-1165.
    Hamilton P. Open source ECG analysis. Computers in Cardiology 2002;29:101-104 (the OSEA
    detector, qrsdet2.c: threshold coefficient, search-back rules, 8-s reset).
    Li Q, Mark RG, Clifford GD. Robust heart rate estimation from multiple asynchronous noisy
    sources using signal quality indices and a Kalman filter. Physiol Meas 2008;29(1):15-32.

Example:
    >>> import numpy as np
    >>> fs = 360.0
    >>> t = np.arange(int(10 * fs)) / fs
    >>> ecg = np.exp(-(((t % 1.0) - 0.5) ** 2) / (2 * 0.01**2))  # a 1-mV spike every second
    >>> peaks = detect_r_peaks(ecg, fs)
    >>> peaks.times_s[:3].round(2).tolist()
    [0.5, 1.5, 2.5]
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, signal

from pipeline.errors import EcgRateError, EcgSignalError, EcgTooShortError
from pipeline.running import running_median
from pipeline.validate import MIN_FS_HZ

# Pan & Tompkins 1985: the pass band of their integer filters, the integration window (about
# the widest QRS complex), the refractory period, the T-wave window and slope ratio.
_BANDPASS_HZ = (5.0, 15.0)
_INTEGRATION_WINDOW_S = 0.150
_REFRACTORY_S = 0.200
_T_WAVE_WINDOW_S = 0.360
_T_WAVE_SLOPE_RATIO = 0.5
_SEARCH_BACK_RR_FACTOR = 1.66
_SEARCH_BACK_THRESHOLD_FACTOR = 0.5
_RR_REGULAR_LOW = 0.92
_RR_REGULAR_HIGH = 1.16
_RR_HISTORY = 8

# Hamilton & Tompkins 1986 / Hamilton 2002 (OSEA): levels from the last 8 peaks, the threshold
# coefficient, the reset after 8 s without a QRS, and the initial levels from 8 one-second
# maxima.
_PEAK_HISTORY = 8
_THRESHOLD_COEFFICIENT = 0.3125
_RESET_AFTER_S = 8.0
_LEARNING_S = 8

# P-wave discrimination (see the module docstring): the P-to-R distance of ordinary AV
# conduction stays under 300 ms; 1.22 on amplitudes is 1.5 on the paper's squared signal.
_P_WAVE_WINDOW_S = 0.300
_P_WAVE_PEAK_RATIO = 1.22
_P_WAVE_ON_TIME = (0.8, 1.2)

# Gaussian noise has kurtosis 3; every detected beat of the MIT-BIH Arrhythmia Database lies in
# a 10-s window of kurtosis 3.8 or more (Li, Mark & Clifford 2008 use kurtosis as a quality index).
_KURTOSIS_WINDOW_S = 10.0
_MIN_KURTOSIS = 3.5
# ... unless the window repeats at a heart rate of 80-300 per minute: the largest autocorrelation
# of its 5-15 Hz signal at lags of 0.2-0.75 s reaches 0.5. Wide complexes that follow each other
# without an isoelectric stretch (ventricular tachycardia, flutter) are not spiky but periodic;
# Gaussian noise reaches at most 0.25 (30 one-minute realisations), nstdb's noise records none
# of their low-kurtosis windows (module docstring).
_PERIODIC_LAGS_S = (0.2, 0.75)
_MIN_PERIODIC_CORRELATION = 0.5
_PERIODIC_GRID_S = 1.0
# Below this 5-15 Hz amplitude (mV) a candidate is no QRS complex: one step of a 5-uV digitiser.
_MIN_QRS_BANDPASSED_MV = 0.005

# The R extremum: searched within +-75 ms (half the integration window) of the detection, on
# the monitoring band (0.5-40 Hz: no baseline wander, no mains hum, QRS shape kept).
_EXTREMUM_HALF_WINDOW_S = 0.075
_EXTREMUM_BAND_HZ = (0.5, 40.0)
_NEGATIVE_LEAD_RATIO = 1 / 0.7
_INVERTED_BEAT_RATIO = 2.0

_MIN_DURATION_S = 1.0


@dataclass(frozen=True)
class RPeaks:
    """The R peaks of one lead.

    Attributes:
        samples: sample index of each R peak at ``fs`` (int64, increasing).
        fs: the sampling rate of the signal, Hz.
        amplitude_mv: the signed height of each R peak above the baseline (0.5-40 Hz signal),
            mV; negative where the QRS complex points down.
        searchback: True where the beat was found by search-back, i.e. it was smaller than the
            detection threshold and taken only because a beat was overdue: less certain.
        threshold_ratio: the beat's integrated peak over the detection threshold at that moment
            (above 1 for a normal detection, 0.5-1 for search-back): a confidence measure.
    """

    samples: np.ndarray
    fs: float
    amplitude_mv: np.ndarray
    searchback: np.ndarray
    threshold_ratio: np.ndarray

    @property
    def times_s(self) -> np.ndarray:
        """The R peaks' times from the start of the signal, s."""
        return self.samples / self.fs

    def __len__(self) -> int:
        return int(self.samples.size)


@dataclass(frozen=True)
class _Rules:
    """Which of the refinements over Pan & Tompkins 1985 are on; all are, except for ablations."""

    amplitude_thresholds: bool = True
    halve_when_irregular: bool = False
    wideband_t_wave_slope: bool = True
    p_wave_discrimination: bool = True
    reset_after_silence: bool = True
    kurtosis_gate: bool = True
    periodic_exception: bool = True


@dataclass(frozen=True)
class _Candidates:
    """The integrated signal's local maxima and what the decision rules need to know of each."""

    samples: np.ndarray  # int64, sample index of the integrated peak
    integrated: np.ndarray  # integrated peak (root of the integrated energy, mV/s)
    filtered_mv: np.ndarray  # largest |5-15 Hz signal| within the integration window, mV
    slope_mv_per_s: np.ndarray  # steepest slope within the integration window, mV/s
    spiky: np.ndarray  # bool: the 10-s window around it is spiky or periodic, not Gaussian-like noise
    initial_integrated: list[float]  # largest integrated value of each of the first seconds
    initial_filtered_mv: list[float]


def detect_r_peaks(signal_mv: np.ndarray, fs: float) -> RPeaks:
    """The R peaks of one ECG lead (Pan & Tompkins 1985, refined as the module describes).

    Args:
        signal_mv: one lead, 1-D, in millivolts; raw or cleaned, with finite values only.
        fs: sampling rate, Hz (50 Hz or more).

    Returns:
        `RPeaks`: sample indices at ``fs`` on each beat's R extremum, with amplitudes and a
        search-back flag and confidence per beat. Empty when the lead shows no QRS complex.

    Raises:
        EcgRateError: ``fs`` is not a number of at least 50 Hz.
        EcgTooShortError: the signal lasts less than 1 s.
        EcgSignalError: the signal is not one lead, or has missing (non-finite) values.
    """
    return _detect(signal_mv, fs, _Rules())


# Checking the detection lead against the others (module docstring).
_CONFIRM_WINDOW_S = 0.150
_MAX_UNCONFIRMED_SHARE = 0.10
_MIN_OTHER_CONFIRMED_SHARE = 0.99
_REGULAR_RR_RANGE = (0.8, 1.2)
_LOCAL_RR_INTERVALS = 9
_MIN_EXTRA_IN_REGULAR_SHARE = 0.8
_MIN_BEATS_TO_COMPARE = 10


@dataclass(frozen=True)
class LeadChoice:
    """The R peaks the analysis uses and the lead they come from.

    Attributes:
        index: column of the lead whose beats are used.
        peaks: its `RPeaks`.
        reason: why another lead's beats replace the preferred lead's, in words a clinician can
            read; None when the preferred lead's are used.
    """

    index: int
    peaks: RPeaks
    reason: str | None = None


def r_peaks_across_leads(
    signal_mv: np.ndarray, fs: float, preferred: int, lead_names: tuple[str, ...] | None = None
) -> LeadChoice:
    """The preferred lead's R peaks, unless another lead shows they include beats that are not
    there (P or T waves, artefacts; rules in the module docstring).

    Args:
        signal_mv: samples x leads in millivolts, finite (one lead: its beats, unchecked).
        fs: sampling rate, Hz.
        preferred: column of the lead the analysis reads (the lead closest to II, or the user's).
        lead_names: names for the reason's text; default "lead 1", "lead 2", ...

    Raises:
        The errors of `detect_r_peaks` for the preferred lead.
    """
    leads = np.asarray(signal_mv, dtype=np.float64)
    leads = leads[:, None] if leads.ndim == 1 else leads
    names = lead_names or tuple(f"lead {k + 1}" for k in range(leads.shape[1]))
    own = detect_r_peaks(leads[:, preferred], fs)
    if leads.shape[1] < 2 or len(own) < _MIN_BEATS_TO_COMPARE:
        return LeadChoice(preferred, own)
    tolerance = _CONFIRM_WINDOW_S * fs
    best: tuple[float, int, RPeaks, float] | None = None
    for index in range(leads.shape[1]):
        if index == preferred:
            continue
        try:
            other = detect_r_peaks(leads[:, index], fs)
        except (EcgSignalError, EcgTooShortError, EcgRateError):
            continue  # a lead the detector refuses cannot vouch for anything
        if len(other) < _MIN_BEATS_TO_COMPARE:
            continue
        own_confirmed = _confirmed(own.samples, other.samples, tolerance)
        other_share = float(_confirmed(other.samples, own.samples, tolerance).mean())
        unconfirmed = own.samples[~own_confirmed]
        if own_confirmed.mean() >= 1.0 - _MAX_UNCONFIRMED_SHARE or other_share < _MIN_OTHER_CONFIRMED_SHARE:
            continue
        if _share_in_regular_intervals(unconfirmed, other.samples) < _MIN_EXTRA_IN_REGULAR_SHARE:
            continue
        if best is None or other_share > best[0]:
            best = (other_share, index, other, float(1.0 - own_confirmed.mean()))
    if best is None:
        return LeadChoice(preferred, own)
    _, index, other, unconfirmed_share = best
    reason = (
        f"Beats counted on lead {names[index]}: {100 * unconfirmed_share:.0f} % of the {len(own)} beats "
        f"found on lead {names[preferred]} have no beat on lead {names[index]} and fall inside its "
        "steady rhythm (P or T waves taken for beats)."
    )
    return LeadChoice(index, other, reason)


def _confirmed(samples: np.ndarray, others: np.ndarray, tolerance: float) -> np.ndarray:
    """Per beat of ``samples``, whether ``others`` (sorted) has a beat within ``tolerance``."""
    if others.size == 0:
        return np.zeros(samples.size, dtype=bool)
    right = np.clip(np.searchsorted(others, samples), 0, others.size - 1)
    left = np.clip(right - 1, 0, others.size - 1)
    nearest = np.minimum(np.abs(others[right] - samples), np.abs(others[left] - samples))
    return nearest <= tolerance


def _share_in_regular_intervals(beats: np.ndarray, others: np.ndarray) -> float:
    """Share of ``beats`` that fall inside an interval of ``others`` of 80-120 % of the median
    of the 9 intervals around it (a steady rhythm there, not a missed beat's double interval)."""
    if beats.size == 0:
        return 0.0
    rr = np.diff(others).astype(np.float64)
    local = running_median(rr, _LOCAL_RR_INTERVALS)
    after = np.searchsorted(others, beats) - 1  # the interval others[after], others[after + 1]
    inside = (after >= 0) & (after < rr.size)
    k = np.clip(after, 0, rr.size - 1)
    low, high = _REGULAR_RR_RANGE
    regular = inside & (rr[k] >= low * local[k]) & (rr[k] <= high * local[k])
    return float(regular.mean())


def _detect(signal_mv: np.ndarray, fs: float, rules: _Rules) -> RPeaks:
    x = _lead_checked(signal_mv, fs)
    fs = float(fs)
    candidates = _candidates_found(x, fs, rules)
    chosen, searchback, ratio = _qrs_chosen(candidates, fs, x.size, rules)
    samples, amplitude_mv = _r_extrema(x, fs, candidates.samples[chosen])
    return RPeaks(
        samples=samples,
        fs=fs,
        amplitude_mv=amplitude_mv,
        searchback=np.asarray(searchback, dtype=bool),
        threshold_ratio=np.asarray(ratio, dtype=np.float64),
    )


def _lead_checked(signal_mv: np.ndarray, fs: float) -> np.ndarray:
    """``signal_mv`` as float64 after checking it is one finite lead of at least 1 s at ``fs``."""
    if not (np.isfinite(fs) and fs >= MIN_FS_HZ):
        raise EcgRateError(
            f"The sampling rate ({fs} samples per second) is too low to find heartbeats; "
            f"at least {MIN_FS_HZ:.0f} are needed."
        )
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim == 2 and 1 in x.shape:
        x = x.ravel()
    if x.ndim != 1:
        raise EcgSignalError("Heartbeats are found in one lead at a time; this signal holds several.")
    if x.size < _MIN_DURATION_S * fs:
        raise EcgTooShortError(
            f"The signal lasts {x.size / fs:.2f} seconds; at least one second is needed to find heartbeats."
        )
    if not np.isfinite(x).all():
        raise EcgSignalError("The signal has missing or invalid values; heartbeats cannot be found in it.")
    return x


def _candidates_found(x: np.ndarray, fs: float, rules: _Rules) -> _Candidates:
    """Steps 1-3: band-pass, derivative, squaring, integration, and the integrated peaks."""
    bandpassed = _zero_phase_bandpass(x, fs, _BANDPASS_HZ)
    # The five-point derivative of Pan & Tompkins, centred so it adds no delay; * fs/8 -> mV/s.
    derivative = np.zeros_like(bandpassed)
    derivative[2:-2] = (2.0 * (bandpassed[3:-1] - bandpassed[1:-3]) + (bandpassed[4:] - bandpassed[:-4])) * (
        fs / 8.0
    )
    window = _odd_samples(_INTEGRATION_WINDOW_S * fs)
    integrated = ndimage.uniform_filter1d(derivative * derivative, window, mode="nearest")
    if rules.amplitude_thresholds:
        # The running sum can dip a hair below zero from rounding; the root needs >= 0.
        integrated = np.sqrt(np.maximum(integrated, 0.0))

    samples, _ = signal.find_peaks(integrated, distance=max(1, round(_REFRACTORY_S * fs)))
    abs_bandpassed = np.abs(bandpassed)
    filtered_mv = ndimage.maximum_filter1d(abs_bandpassed, window)[samples]
    if rules.wideband_t_wave_slope:
        slope_source = np.gradient(_zero_phase_bandpass(x, fs, _EXTREMUM_BAND_HZ)) * fs
    else:
        slope_source = derivative
    slope = ndimage.maximum_filter1d(np.abs(slope_source), window)[samples]

    if rules.kurtosis_gate:
        # Kurtosis E[x^4] / E[x^2]^2 of the band-passed signal (zero mean: no DC passes 5 Hz).
        kurtosis_window = _odd_samples(min(_KURTOSIS_WINDOW_S * fs, x.size))
        power = bandpassed * bandpassed
        second = ndimage.uniform_filter1d(power, kurtosis_window, mode="reflect")[samples]
        fourth = ndimage.uniform_filter1d(power * power, kurtosis_window, mode="reflect")[samples]
        spiky = fourth >= _MIN_KURTOSIS * second * second
        if rules.periodic_exception:
            spiky |= _periodic_at(bandpassed, fs, samples, ~spiky)
        spiky &= second > 0.0
        # A flat lead's band-passed signal is rounding residue (1e-16 mV), "spiky" in relative
        # terms: a QRS complex must also stand above one step of a 5-uV digitiser (MIT-BIH's
        # resolution is 200 steps per mV).
        spiky &= filtered_mv >= _MIN_QRS_BANDPASSED_MV
    else:
        spiky = np.ones(samples.size, dtype=bool)

    one_second = max(1, round(fs))
    n_seconds = max(1, min(_LEARNING_S, x.size // one_second))
    return _Candidates(
        samples=samples.astype(np.int64),
        integrated=integrated[samples],
        filtered_mv=filtered_mv,
        slope_mv_per_s=slope,
        spiky=spiky,
        initial_integrated=[
            float(integrated[k * one_second : (k + 1) * one_second].max()) for k in range(n_seconds)
        ],
        initial_filtered_mv=[
            float(abs_bandpassed[k * one_second : (k + 1) * one_second].max()) for k in range(n_seconds)
        ],
    )


@dataclass
class _Levels:
    """The detector's adaptive state between candidates (mutable, private to `_qrs_chosen`)."""

    qrs_integrated: list[float]
    qrs_filtered: list[float]
    noise_integrated: list[float] = field(default_factory=list)
    noise_filtered: list[float] = field(default_factory=list)
    noise_candidates: list[int] = field(default_factory=list)
    rr_recent: list[float] = field(default_factory=list)  # for RR AVERAGE 1, samples
    rr_regular: list[float] = field(default_factory=list)  # for RR AVERAGE 2, samples
    rr_average_1: float = 0.0
    rr_average_2: float = 0.0
    irregular: bool = False
    chosen: list[int] = field(default_factory=list)  # candidate indices of the QRS complexes
    searchback: list[bool] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)

    def copy(self) -> _Levels:
        return dataclasses.replace(self, **{k: list(v) for k, v in vars(self).items() if isinstance(v, list)})


def _qrs_chosen(
    candidates: _Candidates, fs: float, n_samples: int, rules: _Rules
) -> tuple[list[int], list[bool], list[float]]:
    """Steps 4-6: which candidates are QRS complexes, which came from search-back, and the
    ratio of each one's integrated peak to the threshold it was judged against.

    A plain loop over candidates (a few per second), not over samples: each decision depends on
    the levels the previous decisions left.
    """
    at = candidates.samples
    integrated = candidates.integrated
    filtered = candidates.filtered_mv
    slope = candidates.slope_mv_per_s
    spiky = candidates.spiky
    t_wave_window = _T_WAVE_WINDOW_S * fs
    levels = _Levels(
        qrs_integrated=candidates.initial_integrated[-_PEAK_HISTORY:],
        qrs_filtered=candidates.initial_filtered_mv[-_PEAK_HISTORY:],
        rr_average_1=fs,  # 1 s until beats tell otherwise, as OSEA starts
        rr_average_2=fs,
    )

    def thresholds(state: _Levels) -> tuple[float, float]:
        signal_i = statistics.median(state.qrs_integrated)
        signal_f = statistics.median(state.qrs_filtered)
        noise_i = statistics.median(state.noise_integrated) if state.noise_integrated else 0.0
        noise_f = statistics.median(state.noise_filtered) if state.noise_filtered else 0.0
        threshold_i = noise_i + _THRESHOLD_COEFFICIENT * (signal_i - noise_i)
        threshold_f = noise_f + _THRESHOLD_COEFFICIENT * (signal_f - noise_f)
        if rules.halve_when_irregular and state.irregular:
            halving = 0.5**0.5 if rules.amplitude_thresholds else 0.5
            threshold_i *= halving
            threshold_f *= halving
        return threshold_i, threshold_f

    def accept(state: _Levels, j: int, searched: bool, ratio: float) -> None:
        if state.chosen:
            rr = float(at[j] - at[state.chosen[-1]])
            state.rr_recent = (state.rr_recent + [rr])[-_RR_HISTORY:]
            state.rr_average_1 = statistics.fmean(state.rr_recent)
            in_range = _RR_REGULAR_LOW * state.rr_average_2 <= rr <= _RR_REGULAR_HIGH * state.rr_average_2
            if in_range or not state.rr_regular:
                state.rr_regular = (state.rr_regular + [rr])[-_RR_HISTORY:]
                state.rr_average_2 = statistics.fmean(state.rr_regular)
            state.irregular = not in_range
        state.qrs_integrated = (state.qrs_integrated + [float(integrated[j])])[-_PEAK_HISTORY:]
        state.qrs_filtered = (state.qrs_filtered + [float(filtered[j])])[-_PEAK_HISTORY:]
        if searched and j in state.noise_candidates:
            # It was counted as noise when it passed; as a QRS it must not hold the noise level up.
            k = state.noise_candidates.index(j)
            del state.noise_integrated[k], state.noise_filtered[k], state.noise_candidates[k]
        state.chosen.append(j)
        state.searchback.append(searched)
        state.ratio.append(ratio)

    def reject(state: _Levels, j: int) -> None:
        state.noise_integrated = (state.noise_integrated + [float(integrated[j])])[-_PEAK_HISTORY:]
        state.noise_filtered = (state.noise_filtered + [float(filtered[j])])[-_PEAK_HISTORY:]
        state.noise_candidates = (state.noise_candidates + [j])[-_PEAK_HISTORY:]

    def search_back(state: _Levels, before: int) -> None:
        while state.chosen:
            last = state.chosen[-1]
            rr_average = state.rr_average_1 if state.irregular else state.rr_average_2
            if before - at[last] <= _SEARCH_BACK_RR_FACTOR * rr_average:
                return
            threshold_i, threshold_f = thresholds(state)
            span = np.arange(last + 1, int(np.searchsorted(at, before)))
            span = span[
                (at[span] - at[last] > t_wave_window)
                & spiky[span]
                & (integrated[span] > _SEARCH_BACK_THRESHOLD_FACTOR * threshold_i)
                & (filtered[span] > _SEARCH_BACK_THRESHOLD_FACTOR * threshold_f)
            ]
            if span.size == 0:
                return
            j = int(span[np.argmax(integrated[span])])
            accept(state, j, True, float(integrated[j] / threshold_i))

    def reset(state: _Levels, now: int) -> None:
        # Hamilton 2002: the QRS level becomes the largest candidate of each of the last 8 s.
        start = now - _RESET_AFTER_S * fs
        recent = np.flatnonzero((at >= start) & (at < now) & spiky)
        if recent.size == 0:
            return
        second = ((at[recent] - start) // fs).astype(np.int64)
        state.qrs_integrated = [float(integrated[recent[second == s]].max()) for s in np.unique(second)]
        state.qrs_filtered = [float(filtered[recent[second == s]].max()) for s in np.unique(second)]
        state.qrs_integrated = state.qrs_integrated[-_PEAK_HISTORY:]
        state.qrs_filtered = state.qrs_filtered[-_PEAK_HISTORY:]
        state.noise_integrated, state.noise_filtered, state.noise_candidates = [], [], []

    def is_t_wave(state: _Levels, j: int) -> bool:
        if not state.chosen or at[j] - at[state.chosen[-1]] >= t_wave_window:
            return False
        return bool(slope[j] < _T_WAVE_SLOPE_RATIO * slope[state.chosen[-1]])

    def follows_p_wave(state: _Levels, before: _Levels | None, j: int) -> bool:
        """Whether the last detection was a P wave and candidate ``j`` its QRS (see module)."""
        if before is None or state.searchback[-1]:
            return False
        last = state.chosen[-1]
        if at[j] - at[last] >= _P_WAVE_WINDOW_S * fs:
            return False
        if integrated[j] < _P_WAVE_PEAK_RATIO * integrated[last]:
            return False
        if len(state.chosen) < 2:
            return True
        beat_before = at[state.chosen[-2]]
        came_early = at[last] - beat_before < _RR_REGULAR_LOW * state.rr_average_2
        low, high = _P_WAVE_ON_TIME
        on_time = low * state.rr_average_2 <= at[j] - beat_before <= high * state.rr_average_2
        return came_early and on_time

    # The state before the last normal detection, and the noise peaks since: what a withdrawn
    # P-wave detection is rolled back to.
    before_last: _Levels | None = None
    rejected_since: list[int] = []
    last_reset = 0
    for j in range(at.size):
        search_back(levels, int(at[j]))
        if rules.reset_after_silence:
            last_qrs = int(at[levels.chosen[-1]]) if levels.chosen else 0
            if at[j] - max(last_qrs, last_reset) > _RESET_AFTER_S * fs:
                reset(levels, int(at[j]))
                last_reset = int(at[j])
        threshold_i, threshold_f = thresholds(levels)
        is_qrs = bool(spiky[j] and integrated[j] > threshold_i and filtered[j] > threshold_f)
        if is_qrs and is_t_wave(levels, j):
            is_qrs = False
        elif is_qrs and rules.p_wave_discrimination and levels.chosen:
            if follows_p_wave(levels, before_last, j):
                p_wave = levels.chosen[-1]
                levels = before_last
                for k in [p_wave, *rejected_since]:
                    reject(levels, k)
                before_last = None
                threshold_i, threshold_f = thresholds(levels)
                is_qrs = not is_t_wave(levels, j)
        if is_qrs:
            before_last, rejected_since = levels.copy(), []
            accept(levels, j, False, float(integrated[j] / threshold_i))
        else:
            reject(levels, j)
            rejected_since.append(j)
    search_back(levels, n_samples)
    return levels.chosen, levels.searchback, levels.ratio


def _r_extrema(x: np.ndarray, fs: float, detections: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 7: each detection moved to its R extremum; returns samples and amplitudes (mV)."""
    monitored = _zero_phase_bandpass(x, fs, _EXTREMUM_BAND_HZ)
    if detections.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    half = max(1, round(_EXTREMUM_HALF_WINDOW_S * fs))
    padded = np.pad(monitored, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)[detections]
    beat = np.arange(detections.size)
    at_max = windows.argmax(axis=1)
    at_min = windows.argmin(axis=1)
    upward = windows[beat, at_max]
    downward = -windows[beat, at_min]
    lead_points_down = np.median(downward) > _NEGATIVE_LEAD_RATIO * np.median(upward)
    if lead_points_down:
        take_max = upward > _INVERTED_BEAT_RATIO * downward
    else:
        take_max = downward <= _INVERTED_BEAT_RATIO * upward
    samples = detections - half + np.where(take_max, at_max, at_min)
    samples = np.clip(samples, 0, x.size - 1).astype(np.int64)
    return samples, monitored[samples]


def _periodic_at(bandpassed: np.ndarray, fs: float, samples: np.ndarray, asked: np.ndarray) -> np.ndarray:
    """Per candidate (where ``asked``), whether the 10-s window around it repeats at 80-300 per
    minute: the largest autocorrelation of the 5-15 Hz signal at lags of 0.2-0.75 s (normalised
    by the overlap, so that long lags are not penalised) reaches `_MIN_PERIODIC_CORRELATION`.
    Windows are centred on a 1-s grid; a candidate takes the nearest one's verdict."""
    periodic = np.zeros(samples.size, dtype=bool)
    if not asked.any():
        return periodic
    half = round(_KURTOSIS_WINDOW_S * fs / 2)
    lo, hi = (round(lag * fs) for lag in _PERIODIC_LAGS_S)
    step = max(1, round(_PERIODIC_GRID_S * fs))
    centre_of = np.round(samples / step).astype(np.int64)
    verdict: dict[int, bool] = {}
    for k in np.unique(centre_of[asked]):
        start = max(0, k * step - half)
        z = bandpassed[start : min(bandpassed.size, k * step + half)]
        if z.size <= 2 * hi:
            verdict[int(k)] = False
            continue
        z = z - z.mean()
        spectrum = np.fft.rfft(z, 2 * z.size)
        correlation = np.fft.irfft(spectrum * np.conj(spectrum))[: hi + 1]
        if correlation[0] <= 0.0:
            verdict[int(k)] = False
            continue
        overlap = z.size / (z.size - np.arange(lo, hi + 1))
        verdict[int(k)] = bool(
            (correlation[lo:] * overlap).max() >= _MIN_PERIODIC_CORRELATION * correlation[0]
        )
    periodic[asked] = [verdict[int(k)] for k in centre_of[asked]]
    return periodic


def _zero_phase_bandpass(x: np.ndarray, fs: float, band_hz: tuple[float, float]) -> np.ndarray:
    """``x`` through a 2nd-order Butterworth band-pass run forwards and backwards (no delay)."""
    low, high = band_hz
    high = min(high, 0.45 * fs)  # stay below Nyquist at low sampling rates
    sos = signal.butter(2, (low, high), btype="bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, x)


def _odd_samples(n: float) -> int:
    """``n`` rounded to an odd number of samples (>= 1), so a centred window has a middle."""
    k = max(1, round(n))
    return k if k % 2 else k + 1
