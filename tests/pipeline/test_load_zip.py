"""A .zip holding a WFDB record: same result as the plain record; unsafe or incomplete zips refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import EcgFormatError, EcgTooLargeError
from pipeline.load import load_ecg
from tests.pipeline.messages import assert_readable
from tests.pipeline.physionet_data import physionet_record


def zip_of(target: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def record_100_files(*suffixes: str) -> dict[str, bytes]:
    record = physionet_record("mitdb", "100")
    return {f"100{suffix}": record.with_name(f"100{suffix}").read_bytes() for suffix in suffixes}


def test_zip_of_record_100_loads_identically_to_the_plain_record(tmp_path):
    plain = load_ecg(physionet_record("mitdb", "100"))
    zipped = load_ecg(zip_of(tmp_path / "100.zip", record_100_files(".hea", ".dat", ".atr")))

    np.testing.assert_array_equal(zipped.signal_mv, plain.signal_mv)
    assert (zipped.fs, zipped.lead_names, zipped.record_name) == (plain.fs, plain.lead_names, "100")
    assert zipped.source == "100.zip"
    np.testing.assert_array_equal(zipped.annotations.sample, plain.annotations.sample)
    assert zipped.annotations.symbol == plain.annotations.symbol
    assert zipped.annotations.aux_note == plain.annotations.aux_note


def test_zip_with_a_folder_and_archiver_clutter_loads(tmp_path):
    members = {f"mitdb/{name}": data for name, data in record_100_files(".hea", ".dat").items()}
    members["__MACOSX/mitdb/._100.hea"] = b"\x00\x05\x16\x07 resource fork"
    members["mitdb/.DS_Store"] = b"\x00\x00\x00\x01Bud1"

    ecg = load_ecg(zip_of(tmp_path / "upload.zip", members))

    assert ecg.signal_mv.shape == (650000, 2)
    assert ecg.annotations is None


def test_zip_is_recognised_by_content_whatever_its_name(tmp_path):
    renamed = zip_of(tmp_path / "upload-7f3a", record_100_files(".hea", ".dat"))
    assert load_ecg(renamed, source="100.zip").record_name == "100"


@pytest.mark.parametrize("evil_name", ["../../evil.hea", "/tmp/evil.hea", "C:/evil.hea", "ok/../../evil.dat"])
def test_zip_slip_names_are_refused_and_nothing_is_written(tmp_path, monkeypatch, evil_name):
    members = record_100_files(".hea", ".dat")
    members[evil_name] = b"100 2 360 650000\n"
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)  # where a naive extractall() would put "../../evil.hea": tmp_path

    with pytest.raises(EcgFormatError, match="outside the zip") as error:
        load_ecg(zip_of(inner / "evil.zip", members))
    assert_readable(error, tmp_path)
    assert [path.name for path in tmp_path.rglob("evil*")] == ["evil.zip"]


def test_zip_without_a_header_is_refused(tmp_path):
    with pytest.raises(EcgFormatError, match="no WFDB header") as error:
        load_ecg(zip_of(tmp_path / "100.zip", record_100_files(".dat", ".atr")))
    assert_readable(error, tmp_path)


def test_zip_with_two_records_is_refused(tmp_path):
    members = record_100_files(".hea", ".dat")
    members["101.hea"] = members["100.hea"].replace(b"100", b"101")
    members["101.dat"] = members["100.dat"]

    with pytest.raises(EcgFormatError, match="2 records") as error:
        load_ecg(zip_of(tmp_path / "two.zip", members))
    assert_readable(error, tmp_path)


def test_zip_missing_the_signal_file_its_header_names_is_refused(tmp_path):
    with pytest.raises(EcgFormatError, match="'100.dat'") as error:
        load_ecg(zip_of(tmp_path / "100.zip", record_100_files(".hea")))
    assert_readable(error, tmp_path)


def test_zip_with_a_truncated_signal_file_is_refused(tmp_path):
    members = record_100_files(".hea", ".dat")
    members["100.dat"] = members["100.dat"][:30_000]

    with pytest.raises(EcgFormatError, match="cut off") as error:
        load_ecg(zip_of(tmp_path / "100.zip", members))
    assert_readable(error, tmp_path)


def test_file_called_zip_that_is_not_one_is_refused(tmp_path):
    (tmp_path / "100.zip").write_text("MLII,V5\n1,2\n")
    with pytest.raises(EcgFormatError, match="not a readable zip") as error:
        load_ecg(tmp_path / "100.zip")
    assert_readable(error, tmp_path)


@pytest.mark.timeout(30)
def test_zip_bomb_is_refused_by_its_declared_size_before_unpacking(tmp_path):
    members = record_100_files(".hea")
    members["100.dat"] = bytes(20_000_000)  # 20 MB of zeros packs into about 20 kB
    bomb = zip_of(tmp_path / "bomb.zip", members)
    assert bomb.stat().st_size < 100_000

    with pytest.raises(EcgTooLargeError) as error:
        load_ecg(bomb, max_bytes=10_000_000)
    assert_readable(error, tmp_path)
