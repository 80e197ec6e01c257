"""Time the whole analysis of one record against NeuroKit2's ``ecg_process`` in the same run.

    python -m pipeline.bench speed --db DIR [--record 100] [--repeat 3] [--out results.json]

The record is loaded once (`pipeline.load.load_ecg`; loading is not timed). Then:

- ``analyze``: `pipeline.analysis.analyze` on the whole record, all its leads (cleaning, quality,
  beats, delineation of every lead, intervals, HRV; the rhythm step too when a classifier is
  installed), run ``--repeat`` times; the median is the figure, the first run is also reported
  (it includes one-time costs such as imports and caches).
- ``neurokit2``: ``nk.ecg_process`` (cleaning, peaks, delineation, quality, rate) on ONE lead,
  the lead `analyze` analyses, run once: it takes seconds. Timing it on one lead while
  `analyze` handles all of them makes the ratio conservative.

The result is ``neurokit2 seconds / analyze seconds``: how many times faster `analyze` is. The
summary line and a JSON file (``--out``, default ``speed-benchmark-<record>.json``) are written.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.analysis import analyze
from pipeline.load import load_ecg


def benchmark_run(record_path: Path, repeat: int = 3, with_neurokit: bool = True) -> dict:
    """Time `analyze` (``repeat`` runs) and ``nk.ecg_process`` (one run) on one record."""
    ecg = load_ecg(record_path)
    runs = []
    analysis = None
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        analysis = analyze(ecg)
        runs.append(time.perf_counter() - started)
    assert analysis is not None
    result = {
        "benchmark": "speed",
        "record": ecg.record_name,
        "fs": ecg.fs,
        "duration_s": round(ecg.duration_s, 3),
        "leads": list(ecg.lead_names),
        "samples_per_lead": ecg.n_samples,
        "analyze": {
            "median_s": round(statistics.median(runs), 4),
            "first_s": round(runs[0], 4),
            "runs_s": [round(r, 4) for r in runs],
            "steps_s": {name: round(seconds, 4) for name, seconds in analysis.timings_s.items()},
            "beats": len(analysis.r_peaks),
        },
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
    }
    if with_neurokit:
        import neurokit2 as nk  # slow to import; only this comparison needs it

        lead_mv = np.asarray(ecg.signal_mv[:, analysis.lead_index], dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            started = time.perf_counter()
            nk.ecg_process(lead_mv, sampling_rate=ecg.fs)
            nk_s = time.perf_counter() - started
        result["neurokit2"] = {
            "ecg_process_s": round(nk_s, 4),
            "lead": analysis.lead,
            "version": nk.__version__,
        }
        result["speedup"] = round(nk_s / statistics.median(runs), 2)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    record_path = Path(args.db) / args.record
    if not record_path.with_name(record_path.name + ".hea").is_file():
        print(f"error: no record {args.record} (its .hea file) in {args.db}")
        return 2
    result = benchmark_run(record_path, args.repeat, with_neurokit=not args.no_neurokit)
    a = result["analyze"]
    line = (
        f"speed: analyze {a['median_s']:.2f} s median of {len(a['runs_s'])} (first {a['first_s']:.2f} s) on "
        f"record {result['record']}, {len(result['leads'])} leads x {result['duration_s']:.0f} s at "
        f"{result['fs']:g} Hz"
    )
    if "neurokit2" in result:
        line += (
            f"; neurokit2.ecg_process {result['neurokit2']['ecg_process_s']:.2f} s on lead "
            f"{result['neurokit2']['lead']} -> {result['speedup']:.1f}x faster"
        )
    print(line)
    print("steps: " + ", ".join(f"{name} {seconds:.3f} s" for name, seconds in a["steps_s"].items()))
    out = Path(args.out) if args.out else Path.cwd() / f"speed-benchmark-{result['record']}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench speed",
        description="Time analyze() on one record against neurokit2.ecg_process in the same run.",
    )
    parser.add_argument("--db", required=True, help="WFDB database directory")
    parser.add_argument("--record", default="100", help="record name (default: 100)")
    parser.add_argument("--repeat", type=int, default=3, help="analyze() runs; the median counts")
    parser.add_argument("--out", help="JSON output (default: ./speed-benchmark-<record>.json)")
    parser.add_argument("--no-neurokit", action="store_true", help="skip the NeuroKit2 comparison")
    return parser
