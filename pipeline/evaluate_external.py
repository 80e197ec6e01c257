"""Score the shipped rhythm model on a database it never saw: an external validation.

The model card's figures come from a cross-validation by subject on mitdb and vfdb
(`pipeline.evaluate`): unseen patients, but the same two databases, recorders, sampling rates and
annotators as the training. A model used in other hospitals meets other devices, rates, leads and
populations, and the issue says so: generalisation matters more than one more point on mitdb.
This module scores a trained model, unchanged, on a database that had no part in its training,
the way the app runs it (`pipeline.rhythm_cnn.CnnRhythmClassifier`: ONNX Runtime where the export
is there), and reports what `pipeline.evaluate` reports: per class sensitivity, PPV and F1,
macro-F1 over the classes the database has, the confusion matrix, the VF/VT call's shares
(`pipeline.evaluate.shock_advisory_called`) and each record's calls.

**Databases.** ``--db`` is either

- a PTB-XL folder (it holds ``ptbxl_database.csv``; `pipeline.ptbxl`): one 10-s window per
  record with a rhythm class, lead II, at 500 Hz (``--resolution hr``) or 100 Hz (``lr``); or
- a folder of WFDB records with rhythm annotations in ``.atr`` files, in the format and with the
  labels of mitdb and vfdb (e.g. PhysioNet's MIT-BIH Atrial Fibrillation Database or the
  Long-Term AF Database): 10-s windows every 5 s, labelled as in training
  (`pipeline.rhythm_dataset.wfdb_record_dataset`); or
- with ``--reference beats``, a folder of WFDB records whose ``.atr`` labels every beat but not
  the rhythm (the QT Database, the European ST-T Database, the MIT-BIH Normal Sinus Rhythm
  Database, ...): the same windows, sorted by `pipeline.beat_reference` into those whose beats
  are all normal or supraventricular (not VF, not VT, whatever the rhythm) and those with
  ventricular beats. The report gives, for each, the share the VF/VT call marks and what the
  model calls them: the VF/VT call's false alarms on people and recorders it never saw.

A record that cannot be read, or that carries a rhythm label the table
(`pipeline.rhythm_labels`) lacks, is left out and listed with the reason: no label is guessed.
A database the model's card names among its training data (mitdb, vfdb for the shipped model) is
refused: its records are not unseen. So is a record excerpted from one: the QT Database names its
records after their source (``sel100`` is mitdb's 100; `pipeline.physionet_sources.qtdb_source`),
and those are left out.

**Reading the figures.** A class with few windows gives wide uncertainty; ``per_class`` keeps the
counts, so each share can be read with its denominator. The bars of the issue are for the
cross-validation; these figures are not compared with them.

Command line:
    python -m pipeline.evaluate_external --db DIR [--model FILE.keras] [--resolution hr|lr]
        [--reference rhythm|beats] [--out FILE.json]

Examples:
    python -m pipeline.evaluate_external --db ../shared/data/physionet/ptbxl-sample \
        --out docs/bench-rhythm-ptbxl-sample.json
    python -m pipeline.evaluate_external --db ../shared/data/physionet/qtdb --reference beats \
        --out docs/bench-rhythm-qtdb-beats.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.beat_reference import CATEGORIES, SUPRAVENTRICULAR, VENTRICULAR, beat_reference_windows
from pipeline.errors import EcgError
from pipeline.evaluate import (
    class_counts,
    class_metrics,
    confusion_matrix,
    macro_f1,
    per_record_calls,
    shock_advisory,
    shock_advisory_called,
)
from pipeline.physionet_sources import record_source
from pipeline.ptbxl import PTBXL_DATABASE_CSV, Resolution
from pipeline.rhythm import RHYTHM_CLASSES
from pipeline.rhythm_cnn import (
    DEFAULT_MODEL_PATH,
    SHOCK_ADVISORY_CLASSES,
    SHOCK_ADVISORY_THRESHOLD,
    CnnRhythmClassifier,
)
from pipeline.rhythm_dataset import (
    DEFAULT_STRIDE_S,
    WFDB_DATABASES,
    RhythmDataset,
    datasets_joined,
    ptbxl_dataset,
    wfdb_record_dataset,
    wfdb_record_paths,
)
from pipeline.rhythm_labels import RhythmLabelError

# Windows per call of the classifier (bounds the activations' memory on a large database).
SCORING_BATCH = 1024


def is_ptbxl_folder(db_dir: str | Path) -> bool:
    """True where ``db_dir`` is laid out as PTB-XL (it holds ``ptbxl_database.csv``)."""
    return (Path(db_dir) / PTBXL_DATABASE_CSV).is_file()


def external_dataset(
    db_dir: str | Path,
    *,
    resolution: Resolution = "hr",
    on_skip: Callable[[str, str], None] | None = None,
) -> RhythmDataset:
    """The labelled windows of every usable record of the database at ``db_dir`` (see the module
    docstring); ``on_skip`` is called with (record id, reason) for each record left out."""
    if is_ptbxl_folder(db_dir):
        return ptbxl_dataset(db_dir, resolution=resolution, on_skip=on_skip)
    folder = Path(db_dir).resolve()
    paths = wfdb_record_paths(folder.parent, [folder.name])
    if not paths:
        raise FileNotFoundError(
            f"'{db_dir}' holds neither ptbxl_database.csv nor WFDB records with .atr rhythm annotations."
        )
    parts = []
    for identifier, path in paths.items():
        try:
            parts.append(wfdb_record_dataset(path, folder.name, stride_s=DEFAULT_STRIDE_S))
        except (EcgError, RhythmLabelError) as error:  # one record must not stop the database
            if on_skip is not None:
                on_skip(identifier, str(error))
    return datasets_joined(parts)


def beat_reference_scored(
    db_dir: str | Path,
    classifier: CnnRhythmClassifier,
    *,
    excluded_sources: set[str],
    on_skip: Callable[[str, str], None] | None = None,
) -> dict[str, Any]:
    """The report of ``classifier`` on the windows of every usable record of a beat-annotated WFDB
    folder (`pipeline.beat_reference`): per category, per source database and per record, the
    windows, how many the VF/VT call marks, and the classes called. A record from one of
    ``excluded_sources`` (the model's training data), or one that cannot be read, is left out
    (``on_skip`` with the reason)."""
    folder = Path(db_dir).resolve()
    paths = wfdb_record_paths(folder.parent, [folder.name])
    if not paths:
        raise FileNotFoundError(f"'{db_dir}' holds no WFDB records with .atr beat annotations.")
    rows: dict[str, list[np.ndarray]] = {"record": [], "source": [], "category": [], "vf_vt": [], "call": []}
    leads, left_out = {}, {}
    for identifier, path in paths.items():
        source = record_source(folder.name, path.name)
        if source in excluded_sources:
            if on_skip is not None:
                on_skip(identifier, f"an excerpt of {source}, which the model was trained on")
            continue
        try:
            windows = beat_reference_windows(path)
        except (EcgError, FileNotFoundError) as error:  # one record must not stop the database
            if on_skip is not None:
                on_skip(identifier, str(error))
            continue
        probabilities = _probabilities(classifier, windows.X, windows.rr)
        shock = probabilities[:, [RHYTHM_CLASSES.index(name) for name in SHOCK_ADVISORY_CLASSES]].sum(axis=1)
        n = len(windows.category)
        rows["record"].append(np.full(n, identifier))
        rows["source"].append(np.full(n, source))
        rows["category"].append(windows.category)
        rows["vf_vt"].append(shock >= SHOCK_ADVISORY_THRESHOLD)
        rows["call"].append(probabilities.argmax(axis=1))
        leads[identifier], left_out[identifier] = windows.lead, windows.windows_left_out
    table = {name: np.concatenate(parts) if parts else np.zeros(0) for name, parts in rows.items()}

    def calls(mask: np.ndarray) -> dict[str, dict[str, Any]]:
        result = {}
        for category in CATEGORIES:
            rows_in = mask & (table["category"] == category)
            called = int(np.sum(table["vf_vt"][rows_in]))
            n = int(np.sum(rows_in))
            result[category] = {
                "windows": n,
                "called_vf_vt": called,
                "share_called_vf_vt": called / n if n else None,
                "called": class_counts(table["call"][rows_in].astype(np.int64)),
            }
        return result

    everything = np.ones(table["record"].size, dtype=bool)
    return {
        "reference": "beats: windows whose annotated beats are all normal or supraventricular, "
        "and windows with ventricular beats (pipeline.beat_reference)",
        "windows": int(everything.sum()),
        "records": len(leads),
        "shock_advisory": {
            "rule": f"VF/VT where P(VF) + P(VT) >= {SHOCK_ADVISORY_THRESHOLD:g}",
            "threshold": SHOCK_ADVISORY_THRESHOLD,
            "windows_called": int(np.sum(table["vf_vt"])),
        },
        "per_category": calls(everything),
        "per_source": {str(s): calls(table["source"] == s) for s in np.unique(table["source"])},
        "per_record": {
            record: {
                "source": record_source(folder.name, record.split("/")[-1]),
                "lead": leads[record],
                "windows_left_out": left_out[record],
                **calls(table["record"] == record),
            }
            for record in leads
        },
    }


def trained_on(card_path: Path) -> set[str]:
    """The databases the model's card names as its training data; without a card (a fold's model
    of `pipeline.evaluate --save-models`, say) those every model of this project trains on."""
    if not card_path.is_file():
        return set(WFDB_DATABASES)
    card = json.loads(card_path.read_text(encoding="utf-8"))
    return {str(name) for name in card.get("data", {}).get("databases", [])}


def _probabilities(classifier: CnnRhythmClassifier, X: np.ndarray, rr: np.ndarray) -> np.ndarray:
    """The class probabilities of windows ``X`` with features ``rr``, `SCORING_BATCH` at a time."""
    return np.concatenate(
        [np.zeros((0, len(RHYTHM_CLASSES)))]
        + [
            classifier.window_probabilities(X[i : i + SCORING_BATCH], rr[i : i + SCORING_BATCH])
            for i in range(0, len(X), SCORING_BATCH)
        ]
    )


def external_scored(dataset: RhythmDataset, classifier: CnnRhythmClassifier) -> dict[str, Any]:
    """The report of ``classifier`` on every window of ``dataset``."""
    probabilities = _probabilities(classifier, dataset.X, dataset.rr)
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(dataset.y, predicted)
    per_class = class_metrics(matrix)
    return {
        "windows": len(dataset),
        "records": len(set(dataset.record)),
        "subjects": len(set(dataset.subject)),
        "noisy_windows": int(np.sum(dataset.noisy)),
        "classes": list(RHYTHM_CLASSES),
        "per_class": per_class,
        "macro_f1": macro_f1(per_class) if len(dataset) else None,
        "shock_advisory": shock_advisory_called(probabilities, dataset.y),
        "shock_advisory_argmax": shock_advisory(matrix),
        "confusion_matrix": matrix.tolist(),
        "per_record": per_record_calls(dataset, predicted),
        "mean_probability_of_call": float(np.mean(probabilities.max(axis=1))) if len(dataset) else None,
    }


def summary_line(report: dict[str, Any]) -> str:
    """One line: windows, each class's sensitivity with its counts, the VF/VT calls."""

    def share(name: str) -> str:
        m = report["per_class"][name]
        correct = round(m["sensitivity"] * m["support"]) if m["sensitivity"] is not None else 0
        return f"{name} {correct}/{m['support']}"

    present = [name for name in RHYTHM_CLASSES if report["per_class"][name]["support"] > 0]
    shock = report["shock_advisory"]
    return (
        f"external {report['database']}: {report['windows']} windows of {report['records']} records "
        f"({report['skipped_records']} left out); called right: {', '.join(share(n) for n in present)}; "
        f"VF/VT called on {shock['windows_called']} windows"
    )


def beats_summary_line(report: dict[str, Any]) -> str:
    """One line of a beat-reference report: each category's windows and how many were called VF/VT."""

    def category(name: str, what: str) -> str:
        counts = report["per_category"][name]
        share = counts["share_called_vf_vt"]
        shown = f" ({100 * share:.2f} %)" if share is not None else ""
        return f"{counts['windows']} windows {what}, {counts['called_vf_vt']} called VF/VT{shown}"

    return (
        f"external {report['database']} (beat annotations): {report['records']} records "
        f"({report['skipped_records']} left out); "
        f"{category(SUPRAVENTRICULAR, 'without a ventricular beat')}; "
        f"{category(VENTRICULAR, 'with ventricular beats')}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    db_dir, model_path = Path(args.db), Path(args.model)
    if not db_dir.is_dir():
        print(f"No database folder '{db_dir}'.", file=sys.stderr)
        return 2
    card_path = model_path.with_name(model_path.stem + ".card.json")
    name = "ptbxl" if is_ptbxl_folder(db_dir) else db_dir.resolve().name
    if name in trained_on(card_path):
        print(
            f"The model was trained on {name} (its card says so): its records are not unseen, so they "
            "cannot validate it. Use `python -m pipeline.evaluate` for the cross-validation by subject.",
            file=sys.stderr,
        )
        return 2
    skipped: dict[str, str] = {}
    try:
        if args.reference == "beats":
            scored = beat_reference_scored(
                db_dir,
                CnnRhythmClassifier.load(model_path),
                excluded_sources=trained_on(card_path),
                on_skip=skipped.__setitem__,
            )
        else:
            dataset = external_dataset(db_dir, resolution=args.resolution, on_skip=skipped.__setitem__)
            scored = external_scored(dataset, CnnRhythmClassifier.load(model_path))
    except (FileNotFoundError, RhythmLabelError) as error:
        print(error, file=sys.stderr)
        return 2
    report = {
        "evaluation": "external: the model unchanged, on a database it never saw",
        "database": name,
        "db_dir": str(db_dir),
        "model": _shown(model_path),
        "resolution": args.resolution if name == "ptbxl" else None,
        **scored,
        "skipped_records": len(skipped),
        "skipped": skipped,
        "command": "python -m pipeline.evaluate_external " + shlex.join(argv),
    }
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(beats_summary_line(report) if args.reference == "beats" else summary_line(report))
    return 0


def _shown(path: Path) -> str:
    """``path`` relative to the working directory where it lies under it (a report names no home folder)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.evaluate_external",
        description="Score the rhythm model on a database it never saw (PTB-XL, or WFDB records "
        "with rhythm or beat labels).",
    )
    parser.add_argument("--db", required=True, help="a PTB-XL folder, or a folder of WFDB records with .atr")
    parser.add_argument(
        "--model", default=str(DEFAULT_MODEL_PATH), help="the model (default: the shipped one)"
    )
    parser.add_argument(
        "--resolution", choices=("hr", "lr"), default="hr", help="PTB-XL: 500 Hz (hr) or 100 Hz (lr)"
    )
    parser.add_argument(
        "--reference",
        choices=("rhythm", "beats"),
        default="rhythm",
        help="WFDB folders: score against the rhythm labels (default), or against the beat labels "
        "(windows without / with ventricular beats; pipeline.beat_reference)",
    )
    parser.add_argument("--out", help="the JSON report to write")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
