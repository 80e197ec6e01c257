"""EDF/EDF+ files written with pyEDFlib from a real MIT-BIH slice, read back through load_ecg."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyedflib
import pytest
import wfdb

from pipeline.errors import EcgFormatError, EcgSignalError, EcgTooLargeError
from pipeline.load import load_ecg
from tests.pipeline.messages import assert_readable
from tests.pipeline.physionet_data import physionet_record

FS = 360
DIGITAL_RANGE = (-32768, 32767)


def mitdb_slice_mv(seconds: int = 20) -> np.ndarray:
    record = wfdb.rdrecord(str(physionet_record("mitdb", "100")), sampto=seconds * FS)
    return record.p_signal  # samples x 2, mV


def edf_write(
    path: Path,
    signals: list[np.ndarray],
    *,
    labels: list[str],
    unit: str | list[str] = "uV",
    physical_range: tuple[float, float] = (-5000.0, 5000.0),
    rates: list[int] | None = None,
) -> Path:
    units = [unit] * len(signals) if isinstance(unit, str) else unit
    rates = rates or [FS] * len(signals)
    writer = pyedflib.EdfWriter(str(path), len(signals), file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.setSignalHeaders(
        [
            {
                "label": label,
                "dimension": dimension,
                "sample_frequency": rate,
                "physical_min": physical_range[0],
                "physical_max": physical_range[1],
                "digital_min": DIGITAL_RANGE[0],
                "digital_max": DIGITAL_RANGE[1],
            }
            for label, dimension, rate in zip(labels, units, rates, strict=True)
        ]
    )
    writer.writeSamples(signals)
    writer.close()
    return path


@pytest.mark.parametrize(("unit", "per_mv"), [("uV", 1000.0), ("mV", 1.0), ("V", 0.001)])
def test_edf_round_trip_within_its_quantisation(tmp_path, unit, per_mv):
    mv = mitdb_slice_mv()
    physical_range = (-5.0 * per_mv, 5.0 * per_mv)
    path = edf_write(
        tmp_path / "holter.edf",
        [mv[:, 0] * per_mv, mv[:, 1] * per_mv],
        labels=["MLII", "V5"],
        unit=unit,
        physical_range=physical_range,
    )

    ecg = load_ecg(path)

    # One digital step of this EDF, in mV. pyEDFlib truncates (not rounds) when it writes, so a
    # value comes back within one step, plus float32 rounding.
    step_mv = 10.0 / (DIGITAL_RANGE[1] - DIGITAL_RANGE[0])
    assert (ecg.fs, ecg.lead_names, ecg.source, ecg.record_name) == (
        360.0,
        ("MLII", "V5"),
        "holter.edf",
        "holter",
    )
    assert ecg.signal_mv.shape == mv.shape
    assert np.abs(ecg.signal_mv - mv).max() <= step_mv + 1e-6


def test_edf_is_recognised_by_content_whatever_its_name(tmp_path):
    mv = mitdb_slice_mv()
    path = edf_write(tmp_path / "upload-1", [mv[:, 0] * 1000], labels=["ECG II"])

    ecg = load_ecg(path, source="patient.edf")

    assert ecg.source == "patient.edf"
    assert ecg.lead_closest_to_ii() == 0


def test_edf_plus_with_annotations_only_is_refused(tmp_path):
    writer = pyedflib.EdfWriter(str(tmp_path / "events.edf"), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.writeAnnotation(0, -1, "Recording starts")
    writer.writeAnnotation(12.5, -1, "Patient coughs")
    writer.close()

    with pytest.raises(EcgFormatError, match="only annotations") as error:
        load_ecg(tmp_path / "events.edf")
    assert_readable(error, tmp_path)


def test_edf_channel_that_is_not_a_voltage_is_refused(tmp_path):
    mv = mitdb_slice_mv()
    path = edf_write(
        tmp_path / "mixed.edf", [mv[:, 0] * 1000, mv[:, 1] * 1000], labels=["II", "Resp"], unit=["uV", "Ohm"]
    )
    with pytest.raises(EcgSignalError, match="'Resp'.*'Ohm'") as error:
        load_ecg(path)
    assert_readable(error, tmp_path)


def test_edf_leads_at_different_rates_are_refused(tmp_path):
    mv = mitdb_slice_mv()
    path = edf_write(
        tmp_path / "rates.edf", [mv[:, 0] * 1000, mv[::2, 1] * 1000], labels=["II", "V5"], rates=[FS, FS // 2]
    )
    with pytest.raises(EcgSignalError, match="different rates") as error:
        load_ecg(path)
    assert_readable(error, tmp_path)


def test_truncated_edf_is_a_format_error(tmp_path):
    mv = mitdb_slice_mv()
    path = edf_write(tmp_path / "cut.edf", [mv[:, 0] * 1000], labels=["II"])
    path.write_bytes(path.read_bytes()[:-5000])

    with pytest.raises(EcgFormatError) as error:
        load_ecg(path)
    assert_readable(error, tmp_path)


def test_not_an_edf_file_is_a_format_error(tmp_path):
    (tmp_path / "scan.edf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000))
    with pytest.raises(EcgFormatError, match="not an EDF") as error:
        load_ecg(tmp_path / "scan.edf")
    assert_readable(error, tmp_path)


@pytest.mark.timeout(30)
def test_edf_over_the_byte_limit_is_refused_before_reading(tmp_path):
    big = tmp_path / "day.edf"
    with big.open("wb") as stream:
        stream.write(b"0       ")
        stream.truncate(600 * 1024 * 1024)  # sparse: 600 MB that cost no disk
    with pytest.raises(EcgTooLargeError, match="files up to 500 MB") as error:
        load_ecg(big)
    assert_readable(error, tmp_path)
