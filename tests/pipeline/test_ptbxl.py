"""The PTB-XL loader (pipeline.ptbxl) on the first 40 records of PTB-XL in its own layout, checked
against its ptbxl_database.csv read here independently, and the PTB-XL part of the dataset."""

from __future__ import annotations

import ast
import csv
import shutil

import numpy as np
import pytest

from pipeline.errors import EcgFormatError
from pipeline.ptbxl import PtbxlLayoutError, ptbxl_ecg, ptbxl_labelled_ecgs, ptbxl_records
from pipeline.rhythm import RHYTHM_CLASSES
from pipeline.rhythm_dataset import ptbxl_dataset, record_folds
from tests.pipeline.physionet_data import PHYSIONET, physionet_record

PTBXL = PHYSIONET / "ptbxl-sample"


@pytest.fixture(scope="module")
def table_rows() -> dict[int, dict[str, str]]:
    physionet_record("ptbxl-sample", "records500/00000/00001_hr")  # skips (or fails in CI) without it
    with (PTBXL / "ptbxl_database.csv").open(newline="") as file:
        return {int(row["ecg_id"]): row for row in csv.DictReader(file)}


@pytest.fixture(scope="module")
def records(table_rows):
    return ptbxl_records(PTBXL)


def test_every_row_is_read_with_its_patient_and_statements(records, table_rows):
    assert [record.ecg_id for record in records] == sorted(table_rows)
    assert len(records) == 40
    for record in records:
        row = table_rows[record.ecg_id]
        assert record.patient_id == int(float(row["patient_id"]))
        assert dict(record.scp_codes) == ast.literal_eval(row["scp_codes"])
        assert record.strat_fold == int(row["strat_fold"])


def test_record_1_is_normal(records):
    first = records[0]

    assert first.ecg_id == 1 and first.patient_id == 15709
    assert first.rhythm_class == "Normal"  # {'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}


def test_af_records_are_those_whose_statements_say_afib_or_aflt(records, table_rows):
    said = {
        ecg_id
        for ecg_id, row in table_rows.items()
        if {"AFIB", "AFLT"} & set(ast.literal_eval(row["scp_codes"]))
    }

    found = {record.ecg_id for record in records if record.rhythm_class == "AF"}

    assert found == said == {17, 18, 20, 23, 34}
    assert {record.patient_id for record in records if record.ecg_id in found} == {13619}


def test_every_sample_record_has_a_class(records):
    assert all(record.rhythm_class in RHYTHM_CLASSES for record in records)


def test_record_loads_at_both_resolutions_with_lead_ii(records):
    first = records[0]

    high = ptbxl_ecg(PTBXL, first, resolution="hr")
    low = ptbxl_ecg(PTBXL, first, resolution="lr")

    assert (high.fs, high.n_samples, high.n_leads) == (500.0, 5000, 12)
    assert (low.fs, low.n_samples, low.n_leads) == (100.0, 1000, 12)
    assert high.lead_names[high.lead_closest_to_ii()] == "II"
    assert high.lead_names[3] == "aVR"  # the file's AVR, spelled as clinicians do
    # The 100-Hz copy is the 500-Hz record downsampled: lead II agrees sample for sample.
    ii = high.lead_closest_to_ii()
    correlation = np.corrcoef(high.signal_mv[::5, ii], low.signal_mv[:, ii])[0, 1]
    assert correlation > 0.95


def test_labelled_ecgs_walk_records_with_a_class():
    walked = [(record.ecg_id, ecg.n_samples) for record, ecg in ptbxl_labelled_ecgs(PTBXL, resolution="lr")]

    assert [ecg_id for ecg_id, _ in walked] == list(range(1, 41))
    assert {n for _, n in walked} == {1000}


def test_folder_without_table_is_refused(tmp_path):
    with pytest.raises(PtbxlLayoutError, match="ptbxl_database.csv"):
        ptbxl_records(tmp_path)


def test_unreadable_statements_name_their_row(tmp_path, table_rows):
    fields = list(next(iter(table_rows.values())))
    with (tmp_path / "ptbxl_database.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        writer.writerow({**table_rows[1], "scp_codes": "{'NORM': 100.0"})

    with pytest.raises(PtbxlLayoutError, match="ecg_id=1"):
        ptbxl_records(tmp_path)


def test_missing_record_files_raise_a_readable_error(tmp_path, records):
    shutil.copy(PTBXL / "ptbxl_database.csv", tmp_path / "ptbxl_database.csv")

    with pytest.raises(EcgFormatError, match="00001_hr"):
        ptbxl_ecg(tmp_path, records[0])


def test_dataset_has_one_window_per_record_grouped_by_patient(records):
    skipped = []

    dataset = ptbxl_dataset(PTBXL, on_skip=lambda record, reason: skipped.append(record))

    assert skipped == []
    assert dataset.X.shape == (40, 2500) and dataset.fs == 250.0
    assert set(dataset.database) == {"ptbxl"} and set(dataset.lead) == {"II"}
    assert dataset.start_s.tolist() == [0.0] * 40 and dataset.pure.all()
    by_record = dict(zip(dataset.record, (RHYTHM_CLASSES[i] for i in dataset.y), strict=True))
    assert by_record["ptbxl/1"] == "Normal" and by_record["ptbxl/17"] == "AF"
    patient = dataset.subject_by_record()
    assert {patient[f"ptbxl/{ecg_id}"] for ecg_id in (17, 18, 20, 23, 26, 28, 34, 39)} == {
        "ptbxl/patient-13619"
    }
    # Folds by patient keep patient 13619's eight records together.
    folds = record_folds(dataset.class_windows_by_record(), dataset.subject_by_record(), k=5)
    assert len({folds[f"ptbxl/{ecg_id}"] for ecg_id in (17, 18, 20, 23, 26, 28, 34, 39)}) == 1


def test_noise_noted_in_the_table_marks_the_window_noisy(records):
    dataset = ptbxl_dataset(PTBXL, resolution="lr")
    noted = {f"ptbxl/{record.ecg_id}" for record in records if record.noise_noted}

    assert noted  # record 1 lists static noise in I-V1
    assert {str(r) for r, noisy in zip(dataset.record, dataset.noisy, strict=True) if noisy} == noted
