"""Beat-to-beat features of a 10-s rhythm window: what its RR intervals and P waves say about the rhythm.

The rhythm CNN (`pipeline.rhythm_model`) reads the waveform of a window; beside it, it gets the
few numbers this module computes from the window's R peaks (`pipeline.qrs.detect_r_peaks`, the
validated Pan-Tompkins detector) and their P waves (`pipeline.delineate.delineate_beats`).
Rhythm diagnosis starts with the RR intervals: atrial fibrillation is an "irregularly
irregular" rhythm (AHA/ACC/HRS 2014), ventricular tachycardia a fast regular one, fibrillation a
chaotic one without stable complexes, second-degree block drops beats (pauses of about twice the
RR), bigeminy alternates short and long intervals. A network
trained from scratch on a few dozen subjects does not reliably learn to measure intervals spread
over 10 s from the raw trace; given them it does not have to. Detectors built on RR irregularity
alone find AF with sensitivity and specificity above 90 % on databases they were not tuned on
(Tateno & Glass 2001; Sarkar et al. 2008; Lake & Moorman 2011), so these features carry what
generalises across devices: they are in seconds and ratios, the same at any sampling rate, gain
or lead.

`RR_FEATURE_NAMES`, for the beats whose R peak lies in the window (intervals between them):

``rate``            log2 of the heart rate over 75 bpm (0 at 75, +1 at 150, -1 at 37.5), from
                    the median RR interval; 0 with fewer than two beats.
``few_beats``       1 when the window holds fewer than 3 beats (asystole, a lead off, coarse
                    VF without complexes the detector accepts), else 0: the other features are
                    then not meaningful and are 0.
``rr_cv``           standard deviation over mean of the RR intervals.
``rmssd``           root mean square of successive RR differences over the mean RR.
``successive_irregular``  share of successive differences larger than 12.5 % of the median RR
                    (normal sinus rhythm varies by a few percent from beat to beat; Tateno &
                    Glass 2001 score AF by the distribution of these differences).
``near_median``     share of RR intervals within 10 % of the median: high in sinus rhythm even
                    with a few ectopic beats (which add one short and one long interval each),
                    low in AF and VF.
``min_ratio``, ``max_ratio``  the shortest and longest RR over the median (premature beats,
                    pauses; a dropped beat in second-degree block doubles an interval).
``turning_points``  share of successive differences that change sign (2/3 for a random series,
                    1 for the strict alternation of bigeminy).
``amplitude_cv``    standard deviation over mean of the R peaks' absolute heights: stable
                    complexes in a regular rhythm, varying ones in VF, polymorphic VT and noise.
``searchback``      share of beats found only by search-back (smaller than the detection
                    threshold): a measure of how unsure the detection was.
``ectopic_share``   share of beats flagged ectopic (`pipeline.beats.ectopic_beats`: a QRS shape
                    unlike the dominant beat's, or premature in a regular rhythm).
``nn_rr_cv``, ``nn_near_median``, ``nn_successive_irregular``  ``rr_cv``, ``near_median`` and
                    ``successive_irregular`` of the normal-to-normal (NN) intervals only, those
                    between two beats of which neither is ectopic. Frequent premature beats make
                    sinus rhythm irregular beat to beat, but its NN intervals stay regular; in
                    AF they do not (the prematurity test is not applied in an irregular rhythm,
                    so AF's beats stay normal, `pipeline.beats`). With AF's irregularity alone,
                    sinus rhythm with ectopy was the commonest false AF (mitdb 208, 233).
``p_share``         share of beats preceded by a P wave (`pipeline.delineate`: a wave that is not
                    there is absent, never invented). AF is defined by irregular RR intervals
                    *and* no distinct P waves (AHA/ACC/HRS 2014); sinus rhythm with pauses or
                    premature atrial beats, the commonest false AF by RR alone (mitdb 232, 207),
                    keeps its P waves. On the mitdb and vfdb windows: median 0.94 in Normal
                    windows, 0.14 in AF, 0.00 in VF and VT.
``pr``              log2 of the median PR interval over 160 ms (0 at 160 ms, +0.32 at 200 ms, the
                    limit of first-degree AV block), over the beats with a P wave; 0 without any.
``pr_spread``       interquartile range over median of those PR intervals: a P wave conducted to
                    the ventricles keeps a fixed PR (spread about 0.1); what the delineator takes
                    for a P wave in fibrillatory waves, or dissociated P waves in complete block,
                    does not.

Every feature is clipped to `FEATURE_CLIP` so that a broken window cannot produce an extreme
input. The P-wave features come from the delineation of all the recording's leads (a P wave is
clearer in some leads than in others), the same in training (`pipeline.rhythm_dataset`) as in
analysis (`pipeline.analysis`, from its intervals step). In analysis the features come from
the R peaks of the whole recording (so beats at a window's edge are found as well as in its
middle); `window_features` detects the peaks within
each window itself where there is no recording around it (training's noise windows, a live
strip).

References:
    January CT, Wann LS, Alpert JS, et al. 2014 AHA/ACC/HRS guideline for the management of
    patients with atrial fibrillation. Circulation 2014;130:e199-e267.
    Tateno K, Glass L. Automatic detection of atrial fibrillation using the coefficient of
    variation and density histograms of RR and deltaRR intervals. Med Biol Eng Comput
    2001;39:664-671.
    Sarkar S, Ritscher D, Mehra R. A detector for a chronic implantable atrial tachyarrhythmia
    monitor. IEEE Trans Biomed Eng 2008;55:1219-1224.
    Lake DE, Moorman JR. Accurate estimation of entropy in very short physiological time
    series: the problem of atrial fibrillation detection in implanted ventricular devices.
    Am J Physiol Heart Circ Physiol 2011;300:H319-H325.

Example:
    >>> import numpy as np
    >>> beats_s = np.arange(0.3, 10.0, 0.8)  # 75 bpm, perfectly regular
    >>> n = beats_s.size
    >>> beats = RecordingBeats(beats_s, np.ones(n), np.zeros(n, bool), np.zeros(n, bool), np.full(n, 0.16))
    >>> f = beats_features(beats, np.array([0.0]))
    >>> float(f[0, RR_FEATURE_NAMES.index("near_median")])
    1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.beats import ectopic_beats
from pipeline.delineate import delineate_beats
from pipeline.errors import EcgError
from pipeline.intervals import intervals_per_beat
from pipeline.qrs import RPeaks, detect_r_peaks

RR_FEATURE_NAMES: tuple[str, ...] = (
    "rate",
    "few_beats",
    "rr_cv",
    "rmssd",
    "successive_irregular",
    "near_median",
    "min_ratio",
    "max_ratio",
    "turning_points",
    "amplitude_cv",
    "searchback",
    "ectopic_share",
    "nn_rr_cv",
    "nn_near_median",
    "nn_successive_irregular",
    "p_share",
    "pr",
    "pr_spread",
)
N_RR_FEATURES = len(RR_FEATURE_NAMES)

# The features' window: the rhythm window (pipeline.rhythm_dataset.WINDOW_S).
FEATURE_WINDOW_S = 10.0
REFERENCE_BPM = 75.0
# The PR interval the ``pr`` feature is measured against: a normal adult PR is 120-200 ms.
REFERENCE_PR_S = 0.16
# Fewer beats than this in 10 s (under 18 bpm): no rhythm to measure.
MIN_BEATS = 3
# A successive RR difference above this share of the median RR is irregular (sinus rhythm's
# beat-to-beat variation is a few percent; Tateno & Glass 2001).
IRREGULAR_DIFFERENCE = 0.125
# An RR interval within this share of the median counts as on the rhythm's beat.
NEAR_MEDIAN = 0.10
# Every feature is clipped to [-clip, clip]: ratios and shares lie well inside, a broken window
# (two detections 200 ms apart then a 9-s gap) stays bounded.
FEATURE_CLIP = 4.0


@dataclass(frozen=True)
class RecordingBeats:
    """The beats of a recording the features are computed from.

    Attributes:
        times_s: R-peak times from the recording's start, s, increasing.
        amplitude_mv: each R peak's signed height (`pipeline.qrs.RPeaks.amplitude_mv`).
        searchback: True where the beat was found by search-back.
        ectopic: True where the beat is ectopic (`pipeline.beats.ectopic_beats`).
        pr_s: each beat's PR interval (P onset to QRS onset), s; NaN where it has no P wave.
    """

    times_s: np.ndarray
    amplitude_mv: np.ndarray
    searchback: np.ndarray
    ectopic: np.ndarray
    pr_s: np.ndarray

    @classmethod
    def of(cls, peaks: RPeaks, ectopic: np.ndarray, pr_ms: np.ndarray) -> RecordingBeats:
        """The beats of detected ``peaks`` with their ectopic flags and PR intervals
        (`pipeline.intervals.BeatIntervals.pr_ms`, NaN where a beat has no P wave)."""
        return cls(
            peaks.times_s,
            peaks.amplitude_mv,
            peaks.searchback,
            np.asarray(ectopic, dtype=bool),
            np.asarray(pr_ms, dtype=np.float64) / 1000.0,
        )


def recording_beats(lead_mv: np.ndarray, fs: float, leads_mv: np.ndarray | None = None) -> RecordingBeats:
    """The beats of one lead: R peaks (`pipeline.qrs.detect_r_peaks`), ectopic flags and waves.

    ``leads_mv``: all the recording's leads (samples x leads, at ``fs``) to delineate the beats
    on; by default the lead alone. A lead the detector refuses (shorter than 1 s, too low a rate)
    has no beats to give: its windows get ``few_beats`` 1, and the waveform alone decides
    (usually Noise).
    """
    try:
        peaks = detect_r_peaks(lead_mv, fs)
        delineation = delineate_beats(lead_mv if leads_mv is None else leads_mv, fs, peaks.samples)
        pr_ms = intervals_per_beat(delineation).pr_ms
        return RecordingBeats.of(peaks, ectopic_beats(lead_mv, fs, peaks.samples), pr_ms)
    except EcgError:
        empty = np.zeros(0)
        return RecordingBeats(empty, empty, empty.astype(bool), empty.astype(bool), empty)


def beats_features(
    beats: RecordingBeats, starts_s: np.ndarray, window_s: float = FEATURE_WINDOW_S
) -> np.ndarray:
    """The features (see the module docstring) of each window starting at ``starts_s``.

    Args:
        beats: the recording's beats.
        starts_s: the windows' starts, s.
        window_s: the windows' length, s.

    Returns:
        float32, windows x `N_RR_FEATURES`.
    """
    times = np.asarray(beats.times_s, dtype=np.float64)
    amplitude = np.abs(np.asarray(beats.amplitude_mv, dtype=np.float64))
    searchback = np.asarray(beats.searchback, dtype=bool)
    ectopic = np.asarray(beats.ectopic, dtype=bool)
    pr = np.asarray(beats.pr_s, dtype=np.float64)
    starts_s = np.asarray(starts_s, dtype=np.float64)
    first = np.searchsorted(times, starts_s, side="left")
    last = np.searchsorted(times, starts_s + window_s, side="left")
    features = np.zeros((starts_s.size, N_RR_FEATURES), dtype=np.float32)
    for row, (i, j) in enumerate(zip(first, last, strict=True)):
        features[row] = _window_features(times[i:j], amplitude[i:j], searchback[i:j], ectopic[i:j], pr[i:j])
    return features


def window_features(windows: np.ndarray, fs: float) -> np.ndarray:
    """The features of windows with no recording around them: beats detected in each window.

    Args:
        windows: windows x samples (any scale: the features are ratios), at ``fs``.
        fs: their sampling rate, Hz.

    Returns:
        float32, windows x `N_RR_FEATURES`.
    """
    windows = np.atleast_2d(np.asarray(windows, dtype=np.float64))
    features = np.zeros((windows.shape[0], N_RR_FEATURES), dtype=np.float32)
    window_s = windows.shape[1] / float(fs)
    for row, window in enumerate(windows):
        features[row] = beats_features(recording_beats(window, fs), np.zeros(1), window_s)[0]
    return features


def _irregularity(rr: np.ndarray, successive: np.ndarray) -> tuple[float, float, float]:
    """(coefficient of variation, share near the median, share of irregular successive differences)."""
    median = float(np.median(rr))
    return (
        float(np.std(rr)) / float(np.mean(rr)),
        float(np.mean(np.abs(rr - median) <= NEAR_MEDIAN * median)),
        float(np.mean(np.abs(successive) > IRREGULAR_DIFFERENCE * median)) if successive.size else 0.0,
    )


def _p_wave_features(pr: np.ndarray) -> dict[str, float]:
    """``p_share``, ``pr`` and ``pr_spread`` (module docstring) of the window's beats' PR intervals."""
    measured = pr[np.isfinite(pr)]
    values = {"p_share": measured.size / pr.size if pr.size else 0.0}
    if measured.size:
        median = float(np.median(measured))
        values["pr"] = float(np.log2(max(median, 1e-3) / REFERENCE_PR_S))
        if measured.size >= 2:
            q1, q3 = np.percentile(measured, [25.0, 75.0])
            values["pr_spread"] = float(q3 - q1) / max(median, 1e-3)
    return values


def _turning_point_share(successive: np.ndarray) -> float:
    if successive.size < 2:
        return 0.0
    return float(np.mean(np.sign(successive[1:]) * np.sign(successive[:-1]) < 0))


def _window_features(
    beats_s: np.ndarray, amplitude: np.ndarray, searchback: np.ndarray, ectopic: np.ndarray, pr: np.ndarray
) -> np.ndarray:
    features = np.zeros(N_RR_FEATURES, dtype=np.float64)
    if beats_s.size < MIN_BEATS:
        features[RR_FEATURE_NAMES.index("few_beats")] = 1.0
        if beats_s.size == 2:
            features[0] = np.log2(60.0 / (beats_s[1] - beats_s[0]) / REFERENCE_BPM)
        return features
    rr = np.diff(beats_s)
    median = float(np.median(rr))
    mean = float(np.mean(rr))
    successive = np.diff(rr)
    rr_cv, near_median, successive_irregular = _irregularity(rr, successive)
    values = {
        "rate": np.log2(60.0 / median / REFERENCE_BPM),
        "rr_cv": rr_cv,
        "rmssd": float(np.sqrt(np.mean(successive**2))) / mean if successive.size else 0.0,
        "successive_irregular": successive_irregular,
        "near_median": near_median,
        "min_ratio": float(rr.min()) / median,
        "max_ratio": float(rr.max()) / median,
        "turning_points": _turning_point_share(successive),
        "amplitude_cv": float(np.std(amplitude)) / max(float(np.mean(amplitude)), 1e-6),
        "searchback": float(np.mean(searchback)),
        "ectopic_share": float(np.mean(ectopic)),
    }
    # NN intervals: both ends normal; successive differences only between adjacent NN intervals.
    normal_interval = ~ectopic[1:] & ~ectopic[:-1]
    if normal_interval.sum() >= 2:
        nn_successive = successive[normal_interval[1:] & normal_interval[:-1]]
        values["nn_rr_cv"], values["nn_near_median"], values["nn_successive_irregular"] = _irregularity(
            rr[normal_interval], nn_successive
        )
    values.update(_p_wave_features(pr))
    for name, value in values.items():
        features[RR_FEATURE_NAMES.index(name)] = value
    return np.clip(features, -FEATURE_CLIP, FEATURE_CLIP)
