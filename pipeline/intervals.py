"""ECG intervals from a delineation: RR, PR, QRS, QT and the rate-corrected QTc, beat by beat and
as robust medians over a recording.

`intervals_per_beat` turns a `pipeline.delineate.Delineation` into milliseconds per beat:

- RR: from the previous R peak to this one. The first beat has none.
- PR = QRS onset - P onset (the PR interval is measured from the start of the P wave to the start
  of the QRS complex: Kligfield et al. 2007).
- QRS = QRS end - QRS onset.
- QT = T end - QRS onset.
- QTc, Bazett (1920): QT / sqrt(RR in s). QTc, Fridericia (1920): QT / cbrt(RR in s). Both with
  the beat's *preceding* RR interval, the cycle that the ventricles repolarise after (and the one
  a premature beat is judged by); a beat without one (the first) has no QTc. Bazett's formula is
  the clinical habit but over-corrects at fast rates; Fridericia's is recommended in preference
  for drug safety studies and above about 90 bpm (Rautaharju et al. 2009).

A value is NaN where it cannot be measured: a wave boundary is absent (no P wave, no PR).

`intervals_summary` gives one value per interval for the recording: the plain median over the
beats the caller includes (``include``: False for beats in unusable-quality windows and for
ectopic beats) that have the interval measured. The median ignores a minority of mis-measured
beats however wrong they are, where a mean would follow them. A median is reported only when at
least `MIN_BEATS` beats and at least `MIN_SHARE` of the included beats have the interval; otherwise
it is None, never a guess: in atrial fibrillation the few beats where something P-like was found
do not make a PR interval. QTc medians are medians of the beats' own QTc values, so each QT is
corrected by its own RR.

References:
    Bazett HC. An analysis of the time-relations of electrocardiograms. Heart 1920;7:353-370.
    Fridericia LS. Die Systolendauer im Elektrokardiogramm bei normalen Menschen und bei
    Herzkranken. Acta Med Scand 1920;53:469-486.
    Kligfield P, Gettes LS, Bailey JJ, et al. Recommendations for the standardization and
    interpretation of the electrocardiogram, Part I. Circulation 2007;115:1306-1324.
    Rautaharju PM, Surawicz B, Gettes LS. AHA/ACCF/HRS recommendations for the standardization and
    interpretation of the electrocardiogram, Part IV: the ST segment, T and U waves, and the QT
    interval. Circulation 2009;119:e241-e250.

Example (QT 400 ms at 75 bpm, RR 0.8 s):
    >>> import numpy as np
    >>> from pipeline.delineate import Delineation
    >>> fs = 1000.0
    >>> r = np.array([1000, 1800, 2600])
    >>> beats = Delineation(fs=fs, r_peak=r, p_onset=r - 200, p_peak=r - 150, p_offset=r - 100,
    ...     qrs_onset=r - 40, qrs_offset=r + 50, t_peak=r + 250, t_offset=r + 360,
    ...     p_amplitude_mv=np.full(3, 0.1), t_amplitude_mv=np.full(3, 0.3))
    >>> per_beat = intervals_per_beat(beats)
    >>> per_beat.qtc_bazett_ms.round(1).tolist(), per_beat.qtc_fridericia_ms.round(1).tolist()
    ([nan, 447.2, 447.2], [nan, 430.9, 430.9])
    >>> intervals_summary(per_beat).qt_ms
    400.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.delineate import ABSENT, Delineation

# A median of fewer than 3 beats is one or two beats' measurement, which one mis-measured beat
# decides; and an interval found on under half the included beats is not the recording's rhythm
# (P-like waves found in a few beats of atrial fibrillation).
MIN_BEATS = 3
MIN_SHARE = 0.5


@dataclass(frozen=True, eq=False)
class BeatIntervals:
    """Intervals of each beat (one entry per beat of the delineation), float64 ms, NaN where not
    measurable."""

    rr_ms: np.ndarray
    pr_ms: np.ndarray
    qrs_ms: np.ndarray
    qt_ms: np.ndarray
    qtc_bazett_ms: np.ndarray
    qtc_fridericia_ms: np.ndarray

    def __len__(self) -> int:
        return int(self.rr_ms.size)


@dataclass(frozen=True)
class IntervalSummary:
    """Median intervals of a recording, ms; None where too few beats had the interval measured.

    Attributes:
        beats_measured: how many beats entered the QT median (included and QT measured).
    """

    pr_ms: float | None
    qrs_ms: float | None
    qt_ms: float | None
    qtc_bazett_ms: float | None
    qtc_fridericia_ms: float | None
    beats_measured: int


def intervals_per_beat(delineation: Delineation) -> BeatIntervals:
    """RR, PR, QRS, QT, QTc (Bazett, Fridericia) of each beat, ms (see the module docstring)."""
    ms_per_sample = 1000.0 / delineation.fs
    r = np.asarray(delineation.r_peak, dtype=np.float64)
    rr_ms = np.concatenate([[np.nan], np.diff(r)]) * ms_per_sample if r.size else np.zeros(0)

    def between(start: np.ndarray, end: np.ndarray) -> np.ndarray:
        start, end = np.asarray(start), np.asarray(end)
        known = (start != ABSENT) & (end != ABSENT)
        return np.where(known, (end.astype(np.float64) - start) * ms_per_sample, np.nan)

    qt_ms = between(delineation.qrs_onset, delineation.t_offset)
    rr_s = rr_ms / 1000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        bazett = qt_ms / np.sqrt(rr_s)
        fridericia = qt_ms / np.cbrt(rr_s)
    return BeatIntervals(
        rr_ms=rr_ms,
        pr_ms=between(delineation.p_onset, delineation.qrs_onset),
        qrs_ms=between(delineation.qrs_onset, delineation.qrs_offset),
        qt_ms=qt_ms,
        qtc_bazett_ms=np.where(rr_s > 0, bazett, np.nan),
        qtc_fridericia_ms=np.where(rr_s > 0, fridericia, np.nan),
    )


def intervals_summary(per_beat: BeatIntervals, include: np.ndarray | None = None) -> IntervalSummary:
    """Median intervals over the included beats that have them (see the module docstring).

    Args:
        per_beat: `intervals_per_beat`'s result.
        include: per beat, True to let it enter the medians (default: every beat). The caller
            sets False for beats in unusable-quality windows and for ectopic beats.

    Returns:
        `IntervalSummary`, each median rounded to 0.1 ms, or None where fewer than `MIN_BEATS`
        beats, or fewer than `MIN_SHARE` of the included beats, have that interval.
    """
    n = len(per_beat)
    chosen = np.ones(n, dtype=bool) if include is None else np.asarray(include, dtype=bool)
    if chosen.shape != (n,):
        raise ValueError(f"include has {chosen.size} entries for {n} beats")
    n_included = int(chosen.sum())

    def median(values: np.ndarray) -> float | None:
        measured = values[chosen & np.isfinite(values)]
        if measured.size < MIN_BEATS or measured.size < MIN_SHARE * n_included:
            return None
        return round(float(np.median(measured)), 1)

    return IntervalSummary(
        pr_ms=median(per_beat.pr_ms),
        qrs_ms=median(per_beat.qrs_ms),
        qt_ms=median(per_beat.qt_ms),
        qtc_bazett_ms=median(per_beat.qtc_bazett_ms),
        qtc_fridericia_ms=median(per_beat.qtc_fridericia_ms),
        beats_measured=int((chosen & np.isfinite(per_beat.qt_ms)).sum()),
    )
