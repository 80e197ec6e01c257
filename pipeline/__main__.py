"""Command line of the pipeline (ARCHITECTURE.md):

    python -m pipeline analyze PATH [PATH ...] [--lead NAME] [--out DIR] [--line-hz 50|60]
                                [--rhythm validated|any|off]

PATH is a WFDB record (path without extension, or its .hea), an EDF file, a CSV file (with a
time column, or give ``--fs``) or a .zip holding a WFDB record. Each record prints one summary
line; with ``--out`` its analysis is written to ``DIR/<record name>.json``. A record that fails
prints its error and the others still run; the exit status is 1 when any failed, else 0.

The rhythm comes from the shipped CNN (`pipeline.rhythm_cnn`), loaded once for all PATHs, only
when its model card records that it passed its validation on unseen patients (``--rhythm
validated``, the default; otherwise the JSON says why the rhythm was not classified).
``--rhythm any`` uses the model regardless, for research; ``--rhythm off`` skips it. Where the
card validates the model's VF/VT call but not its rhythm names, the default reports that call
per window (JSON ``"vf_vt"``; "VF/VT in N of M windows" in the summary line).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pipeline.analysis import Analysis, analyze
from pipeline.ecg import leads_quoted
from pipeline.errors import EcgError
from pipeline.load import load_ecg

# A record's name comes from inside the file; only these characters reach the output path.
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command != "analyze":
        return 2
    out = Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    classifier, unclassified_reason, vf_vt = _rhythm_classifier(args.rhythm)
    failed = 0
    written: set[str] = set()
    for path in args.paths:
        try:
            started = time.perf_counter()
            ecg = load_ecg(path, fs=args.fs)
            load_s = time.perf_counter() - started
            analysis = analyze(
                ecg,
                lead=args.lead,
                classifier=classifier,
                unclassified_reason=unclassified_reason,
                vf_vt=vf_vt,
                line_hz=args.line_hz,
            )
        except EcgError as error:
            failed += 1
            print(f"{path}: error: {error}")
            continue
        result = analysis.to_dict()
        result["timings_s"] = {"load": round(load_s, 4), **result["timings_s"]}
        print(summary_line(analysis))
        if out is not None:
            name = _output_name(analysis.record, written)
            (out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    return 1 if failed else 0


def summary_line(analysis: Analysis) -> str:
    """One line a clinician can read: record, lead, length, beats, HR, intervals, quality, rhythm."""

    def value(number: float | None, unit: str = "") -> str:
        return "not measured" if number is None else f"{number:.0f}{unit}"

    hr = analysis.heart_rate
    iv = analysis.intervals
    if analysis.rhythm is not None:
        rhythm = f"rhythm {analysis.rhythm.label} {analysis.rhythm.confidence:.2f}"
    elif analysis.vf_vt is not None:
        called, windows = analysis.vf_vt.windows_called, len(analysis.vf_vt.windows)
        rhythm = f"VF/VT in {called} of {windows} windows; other rhythms not classified"
    else:
        rhythm = "rhythm not classified"
    return (
        f"{analysis.record}: lead {analysis.lead}, {analysis.duration_s:.1f} s, "
        f"{len(analysis.r_peaks)} beats, "
        f"HR {value(hr.mean_bpm)} (min {value(hr.min_bpm)}, max {value(hr.max_bpm)}) bpm, "
        f"PR {value(iv.pr_ms)}, QRS {value(iv.qrs_ms)}, QT {value(iv.qt_ms)}, "
        f"QTc Bazett {value(iv.qtc_bazett_ms)} ms, "
        f"usable {100 * analysis.usable_fraction:.0f} %, {rhythm}"
        + (f"; beats counted on lead {analysis.beats_lead}" if analysis.beats_lead_reason else "")
        + (
            f"; amplitude not calibrated in {leads_quoted(analysis.uncalibrated_leads)}"
            if analysis.uncalibrated_leads
            else ""
        )
    )


def _rhythm_classifier(choice: str):
    """The classifier to use, when there is none why, and the validated VF/VT call in its place
    where there is one: see the module docstring."""
    if choice == "off":
        return None, "The rhythm was not classified (--rhythm off).", None
    from pipeline.rhythm_cnn import (
        DEFAULT_MODEL_PATH,
        CnnRhythmClassifier,
        shock_advisory,
        validation_shortfall,
    )

    if not DEFAULT_MODEL_PATH.exists():
        return None, None, None
    shortfall = validation_shortfall()
    if shortfall is not None and choice == "validated":
        return None, shortfall, shock_advisory(DEFAULT_MODEL_PATH)
    return CnnRhythmClassifier.load(DEFAULT_MODEL_PATH), None, None


def _output_name(record: str, taken: set[str]) -> str:
    """A safe, unused file name for ``record``'s JSON (``100``, then ``100-2`` for a second one)."""
    base = _UNSAFE_NAME_CHARACTERS.sub("_", record).strip("._") or "record"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description="ECG analysis pipeline")
    commands = parser.add_subparsers(dest="command", required=True)
    analyse = commands.add_parser("analyze", help="analyse ECG records and print/write the results")
    analyse.add_argument("paths", nargs="+", metavar="PATH", help="WFDB record, EDF, CSV or .zip")
    analyse.add_argument("--lead", help="lead to analyse, any case (default: the lead closest to II)")
    analyse.add_argument("--out", help="folder for one <record>.json per record")
    analyse.add_argument("--fs", type=float, help="sampling rate, Hz, for a CSV without a time column")
    analyse.add_argument(
        "--rhythm",
        choices=("validated", "any", "off"),
        default="validated",
        help="rhythm CNN: only if it passed validation (default), regardless, or not at all",
    )
    analyse.add_argument(
        "--line-hz", type=float, default=50.0, choices=(50.0, 60.0), help="power-line frequency (Hz)"
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
