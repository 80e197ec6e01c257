"""Load an ECG file of any supported format into a validated `Ecg` in millivolts.

This is the pipeline's first step and its only entry for files: the dashboard's upload, the
sample library and the command line all call `load_ecg`. It

1. refuses a file larger than ``max_bytes`` before reading a byte of it;
2. recognises the format by content first (a zip or EDF keeps its signature whatever it is
   called; uploads are often renamed), then by extension:

   ============================ ===========================================================
   WFDB record                  ``100`` or ``100.hea`` (``100.dat``/``.atr`` beside it)
   zip holding a WFDB record    ``PK\\x03\\x04`` signature, or ``.zip``
   EDF / EDF+ / BDF             ``0`` + 7 spaces (BDF: ``\\xffBIOSEMI``) signature
   CSV / TSV / TXT              text with a header row naming the leads
   ============================ ===========================================================

3. hands it to that format's reader (`pipeline.load_wfdb`, `pipeline.load_zip`,
   `pipeline.load_edf`, `pipeline.load_csv`), which converts the units to millivolts;
4. validates the result (`pipeline.validate.ecg_validate`).

Every failure is an `EcgError` with a message for the person who chose the file.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from pipeline.ecg import Ecg
from pipeline.errors import EcgFormatError, EcgRateError, EcgTooLargeError
from pipeline.load_csv import csv_read
from pipeline.load_edf import edf_read
from pipeline.load_wfdb import wfdb_read
from pipeline.load_zip import zip_read
from pipeline.validate import ecg_validate

# 500 MB holds about 24 hours of a 12-lead, 250 Hz, 16-bit recording; longer files would need
# streaming, which the analysis does not do, and would take the server's memory. Decimal
# megabytes, as the error message and file browsers show them.
MAX_FILE_BYTES = 500_000_000

# A rate the caller states may differ from the file's own by rounding, not by more.
_RATE_AGREEMENT = 0.01

_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members; an empty zip
_EDF_SIGNATURE = b"0       "
_BDF_SIGNATURE = b"\xffBIOSEMI"
_TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
_WFDB_COMPANION_SUFFIXES = {".dat", ".atr"}


def load_ecg(
    path: str | os.PathLike[str],
    *,
    fs: float | None = None,
    max_bytes: int = MAX_FILE_BYTES,
    source: str | None = None,
) -> Ecg:
    """Read the ECG in ``path`` and check it can be analysed.

    Args:
        path: a WFDB record (path without extension, or its ``.hea``), a ``.zip`` holding one WFDB
            record, an EDF/EDF+/BDF file, or a CSV file.
        fs: sampling rate in Hz. Needed for a CSV without a time column; for any other file it
            must agree with the rate the file states (within 1 %), else `EcgRateError`.
        max_bytes: largest file (WFDB: all its files together) accepted, in bytes; larger files
            are refused before they are read.
        source: the name to show for the recording, when ``path`` is a temporary copy of an
            upload (its folder part is dropped); default: ``path``'s file name.

    Returns:
        A validated `Ecg`: float32 millivolts, samples x leads, at least 10 s long.

    Raises:
        EcgFormatError: missing, unreadable, corrupt, unsafe or unsupported file.
        EcgTooLargeError: larger than ``max_bytes``.
        EcgRateError: sampling rate missing, contradictory or outside 50 Hz .. 10 kHz.
        EcgTooShortError: shorter than 10 s.
        EcgSignalError: gaps, flat or clipped leads, unequal leads, units that are not a voltage.

    Example:
        >>> ecg = load_ecg("/work/shared/data/physionet/mitdb/100")  # doctest: +SKIP
        >>> ecg.signal_mv.shape, ecg.fs, ecg.lead_names  # doctest: +SKIP
        ((650000, 2), 360.0, ('MLII', 'V5'))
    """
    path = Path(path)
    if fs is not None and not (math.isfinite(fs) and fs > 0):
        raise EcgRateError(f"The sampling rate given ({fs}) is not a positive number of samples per second.")
    file_path = _file_to_open(path)
    # An upload's name may come from a Windows browser ("C:\\Users\\...\\ecg.csv"): keep the last part.
    shown = re.split(r"[\\/]", source)[-1] if source else file_path.name
    # The WFDB reader adds up the header's signal files itself; every other format is one file.
    size_bytes = file_path.stat().st_size
    if size_bytes > max_bytes:
        raise EcgTooLargeError.for_size(size_bytes, max_bytes)

    ecg = _read(file_path, shown, fs, max_bytes)
    if fs is not None and abs(ecg.fs - fs) > _RATE_AGREEMENT * ecg.fs:
        raise EcgRateError(
            f"'{shown}' says it was recorded at {ecg.fs:g} samples per second, but {fs:g} was given. "
            "Please check which one is right."
        )
    return ecg_validate(ecg)


def _file_to_open(path: Path) -> Path:
    """The file to read: ``path`` itself, or the ``.hea`` of a WFDB record named without extension."""
    if path.is_file():
        if path.suffix.lower() in _WFDB_COMPANION_SUFFIXES and path.with_suffix(".hea").is_file():
            return path.with_suffix(".hea")  # the user picked the record's .dat or .atr
        return path
    header = path.with_name(path.name + ".hea")
    if header.is_file():
        return header
    if path.is_dir():
        raise EcgFormatError(f"'{path.name}' is a folder, not an ECG file.")
    raise EcgFormatError(f"The file '{path.name}' was not found.")


def _read(file_path: Path, shown: str, fs: float | None, max_bytes: int) -> Ecg:
    try:
        with file_path.open("rb") as stream:
            start = stream.read(8)
    except OSError as error:
        raise EcgFormatError(f"'{shown}' could not be opened.") from error
    suffix = file_path.suffix.lower()
    if start.startswith(_ZIP_SIGNATURES) or suffix == ".zip":
        return zip_read(file_path, source=shown, max_bytes=max_bytes)
    if start.startswith((_EDF_SIGNATURE, _BDF_SIGNATURE)) or suffix in {".edf", ".bdf", ".rec"}:
        return edf_read(file_path, source=shown)
    if suffix == ".hea":
        return wfdb_read(file_path, source=shown, max_bytes=max_bytes)
    if suffix in _TEXT_SUFFIXES or not suffix:
        return csv_read(file_path, source=shown, fs=fs)
    if suffix in _WFDB_COMPANION_SUFFIXES:
        raise EcgFormatError(
            f"'{shown}' is part of a WFDB record, whose header ('{file_path.stem}.hea') is missing. "
            "Please send the .hea and .dat files together, for example in one .zip file."
        )
    raise EcgFormatError(
        f"'{shown}' is not a format we can read. Supported files are WFDB records (.hea with .dat), "
        "EDF (.edf), CSV (.csv) and .zip files holding one WFDB record."
    )
