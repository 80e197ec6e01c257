"""Read a WFDB record (PhysioNet's format): a ``.hea`` header, its ``.dat`` file(s), an optional ``.atr``.

The header names the signal files, their binary format, gain and units; `wfdb.rdrecord` turns
the stored integers into physical values. Before handing the record to it, this module checks
what `wfdb` itself does not, so that a bad upload gets a clear answer instead of a numpy error
or a huge allocation:

- every signal file the header names is a plain file name beside the header (a header in an
  upload could otherwise name ``../../etc/passwd``) and exists;
- the files together stay under the byte limit;
- each signal file is at least as long as the header says (a copy cut short is caught here);
- the header gives its sampling rate: header(5) lets a missing rate default to 250 Hz, and
  `wfdb` takes that default silently, also for a rate field it cannot parse. A guessed rate
  scales every interval and heart rate (a 360-Hz record read at 250 Hz gives rates 30 % too
  low), so it is not guessed.
- a signal whose gain is 0 or missing is "uncalibrated" (header(5)): it is read at the
  header's default of 200 units per millivolt, as PhysioNet's tools read it, and its lead is
  listed in `Ecg.uncalibrated_leads` so that the analysis, the viewer and the report say its
  amplitudes are nominal. Refusing it would refuse real records: the QT Database's excerpts of
  the Long-Term ST Database (sel14046 ...) and the Noise Stress Test Database's noise records
  have a gain of 0.

Reference: WFDB header format, https://physionet.org/physiotools/wag/header-5.htm ; signal
formats, https://physionet.org/physiotools/wag/signal-5.htm ; annotations,
https://physionet.org/physiotools/wag/annot-5.htm .
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import wfdb

from pipeline.ecg import Annotations, Ecg, lead_name_canonical
from pipeline.errors import EcgFormatError, EcgTooLargeError
from pipeline.units import units_mv_factor

# Bits one sample takes in each WFDB signal format (signal(5)). The FLAC formats (508, 516,
# 524) are compressed, so their length cannot be checked from the header and is left to wfdb.
_BITS_PER_SAMPLE: dict[str, float] = {
    "8": 8,
    "16": 16,
    "24": 24,
    "32": 32,
    "61": 16,
    "80": 8,
    "160": 16,
    "212": 12,
    "310": 32 / 3,
    "311": 32 / 3,
}

# header(5): "If the units field is omitted, the default (millivolts) is assumed."
_DEFAULT_UNITS = "mV"


def wfdb_read(header_path: Path, *, source: str, max_bytes: int) -> Ecg:
    """Read the WFDB record whose header is ``header_path`` (``.../100.hea``).

    Args:
        header_path: the ``.hea`` file; signal files and ``.atr`` are looked for beside it.
        source: the name to show for this recording (a file name, not a path).
        max_bytes: refuse when header, signal files and annotations together are larger.

    Returns:
        The record in millivolts, with the ``.atr`` annotations when that file exists. Not yet
        validated (see `pipeline.validate.ecg_validate`).

    Raises:
        EcgFormatError: header unreadable, signal file missing, unsafe or cut short.
        EcgTooLargeError: the files exceed ``max_bytes``.
        EcgSignalError: a lead's units are not a voltage.
    """
    record_path = header_path.with_suffix("")
    header, header_lines = _header_read(record_path)
    uncalibrated = _uncalibrated_signals(header_lines, header.n_sig)
    data_paths = _data_paths_checked(header, header_path)
    annotation_path = record_path.with_name(record_path.name + ".atr")
    _size_check(
        [header_path, *data_paths, *([annotation_path] if annotation_path.is_file() else [])], max_bytes
    )
    _data_lengths_check(header, header_path.parent)

    try:
        record = wfdb.rdrecord(str(record_path), return_res=32, smooth_frames=True)
    except Exception as error:  # wfdb raises bare numpy/struct/OS errors on corrupt input
        raise EcgFormatError(
            f"The ECG in '{source}' could not be read: its signal file does not match its header."
        ) from error
    signal = record.p_signal
    if header.sig_len and signal.shape[0] != header.sig_len:
        raise _cut_short_error(source)

    lead_names = _lead_names(record.sig_name, record.n_sig)
    units = [unit or _DEFAULT_UNITS for unit in (record.units or [None] * record.n_sig)]
    factors = np.array([units_mv_factor(unit, name) for unit, name in zip(units, lead_names, strict=True)])
    signal_mv = np.asarray(signal, dtype=np.float32)
    if np.any(factors != 1.0):
        signal_mv = signal_mv * factors.astype(np.float32)

    annotations = _annotations_read(record_path, annotation_path, float(record.fs))
    return Ecg(
        signal_mv=signal_mv,
        fs=float(record.fs),
        lead_names=lead_names,
        source=source,
        record_name=str(record.record_name or record_path.name),
        annotations=annotations,
        uncalibrated_leads=tuple(name for name, flag in zip(lead_names, uncalibrated, strict=True) if flag),
    )


def _header_read(record_path: Path) -> tuple[wfdb.Record, list[list[str]]]:
    """The header as `wfdb` reads it, checked, and its own lines' fields (`_header_lines`)."""
    shown = record_path.name + ".hea"
    try:
        header = wfdb.rdheader(str(record_path))
    except Exception as error:  # a malformed header raises anything from ValueError to IndexError
        raise EcgFormatError(f"'{shown}' is not a readable WFDB header.") from error
    if isinstance(header, wfdb.MultiRecord) or getattr(header, "seg_name", None):
        raise EcgFormatError(
            f"'{shown}' describes a recording split into segments, which cannot be opened here. "
            "Please send a single-segment record."
        )
    if not header.n_sig:
        raise EcgFormatError(f"'{shown}' describes a record without any ECG signal.")
    described = len(header.file_name or [])
    if described != header.n_sig:  # wfdb reads a header cut short after its record line
        raise EcgFormatError(
            f"'{shown}' announces {header.n_sig} signals but describes {described}: the header is "
            "incomplete. Please send the record's original .hea file."
        )
    lines = _header_lines(record_path.with_name(shown))
    record_line = lines[0]
    if not header.fs or len(record_line) < 3 or _RATE_FIELD.fullmatch(record_line[2]) is None:
        raise EcgFormatError(f"'{shown}' does not say how many samples per second were recorded.")
    return header, lines


# header(5) record line: name[/segments] signals rate[/counter rate[(base counter)]] ...
_RATE_FIELD = re.compile(r"\d*\.?\d+(/\d*\.?\d+(\(-?\d*\.?\d+\))?)?")


def _header_lines(header_path: Path) -> list[list[str]]:
    """The fields of each line of the header that is not a comment (at least one list)."""
    with header_path.open("rb") as file:
        text = file.read(1024 * 1024).decode("latin-1")
    lines = (line.split("#", 1)[0].split() for line in text.splitlines())
    return [fields for fields in lines if fields] or [[]]


# header(5) signal line: file format[...] [gain[(baseline)][/units] ...]; the gain's number
_GAIN_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _uncalibrated_signals(header_lines: list[list[str]], n_signals: int) -> list[bool]:
    """Per signal, whether its header line gives no ADC gain or a gain of 0 ("uncalibrated").

    `wfdb` replaces such a gain by 200 without saying so, so the header's own text is read."""
    flags = []
    for fields in header_lines[1 : 1 + n_signals]:
        number = _GAIN_NUMBER.match(fields[2]) if len(fields) > 2 else None
        flags.append(number is None or float(number.group(0)) == 0.0)
    return flags + [False] * (n_signals - len(flags))


def _data_paths_checked(header: wfdb.Record, header_path: Path) -> list[Path]:
    """The distinct signal files the header names, each a plain name beside it and present."""
    paths = []
    for file_name in dict.fromkeys(header.file_name):
        # A header names its signal files as paths relative to itself; in an upload those names
        # come from a stranger, so only a bare file name (no folder, no "..", not "-" for
        # standard input or "~" for "no file") may be opened.
        if not file_name or file_name in {".", "..", "-", "~"} or Path(file_name).name != file_name:
            raise EcgFormatError(
                f"'{header_path.name}' names a signal file in a way that is not allowed ('{file_name}'). "
                "The signal file must be named plainly and lie beside the header."
            )
        if "\\" in file_name:
            raise EcgFormatError(f"'{header_path.name}' names its signal file with a folder ('{file_name}').")
        path = header_path.parent / file_name
        if not path.is_file():
            raise EcgFormatError(
                f"The signal file '{file_name}' that '{header_path.name}' needs is missing. "
                f"Please send '{header_path.name}' together with '{file_name}', for example in one .zip file."
            )
        paths.append(path)
    return paths


def _size_check(paths: Sequence[Path], max_bytes: int) -> None:
    total = sum(path.stat().st_size for path in paths)
    if total > max_bytes:
        raise EcgTooLargeError.for_size(total, max_bytes)


def _data_lengths_check(header: wfdb.Record, folder: Path) -> None:
    """Refuse a signal file shorter than ``byte offset + samples x frame size`` from its header."""
    if not header.sig_len:
        return  # no length in the header: wfdb infers it from the file size, nothing to compare
    frame_bits: dict[str, float] = {}
    offsets: dict[str, int] = {}
    samples_per_frame = header.samps_per_frame or [1] * header.n_sig
    byte_offsets = header.byte_offset or [None] * header.n_sig
    for file_name, fmt, spf, offset in zip(
        header.file_name, header.fmt, samples_per_frame, byte_offsets, strict=True
    ):
        bits = _BITS_PER_SAMPLE.get(str(fmt))
        if bits is None:
            return  # compressed or unusual format: its length is wfdb's to check
        frame_bits[file_name] = frame_bits.get(file_name, 0.0) + bits * (spf or 1)
        offsets[file_name] = offset or 0
    for file_name, bits in frame_bits.items():
        needed = offsets[file_name] + math.ceil(header.sig_len * bits / 8 - 1e-9)
        if (folder / file_name).stat().st_size < needed:
            raise _cut_short_error(file_name)


def _cut_short_error(name: str) -> EcgFormatError:
    return EcgFormatError(
        f"'{name}' is shorter than its header says: the file was probably cut off while it was "
        "copied or uploaded. Please send the complete file."
    )


def _lead_names(sig_name: Sequence[str | None] | None, n_sig: int) -> tuple[str, ...]:
    names = list(sig_name or [None] * n_sig)
    return tuple(
        lead_name_canonical(name) if name else f"Lead {index + 1}" for index, name in enumerate(names)
    )


def _annotations_read(record_path: Path, annotation_path: Path, fs: float) -> Annotations | None:
    if not annotation_path.is_file():
        return None
    try:
        annotation = wfdb.rdann(str(record_path), "atr")
    except Exception as error:  # wfdb raises bare numpy/struct errors on a corrupt annotation file
        raise EcgFormatError(
            f"The annotation file '{annotation_path.name}' is damaged and could not be read. "
            "Send the record without it, or with an intact copy."
        ) from error
    sample = np.asarray(annotation.sample, dtype=np.int64)
    # An annotation file may be written at another rate than the signal (header(5) allows it);
    # the Ecg promises sample indices at its own fs.
    if annotation.fs and abs(float(annotation.fs) - fs) > 1e-6:
        sample = np.round(sample * (fs / float(annotation.fs))).astype(np.int64)
    aux_note = tuple((note or "").replace("\x00", "") for note in annotation.aux_note)
    return Annotations(sample=sample, symbol=tuple(annotation.symbol), aux_note=aux_note)
