"""Score wave delineation and ECG intervals against a WFDB database's wave-boundary annotations.

    python -m pipeline.bench intervals --db DIR [--ann q1c] [--second-ann q2c]
                                       [--records sel100 sel102 ...] [--lead 0]
                                       [--out results.json] [--jobs 2] [--no-neurokit]

Any WFDB database directory with wave-boundary annotations works (the QT Database's ``q1c``, the
default, or its second annotator's ``q2c``), at any sampling rate: records are found by their
``.hea`` files (or named with ``--records``); a record without the annotation file is skipped and
listed.

For each record:

- R peaks: `pipeline.qrs.detect_r_peaks` on one lead (``--lead``, default 0, the record's first
  lead: in the QT Database mostly MLII or a modified limb lead, the lead the analysis would
  choose).
- ``ours``: `pipeline.delineate.delineate_beats` on all the record's leads, in mV (global
  boundaries, as the cardiologists annotated looking at both leads).
- ``neurokit``: NeuroKit2's wavelet delineator, ``ecg_clean`` then
  ``ecg_delineate(method="dwt")`` on the same lead with the same R peaks, the well-known
  reference implementation (of Martínez et al. 2004). ``--no-neurokit`` skips it.

Reference (`reference_beats`): an annotated beat is a QRS peak symbol (``N``, and the few ``A``,
``B``, ``V``, ``Q`` beats) with its ``(`` onset and ``)`` end; the ``p`` before it (after the
previous beat) with its boundaries is its P wave, the ``t`` after it its T wave. Not every beat
has every wave: some T waves have only their end, some beats have no P wave. Each annotated beat
is matched to the nearest detected R peak within 150 ms (as ANSI/AAMI EC57 matches beats); a
beat with none is counted as unmatched.

Scores, errors ours minus reference in ms, pooled over all matched annotated beats of all
records: P onset, QRS onset, QRS end, T end, and the intervals PR (QRS onset - P onset), QRS
(end - onset) and QT (T end - QRS onset): mean and SD, and the number of samples. Where the
reference has a boundary (both, for an interval) and the method reports it absent, that is no
error sample: it is counted, and the summary gives it as a share ("absent"). The limits of IEC
60601-2-25 for automated interval measurement are printed beside the intervals (mean within +-10
ms for PR and QRS, +-25 ms for QT; SD at most 15, 10 and 30 ms).

Two views of the interval errors are given, because they answer different questions:

- **per record** (``per_record``), the one IEC 60601-2-25 specifies and the one the limits are
  checked on: the standard scores an electrocardiograph's *global* measurement of each ECG (one
  PR, QRS and QT per recording, as the report prints it) against the referees' value for that
  ECG, then takes the mean and SD of those differences over the ECGs. Here each record's value
  is the median over its annotated beats, ours over the same beats (the beats where we measured
  the interval) and the cardiologist's over the beats he annotated; the error is their
  difference, and mean and SD run over the records. Each side has a global value only under the
  rule by which the analysis prints one (`record_status`: the interval on at least 3 beats and
  half of them, `pipeline.intervals`): a record where the cardiologist has one and we do not is
  counted as ``records_not_measured`` (a failure, printed beside the figure); one where the
  cardiologist marked the interval on too few beats has no reference value
  (``records_without_reference``; e.g. qtdb sel36, one P wave marked on 31 beats, which this
  view scored as the record's PR until December 2026: PR SD 20.9 ms with it, 13.8 without);
- **per beat** (the pooled figures above): every annotated beat's error. It includes the
  beat-to-beat scatter of the reference itself (within a record the annotated QRS duration
  varies with an SD of 14 ms, QT 21 ms; the QT Database's two cardiologists differ by
  -1.1 +- 19.5 ms on QRS and +2.0 +- 43.0 ms on QT on the 11 records both annotated), so no
  method reaches the IEC SDs on it; it is reported to show single-beat reliability.

**How precise is the reference?** (``--second-ann q2c``, the QT Database's second cardiologist,
who annotated 11 of its records.) The per-record SD of ours minus the cardiologist holds the
cardiologist's own error as well as ours. With three measurements of the same records - ours
(C), the first annotator (A) and the second (B) - whose errors are independent, the variance of
each difference is the sum of two error variances, so each one is found without knowing the
truth (Grubbs 1948, J Am Stat Assoc 43:243; the "three-cornered hat"):
sigma_C^2 = (Var(C-A) + Var(C-B) - Var(A-B)) / 2, and likewise for A and B. Each record's global
value is the median over the beats that annotator marked and matched (`errors_scored`); the 95 %
intervals come from resampling the records (2,000 bootstrap draws, fixed seed); a variance the
formula makes negative is shown as 0. With 11 records the intervals are wide: the figures tell
how much of the SD against one cardiologist is his, not a verdict on the IEC limits.

The output is a per-record table and one line per method, e.g. ``ours: PR +3.6±28.0 (8.9 %
absent) FAILS IEC, QRS ..., QT ... ms; boundaries p_onset ..., qrs_onset ..., qrs_offset ...,
t_offset ...``, and a JSON file (``--out``, default ``intervals-benchmark-<database>.json`` in
the current directory) with the settings, the pooled figures per method (``mean_ms``, ``sd_ms``,
``n``, ``absent``, ``absent_pct``; ``per_record`` with ``within_iec``) and every record's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from pipeline.bench.qrs import MATCH_WINDOW_S, beats_matched, channel_index, records_listed, records_run
from pipeline.delineate import ABSENT, delineate_beats
from pipeline.intervals import MIN_BEATS, MIN_SHARE
from pipeline.qrs import detect_r_peaks
from pipeline.units import units_mv_factor

METHODS = ("ours", "neurokit")

# Wave symbols of the QT Database's boundary annotations; every other letter is a QRS peak.
_WAVE_SYMBOLS = frozenset("ptu")
_BOUNDARY_SYMBOLS = frozenset("()")

# Boundaries and intervals scored: name -> the reference fields they come from.
BOUNDARIES = {
    "p_onset": "p_onset",
    "qrs_onset": "qrs_onset",
    "qrs_offset": "qrs_offset",
    "t_offset": "t_offset",
}
INTERVALS = {  # name -> (start, end)
    "pr": ("p_onset", "qrs_onset"),
    "qrs": ("qrs_onset", "qrs_offset"),
    "qt": ("qrs_onset", "t_offset"),
}

# IEC 60601-2-25:2011, 201.12.4.102.3.2: automated global interval measurements on the
# calibration and analytical ECGs; |mean error| and SD of the differences, ms.
IEC_LIMITS_MS = {
    "pr": {"mean": 10.0, "sd": 15.0},
    "qrs": {"mean": 10.0, "sd": 10.0},
    "qt": {"mean": 25.0, "sd": 30.0},
}

_FIELDS = ("qrs_peak", "qrs_onset", "qrs_offset", "p_onset", "p_peak", "p_offset", "t_peak", "t_offset")


@dataclass(frozen=True)
class ReferenceBeats:
    """Annotated beats of a record: one entry per QRS peak annotation, samples, ABSENT (-1)
    where the annotator marked no such boundary."""

    qrs_peak: np.ndarray
    qrs_onset: np.ndarray
    qrs_offset: np.ndarray
    p_onset: np.ndarray
    p_peak: np.ndarray
    p_offset: np.ndarray
    t_peak: np.ndarray
    t_offset: np.ndarray

    def __len__(self) -> int:
        return int(self.qrs_peak.size)


def reference_beats(symbols: Sequence[str], samples: Sequence[int]) -> ReferenceBeats:
    """The annotated beats of a wave-boundary annotation (``wfdb.rdann(...).symbol``, ``.sample``).

    A peak symbol's onset is a ``(`` right before it, its end a ``)`` right after it. The P wave of
    a beat is the last ``p`` between the previous QRS peak and this one; its T wave the first
    ``t`` between this QRS peak and the next.
    """
    symbols = list(symbols)
    samples = np.asarray(samples, dtype=np.int64)
    waves = []  # (kind, onset, peak, end)
    for i, symbol in enumerate(symbols):
        if symbol in _BOUNDARY_SYMBOLS:
            continue
        onset = int(samples[i - 1]) if i > 0 and symbols[i - 1] == "(" else ABSENT
        end = int(samples[i + 1]) if i + 1 < len(symbols) and symbols[i + 1] == ")" else ABSENT
        kind = symbol if symbol in _WAVE_SYMBOLS else "qrs"
        waves.append((kind, onset, int(samples[i]), end))
    qrs = [wave for wave in waves if wave[0] == "qrs"]
    rows = []
    for k, (_, onset, peak, end) in enumerate(qrs):
        previous_peak = qrs[k - 1][2] if k > 0 else -1
        next_peak = qrs[k + 1][2] if k + 1 < len(qrs) else np.iinfo(np.int64).max
        p = [w for w in waves if w[0] == "p" and previous_peak < w[2] < peak]
        t = [w for w in waves if w[0] == "t" and peak < w[2] < next_peak]
        p_wave = p[-1] if p else (None, ABSENT, ABSENT, ABSENT)
        t_wave = t[0] if t else (None, ABSENT, ABSENT, ABSENT)
        rows.append((peak, onset, end, p_wave[1], p_wave[2], p_wave[3], t_wave[2], t_wave[3]))
    table = np.array(rows, dtype=np.int64).reshape(-1, len(_FIELDS))
    return ReferenceBeats(**{name: table[:, k] for k, name in enumerate(_FIELDS)})


def errors_scored(reference: ReferenceBeats, waves: dict[str, np.ndarray], fs: float) -> dict[str, dict]:
    """Errors (ms) of one method's boundaries and intervals on the matched annotated beats.

    Args:
        reference: the annotated beats that were matched, in the order of ``waves``' rows.
        waves: the method's boundaries for those beats (samples, ABSENT where absent), keyed like
            `ReferenceBeats`' fields (``p_onset``, ``qrs_onset``, ``qrs_offset``, ``t_offset``).
        fs: sampling rate, Hz.

    Returns:
        For each boundary and interval: ``errors_ms`` (list, one per scored beat) and ``absent``
        (annotated beats the method left absent).
    """
    ms = 1000.0 / fs
    out = {}
    for name, field in BOUNDARIES.items():
        ref, ours = getattr(reference, field), waves[field]
        annotated = ref != ABSENT
        found = annotated & (ours != ABSENT)
        out[name] = {
            "errors_ms": ((ours[found] - ref[found]) * ms).tolist(),
            "absent": int((annotated & ~found).sum()),
        }
    for name, (start, end) in INTERVALS.items():
        ref_start, ref_end = getattr(reference, start), getattr(reference, end)
        ours_start, ours_end = waves[start], waves[end]
        annotated = (ref_start != ABSENT) & (ref_end != ABSENT)
        found = annotated & (ours_start != ABSENT) & (ours_end != ABSENT)
        error = (ours_end - ours_start) - (ref_end - ref_start)
        out[name] = {"errors_ms": (error[found] * ms).tolist(), "absent": int((annotated & ~found).sum())}
        # The record's global value (IEC 60601-2-25): median over its beats, ours over the beats we
        # measured, the reference over the beats it annotated; each side has one only under the
        # rule by which the analysis prints one (`pipeline.intervals.intervals_summary`).
        measured = (ours_start != ABSENT) & (ours_end != ABSENT)
        status = record_status(int(annotated.sum()), int(measured.sum()), len(reference))
        out[name]["record_status"] = status
        out[name]["record_error_ms"] = (
            float(np.median((ours_end - ours_start)[found]) - np.median((ref_end - ref_start)[annotated]))
            * ms
            if status == "scored" and found.any()
            else None
        )
    return out


def has_global_value(count: int, beats: int) -> bool:
    """Whether an interval marked on ``count`` of a record's ``beats`` gives the record a global
    value, under the rule the analysis prints one by (`pipeline.intervals`)."""
    return count >= MIN_BEATS and count >= MIN_SHARE * beats


def record_status(annotated: int, measured: int, beats: int) -> str:
    """Whether a record's global interval is scored, from how many of its ``beats`` (the matched
    annotated ones) the reference annotated and the method measured.

    A side has a global value under the rule the analysis prints one by
    (`pipeline.intervals.MIN_BEATS` beats and `pipeline.intervals.MIN_SHARE` of them): a PR
    interval the cardiologist marked on one beat of 31 is not that recording's PR interval, nor
    is one the method found on 4 beats of 30. Returns ``scored`` (both have one),
    ``not_measured`` (the reference has one, the method not: a failure, counted),
    ``reported_without_reference`` (the method has one, the reference not) or ``neither``."""

    reference, method = has_global_value(annotated, beats), has_global_value(measured, beats)
    if reference:
        return "scored" if method else "not_measured"
    return "reported_without_reference" if method else "neither"


def per_record_pooled(
    record_errors: Sequence[float | None], limit: dict[str, float], statuses: Sequence[str] = ()
) -> dict:
    """Mean and SD (ms) over records of one interval's per-record error, and the IEC verdict;
    with the records' `record_status`, how many the reference had a value for and the method
    not (``records_not_measured``) and the other way round."""
    errors = np.asarray([e for e in record_errors if e is not None], dtype=np.float64)
    mean = round(float(errors.mean()), 2) if errors.size else None
    sd = round(float(errors.std(ddof=1)), 2) if errors.size > 1 else None
    not_measured = (
        sum(status == "not_measured" for status in statuses)
        if statuses
        else len(record_errors) - int(errors.size)
    )
    return {
        "mean_ms": mean,
        "sd_ms": sd,
        "records": int(errors.size),
        "records_not_measured": not_measured,
        "records_without_reference": sum(s in ("reported_without_reference", "neither") for s in statuses),
        "records_reported_without_reference": sum(s == "reported_without_reference" for s in statuses),
        "within_iec": mean is not None
        and sd is not None
        and abs(mean) <= limit["mean"]
        and sd <= limit["sd"],
    }


def pooled(scores: Sequence[dict]) -> dict:
    """Mean, SD (ms), sample count and absent share of one measure over several records' scores."""
    errors = np.concatenate([np.asarray(s["errors_ms"], dtype=np.float64) for s in scores]) if scores else []
    errors = np.asarray(errors, dtype=np.float64)
    absent = sum(int(s["absent"]) for s in scores)
    annotated = errors.size + absent
    return {
        "mean_ms": round(float(errors.mean()), 2) if errors.size else None,
        "sd_ms": round(float(errors.std(ddof=1)), 2) if errors.size > 1 else None,
        "n": int(errors.size),
        "absent": absent,
        "absent_pct": round(100.0 * absent / annotated, 2) if annotated else None,
    }


def method_waves(method: str, signal_mv: np.ndarray, fs: float, r_peaks: np.ndarray, lead: int) -> dict:
    """The boundaries ``method`` finds for each R peak: samples, ABSENT where absent."""
    if method == "ours":
        beats = delineate_beats(signal_mv, fs, r_peaks)
        return {field: getattr(beats, field) for field in BOUNDARIES.values()}
    import neurokit2 as nk  # imported here: slow to import, and only the benchmark needs it

    with warnings.catch_warnings():  # its warnings would drown the table; the scores tell
        warnings.simplefilter("ignore")
        cleaned = nk.ecg_clean(signal_mv[:, lead], sampling_rate=fs, method="neurokit")
        _, found = nk.ecg_delineate(cleaned, rpeaks=r_peaks, sampling_rate=fs, method="dwt")
    names = {"p_onset": "ECG_P_Onsets", "qrs_onset": "ECG_R_Onsets", "qrs_offset": "ECG_R_Offsets"}
    names["t_offset"] = "ECG_T_Offsets"
    out = {}
    for field, key in names.items():
        values = np.asarray(found[key], dtype=np.float64)
        out[field] = np.where(np.isfinite(values), np.nan_to_num(values), ABSENT).astype(np.int64)
    return out


@dataclass(frozen=True)
class _RecordTask:
    database: str
    record: str
    annotator: str
    lead: str
    methods: tuple[str, ...]
    second_annotator: str | None = None


def record_scored(task: _RecordTask) -> dict:
    """One record's errors per method, or ``{"record": ..., "skipped": reason}``."""
    path = str(Path(task.database) / task.record)
    if not Path(path + "." + task.annotator).is_file():
        return {"record": task.record, "skipped": f"no .{task.annotator} annotation file"}
    try:
        record = wfdb.rdrecord(path)
        annotation = wfdb.rdann(path, task.annotator)
        names = [str(name) for name in (record.sig_name or [])]
        lead = channel_index(names, task.lead)
        units = record.units or ["mV"] * len(names)
        factors = [units_mv_factor(unit or "mV", name) for unit, name in zip(units, names, strict=True)]
        signal_mv = _gaps_bridged(np.asarray(record.p_signal, dtype=np.float64) * np.asarray(factors))
    except (OSError, ValueError, IndexError) as error:
        return {"record": task.record, "skipped": f"unreadable: {error}"}

    fs = float(record.fs)
    reference = reference_beats(annotation.symbol, annotation.sample)
    r_peaks = detect_r_peaks(signal_mv[:, lead], fs).samples
    matched_ref, matched_det = beats_matched(reference.qrs_peak, r_peaks, MATCH_WINDOW_S * fs)
    matched = ReferenceBeats(**{name: getattr(reference, name)[matched_ref] for name in _FIELDS})
    row: dict = {
        "record": task.record,
        "fs": fs,
        "leads": names,
        "r_peak_lead": names[lead],
        "annotated_beats": len(reference),
        "matched_beats": len(matched),
        "methods": {},
    }
    for method in task.methods:
        started = time.perf_counter()
        try:
            waves = method_waves(method, signal_mv, fs, r_peaks, lead)
        except Exception as error:  # a failing comparator must not stop the benchmark
            row["methods"][method] = {"error": f"{type(error).__name__}: {error}"}
            continue
        seconds = time.perf_counter() - started
        on_matched = {field: values[matched_det] for field, values in waves.items()}
        row["methods"][method] = {**errors_scored(matched, on_matched, fs), "seconds": round(seconds, 3)}
        if method == "ours" and task.second_annotator:
            second = _second_annotator_scored(path, task.second_annotator, matched, waves, r_peaks, fs)
            if second is not None:
                row["second_annotator"] = second
    return row


def _second_annotator_scored(
    path: str, annotator: str, first: ReferenceBeats, waves: dict, r_peaks: np.ndarray, fs: float
) -> dict | None:
    """Per interval, our record error against the second annotator and the first annotator's
    global value minus the second's (ms, None where a side has none); None without the file."""
    if not Path(path + "." + annotator).is_file():
        return None
    annotation = wfdb.rdann(path, annotator)
    reference = reference_beats(annotation.symbol, annotation.sample)
    matched_ref, matched_det = beats_matched(reference.qrs_peak, r_peaks, MATCH_WINDOW_S * fs)
    second = ReferenceBeats(**{name: getattr(reference, name)[matched_ref] for name in _FIELDS})
    ours = errors_scored(second, {field: values[matched_det] for field, values in waves.items()}, fs)
    first_values, second_values = reference_global_ms(first, fs), reference_global_ms(second, fs)
    return {
        "annotator": annotator,
        "matched_beats": len(second),
        "ours_error_ms": {name: ours[name]["record_error_ms"] for name in INTERVALS},
        "first_minus_second_ms": {
            name: None
            if first_values[name] is None or second_values[name] is None
            else first_values[name] - second_values[name]
            for name in INTERVALS
        },
    }


def reference_global_ms(reference: ReferenceBeats, fs: float) -> dict[str, float | None]:
    """Per interval, an annotator's global value for the record (ms): the median over the beats
    that annotator marked it on, where those are enough for one (`record_status`); else None."""
    out: dict[str, float | None] = {}
    for name, (start, end) in INTERVALS.items():
        starts, ends = getattr(reference, start), getattr(reference, end)
        annotated = (starts != ABSENT) & (ends != ABSENT)
        has_one = has_global_value(int(annotated.sum()), len(reference))
        out[name] = float(np.median(ends[annotated] - starts[annotated])) * 1000.0 / fs if has_one else None
    return out


def grubbs_sds(ours_vs_a: np.ndarray, ours_vs_b: np.ndarray, a_vs_b: np.ndarray) -> dict[str, float]:
    """Each of three measurers' error SD from the SDs of their pairwise differences (Grubbs 1948):
    ``ours_vs_a`` = C - A, ``ours_vs_b`` = C - B, ``a_vs_b`` = A - B over the same items. A variance
    the formula makes negative (possible with few items) is returned as 0."""
    v_ca, v_cb, v_ab = (
        float(np.var(np.asarray(d, dtype=np.float64), ddof=1)) for d in (ours_vs_a, ours_vs_b, a_vs_b)
    )
    variances = {
        "ours": (v_ca + v_cb - v_ab) / 2,
        "first": (v_ca + v_ab - v_cb) / 2,
        "second": (v_cb + v_ab - v_ca) / 2,
    }
    return {name: float(np.sqrt(max(value, 0.0))) for name, value in variances.items()}


def annotator_agreement(rows: Sequence[dict], *, resamples: int = 2000, seed: int = 0) -> dict:
    """Per interval, over the records with all three global values (ours, first and second
    annotator): the SDs of the three differences and Grubbs' estimate of each one's own error
    SD, with bootstrap 95 % intervals over the records (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in INTERVALS:
        triples = []
        for row in rows:
            second = row.get("second_annotator")
            if second is None:
                continue
            values = (
                row["methods"]["ours"][name]["record_error_ms"],
                second["ours_error_ms"][name],
                second["first_minus_second_ms"][name],
            )
            if None not in values:
                triples.append((row["record"], *values))
        if len(triples) < 3:
            out[name] = {"records": len(triples)}
            continue
        table = np.array([t[1:] for t in triples], dtype=np.float64)
        estimate = grubbs_sds(table[:, 0], table[:, 1], table[:, 2])
        draws = [grubbs_sds(*table[rng.integers(0, len(table), len(table))].T) for _ in range(resamples)]
        out[name] = {
            "records": len(triples),
            "record_names": [t[0] for t in triples],
            "sd_ms": {
                "ours_minus_first": round(float(np.std(table[:, 0], ddof=1)), 2),
                "ours_minus_second": round(float(np.std(table[:, 1], ddof=1)), 2),
                "first_minus_second": round(float(np.std(table[:, 2], ddof=1)), 2),
            },
            "grubbs_sd_ms": {who: round(value, 2) for who, value in estimate.items()},
            "grubbs_ci95_ms": {
                who: [round(float(np.percentile([d[who] for d in draws], q)), 2) for q in (2.5, 97.5)]
                for who in estimate
            },
        }
    return out


def benchmark_run(
    database: Path,
    records: Sequence[str] | None = None,
    *,
    annotator: str = "q1c",
    lead: str = "0",
    methods: Sequence[str] = METHODS,
    jobs: int = 2,
    progress: Callable[[dict], None] | None = None,
    second_annotator: str | None = None,
) -> dict:
    """Score ``methods`` on ``database``; returns the JSON-ready result (see the module)."""
    started = time.perf_counter()
    tasks = [
        _RecordTask(str(database), name, annotator, lead, tuple(methods), second_annotator)
        for name in records_listed(database, records)
    ]
    rows = records_run(record_scored, tasks, jobs, progress)

    scored = [row for row in rows if "skipped" not in row]
    summary = {}
    for method in methods:
        ok = [row["methods"][method] for row in scored if "error" not in row["methods"][method]]
        figures = {name: pooled([r[name] for r in ok]) for name in (*BOUNDARIES, *INTERVALS)}
        for name, limit in IEC_LIMITS_MS.items():
            mean, sd = figures[name]["mean_ms"], figures[name]["sd_ms"]
            # The IEC limits read on single beats (stricter than the standard, which scores records).
            figures[name]["within_iec_limits_per_beat"] = (
                mean is not None and sd is not None and (abs(mean) <= limit["mean"] and sd <= limit["sd"])
            )
        per_record = {
            name: per_record_pooled(
                [r[name]["record_error_ms"] for r in ok], limit, [r[name]["record_status"] for r in ok]
            )
            for name, limit in IEC_LIMITS_MS.items()
        }
        summary[method] = {
            **figures,
            "per_record": per_record,
            "records": len(ok),
            "records_failed": len(scored) - len(ok),
            "seconds": round(sum(r["seconds"] for r in ok), 2),
        }
    for row in scored:  # per-record figures replace the raw error lists in the JSON
        for result in row["methods"].values():
            for name in (*BOUNDARIES, *INTERVALS):
                if name in result:
                    record_error = result[name].get("record_error_ms")
                    status = result[name].get("record_status")
                    result[name] = pooled([result[name]])
                    if name in INTERVALS:
                        result[name]["record_error_ms"] = (
                            None if record_error is None else round(record_error, 2)
                        )
                        result[name]["record_status"] = status
    agreement = {}
    if second_annotator and "ours" in methods:
        agreement = {
            "annotator_agreement": {"second_annotator": second_annotator, **annotator_agreement(scored)}
        }
    return {
        "benchmark": "intervals",
        "database": str(database),
        "annotator": annotator,
        "r_peak_lead": lead,
        "match_window_s": MATCH_WINDOW_S,
        "iec_60601_2_25_limits_ms": IEC_LIMITS_MS,
        "annotated_beats": sum(row["annotated_beats"] for row in scored),
        "matched_beats": sum(row["matched_beats"] for row in scored),
        "records_scored": len(scored),
        "records_skipped": {row["record"]: row["skipped"] for row in rows if "skipped" in row},
        "wall_s": round(time.perf_counter() - started, 2),
        "summary": summary,
        **agreement,
        "records": scored,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipeline.bench intervals ...``: run, print the table and summary, write the JSON."""
    args = _parser().parse_args(argv)
    database = Path(args.db)
    if not database.is_dir():
        print(f"error: {database} is not a directory")
        return 2
    methods = tuple(m for m in METHODS if not (args.no_neurokit and m == "neurokit"))
    print(_table_header(methods))
    result = benchmark_run(
        database,
        args.records,
        annotator=args.ann,
        lead=args.lead,
        methods=methods,
        jobs=args.jobs,
        progress=lambda row: print(_table_row(row, methods), flush=True),
        second_annotator=args.second_ann,
    )
    for name, reason in result["records_skipped"].items():
        print(f"skipped {name}: {reason}")
    print(
        f"scored {result['records_scored']} records: {result['matched_beats']} of "
        f"{result['annotated_beats']} annotated beats matched to an R peak (lead {args.lead}) within 150 ms"
    )
    for method, figures in result["summary"].items():
        print(_summary_line(method, figures))
    for line in _agreement_lines(result.get("annotator_agreement"), args.ann):
        print(line)
    print(f"wall time {result['wall_s']:.1f} s")
    out = Path(args.out) if args.out else Path.cwd() / f"intervals-benchmark-{database.resolve().name}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench intervals",
        description="Score wave delineation and PR/QRS/QT against WFDB wave-boundary annotations.",
    )
    parser.add_argument("--db", required=True, help="WFDB database directory (records found by .hea files)")
    parser.add_argument("--records", nargs="+", help="record names (default: every .hea in --db)")
    parser.add_argument("--ann", default="q1c", help="reference annotator, the file extension (default: q1c)")
    parser.add_argument(
        "--second-ann",
        help="a second annotator's file extension (q2c): estimates each one's own error (Grubbs 1948)",
    )
    parser.add_argument("--lead", default="0", help="lead for the R peaks, index or name (default: 0)")
    parser.add_argument("--out", help="JSON output (default: ./intervals-benchmark-<database>.json)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--no-neurokit", action="store_true", help="skip NeuroKit2's delineator")
    return parser


def _agreement_lines(agreement: dict | None, first: str) -> list[str]:
    if not agreement:
        return []
    second = agreement["second_annotator"]
    lines = []
    for name in INTERVALS:
        figures = agreement[name]
        if "grubbs_sd_ms" not in figures:
            lines.append(
                f"{name.upper()}: {figures['records']} records with values from ours, {first} and {second}"
            )
            continue
        sd, own, ci = figures["sd_ms"], figures["grubbs_sd_ms"], figures["grubbs_ci95_ms"]
        estimates = ", ".join(
            f"{label} {own[who]:.1f} [{ci[who][0]:.1f}-{ci[who][1]:.1f}]"
            for who, label in (("ours", "ours"), ("first", first), ("second", second))
        )
        lines.append(
            f"{name.upper()}, {figures['records']} records annotated twice: SD ours-{first} "
            f"{sd['ours_minus_first']:.1f}, ours-{second} {sd['ours_minus_second']:.1f}, {first}-{second} "
            f"{sd['first_minus_second']:.1f} ms; own error SD (Grubbs 1948, 95 % bootstrap): {estimates} ms"
        )
    return lines


def _gaps_bridged(signal_mv: np.ndarray) -> np.ndarray:
    """Missing samples (NaN) bridged by straight lines per lead, for every method alike."""
    out = signal_mv.copy()
    index = np.arange(out.shape[0])
    for lead in range(out.shape[1]):
        missing = ~np.isfinite(out[:, lead])
        if missing.all():
            out[:, lead] = 0.0
        elif missing.any():
            out[missing, lead] = np.interp(index[missing], index[~missing], out[~missing, lead])
    return out


def _table_header(methods: Sequence[str]) -> str:
    cells = "  ".join(f"{m + ': PR / QRS / QT error, ms':>44}" for m in methods)
    return f"{'record':>10} {'beats':>7}  {cells}"


def _table_row(row: dict, methods: Sequence[str]) -> str:
    if "skipped" in row:
        return f"{row['record']:>10} skipped: {row['skipped']}"
    cells = []
    for method in methods:
        result = row["methods"][method]
        if "error" in result:
            cells.append(f"{'error':>44}")
            continue
        parts = []
        for name in INTERVALS:
            figures = pooled([result[name]])
            parts.append(
                "-"
                if figures["mean_ms"] is None
                else f"{figures['mean_ms']:+.0f}±{figures['sd_ms'] or 0:.0f}"
            )
        cells.append(f"{' / '.join(parts):>44}")
    return f"{row['record']:>10} {row['matched_beats']:>3}/{row['annotated_beats']:<3}  " + "  ".join(cells)


def _summary_line(method: str, figures: dict) -> str:
    def measure(name: str) -> str:
        f = figures[name]
        if f["mean_ms"] is None:
            return f"{name} n/a"
        sd = f["sd_ms"] if f["sd_ms"] is not None else float("nan")
        return f"{name} {f['mean_ms']:+.1f}±{sd:.1f} ({f['absent_pct']:.1f} % absent)"

    def per_record(name: str) -> str:
        f = figures["per_record"][name]
        if f["mean_ms"] is None or f["sd_ms"] is None:
            return f"{name.upper()} n/a"
        verdict = "ok" if f["within_iec"] else "FAILS IEC"
        missed = f", {f['records_not_measured']} not measured" if f["records_not_measured"] else ""
        figure = f"{f['mean_ms']:+.1f}±{f['sd_ms']:.1f}"
        return f"{name.upper()} {figure} {verdict} ({f['records']} records{missed})"

    records = ", ".join(per_record(name) for name in INTERVALS)
    intervals = ", ".join(measure(name).replace(name, name.upper(), 1) for name in INTERVALS)
    boundaries = ", ".join(measure(name) for name in BOUNDARIES)
    failed = f", {figures['records_failed']} failed" if figures["records_failed"] else ""
    return (
        f"{method}: per record (IEC 60601-2-25) {records} ms; per beat {intervals} ms; "
        f"boundaries per beat {boundaries}; {figures['records']} records{failed}, "
        f"{figures['seconds']:.1f} s delineating"
    )
