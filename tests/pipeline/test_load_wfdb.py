"""WFDB records: real PhysioNet records against their published facts, and broken copies of them."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import numpy as np
import pytest
import wfdb

from pipeline.errors import EcgFormatError, EcgRateError, EcgSignalError, EcgTooLargeError, EcgTooShortError
from pipeline.load import load_ecg
from tests.pipeline.messages import assert_readable
from tests.pipeline.physionet_data import physionet_record

# Beat symbols used for QRS scoring (shared/data/README.md, after PhysioNet's bxb / AAMI EC57).
BEAT_SYMBOLS = set("N L R B A a J S V r F e j n E / f Q ?".split())


def decode_format_212(data: bytes, n_frames: int, n_signals: int) -> np.ndarray:
    """Digital samples of a format-212 file, decoded by hand (WFDB signal(5)), frames x signals.

    Each pair of 12-bit samples takes three bytes: the first sample is byte 0 plus the low nibble
    of byte 1 as its top bits, the second is byte 2 plus the high nibble of byte 1.
    """
    raw = np.frombuffer(data[: n_frames * n_signals * 3 // 2], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
    first = raw[:, 0] | ((raw[:, 1] & 0x0F) << 8)
    second = raw[:, 2] | ((raw[:, 1] & 0xF0) << 4)
    samples = np.column_stack([first, second]).reshape(-1)
    samples = np.where(samples >= 2048, samples - 4096, samples)  # two's complement, 12 bits
    return samples.reshape(n_frames, n_signals)


def record_copy(
    tmp_path: Path, database: str = "mitdb", record: str = "100", *, annotations: bool = True
) -> Path:
    """A copy of a PhysioNet record in ``tmp_path``; returns its path without extension."""
    source = physionet_record(database, record)
    for suffix in (".hea", ".dat") + ((".atr",) if annotations else ()):
        shutil.copy(source.with_name(record + suffix), tmp_path / (record + suffix))
    return tmp_path / record


def header_edited(record_path: Path, old: str, new: str) -> None:
    header = record_path.with_name(record_path.name + ".hea")
    text = header.read_text()
    assert old in text, f"test set-up: {old!r} not in the header"
    header.write_text(text.replace(old, new))


# --- real records -------------------------------------------------------------------------------


def test_mitdb_100_shape_rate_leads_and_names():
    ecg = load_ecg(physionet_record("mitdb", "100"))

    # MIT-BIH Arrhythmia Database: 30:05.556 at 360 Hz = 650000 samples, leads MLII and V5.
    assert ecg.signal_mv.shape == (650000, 2)
    assert ecg.signal_mv.dtype == np.float32
    assert ecg.fs == 360.0
    assert ecg.lead_names == ("MLII", "V5")
    assert ecg.record_name == "100"
    assert ecg.source == "100.hea"
    assert ecg.duration_s == pytest.approx(1805.556, abs=1e-3)
    assert ecg.lead_closest_to_ii() == 0


def test_mitdb_100_annotations_match_the_database_directory():
    ecg = load_ecg(physionet_record("mitdb", "100"))
    annotations = ecg.annotations

    # MIT-BIH Arrhythmia Database Directory, record 100: 2239 normal beats, 33 atrial premature
    # beats, 1 premature ventricular contraction, 2273 beats in all; one rhythm, normal sinus.
    counts = collections.Counter(annotations.symbol)
    beats = sum(count for symbol, count in counts.items() if symbol in BEAT_SYMBOLS)
    assert (counts["N"], counts["A"], counts["V"]) == (2239, 33, 1)
    assert beats == 2273
    assert len(annotations) == 2273 + 1  # + the rhythm annotation
    rhythm = [
        note for symbol, note in zip(annotations.symbol, annotations.aux_note, strict=True) if symbol == "+"
    ]
    assert rhythm == ["(N"]
    assert annotations.sample.dtype == np.int64
    assert np.all(np.diff(annotations.sample) >= 0)
    assert 0 <= annotations.sample.min() and annotations.sample.max() < ecg.n_samples


def test_mitdb_100_rhythm_note_loses_the_trailing_nul_the_file_has():
    record = physionet_record("mitdb", "100")
    raw_notes = [note for note in wfdb.rdann(str(record), "atr").aux_note if note]
    assert raw_notes == ["(N\x00"]  # what the file holds
    assert "(N" in load_ecg(record).annotations.aux_note


def test_mitdb_100_values_are_millivolts_decoded_from_the_raw_bytes():
    record = physionet_record("mitdb", "100")
    ecg = load_ecg(record)

    # Header: "100.dat 212 200 11 1024 995 ...": gain 200 per mV, baseline 1024, first samples
    # 995 (MLII) and 1011 (V5).
    digital = decode_format_212(record.with_suffix(".dat").read_bytes(), 3600, 2)
    assert tuple(digital[0]) == (995, 1011)
    np.testing.assert_allclose(ecg.signal_mv[:3600], (digital - 1024) / 200.0, rtol=0, atol=1e-6)


def test_mitdb_100_values_equal_wfdb_physical_signal():
    record = physionet_record("mitdb", "100")
    reference = wfdb.rdrecord(str(record))  # float64 p_signal in mV
    np.testing.assert_allclose(load_ecg(record).signal_mv, reference.p_signal, rtol=1e-6, atol=1e-6)


def test_hea_path_and_extensionless_path_load_the_same():
    record = physionet_record("mitdb", "100")
    plain = load_ecg(record)
    via_header = load_ecg(record.with_name("100.hea"))
    np.testing.assert_array_equal(plain.signal_mv, via_header.signal_mv)


def test_ptbxl_record_1_has_twelve_standard_leads_at_500_hz():
    record = physionet_record("ptbxl-sample", "records500/00000/00001_hr")
    ecg = load_ecg(record)

    assert ecg.fs == 500.0
    assert ecg.signal_mv.shape == (5000, 12)  # PTB-XL records are 10 s
    assert ecg.lead_names == ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
    assert ecg.lead_closest_to_ii() == 1
    assert ecg.annotations is None
    # The file spells the augmented leads "AVR", "AVL", "AVF"; gain 1000 per mV, first sample -115.
    assert " AVR" in record.with_name("00001_hr.hea").read_text()
    assert ecg.signal_mv[0, 0] == pytest.approx(-0.115, abs=1e-6)


def test_ptbxl_record_1_at_100_hz():
    ecg = load_ecg(physionet_record("ptbxl-sample", "records100/00000/00001_lr"))
    assert (ecg.fs, ecg.signal_mv.shape) == (100.0, (1000, 12))


def test_every_real_record_loads():
    """No reference record may be refused by the validation thresholds (flat, clipped, gaps)."""
    records = [
        physionet_record("mitdb", "100"),
        physionet_record("qtdb", "sel42"),  # R-wave tips clipped in 11 % of lead 0's samples
        physionet_record("vfdb", "418"),
        physionet_record("nstdb", "ma"),
    ]
    headers = [path for path in records[0].parents[1].glob("*/*.hea") if "ptbxl" not in str(path)]
    assert len(headers) >= 170
    for header in headers:
        load_ecg(header)


@pytest.mark.parametrize(("gain", "unit"), [("0.2", "uV"), ("200000", "V"), ("200", "mV"), ("200", "")])
def test_header_units_are_converted_to_millivolts(tmp_path, gain, unit):
    """The same samples declared in uV, V or mV (gain per unit scaled to match) give the same mV.

    No units at all means millivolts (WFDB header(5)). WFDB headers are ASCII, so no "µV" here.
    """
    record = record_copy(tmp_path)
    header_edited(record, "212 200 11", f"212 {gain}{'/' + unit if unit else ''} 11")
    assert wfdb.rdheader(str(record)).units == [unit or "mV"] * 2

    ecg = load_ecg(record)

    original = wfdb.rdrecord(str(physionet_record("mitdb", "100"))).p_signal
    np.testing.assert_allclose(ecg.signal_mv, original, rtol=1e-6, atol=1e-6)


def test_short_gaps_in_a_wfdb_record_are_bridged_and_long_ones_refused(tmp_path):
    fs = 250
    t = np.arange(12 * fs) / fs
    digital = np.round(1000 * np.sin(2 * np.pi * 1.2 * t)).astype(np.int16)[:, np.newaxis]
    short = digital.copy()
    short[1000:1010] = -32768  # WFDB's "no sample" value in format 16: 40 ms
    wfdb.wrsamp(
        "gap",
        fs=fs,
        units=["mV"],
        sig_name=["II"],
        d_signal=short,
        fmt=["16"],
        adc_gain=[1000],
        baseline=[0],
        write_dir=str(tmp_path),
    )
    ecg = load_ecg(tmp_path / "gap")
    assert np.isfinite(ecg.signal_mv).all()
    expected = np.interp(np.arange(1000, 1010), [999, 1010], digital[[999, 1010], 0] / 1000)
    np.testing.assert_allclose(ecg.signal_mv[1000:1010, 0], expected, atol=1e-6)

    long = digital.copy()
    long[1000:1250] = -32768  # 1 s
    wfdb.wrsamp(
        "gap",
        fs=fs,
        units=["mV"],
        sig_name=["II"],
        d_signal=long,
        fmt=["16"],
        adc_gain=[1000],
        baseline=[0],
        write_dir=str(tmp_path),
    )
    with pytest.raises(EcgSignalError, match="no values for 1.00 seconds") as error:
        load_ecg(tmp_path / "gap")
    assert_readable(error, tmp_path)


# --- broken records -----------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_truncated_dat_is_a_format_error(tmp_path):
    record = record_copy(tmp_path)
    data = record.with_suffix(".dat")
    data.write_bytes(data.read_bytes()[:100_000])

    with pytest.raises(EcgFormatError, match="cut off") as error:
        load_ecg(record)
    assert_readable(error, tmp_path)


def test_header_naming_a_missing_dat_is_a_format_error(tmp_path):
    record = record_copy(tmp_path)
    record.with_suffix(".dat").unlink()

    with pytest.raises(EcgFormatError, match="'100.dat'.*missing") as error:
        load_ecg(record)
    assert_readable(error, tmp_path)


def test_header_naming_a_file_outside_its_folder_is_refused(tmp_path):
    (tmp_path / "inner").mkdir()
    record = record_copy(tmp_path / "inner")
    shutil.copy(record.with_suffix(".dat"), tmp_path / "outside.dat")
    header_edited(record, "100.dat", "../outside.dat")

    # wfdb's header parser already refuses such a name; pipeline.load_wfdb checks it again.
    with pytest.raises(EcgFormatError) as error:
        load_ecg(record)
    assert_readable(error, tmp_path)


def test_unknown_units_are_a_signal_error(tmp_path):
    record = record_copy(tmp_path)
    header_edited(record, "212 200 11", "212 200/furlongs 11")

    with pytest.raises(EcgSignalError, match="furlongs") as error:
        load_ecg(record)
    assert_readable(error, tmp_path)


@pytest.mark.parametrize("fs", [20, 20_000])
def test_implausible_rate_in_the_header_is_a_rate_error(tmp_path, fs):
    record = record_copy(tmp_path)
    header_edited(record, "100 2 360 650000", f"100 2 {fs} 650000")

    with pytest.raises(EcgRateError) as error:
        load_ecg(record)
    assert_readable(error, tmp_path)


@pytest.mark.parametrize("record_line", ["100 2", "100 2 abc 650000", "100 2 360Hz 650000"])
def test_a_header_without_a_readable_rate_is_refused_not_read_at_250_hz(tmp_path, record_line):
    # wfdb takes header(5)'s default of 250 Hz for a missing or unparsable rate: mitdb 100 read
    # that way would show every heart rate 31 % low.
    record = record_copy(tmp_path)
    header_edited(record, "100 2 360 650000", record_line)

    with pytest.raises(EcgFormatError, match="how many samples per second") as error:
        load_ecg(record)
    assert_readable(error, tmp_path)


@pytest.mark.parametrize("rate", ["360", "360.0", "360/1", "360/1(0)"])
def test_rate_fields_of_the_header_format_are_read(tmp_path, rate):
    record = record_copy(tmp_path)
    header_edited(record, "100 2 360 650000", f"100 2 {rate} 650000")

    assert load_ecg(record).fs == 360.0


def test_five_second_record_is_too_short(tmp_path):
    record = record_copy(tmp_path, annotations=False)
    header_edited(record, "100 2 360 650000", "100 2 360 1800")

    with pytest.raises(EcgTooShortError, match="5.0 seconds") as error:
        load_ecg(record)
    assert_readable(error, tmp_path)


def test_garbage_header_is_a_format_error(tmp_path):
    (tmp_path / "junk.hea").write_bytes(b"\x89PNG\r\n\x1a\n not a header at all")

    with pytest.raises(EcgFormatError) as error:
        load_ecg(tmp_path / "junk")
    assert_readable(error, tmp_path)


def test_header_cut_after_its_record_line_is_a_format_error(tmp_path):
    # Two signals announced, none described (found scoring a folder of records: wfdb reads such a
    # header without complaint and the loader then failed with a TypeError).
    (tmp_path / "cut.hea").write_text("cut 2 250 1000\n", encoding="utf-8")

    with pytest.raises(EcgFormatError, match="announces 2 signals but describes 0") as error:
        load_ecg(tmp_path / "cut")
    assert_readable(error, tmp_path)


def test_damaged_annotation_file_is_a_format_error(tmp_path):
    record = record_copy(tmp_path)
    record.with_suffix(".atr").write_bytes(b"\xff" * 7)

    with pytest.raises(EcgFormatError, match="100.atr") as error:
        load_ecg(record)
    assert_readable(error, tmp_path)


@pytest.mark.timeout(30)
def test_record_over_the_byte_limit_is_refused_before_reading(tmp_path):
    record = record_copy(tmp_path, annotations=False)
    with pytest.raises(EcgTooLargeError):
        load_ecg(record, max_bytes=1_000_000)  # 100.dat is 1.95 MB

    # A 600 MB signal file (sparse: no disk used) against the default 500 MB limit.
    header_edited(record, "100 2 360 650000", "100 2 360 400000000")
    with record.with_suffix(".dat").open("r+b") as data:
        data.truncate(600 * 1024 * 1024)
    with pytest.raises(EcgTooLargeError, match="too large") as error:
        load_ecg(record)
    assert_readable(error, tmp_path)


# --- amplitude calibration ----------------------------------------------------------------------


def test_a_real_record_with_gain_0_is_read_at_200_units_per_mv_and_flagged_uncalibrated():
    """qtdb sel14046 (a Long-Term ST Database excerpt) gives both signals an ADC gain of 0."""
    header = physionet_record("qtdb", "sel14046").with_suffix(".hea")
    lines = [line.split() for line in header.read_text().splitlines()[1:3]]
    assert [fields[2] for fields in lines] == ["0", "0"]  # the file itself, read here by hand

    ecg = load_ecg(header)

    assert ecg.uncalibrated_leads == ecg.lead_names
    digital = wfdb.rdrecord(str(header.with_suffix("")), physical=False).d_signal
    baselines = np.array([int(fields[4]) for fields in lines])  # fmt 212: baseline = ADC zero
    np.testing.assert_allclose(ecg.signal_mv, (digital - baselines) / 200.0, atol=1e-6)


def test_calibrated_real_records_have_no_uncalibrated_leads():
    for database, record in (("mitdb", "100"), ("qtdb", "sel803"), ("vfdb", "418")):
        assert load_ecg(physionet_record(database, record)).uncalibrated_leads == ()


@pytest.mark.parametrize(
    ("gain_field", "uncalibrated"),
    [
        ("0", True),
        ("0(0)/mV", True),
        ("0.0/mV", True),
        ("200", False),
        ("200(5)/mV", False),
        ("0.2/uV", False),
        ("2e2", False),
    ],
)
def test_a_zero_gain_in_the_header_marks_that_lead_uncalibrated(tmp_path, gain_field, uncalibrated):
    record = record_copy(tmp_path)
    header = record.with_name("100.hea")
    lines = header.read_text().splitlines()
    fields = lines[2].split()  # second signal (V5) only
    fields[2] = gain_field
    lines[2] = " ".join(fields)
    header.write_text("\n".join(lines) + "\n")

    ecg = load_ecg(record)

    assert ecg.uncalibrated_leads == (("V5",) if uncalibrated else ())


def test_a_header_without_any_gain_field_marks_its_leads_uncalibrated(tmp_path):
    """header(5): the gain and all fields after it may be left out; the default 200/mV applies."""
    record = record_copy(tmp_path, annotations=False)
    header = record.with_name("100.hea")
    lines = header.read_text().splitlines()
    lines[1:3] = [" ".join(line.split()[:2]) for line in lines[1:3]]  # "100.dat 212"
    header.write_text("\n".join(lines) + "\n")

    ecg = load_ecg(record)

    assert set(ecg.uncalibrated_leads) == set(ecg.lead_names)
    assert ecg.n_leads == 2
