"""Score R-peak detectors beat by beat against a WFDB database's reference beat annotations.

    python -m pipeline.bench qrs --db DIR [--records 100 101 ...] [--ann atr] [--lead 0]
                                 [--exclude-source mitdb] [--out results.json] [--jobs 2]
                                 [--include-vf]

Any WFDB database directory works, at any sampling rate: its records are found by their
``.hea`` files (or named with ``--records``); a record without the annotation file is skipped
and listed. The detectors run on the same lead, in millivolts, at the record's own rate:

- ``ours``: `pipeline.qrs.detect_r_peaks`;
- ``ours-leads``: `pipeline.qrs.r_peaks_across_leads`, the beats the analysis uses: the scored
  lead's, unless the record's other leads show that it adds beats (every lead is read);
- ``neurokit``: NeuroKit2's default, ``ecg_clean(method="neurokit")`` then
  ``ecg_peaks(method="neurokit")``;
- ``pantompkins1985``: NeuroKit2's Pan-Tompkins, ``ecg_clean`` then ``ecg_peaks`` with
  ``method="pantompkins1985"``. NeuroKit2 documents each ``ecg_peaks`` method with the
  ``ecg_clean`` method of the same name; raw signals would handicap it.

Scoring follows the beat-by-beat comparison of ANSI/AAMI EC57 (PhysioNet's ``bxb``):

- the reference is every annotation whose symbol is a beat (`BEAT_SYMBOLS`); rhythm, noise and
  other non-beat annotations are not beats;
- a detection matches a reference beat at most 150 ms away; matching is one-to-one, nearest
  pairs first (each reference beat and each detection is used at most once);
- TP, FP and FN are pooled over all records (EC57's gross statistics):
  Se = TP / (TP + FN), +P = TP / (TP + FP), F1 = 2 TP / (2 TP + FP + FN);
- the whole record is scored, from its first sample. (EC57 and ``bxb`` skip the first 5
  minutes as the detector's learning period by default; we do not: a detector here must work
  from the start of a 10-s ECG.)
- one exclusion, applied to every method alike: episodes of ventricular flutter or
  fibrillation, from a ``[`` annotation to the next ``]``. They hold no QRS complexes and no
  beat annotations (only flutter waves, ``!``; EC57 scores VF detection separately from QRS
  detection), so whatever a detector marks there would count as false. The summary prints
  how much was excluded; ``--include-vf`` scores those episodes too. In the MIT-BIH
  Arrhythmia Database only record 207 has them (six episodes, 143 s in all).

``--exclude-source mitdb`` leaves out the records that come from a database the detector was
developed on, for a check on data it never saw: the QT Database's 81 beat-annotated records
include 14 excerpts of the MIT-BIH Arrhythmia Database (``sel100``...,
`pipeline.physionet_sources.qtdb_source`); they are listed as skipped with the reason.

The output is a per-record table and one line per method, e.g.
``ours: Se 99.83 % +P 99.82 % F1 99.82 % (TP 109306 FP 197 FN 188) 48 records``, and a JSON
file (``--out``, default ``qrs-benchmark-<database>.json`` in the current directory) with the
settings, the summary per method and every record's counts and run times.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import wfdb

from pipeline.physionet_sources import record_source
from pipeline.qrs import detect_r_peaks, r_peaks_across_leads
from pipeline.units import units_mv_factor

# MIT-BIH beat annotation codes (PhysioNet, "Table of annotation codes"): normal, bundle
# branch blocks, atrial/aberrated/nodal/supraventricular premature, ventricular, R-on-T,
# fusion, escapes, paced, paced fusion, unclassifiable and unknown beats.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")

# ANSI/AAMI EC57: a detection within 150 ms of a reference beat detects it.
MATCH_WINDOW_S = 0.150

METHODS = ("ours", "ours-leads", "neurokit", "pantompkins1985")


@dataclass(frozen=True)
class Tally:
    """Beat-by-beat counts: detections that match a reference beat (TP), that match none (FP),
    and reference beats no detection matches (FN)."""

    tp: int
    fp: int
    fn: int

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def sensitivity_pct(self) -> float | None:
        """Se = TP / (TP + FN), %; None without reference beats."""
        return _percent(self.tp, self.tp + self.fn)

    @property
    def positive_predictivity_pct(self) -> float | None:
        """+P = TP / (TP + FP), %; None without detections."""
        return _percent(self.tp, self.tp + self.fp)

    @property
    def f1_pct(self) -> float | None:
        """F1 = 2 TP / (2 TP + FP + FN), %: the harmonic mean of Se and +P."""
        return _percent(2 * self.tp, 2 * self.tp + self.fp + self.fn)


def beats_matched(
    reference: np.ndarray, detected: np.ndarray, window_samples: float
) -> tuple[np.ndarray, np.ndarray]:
    """The one-to-one matches between reference beats and detections, nearest pairs first.

    Args:
        reference: reference beat positions, samples, increasing.
        detected: detected beat positions, samples, increasing.
        window_samples: the largest distance of a match, samples (150 ms x fs for EC57).

    Returns:
        Two index arrays of equal length, into ``reference`` and into ``detected``: the
        matched pairs, ordered by reference beat. Each index occurs at most once.
    """
    reference = np.asarray(reference, dtype=np.int64)
    detected = np.asarray(detected, dtype=np.int64)
    # Every (reference, detection) pair within the window: a few per beat at most.
    first = np.searchsorted(detected, reference - window_samples, side="left")
    last = np.searchsorted(detected, reference + window_samples, side="right")
    counts = last - first
    ref_index = np.repeat(np.arange(reference.size), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    det_index = np.repeat(first, counts) + within
    distance = np.abs(reference[ref_index] - detected[det_index])
    order = np.lexsort((det_index, ref_index, distance))
    # Greedy, nearest first: a plain loop over the few thousand candidate pairs of a record.
    ref_used = np.zeros(reference.size, dtype=bool)
    det_used = np.zeros(detected.size, dtype=bool)
    kept = []
    for k in order:
        r, d = ref_index[k], det_index[k]
        if not ref_used[r] and not det_used[d]:
            ref_used[r] = det_used[d] = True
            kept.append(k)
    kept_array = np.asarray(kept, dtype=np.int64)
    by_reference = np.argsort(ref_index[kept_array], kind="stable")
    return ref_index[kept_array][by_reference], det_index[kept_array][by_reference]


def beats_tally(reference: np.ndarray, detected: np.ndarray, window_samples: float) -> Tally:
    """TP, FP and FN of ``detected`` against ``reference`` (see `beats_matched`)."""
    matched, _ = beats_matched(reference, detected, window_samples)
    tp = int(matched.size)
    return Tally(tp=tp, fp=int(np.size(detected)) - tp, fn=int(np.size(reference)) - tp)


def records_listed(database: Path, records: Sequence[str] | None) -> list[str]:
    """The record names to score: ``records`` as given, or every ``.hea`` file's name, sorted."""
    if records:
        return list(records)
    return sorted(path.stem for path in database.glob("*.hea"))


def records_run(
    score: Callable[[object], dict], tasks: Sequence, jobs: int, progress: Callable[[dict], None] | None
) -> list[dict]:
    """``score(task)`` for every task, in ``jobs`` worker processes (one when ``jobs`` is 1), in
    order; ``progress`` sees each row as it arrives. Shared by the benchmarks of this package."""
    rows = []
    if jobs > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = pool.map(score, tasks)
            for row in results:
                rows.append(row)
                if progress:
                    progress(row)
        return rows
    for task in tasks:
        row = score(task)
        rows.append(row)
        if progress:
            progress(row)
    return rows


def method_peaks(
    method: str, signal_mv: np.ndarray, fs: float, all_leads_mv: np.ndarray | None = None, lead: int = 0
) -> np.ndarray:
    """The R-peak samples ``method`` (one of `METHODS`) finds in one lead (``ours-leads``: in
    lead ``lead`` of ``all_leads_mv``, checked against the others as the analysis does)."""
    if method == "ours":
        return detect_r_peaks(signal_mv, fs).samples
    if method == "ours-leads":
        return r_peaks_across_leads(
            signal_mv if all_leads_mv is None else all_leads_mv, fs, lead
        ).peaks.samples
    import neurokit2 as nk  # imported here: slow to import, and only the benchmark needs it

    with warnings.catch_warnings():  # its warnings would drown the table; the scores tell
        warnings.simplefilter("ignore")
        cleaned = nk.ecg_clean(signal_mv, sampling_rate=fs, method=method)
        _, info = nk.ecg_peaks(cleaned, sampling_rate=fs, method=method)
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


@dataclass(frozen=True)
class _RecordTask:
    database: str
    record: str
    annotator: str
    lead: str
    include_vf: bool
    methods: tuple[str, ...]


def record_scored(task: _RecordTask) -> dict:
    """One record's counts per method, or ``{"record": ..., "skipped": reason}``."""
    path = str(Path(task.database) / task.record)
    if not Path(path + "." + task.annotator).is_file():
        return {"record": task.record, "skipped": f"no .{task.annotator} annotation file"}
    try:
        header = wfdb.rdheader(path)
        channel = channel_index(header.sig_name or [], task.lead)
        channels = None if "ours-leads" in task.methods else [channel]
        signal_record = wfdb.rdrecord(path, channels=channels)
        annotation = wfdb.rdann(path, task.annotator)
        names = [str(name) for name in signal_record.sig_name]
        units = [unit or "mV" for unit in (signal_record.units or ["mV"] * len(names))]
        factors = np.array([units_mv_factor(unit, name) for unit, name in zip(units, names, strict=True)])
        all_leads_mv = np.asarray(signal_record.p_signal, dtype=np.float64) * factors
    except (OSError, ValueError, IndexError) as error:
        return {"record": task.record, "skipped": f"unreadable: {error}"}

    fs = float(signal_record.fs)
    column = channel if channels is None else 0
    bridged = [_gaps_bridged(all_leads_mv[:, k]) for k in range(len(names))]
    all_leads_mv = np.column_stack([values for values, _ in bridged])
    signal_mv, n_filled = bridged[column]
    symbols = np.asarray(annotation.symbol)
    positions = np.asarray(annotation.sample, dtype=np.int64)
    reference = positions[np.isin(symbols, list(BEAT_SYMBOLS))]
    excluded = [] if task.include_vf else _vf_episodes(symbols, positions, signal_mv.size)
    reference = _outside(reference, excluded)
    window = MATCH_WINDOW_S * fs

    row: dict = {
        "record": task.record,
        "fs": fs,
        "lead": names[column],
        "duration_s": round(signal_mv.size / fs, 3),
        "reference_beats": int(reference.size),
        "excluded_s": round(sum(end - start for start, end in excluded) / fs, 3),
        "missing_samples_bridged": n_filled,
        "methods": {},
    }
    for method in task.methods:
        started = time.perf_counter()
        try:
            detected = np.sort(method_peaks(method, signal_mv, fs, all_leads_mv, column))
        except Exception as error:  # a failing comparator must not stop the benchmark
            row["methods"][method] = {"error": f"{type(error).__name__}: {error}"}
            continue
        seconds = time.perf_counter() - started
        tally = beats_tally(reference, _outside(detected, excluded), window)
        row["methods"][method] = {**asdict(tally), "seconds": round(seconds, 4)}
    return row


def benchmark_run(
    database: Path,
    records: Sequence[str] | None = None,
    *,
    annotator: str = "atr",
    lead: str = "0",
    include_vf: bool = False,
    methods: Sequence[str] = METHODS,
    jobs: int = 2,
    progress: Callable[[dict], None] | None = None,
    exclude_sources: Sequence[str] = (),
) -> dict:
    """Score ``methods`` on ``database``; returns the JSON-ready result (see the module)."""
    started = time.perf_counter()
    folder, excluded_sources = database.resolve().name, set(exclude_sources)
    names, left_out = [], {}
    for name in records_listed(database, records):
        source = record_source(folder, name)
        if source in excluded_sources:
            left_out[name] = f"excerpt of {source}, left out (--exclude-source)"
        else:
            names.append(name)
    tasks = [_RecordTask(str(database), name, annotator, lead, include_vf, tuple(methods)) for name in names]
    rows = records_run(record_scored, tasks, jobs, progress)
    rows += [{"record": name, "skipped": reason} for name, reason in left_out.items()]

    scored = [row for row in rows if "skipped" not in row]
    summary = {}
    for method in methods:
        results = [row["methods"][method] for row in scored]
        ok = [result for result in results if "error" not in result]
        total = sum((Tally(r["tp"], r["fp"], r["fn"]) for r in ok), Tally(0, 0, 0))
        summary[method] = {
            **asdict(total),
            "se_pct": total.sensitivity_pct,
            "ppv_pct": total.positive_predictivity_pct,
            "f1_pct": total.f1_pct,
            "records": len(ok),
            "records_failed": len(results) - len(ok),
            "seconds": round(sum(r["seconds"] for r in ok), 3),
        }
    return {
        "benchmark": "qrs",
        "database": str(database),
        "annotator": annotator,
        "lead": lead,
        "match_window_s": MATCH_WINDOW_S,
        "beat_symbols": "".join(sorted(BEAT_SYMBOLS)),
        "scored_from_s": 0.0,
        "excluded": "none" if include_vf else "ventricular flutter/fibrillation episodes ([ to ])",
        "excluded_s": round(sum(row["excluded_s"] for row in scored), 3),
        "excluded_sources": sorted(exclude_sources),
        "records_scored": len(scored),
        "records_skipped": {row["record"]: row["skipped"] for row in rows if "skipped" in row},
        "wall_s": round(time.perf_counter() - started, 2),
        "summary": summary,
        "records": scored,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipeline.bench qrs ...``: run, print the table and summary, write the JSON."""
    args = _parser().parse_args(argv)
    database = Path(args.db)
    if not database.is_dir():
        print(f"error: {database} is not a directory")
        return 2
    methods = tuple(args.methods)
    print(_table_header(methods))
    result = benchmark_run(
        database,
        args.records,
        annotator=args.ann,
        lead=args.lead,
        include_vf=args.include_vf,
        methods=methods,
        jobs=args.jobs,
        progress=lambda row: print(_table_row(row, methods), flush=True),
        exclude_sources=args.exclude_source or (),
    )
    for name, reason in result["records_skipped"].items():
        print(f"skipped {name}: {reason}")
    excluded = result["excluded"]
    if result["excluded_s"]:
        excluded += f": {result['excluded_s']:.1f} s, applied to every method"
    print(f"scored {result['records_scored']} records, lead {args.lead}, whole records; excluded: {excluded}")
    for method, figures in result["summary"].items():
        print(_summary_line(method, figures))
    print(f"wall time {result['wall_s']:.1f} s")
    out = Path(args.out) if args.out else Path.cwd() / f"qrs-benchmark-{database.resolve().name}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench qrs",
        description="Score R-peak detectors beat by beat (AAMI EC57, 150 ms) against WFDB beat annotations.",
    )
    parser.add_argument("--db", required=True, help="WFDB database directory (records found by .hea files)")
    parser.add_argument("--records", nargs="+", help="record names (default: every .hea in --db)")
    parser.add_argument("--ann", default="atr", help="reference annotator, the file extension (default: atr)")
    parser.add_argument("--lead", default="0", help="lead index or name (default: 0, the first lead)")
    parser.add_argument(
        "--exclude-source",
        nargs="+",
        metavar="DATABASE",
        help="leave out records excerpted from these databases (e.g. mitdb: qtdb's sel100...)",
    )
    parser.add_argument("--out", help="JSON output (default: ./qrs-benchmark-<database>.json)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), help="detectors")
    parser.add_argument(
        "--include-vf", action="store_true", help="also score ventricular flutter/fibrillation episodes"
    )
    return parser


def channel_index(sig_names: Sequence[str], lead: str) -> int:
    """The channel index of ``lead``: an index ("0") or a name ("MLII")."""
    if lead.isdigit():
        index = int(lead)
        if index >= len(sig_names):
            raise IndexError(f"lead {index} asked for, the record has {len(sig_names)}")
        return index
    if lead not in sig_names:
        raise ValueError(f"no lead named {lead!r} (leads: {', '.join(sig_names)})")
    return list(sig_names).index(lead)


def _gaps_bridged(signal_mv: np.ndarray) -> tuple[np.ndarray, int]:
    """Missing samples (NaN) bridged by straight lines, for every method alike; and their count."""
    missing = ~np.isfinite(signal_mv)
    n_missing = int(missing.sum())
    if n_missing == 0 or n_missing == signal_mv.size:
        return np.nan_to_num(signal_mv), n_missing
    index = np.arange(signal_mv.size)
    bridged = signal_mv.copy()
    bridged[missing] = np.interp(index[missing], index[~missing], signal_mv[~missing])
    return bridged, n_missing


def _vf_episodes(symbols: np.ndarray, positions: np.ndarray, n_samples: int) -> list[tuple[int, int]]:
    """(start, end) samples of each ventricular flutter/fibrillation episode: '[' to the next ']'."""
    episodes = []
    start = None
    for symbol, position in zip(symbols, positions, strict=True):
        if symbol == "[" and start is None:
            start = int(position)
        elif symbol == "]" and start is not None:
            episodes.append((start, int(position)))
            start = None
    if start is not None:
        episodes.append((start, n_samples))
    return episodes


def _outside(samples: np.ndarray, episodes: list[tuple[int, int]]) -> np.ndarray:
    """``samples`` without those inside any of ``episodes`` (inclusive bounds)."""
    keep = np.ones(samples.size, dtype=bool)
    for start, end in episodes:
        keep &= (samples < start) | (samples > end)
    return samples[keep]


def _percent(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(100.0 * numerator / denominator, 3)


def _table_header(methods: Sequence[str]) -> str:
    return f"{'record':>10} {'beats':>6}  " + "  ".join(f"{m + ' FP/FN':>22}" for m in methods)


def _table_row(row: dict, methods: Sequence[str]) -> str:
    if "skipped" in row:
        return f"{row['record']:>10} skipped: {row['skipped']}"
    cells = []
    for method in methods:
        result = row["methods"][method]
        cell = "error" if "error" in result else f"{result['fp']}/{result['fn']}"
        cells.append(f"{cell:>22}")
    return f"{row['record']:>10} {row['reference_beats']:>6}  " + "  ".join(cells)


def _summary_line(method: str, figures: dict) -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f} %"

    failed = f", {figures['records_failed']} failed" if figures["records_failed"] else ""
    return (
        f"{method}: Se {pct(figures['se_pct'])} +P {pct(figures['ppv_pct'])} F1 {pct(figures['f1_pct'])} "
        f"(TP {figures['tp']} FP {figures['fp']} FN {figures['fn']}) {figures['records']} records{failed}, "
        f"{figures['seconds']:.1f} s detecting"
    )
