"""load_ecg's dispatch, names and argument checks (each format has its own test module)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import EcgFormatError, EcgRateError
from pipeline.load import load_ecg
from tests.pipeline.messages import assert_readable


def csv_file(path, seconds=12, fs=250):
    t = np.arange(seconds * fs) / fs
    np.savetxt(path, np.sin(2 * np.pi * t)[:, None], fmt="%.6f", header="II", comments="")
    return path


def test_missing_file_names_only_the_file(tmp_path):
    with pytest.raises(EcgFormatError, match="'nothing.csv' was not found") as error:
        load_ecg(tmp_path / "nothing.csv")
    assert_readable(error, tmp_path)


def test_folder_is_not_a_file(tmp_path):
    (tmp_path / "records").mkdir()
    with pytest.raises(EcgFormatError, match="folder") as error:
        load_ecg(tmp_path / "records")
    assert_readable(error, tmp_path)


def test_unsupported_extension_lists_what_is_supported(tmp_path):
    (tmp_path / "ecg.xml").write_text("<ecg/>")
    with pytest.raises(EcgFormatError, match="EDF") as error:
        load_ecg(tmp_path / "ecg.xml")
    assert_readable(error, tmp_path)


def test_dat_without_its_header_asks_for_the_header(tmp_path):
    (tmp_path / "100.dat").write_bytes(bytes(3000))
    with pytest.raises(EcgFormatError, match="'100.hea'") as error:
        load_ecg(tmp_path / "100.dat")
    assert_readable(error, tmp_path)


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("patient 7.csv", "patient 7.csv"),
        ("C:\\Users\\nurse\\ecg.csv", "ecg.csv"),
        ("/srv/x/ecg.csv", "ecg.csv"),
    ],
)
def test_source_is_shown_as_a_bare_file_name(tmp_path, source, shown):
    ecg = load_ecg(csv_file(tmp_path / "upload-3b9c.csv"), fs=250, source=source)
    assert ecg.source == shown
    assert load_ecg(tmp_path / "upload-3b9c.csv", fs=250).source == "upload-3b9c.csv"


@pytest.mark.parametrize("fs", [0, -250, float("nan"), float("inf")])
def test_rate_argument_must_be_a_positive_number(tmp_path, fs):
    with pytest.raises(EcgRateError):
        load_ecg(csv_file(tmp_path / "a.csv"), fs=fs)
