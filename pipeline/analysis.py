"""One analysis of one ECG: the pipeline's single entry point, `analyze(ecg) -> Analysis`.

The steps run in the order a cardiologist reads a strip, each a function of its own module:

1. ``clean``: `pipeline.clean.ecg_clean` on every lead (baseline, mains hum, 0.5-40 Hz). The
   cleaned signal is what the viewer draws; the detectors below filter for their own needs.
2. ``quality``: `pipeline.quality.signal_quality` per 10-s window of the analysed lead. Beats in
   unusable windows (flat line, clipping, lead off, noise) enter no summary below.
3. ``beats``: `pipeline.qrs.detect_r_peaks` (Pan-Tompkins) on the analysed lead, checked against
   the other leads (`pipeline.qrs.r_peaks_across_leads`: another lead's beats are used where the
   analysed lead adds P or T waves to a steady rhythm there; ``beats_lead`` says which), then
   `pipeline.beats.ectopic_beats`, which flags beats that are not the dominant rhythm's.
4. ``intervals``: `pipeline.delineate.delineate_beats` on all leads (global wave boundaries),
   then PR, QRS, QT and QTc per beat and as medians over usable, non-ectopic beats
   (`pipeline.intervals`).
5. ``hrv``: heart rate and heart-rate variability from normal-to-normal intervals
   (`pipeline.hrv`).
6. ``rhythm``: the rhythm classifier over 10-s windows, when one is given; without one the
   rhythm is ``None`` and `Analysis.rhythm_reason` says why. Where only the model's VF/VT call
   is validated (`pipeline.rhythm_cnn.ShockAdvisory`, given as ``vf_vt``), `Analysis.vf_vt`
   says which windows it calls VF/VT (JSON ``"vf_vt"``), the rhythm names staying unshown.

The analysed lead is the one named by ``lead`` (any case), else the lead closest to lead II
(`pipeline.ecg.Ecg.lead_closest_to_ii`).

`Analysis.to_dict` gives the JSON of ARCHITECTURE.md (plus extra fields: per-beat values, the
heart-rate trend, reasons for missing values); a value that could not be measured is ``None``
(JSON ``null``), never a made-up number.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.beats import classify_beats
from pipeline.clean import ecg_clean
from pipeline.delineate import ABSENT, Delineation, delineate_beats
from pipeline.ecg import Ecg, leads_quoted
from pipeline.hrv import HeartRate, Hrv, heart_rate_series, heart_rate_summary, hrv_measure
from pipeline.intervals import BeatIntervals, IntervalSummary, intervals_per_beat, intervals_summary
from pipeline.qrs import RPeaks, r_peaks_across_leads
from pipeline.quality import QualityWindow, signal_quality
from pipeline.rhythm import VF_VT_LABEL, Rhythm, RhythmClassifier, RhythmEpisode, VfVtCall, VfVtCaller
from pipeline.rhythm_features import RecordingBeats
from pipeline.validate import ecg_validate

# The steps in the order they run, as `ProgressCallback` names them.
STEPS: tuple[str, ...] = ("clean", "quality", "beats", "intervals", "hrv", "rhythm")

# ``progress(step, fraction)``: called as each step starts, with the share of steps already done
# (0 for the first), and once more with ``("done", 1.0)``.
ProgressCallback = Callable[[str, float], None]

NO_CLASSIFIER_REASON = "No rhythm classifier is installed, so the rhythm was not classified."

# Points of the heart-rate trend kept in the JSON: one per 10 s of a 24-hour Holter recording
# is ~8,600; a 30-min record keeps every beat's value below that.
_MAX_TREND_POINTS = 10_000


@dataclass(frozen=True, eq=False)
class Analysis:
    """Everything the pipeline found in one recording.

    Attributes:
        record: the record's name; source: its file name as the user knows it.
        fs: sampling rate, Hz; duration_s: length, s; leads: every lead's name.
        lead: the analysed lead's name; lead_index: its column in the recording.
        cleaned_mv: the cleaned signal, samples x leads, float32 (for the viewer; not in the JSON).
        r_peaks: `RPeaks` of the analysed lead (sample indices at ``fs``).
        ectopic: per beat, True where the beat is not the dominant rhythm's (excluded from NN).
        usable_beat: per beat, True where its 10-s window is usable.
        delineation: wave boundaries per beat; beat_intervals: PR, QRS, QT, QTc per beat.
        heart_rate: HR mean/min/max; intervals: median intervals; hrv: heart-rate variability.
        quality: one `QualityWindow` per 10 s of the analysed lead.
        rhythm: the rhythm call, or None with ``rhythm_reason`` saying why.
        timings_s: seconds per step, by step name.
        vf_vt: where the rhythm names are not validated but the model's VF/VT call is, that
            call per window and its episodes; else None.
        uncalibrated_leads: leads whose file gives no amplitude calibration
            (`pipeline.ecg.Ecg.uncalibrated_leads`): their millivolts are nominal.
        beats_lead: the lead the R peaks were found on: ``lead``, unless the recording's other
            leads showed it adds beats (`pipeline.qrs.r_peaks_across_leads`);
            beats_lead_reason: why, in that case; else None.
    """

    record: str
    source: str
    fs: float
    duration_s: float
    leads: tuple[str, ...]
    lead: str
    lead_index: int
    cleaned_mv: np.ndarray
    r_peaks: RPeaks
    ectopic: np.ndarray
    usable_beat: np.ndarray
    delineation: Delineation
    beat_intervals: BeatIntervals
    heart_rate: HeartRate
    intervals: IntervalSummary
    hrv: Hrv
    quality: tuple[QualityWindow, ...]
    rhythm: Rhythm | None
    rhythm_reason: str | None
    timings_s: dict[str, float]
    vf_vt: VfVtCall | None = None
    uncalibrated_leads: tuple[str, ...] = ()
    beats_lead: str | None = None
    beats_lead_reason: str | None = None

    @property
    def usable_fraction(self) -> float:
        """Share of the recording's time in usable quality windows, 0-1."""
        total = sum(w.end_s - w.start_s for w in self.quality)
        usable = sum(w.end_s - w.start_s for w in self.quality if w.usable)
        return usable / total if total > 0 else 0.0

    def to_dict(self) -> dict:
        """The analysis JSON of ARCHITECTURE.md (JSON-ready: lists, floats, None)."""
        trend_time_s, trend_bpm = heart_rate_series(self.r_peaks.samples, self.fs, self.usable_beat)
        step = max(1, math.ceil(trend_time_s.size / _MAX_TREND_POINTS))
        return {
            "record": self.record,
            "source": self.source,
            "fs": self.fs,
            "duration_s": round(self.duration_s, 3),
            "leads": list(self.leads),
            "uncalibrated_leads": list(self.uncalibrated_leads),
            "amplitude_notice": amplitude_notice(self.uncalibrated_leads),
            "lead": self.lead,
            "beats_lead": self.beats_lead or self.lead,
            "beats_lead_reason": self.beats_lead_reason,
            "r_peaks": self.r_peaks.samples.tolist(),
            "beat_count": len(self.r_peaks),
            "heart_rate_bpm": {
                "mean": _rounded(self.heart_rate.mean_bpm, 1),
                "min": _rounded(self.heart_rate.min_bpm, 1),
                "max": _rounded(self.heart_rate.max_bpm, 1),
            },
            "intervals_ms": {
                "pr": _rounded(self.intervals.pr_ms, 1),
                "qrs": _rounded(self.intervals.qrs_ms, 1),
                "qt": _rounded(self.intervals.qt_ms, 1),
                "qtc_bazett": _rounded(self.intervals.qtc_bazett_ms, 1),
                "qtc_fridericia": _rounded(self.intervals.qtc_fridericia_ms, 1),
                "beats_measured": self.intervals.beats_measured,
            },
            "hrv": {
                "mean_nn_ms": _rounded(self.hrv.mean_nn_ms, 1),
                "sdnn_ms": _rounded(self.hrv.sdnn_ms, 1),
                "rmssd_ms": _rounded(self.hrv.rmssd_ms, 1),
                "pnn50_pct": _rounded(self.hrv.pnn50_pct, 2),
                "lf_ms2": _rounded(self.hrv.lf_ms2, 1),
                "hf_ms2": _rounded(self.hrv.hf_ms2, 1),
                "lf_hf": _rounded(self.hrv.lf_hf, 3),
                "sd1_ms": _rounded(self.hrv.sd1_ms, 1),
                "sd2_ms": _rounded(self.hrv.sd2_ms, 1),
                "nn_count": self.hrv.nn_count,
                "time_reason": self.hrv.time_reason,
                "frequency_reason": self.hrv.frequency_reason,
                "irregular_pct": _rounded(self.hrv.irregular_pct, 1),
                "caution": self.hrv.caution,
            },
            "quality": [
                {
                    "start_s": round(w.start_s, 3),
                    "end_s": round(w.end_s, 3),
                    "usable": bool(w.usable),
                    "reason": w.reason,
                }
                for w in self.quality
            ],
            "usable_fraction": round(self.usable_fraction, 4),
            "rhythm": None if self.rhythm is None else _rhythm_dict(self.rhythm),
            "rhythm_reason": self.rhythm_reason,
            "vf_vt": None if self.vf_vt is None else _vf_vt_dict(self.vf_vt),
            "beats": {
                "ectopic": self.ectopic.tolist(),
                "usable": self.usable_beat.tolist(),
                "searchback": self.r_peaks.searchback.tolist(),
                "p_onset": _samples_or_none(self.delineation.p_onset),
                "p_peak": _samples_or_none(self.delineation.p_peak),
                "p_offset": _samples_or_none(self.delineation.p_offset),
                "qrs_onset": _samples_or_none(self.delineation.qrs_onset),
                "qrs_offset": _samples_or_none(self.delineation.qrs_offset),
                "t_peak": _samples_or_none(self.delineation.t_peak),
                "t_offset": _samples_or_none(self.delineation.t_offset),
                "pr_ms": _ms_or_none(self.beat_intervals.pr_ms),
                "qrs_ms": _ms_or_none(self.beat_intervals.qrs_ms),
                "qt_ms": _ms_or_none(self.beat_intervals.qt_ms),
            },
            "heart_rate_trend": {
                "time_s": [round(float(t), 2) for t in trend_time_s[::step]],
                "bpm": [round(float(b), 1) for b in trend_bpm[::step]],
            },
            "timings_s": {name: round(seconds, 4) for name, seconds in self.timings_s.items()},
        }


def amplitude_notice(uncalibrated_leads: Sequence[str]) -> str | None:
    """What a reader must know when leads have no amplitude calibration; None when all have one."""
    if not uncalibrated_leads:
        return None
    names = leads_quoted(uncalibrated_leads)
    which = f"lead {names}" if len(uncalibrated_leads) == 1 else f"leads {names}"
    return (
        f"Amplitude not calibrated: the file gives no gain for {which}, so millivolts there are "
        "nominal (read at 200 units per mV). Times, heart rate and intervals are measured as usual; "
        "do not read amplitudes (ST level, voltage criteria) from it."
    )


def analyze(
    ecg: Ecg,
    *,
    lead: str | None = None,
    classifier: RhythmClassifier | None = None,
    unclassified_reason: str | None = None,
    vf_vt: VfVtCaller | None = None,
    line_hz: float = 50.0,
    progress: ProgressCallback | None = None,
) -> Analysis:
    """Analyse one recording: beats, intervals, heart rate, HRV, signal quality and rhythm.

    Args:
        ecg: a loaded recording (`pipeline.load.load_ecg`); validated again here, so an `Ecg`
            built in code gets the same checks as a file.
        lead: name of the lead to analyse, any case (``"ii"``, ``"MLII"``); default: the lead
            closest to lead II.
        classifier: the rhythm classifier; None leaves the rhythm unclassified.
        unclassified_reason: what `Analysis.rhythm_reason` says when ``classifier`` is None
            (default `NO_CLASSIFIER_REASON`), e.g. that the model has not passed validation.
        vf_vt: the validated VF/VT call (`pipeline.rhythm_cnn.ShockAdvisory`), used where
            ``classifier`` is None: where a model's card validates that call but not its
            rhythm names, the analysis still says where VF/VT was called (`Analysis.vf_vt`).
        line_hz: the power-line frequency to notch out (50 or 60 Hz).
        progress: called as each step starts (see `ProgressCallback`).

    Returns:
        The `Analysis`.

    Raises:
        EcgError: the recording cannot be analysed (too short, implausible rate, flat or
            clipped lead, gaps); EcgLeadError: ``lead`` is not in the recording.
    """
    report = progress or (lambda step, fraction: None)
    timings: dict[str, float] = {}
    ecg = ecg_validate(ecg)
    index = ecg.lead_index(lead) if lead is not None else ecg.lead_closest_to_ii()
    lead_name = ecg.lead_names[index]
    raw = ecg.signal_mv
    lead_mv = np.asarray(raw[:, index], dtype=np.float64)

    def step(name: str) -> _StepTimer:
        report(name, STEPS.index(name) / len(STEPS))
        return _StepTimer(name, timings)

    with step("clean"):
        cleaned = ecg_clean(raw, ecg.fs, line_hz=line_hz)
    with step("quality"):
        quality = signal_quality(lead_mv, ecg.fs)
    with step("beats"):
        # The analysed lead's beats, unless the other leads show it adds beats (P or T waves).
        choice = r_peaks_across_leads(raw, ecg.fs, index, ecg.lead_names)
        peaks = choice.peaks
        beat_classes = classify_beats(lead_mv, ecg.fs, peaks.samples)
        ectopic = beat_classes.ectopic
        usable_beat = _beats_in_usable_windows(peaks.samples, ecg.fs, quality)
    with step("intervals"):
        delineation = delineate_beats(raw, ecg.fs, peaks.samples)
        per_beat = intervals_per_beat(delineation)
        summary = intervals_summary(per_beat, usable_beat & ~ectopic)
    with step("hrv"):
        heart_rate = heart_rate_summary(peaks.samples, ecg.fs, usable_beat)
        irregular = beat_classes.irregular_rhythm
        hrv = hrv_measure(peaks.samples, ecg.fs, ectopic=ectopic, include=usable_beat, irregular=irregular)
    with step("rhythm"):
        beats = RecordingBeats.of(peaks, ectopic, per_beat.pr_ms)
        rhythm = (
            None if classifier is None else classifier.classify(lead_mv, ecg.fs, lead=lead_name, beats=beats)
        )
        vf_vt_call = (
            None
            if classifier is not None or vf_vt is None
            else vf_vt.recording_call(lead_mv, ecg.fs, lead=lead_name, beats=beats)
        )
    report("done", 1.0)

    return Analysis(
        record=ecg.record_name,
        source=ecg.source,
        fs=ecg.fs,
        duration_s=ecg.duration_s,
        leads=ecg.lead_names,
        lead=lead_name,
        lead_index=index,
        cleaned_mv=cleaned,
        r_peaks=peaks,
        ectopic=np.asarray(ectopic, dtype=bool),
        usable_beat=usable_beat,
        delineation=delineation,
        beat_intervals=per_beat,
        heart_rate=heart_rate,
        intervals=summary,
        hrv=hrv,
        quality=quality,
        rhythm=rhythm,
        rhythm_reason=None if classifier is not None else (unclassified_reason or NO_CLASSIFIER_REASON),
        vf_vt=vf_vt_call,
        timings_s=timings,
        uncalibrated_leads=ecg.uncalibrated_leads,
        beats_lead=ecg.lead_names[choice.index],
        beats_lead_reason=choice.reason,
    )


@dataclasses.dataclass
class _StepTimer:
    """``with`` block that adds its duration to ``timings[name]``."""

    name: str
    timings: dict[str, float]
    started: float = 0.0

    def __enter__(self) -> _StepTimer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.timings[self.name] = time.perf_counter() - self.started


def _beats_in_usable_windows(
    samples: np.ndarray, fs: float, quality: tuple[QualityWindow, ...]
) -> np.ndarray:
    """Per beat, whether the quality window it falls in is usable (no window: not usable)."""
    if not quality:
        return np.zeros(samples.size, dtype=bool)
    starts = np.array([w.start_s for w in quality])
    usable = np.array([w.usable for w in quality], dtype=bool)
    window = np.clip(np.searchsorted(starts, samples / fs, side="right") - 1, 0, len(quality) - 1)
    return usable[window]


def _rhythm_dict(rhythm: Rhythm) -> dict:
    return {
        "label": rhythm.label,
        "confidence": round(float(rhythm.confidence), 4),
        "probabilities": {name: round(float(p), 4) for name, p in rhythm.probabilities.items()},
        "lead": rhythm.lead,
        "windows": [
            {
                "start_s": round(w.start_s, 3),
                "end_s": round(w.end_s, 3),
                "label": w.label,
                "probabilities": {name: round(float(p), 4) for name, p in w.probabilities.items()},
            }
            for w in rhythm.windows
        ],
        "episodes": _episodes_list(rhythm.episodes),
    }


def _vf_vt_dict(call: VfVtCall) -> dict:
    return {
        "label": VF_VT_LABEL,
        "rule": f"VF/VT where P(VF) + P(VT) >= {call.threshold:g} in a 10-s window",
        "threshold": call.threshold,
        "lead": call.lead,
        "windows": [
            {"start_s": round(start, 3), "end_s": round(end, 3), "probability": round(float(p), 4)}
            for start, end, p in call.windows
        ],
        "windows_called": call.windows_called,
        "episodes": _episodes_list(call.episodes),
    }


def _episodes_list(episodes: tuple[RhythmEpisode, ...]) -> list[dict]:
    return [
        {
            "start_s": round(e.start_s, 3),
            "end_s": round(e.end_s, 3),
            "label": e.label,
            "probability": round(float(e.probability), 4),
        }
        for e in episodes
    ]


def _rounded(value: float | None, digits: int) -> float | None:
    """``value`` rounded for the JSON; None (not measured) stays None, and so does NaN."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _samples_or_none(samples: np.ndarray) -> list[int | None]:
    return [None if s == ABSENT else int(s) for s in samples.tolist()]


def _ms_or_none(values_ms: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else round(v, 1) for v in values_ms.tolist()]
