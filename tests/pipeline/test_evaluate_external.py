"""The external validation (pipeline.evaluate_external): the shipped model scored, unchanged, on
PTB-XL records it never saw, against the labels of ptbxl_database.csv read here independently; a
folder of WFDB records scored window by window; records that cannot be used left out with the
reason; the model's own training databases refused; QT Database records scored against their beat
labels, its excerpts of the training data left out."""

from __future__ import annotations

import ast
import csv
import json
from collections import Counter

import numpy as np
import pytest
import wfdb

from pipeline.evaluate_external import main
from pipeline.physionet_sources import qtdb_source
from pipeline.rhythm import RHYTHM_CLASSES
from tests.pipeline.physionet_data import PHYSIONET, physionet_record

PTBXL = PHYSIONET / "ptbxl-sample"


def _reference_classes() -> dict[str, str]:
    """Each sample record's class from its statements, as the issue maps them: AFIB/AFLT -> AF,
    NORM and the sinus rhythms (SR, SBRAD, SARRH) -> Normal; the sample holds no other rhythm
    statement. A statement counts at likelihood 0 (PTB-XL: "unknown", as rhythm statements
    carry) or from 50 on."""
    classes = {}
    with (PTBXL / "ptbxl_database.csv").open(newline="") as file:
        for row in csv.DictReader(file):
            statements = ast.literal_eval(row["scp_codes"]).items()
            codes = {code for code, likelihood in statements if likelihood == 0 or likelihood >= 50}
            if codes & {"AFIB", "AFLT"}:
                classes[f"ptbxl/{row['ecg_id']}"] = "AF"
            elif codes & {"NORM", "SR", "SBRAD", "SARRH"}:
                classes[f"ptbxl/{row['ecg_id']}"] = "Normal"
    return classes


@pytest.fixture(scope="module")
def ptbxl_report(tmp_path_factory) -> dict:
    physionet_record("ptbxl-sample", "records500/00000/00001_hr")  # skips (or fails in CI) without it
    out = tmp_path_factory.mktemp("external") / "ptbxl.json"
    assert main(["--db", str(PTBXL), "--out", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_every_ptbxl_record_is_one_window_with_the_class_of_its_statements(ptbxl_report):
    reference = _reference_classes()
    assert len(reference) == 40
    assert ptbxl_report["database"] == "ptbxl"
    assert ptbxl_report["windows"] == ptbxl_report["records"] == 40
    assert ptbxl_report["skipped_records"] == 0
    assert {
        record: next(iter(calls["reference"])) for record, calls in ptbxl_report["per_record"].items()
    } == reference
    for name in RHYTHM_CLASSES:
        assert ptbxl_report["per_class"][name]["support"] == sum(c == name for c in reference.values())


def test_the_counts_add_up_to_the_confusion_matrix(ptbxl_report):
    matrix = np.asarray(ptbxl_report["confusion_matrix"])
    assert matrix.sum() == 40
    for c, name in enumerate(RHYTHM_CLASSES):
        per_class = ptbxl_report["per_class"][name]
        assert matrix[c].sum() == per_class["support"]
        assert matrix[:, c].sum() == per_class["called"]
        called = sum(calls["called"].get(name, 0) for calls in ptbxl_report["per_record"].values())
        assert called == per_class["called"]


def test_no_sinus_ecg_of_another_database_is_called_vf_or_vt(ptbxl_report):
    # The VF/VT call's specificity on sinus ECGs from another hospital, device (12-lead, 500 Hz)
    # and population: a shock-advisory false alarm here would be a safety regression.
    assert ptbxl_report["per_class"]["Normal"]["support"] == 35
    assert ptbxl_report["shock_advisory"]["normal_called_vf_or_vt"] == 0.0


def _cropped_copy(folder, name: str, label: str, seconds: float = 60.0) -> None:
    """mitdb 100's first ``seconds`` written as WFDB record ``name`` with one rhythm label."""
    source = wfdb.rdrecord(str(physionet_record("mitdb", "100")), sampto=round(seconds * 360))
    wfdb.wrsamp(
        name,
        fs=source.fs,
        units=source.units,
        sig_name=source.sig_name,
        p_signal=source.p_signal,
        fmt=["16", "16"],
        write_dir=str(folder),
    )
    wfdb.wrann(name, "atr", np.array([0]), symbol=["+"], aux_note=[label], write_dir=str(folder))


def test_a_wfdb_database_is_scored_window_by_window_and_unlabelled_records_are_left_out(tmp_path):
    database = tmp_path / "otherdb"
    database.mkdir()
    _cropped_copy(database, "r1", "(N")
    _cropped_copy(database, "r2", "(XYZ")  # a rhythm label the table lacks: not guessed
    out = tmp_path / "report.json"
    assert main(["--db", str(database), "--out", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    # 60 s at a 5-s stride: windows starting at 0, 5, ..., 50 s.
    assert report["windows"] == 11
    assert report["per_record"] == {"otherdb/r1": report["per_record"]["otherdb/r1"]}
    assert report["per_record"]["otherdb/r1"]["reference"] == {"Normal": 11}
    assert list(report["skipped"]) == ["otherdb/r2"]
    assert "(XYZ" in report["skipped"]["otherdb/r2"]


def test_the_models_training_databases_are_refused(tmp_path, capsys):
    database = tmp_path / "mitdb"
    database.mkdir()
    _cropped_copy(database, "100", "(N")
    assert main(["--db", str(database)]) == 2
    assert "not unseen" in capsys.readouterr().err


def test_a_folder_without_records_is_reported(tmp_path, capsys):
    assert main(["--db", str(tmp_path)]) == 2
    assert "neither ptbxl_database.csv nor WFDB records" in capsys.readouterr().err
    assert main(["--db", str(tmp_path / "missing")]) == 2
    assert "No database folder" in capsys.readouterr().err


def test_qtdb_sources_follow_the_table_of_its_paper():
    # Laguna et al. 1997, Table 1: MIT-BIH Arrhythmia 15, ST Change 6, Supraventricular Arrhythmia
    # 13, Long-Term 4, European ST-T 33, Normal Sinus Rhythm 10 and sudden death 24 (these two
    # are told apart here by name alone: 11 five-digit names and 23 two-digit ones).
    records_file = physionet_record("qtdb", "sel100").with_name("RECORDS")
    names = records_file.read_text(encoding="utf-8").split()
    counts = Counter(qtdb_source(name) for name in names)
    assert len(names) == 105
    assert {name: counts[name] for name in ("mitdb", "stdb", "svdb", "ltdb", "edb")} == {
        "mitdb": 15,
        "stdb": 6,
        "svdb": 13,
        "ltdb": 4,
        "edb": 33,
    }
    assert counts["nsrdb"] + counts["sddb"] == 34
    assert qtdb_source("sel100") == "mitdb" and qtdb_source("somethingelse") == "qtdb"


def test_beat_labels_score_windows_without_and_with_ventricular_beats(tmp_path):
    # Three QT Database records: sel16265 (Normal Sinus Rhythm Database), sel803 (Supraventricular
    # Arrhythmia Database, with ventricular beats) and sel100, an excerpt of mitdb 100 on which
    # the model was trained: left out, not scored.
    database = tmp_path / "qtdb"
    database.mkdir()
    for name in ("sel16265", "sel803", "sel100"):
        source = physionet_record("qtdb", name)
        for extension in (".hea", ".dat", ".atr"):
            (database / (name + extension)).symlink_to(source.with_name(name + extension))
    (database / "broken.hea").write_text("broken 2 250 1000\n", encoding="utf-8")  # no signals
    (database / "broken.atr").write_bytes(b"")
    out = tmp_path / "report.json"
    assert main(["--db", str(database), "--reference", "beats", "--out", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(report["skipped"]) == ["qtdb/broken", "qtdb/sel100"]
    assert "mitdb" in report["skipped"]["qtdb/sel100"]
    assert sorted(report["per_record"]) == ["qtdb/sel16265", "qtdb/sel803"]
    nsr, svdb = report["per_record"]["qtdb/sel16265"], report["per_record"]["qtdb/sel803"]
    assert (nsr["source"], svdb["source"]) == ("nsrdb", "svdb")
    # sel16265 has no ventricular beat (its .atr, read independently).
    symbols = set(wfdb.rdann(str(physionet_record("qtdb", "sel16265")), "atr").symbol)
    assert not symbols & set("VrEF")
    assert nsr["ventricular"]["windows"] == 0
    for category in ("supraventricular", "ventricular"):
        total = report["per_category"][category]
        assert total["windows"] == nsr[category]["windows"] + svdb[category]["windows"]
        assert total["called_vf_vt"] == nsr[category]["called_vf_vt"] + svdb[category]["called_vf_vt"]
        assert sum(total["called"].values()) == total["windows"]
    assert report["per_category"]["ventricular"]["windows"] > 0
    # Sinus rhythm of people the model never saw: no VF/VT call (a false alarm would be a safety
    # regression; 0 of 11,039 such windows over the whole QT Database).
    assert report["per_category"]["supraventricular"]["called_vf_vt"] == 0
    assert report["shock_advisory"]["windows_called"] == sum(
        report["per_category"][c]["called_vf_vt"] for c in ("supraventricular", "ventricular")
    )
