"""CSV files: a real MIT-BIH slice written in other units and layouts, and broken tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from pipeline.errors import EcgFormatError, EcgRateError, EcgSignalError, EcgTooLargeError, EcgTooShortError
from pipeline.load import load_ecg
from tests.pipeline.messages import assert_readable
from tests.pipeline.physionet_data import physionet_record

FS = 360


def mitdb_slice_mv(seconds: int = 20) -> np.ndarray:
    record = wfdb.rdrecord(str(physionet_record("mitdb", "100")), sampto=seconds * FS)
    return record.p_signal  # samples x 2 (MLII, V5), mV, multiples of 5 uV


def csv_write(path: Path, header: str, rows: np.ndarray, fmt: str = "%.6f", delimiter: str = ",") -> Path:
    np.savetxt(path, rows, fmt=fmt, delimiter=delimiter, header=header, comments="")
    return path


def sine_rows(seconds: float, fs: float = 250.0, leads: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    return np.column_stack([np.sin(2 * np.pi * 1.1 * (lead + 1) * t) for lead in range(leads)])


def test_microvolts_with_a_time_column_in_ms_round_trip_to_millivolts(tmp_path):
    mv = mitdb_slice_mv()
    time_ms = np.arange(len(mv)) * 1000.0 / FS
    rows = np.column_stack([time_ms, np.round(mv * 1000)])  # 2.778 ms steps, whole microvolts
    path = csv_write(tmp_path / "export.csv", "time_ms,MLII (uV),V5 (uV)", rows, fmt=["%.3f", "%d", "%d"])

    ecg = load_ecg(path)

    assert ecg.fs == 360.0
    assert ecg.lead_names == ("MLII", "V5")
    assert (ecg.source, ecg.record_name) == ("export.csv", "export")
    np.testing.assert_allclose(ecg.signal_mv, mv, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("header", "scale", "delimiter"),
    [
        ("time_s;MLII_mV;V5_mV", 1.0, ";"),
        ("t\tMLII [V]\tV5 [V]", 1e-3, "\t"),
        ("seconds,MLII,V5", 1.0, ","),  # no unit: millivolts
        ("Time (s),MLII (\u00b5V),V5 (\u03bcV)", 1e3, ","),  # micro sign and Greek mu
    ],
)
def test_units_time_columns_and_separators(tmp_path, header, scale, delimiter):
    mv = mitdb_slice_mv(12)
    rows = np.column_stack([np.arange(len(mv)) / FS, mv * scale])
    path = tmp_path / "ecg.csv"
    path.write_text(header + "\n", encoding="utf-8")
    with path.open("a") as stream:
        np.savetxt(stream, rows, fmt="%.9g", delimiter=delimiter)

    ecg = load_ecg(path)

    assert (ecg.fs, ecg.lead_names) == (360.0, ("MLII", "V5"))
    np.testing.assert_allclose(ecg.signal_mv, mv, rtol=1e-6, atol=1e-6)


def test_without_a_time_column_the_given_rate_is_used(tmp_path):
    path = csv_write(tmp_path / "plain.csv", "II,V1", sine_rows(12))
    assert load_ecg(path, fs=250).fs == 250.0


def test_without_a_time_column_or_rate_it_asks_for_the_rate(tmp_path):
    path = csv_write(tmp_path / "plain.csv", "II,V1", sine_rows(12))
    with pytest.raises(EcgRateError, match="samples per second") as error:
        load_ecg(path)
    assert_readable(error, tmp_path)


def test_given_rate_contradicting_the_time_column_is_refused(tmp_path):
    rows = sine_rows(12)
    path = csv_write(tmp_path / "t.csv", "time,II,V1", np.column_stack([np.arange(len(rows)) / 250.0, rows]))
    assert load_ecg(path, fs=250.4).fs == 250.0  # within 1 %: rounding
    with pytest.raises(EcgRateError, match="500") as error:
        load_ecg(path, fs=500)
    assert_readable(error, tmp_path)


def test_unevenly_spaced_times_are_refused(tmp_path):
    rows = sine_rows(12)
    times = np.arange(len(rows)) / 250.0
    times[1000:] += 0.5  # half a second of rows missing
    path = csv_write(tmp_path / "gap.csv", "time,II,V1", np.column_stack([times, rows]))
    with pytest.raises(EcgRateError, match="not evenly spaced") as error:
        load_ecg(path)
    assert_readable(error, tmp_path)


def test_short_gaps_of_empty_cells_are_bridged(tmp_path):
    rows = sine_rows(12)
    lines = ["II,V1"] + [f"{a:.6f},{b:.6f}" for a, b in rows]
    for row in range(501, 506):  # 5 samples at 250 Hz = 20 ms, lead II only
        lines[row] = "," + lines[row].split(",")[1]
    path = tmp_path / "gaps.csv"
    path.write_text("\n".join(lines) + "\n")

    ecg = load_ecg(path, fs=250)

    expected = np.interp(np.arange(500, 505), [499, 505], rows[[499, 505], 0])
    np.testing.assert_allclose(ecg.signal_mv[500:505, 0], expected, atol=1e-6)


def test_long_gap_of_nan_is_refused(tmp_path):
    rows = sine_rows(12)
    rows[1000:1100, 1] = np.nan  # 0.4 s
    path = csv_write(tmp_path / "nan.csv", "II,V1", rows)
    with pytest.raises(EcgSignalError, match="'V1' has no values for 0.40 seconds") as error:
        load_ecg(path, fs=250)
    assert_readable(error, tmp_path)


def test_columns_of_unequal_length_are_refused(tmp_path):
    rows = sine_rows(12)
    lines = ["II,V1"] + [f"{a:.6f},{b:.6f}" for a, b in rows[:2000]] + [f"{a:.6f}," for a in rows[2000:, 0]]
    path = tmp_path / "unequal.csv"
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(EcgSignalError, match="'V1' has 2000 values but column 'II' has 3000") as error:
        load_ecg(path, fs=250)
    assert_readable(error, tmp_path)


def test_text_in_a_number_column_names_the_column_and_row(tmp_path):
    rows = sine_rows(12)
    lines = ["II,V1"] + [f"{a:.6f},{b:.6f}" for a, b in rows]
    lines[6] = lines[6].split(",")[0] + ",lead off"  # spreadsheet row 7
    path = tmp_path / "text.csv"
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(EcgFormatError, match="Row 7 of column 'V1'.*'lead off'") as error:
        load_ecg(path, fs=250)
    assert_readable(error, tmp_path)


def test_row_with_more_cells_than_names_is_refused(tmp_path):
    rows = sine_rows(12)
    lines = ["II,V1"] + [f"{a:.6f},{b:.6f}" for a, b in rows]
    lines[9] += ",0.5"
    path = tmp_path / "extra.csv"
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(EcgFormatError, match="Row 10 has 3 values") as error:
        load_ecg(path, fs=250)
    assert_readable(error, tmp_path)


def test_all_zero_lead_is_refused(tmp_path):
    rows = sine_rows(12)
    rows[:, 1] = 0.0
    path = csv_write(tmp_path / "zero.csv", "II,V1", rows)
    with pytest.raises(EcgSignalError, match="'V1' is all zeros") as error:
        load_ecg(path, fs=250)
    assert_readable(error, tmp_path)


def test_clipped_lead_is_refused(tmp_path):
    mv = mitdb_slice_mv(12)
    clipped = np.clip(mv * 10, -1.0, 1.0)  # gain 10x too high into a +-1 mV converter
    path = csv_write(tmp_path / "clipped.csv", "MLII,V5", clipped)
    with pytest.raises(EcgSignalError, match="clipped") as error:
        load_ecg(path, fs=FS)
    assert_readable(error, tmp_path)


@pytest.mark.parametrize("fs", [20, 20_000])
def test_implausible_rate_is_refused(tmp_path, fs):
    rows = sine_rows(12 if fs == 20_000 else 600, fs=fs, leads=1)
    path = csv_write(tmp_path / "rate.csv", "II", rows)
    with pytest.raises(EcgRateError) as error:
        load_ecg(path, fs=fs)
    assert_readable(error, tmp_path)


def test_rate_from_a_time_column_is_checked_too(tmp_path):
    rows = sine_rows(600, fs=20, leads=1)
    path = csv_write(tmp_path / "slow.csv", "time_s,II", np.column_stack([np.arange(len(rows)) / 20, rows]))
    with pytest.raises(EcgRateError, match="20 samples per second"):
        load_ecg(path)


def test_five_second_recording_is_too_short(tmp_path):
    path = csv_write(tmp_path / "short.csv", "II,V1", sine_rows(5))
    with pytest.raises(EcgTooShortError, match="5.0 seconds") as error:
        load_ecg(path, fs=250)
    assert_readable(error, tmp_path)


def test_unknown_unit_in_a_column_name_is_refused(tmp_path):
    path = csv_write(tmp_path / "units.csv", "II (furlongs),V1 (mV)", sine_rows(12))
    with pytest.raises(EcgSignalError, match="'furlongs'") as error:
        load_ecg(path, fs=250)
    assert_readable(error, tmp_path)


def test_microvolts_without_a_unit_are_not_taken_for_millivolts(tmp_path):
    path = csv_write(tmp_path / "uv.csv", "II,V1", sine_rows(12) * 1000)
    with pytest.raises(EcgSignalError, match="II \\(uV\\)") as error:
        load_ecg(path, fs=250)
    assert_readable(error, tmp_path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x00\x01\x02binary\x00", "not a text"),
        (b"", "empty"),
        (b"1.0,2.0\n3.0,4.0\n", "name the leads"),
        (b"II,ii\n1,2\n", "both called"),
    ],
)
def test_unreadable_tables_are_format_errors(tmp_path, content, match):
    (tmp_path / "bad.csv").write_bytes(content)
    with pytest.raises(EcgFormatError, match=match) as error:
        load_ecg(tmp_path / "bad.csv", fs=250)
    assert_readable(error, tmp_path)


@pytest.mark.timeout(30)
def test_csv_over_the_byte_limit_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as stream:
        stream.truncate(600 * 1024 * 1024)  # sparse
    with pytest.raises(EcgTooLargeError) as error:
        load_ecg(big, fs=250)
    assert_readable(error, tmp_path)
    small = csv_write(tmp_path / "small.csv", "II", sine_rows(12, leads=1))
    with pytest.raises(EcgTooLargeError):
        load_ecg(small, fs=250, max_bytes=small.stat().st_size - 1)
    assert load_ecg(small, fs=250, max_bytes=small.stat().st_size).n_samples == 3000
