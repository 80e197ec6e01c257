"""The Ecg type: its invariants, lead look-up and the choice of the rhythm lead."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pipeline.ecg import Annotations, Ecg, lead_name_canonical
from pipeline.errors import (
    EcgError,
    EcgFormatError,
    EcgLeadError,
    EcgRateError,
    EcgSignalError,
    EcgTooLargeError,
    EcgTooShortError,
)


def ecg_with_leads(*names: str, n_samples: int = 100, fs: float = 250.0) -> Ecg:
    signal = np.arange(n_samples * len(names), dtype=np.float64).reshape(n_samples, len(names))
    return Ecg(signal_mv=signal, fs=fs, lead_names=names, source="x.csv", record_name="x")


def test_signal_is_float32_samples_by_leads_and_read_only():
    ecg = ecg_with_leads("I", "II", n_samples=500, fs=250)

    assert ecg.signal_mv.dtype == np.float32
    assert ecg.signal_mv.shape == (500, 2)
    assert (ecg.n_samples, ecg.n_leads, ecg.duration_s) == (500, 2, 2.0)
    with pytest.raises(ValueError):
        ecg.signal_mv[0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        ecg.fs = 500.0


def test_one_dimensional_signal_is_one_lead():
    ecg = Ecg(signal_mv=np.zeros(10), fs=10.0, lead_names=("II",), source="a.csv", record_name="a")
    assert ecg.signal_mv.shape == (10, 1)


@pytest.mark.parametrize("source", ["/srv/uploads/100.hea", "C:\\uploads\\100.hea", "../100.hea"])
def test_source_must_not_be_a_path(source):
    with pytest.raises(ValueError, match="file name"):
        Ecg(signal_mv=np.zeros((10, 1)), fs=10.0, lead_names=("II",), source=source, record_name="100")


def test_lead_names_must_match_columns_and_fs_must_be_positive():
    with pytest.raises(ValueError, match="lead names"):
        Ecg(signal_mv=np.zeros((10, 2)), fs=10.0, lead_names=("II",), source="a", record_name="a")
    with pytest.raises(ValueError, match="fs"):
        Ecg(signal_mv=np.zeros((10, 1)), fs=0.0, lead_names=("II",), source="a", record_name="a")


def test_lead_index_ignores_case_and_names_the_leads_when_missing():
    ecg = ecg_with_leads("MLII", "V5")

    assert ecg.lead_index("mlii") == 0
    assert ecg.lead_index(" v5 ") == 1
    with pytest.raises(EcgLeadError, match="MLII, V5"):
        ecg.lead_index("aVF")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("I", "II", "III"), 1),
        (("V1", "MLII"), 1),  # MIT-BIH record 124's order
        (("V5", "mlii"), 1),
        (("MLII", "ii"), 1),  # II beats MLII wherever it is
        (("V1", "ECG II"), 1),
        (("V1", "Lead-II"), 1),
        (("V1", "ML2"), 1),
        (("ECG1", "ECG2"), 0),  # channel numbers, not lead II
        (("V1", "III"), 0),
        (("record 42, signal 0", "record 42, signal 1"), 0),
    ],
)
def test_lead_closest_to_ii(names, expected):
    assert ecg_with_leads(*names).lead_closest_to_ii() == expected


def test_standard_lead_names_are_spelled_the_usual_way():
    assert [lead_name_canonical(name) for name in ("AVR", "avl", " aVF ", "v1", "i", "MLII")] == [
        "aVR",
        "aVL",
        "aVF",
        "V1",
        "I",
        "MLII",
    ]


def test_annotations_need_one_entry_each():
    annotations = Annotations(sample=[1, 5], symbol=("N", "V"), aux_note=("", ""))
    assert len(annotations) == 2
    assert annotations.sample.dtype == np.int64
    with pytest.raises(ValueError):
        Annotations(sample=[1, 5], symbol=("N",), aux_note=("", ""))


@pytest.mark.parametrize(
    "error_type",
    [EcgFormatError, EcgSignalError, EcgRateError, EcgTooShortError, EcgTooLargeError, EcgLeadError],
)
def test_every_error_is_one_family_and_a_value_error(error_type):
    assert issubclass(error_type, EcgError)
    assert issubclass(error_type, ValueError)


def test_too_large_message_gives_sizes_in_megabytes():
    message = str(EcgTooLargeError.for_size(600_000_000, 500_000_000))
    assert "600 MB" in message and "500 MB" in message


def test_uncalibrated_leads_must_be_leads_of_the_recording():
    signal = np.zeros((100, 2), dtype=np.float32)

    ecg = Ecg(signal, 250.0, ("I", "II"), "a.hea", "a", uncalibrated_leads=["II"])

    assert ecg.uncalibrated_leads == ("II",)
    assert Ecg(signal, 250.0, ("I", "II"), "a.hea", "a").uncalibrated_leads == ()
    with pytest.raises(ValueError, match="uncalibrated_leads"):
        Ecg(signal, 250.0, ("I", "II"), "a.hea", "a", uncalibrated_leads=("V1",))
