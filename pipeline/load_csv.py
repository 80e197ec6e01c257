"""Read a CSV (or semicolon/tab separated) text file: one column per lead, a header row naming them.

The layout spreadsheets and most device exports produce::

    time_ms,II (uV),V1 (uV)
    0.000,-65,-40
    2.778,-70,-38

- **Lead names** come from the header row. A unit may follow the name in brackets
  (``II (uV)``, ``V1 [mV]``) or after an underscore or space (``II_uV``); without one the values
  are taken as millivolts, and refused when they are far too large for that (see
  `MAX_UNITLESS_RANGE_MV`), because microvolts read as millivolts would be 1000 times wrong.
- **A time column** (``time``, ``t``, ``seconds``, ``time_s``, ``time_ms``, ``ms``...) gives the
  sampling rate: ``(rows - 1) / (last time - first time)``. Without one the caller must say the
  rate. The times must rise evenly; a missing or repeated row is reported, not smoothed over.
- **Empty cells** are missing samples (NaN), handled by `pipeline.validate`; a lead whose
  values stop early while others go on is refused as leads of unequal length.
- **Text in a number column** is refused with the column and the row (as a spreadsheet numbers
  them, header = row 1) so the user can find it.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.ecg import Ecg, lead_name_canonical
from pipeline.errors import EcgFormatError, EcgRateError, EcgSignalError, EcgTooShortError
from pipeline.units import units_mv_factor

# Seconds per unit of a time column, by its name without case, spaces, brackets or underscores.
_TIME_COLUMN_SECONDS: dict[str, float] = {
    **dict.fromkeys(("t", "time", "times", "timesec", "timeseconds", "seconds", "second", "sec", "s"), 1.0),
    **dict.fromkeys(("ms", "msec", "tms", "timems", "timemsec", "milliseconds", "timemilliseconds"), 1e-3),
}
_NAME_KEY_PUNCTUATION = re.compile(r"[\s_\-()\[\]]+")

# "II (uV)", "V1 [mV]": any bracketed text is a unit (and refused if not a voltage).
# "II_uV", "II mV": only a voltage word counts, so "Lead II" keeps its "II".
_UNIT_IN_BRACKETS = re.compile(r"^(?P<lead>.*?)\s*[(\[]\s*(?P<unit>[^)\]]*?)\s*[)\]]\s*$")
_UNIT_AFTER_SEPARATOR = re.compile(
    r"^(?P<lead>.*?)[_\s]+(?P<unit>uv|\u00b5v|\u03bcv|mv|v|microvolts?|millivolts?|volts?)$", re.IGNORECASE
)

# A surface ECG's largest waves are a few millivolts (QRS up to ~5 mV); a lead without a unit
# whose values span more than 50 is almost certainly in microvolts or raw converter counts.
MAX_UNITLESS_RANGE_MV = 50.0

# Recorders sample at whole rates; time stamps rounded in the file (e.g. to whole milliseconds)
# would otherwise turn 360 Hz into 359.97 Hz.
_WHOLE_RATE_TOLERANCE = 1e-3

_SEPARATORS = (",", ";", "\t")
_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def csv_read(path: Path, *, source: str, fs: float | None) -> Ecg:
    """Read the text table ``path`` as an ECG in millivolts.

    Args:
        path: the CSV file.
        source: the name to show for this recording (a file name, not a path).
        fs: sampling rate in Hz; needed when the file has no time column.

    Returns:
        The recording, not yet validated (see `pipeline.validate.ecg_validate`).

    Raises:
        EcgFormatError: not text, no header row, text in a number column, too many cells in a row.
        EcgRateError: no time column and no ``fs``; times not evenly spaced.
        EcgSignalError: leads of unequal length, a unit that is not a voltage, unitless values too large.
    """
    header_line = _header_line(path, source)
    separator = max(_SEPARATORS, key=header_line.count)
    names = [name.strip() for name in next(csv.reader([header_line], delimiter=separator))]
    _names_check(names, source)
    table = _table_read(path, separator, len(names), source)
    values = _values_numeric(table, names, source)
    values = _trailing_empty_rows_dropped(values)
    _equal_lengths_check(values, names, source)

    time_column = _time_column(names, source)
    lead_columns = [index for index in range(len(names)) if index != time_column]
    if not lead_columns:
        raise EcgFormatError(f"'{source}' has a time column but no ECG lead columns.")
    if time_column is not None:
        seconds_per_unit = _TIME_COLUMN_SECONDS[_name_key(names[time_column])]
        rate_hz = _rate_from_times(values[:, time_column], seconds_per_unit, names[time_column], source)
    elif fs is None:
        raise EcgRateError(
            f"'{source}' has no time column, so its sampling rate is unknown. Please give the number of "
            "samples per second, or add a time column such as 'time_s' or 'time_ms'."
        )
    else:
        rate_hz = float(fs)

    lead_names, signal_mv = _leads_in_mv(values, names, lead_columns)
    return Ecg(
        signal_mv=signal_mv,
        fs=rate_hz,
        lead_names=lead_names,
        source=source,
        record_name=Path(source).stem,
    )


def _header_line(path: Path, source: str) -> str:
    with path.open("rb") as stream:
        start = stream.read(65536)
    first_line = start.splitlines()[0] if start.strip() else b""
    # NUL bytes never occur in text but do in every binary format.
    if b"\x00" in start:
        raise _not_text_error(source)
    try:
        line = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _not_text_error(source) from error
    if not line.strip():
        raise EcgFormatError(
            f"'{source}' is empty or its first row is blank; the first row must name the leads."
        )
    return line


def _not_text_error(source: str) -> EcgFormatError:
    return EcgFormatError(
        f"'{source}' is not a text (CSV) file. Supported files are WFDB records, EDF, CSV and "
        ".zip files holding a WFDB record."
    )


def _names_check(names: list[str], source: str) -> None:
    if all(_is_number(name) for name in names):
        raise EcgFormatError(
            f"The first row of '{source}' holds numbers. The first row must name the leads, "
            "for example: time_ms,II,V1"
        )
    seen: dict[str, str] = {}
    for name in names:
        key = name.casefold()
        if key and key in seen:
            raise EcgFormatError(
                f"Two columns of '{source}' are both called '{name}'; each lead needs its own name."
            )
        seen[key] = name


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _table_read(path: Path, separator: str, n_columns: int, source: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            sep=separator,
            header=None,
            skiprows=1,
            names=list(range(n_columns)),
            skipinitialspace=True,
            encoding="utf-8-sig",
            engine="c",
            low_memory=False,
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=list(range(n_columns)), dtype=float)
    except pd.errors.ParserError as error:
        found = _PARSER_LINE.search(str(error))
        where = f"Row {found.group(2)} has {found.group(3)} values" if found else "A row has more values"
        raise EcgFormatError(
            f"{where} in '{source}', but the first row names only {n_columns} columns."
        ) from error
    except (UnicodeDecodeError, ValueError, OSError) as error:
        raise EcgFormatError(f"'{source}' could not be read as a CSV file.") from error


def _values_numeric(table: pd.DataFrame, names: list[str], source: str) -> np.ndarray:
    """The table as float64 rows x columns; text in any column is an error naming column and row."""
    for index, name in enumerate(names):
        column = table[index]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            continue
        as_numbers = pd.to_numeric(column, errors="coerce")
        not_numbers = as_numbers.isna() & column.notna()
        if not not_numbers.any():
            table[index] = as_numbers
            continue
        row = int(np.argmax(not_numbers.to_numpy()))
        shown = str(column.iloc[row])
        shown = shown if len(shown) <= 20 else shown[:20] + "..."
        raise EcgFormatError(
            f"Row {row + 2} of column '{name or index + 1}' in '{source}' holds '{shown}', "
            "which is not a number. Every cell below the first row must be a number (or empty)."
        )
    return table.to_numpy(dtype=np.float64, copy=False).reshape(len(table), len(names))


def _trailing_empty_rows_dropped(values: np.ndarray) -> np.ndarray:
    """Drop rows at the end where every cell is empty (spreadsheets write ``,,,`` lines)."""
    any_value = (~np.isnan(values)).any(axis=1)
    last = np.flatnonzero(any_value)
    return values[: last[-1] + 1] if len(last) else values[:0]


def _equal_lengths_check(values: np.ndarray, names: list[str], source: str) -> None:
    present = ~np.isnan(values)
    lengths = [
        int(np.flatnonzero(present[:, column])[-1]) + 1 if present[:, column].any() else 0
        for column in range(values.shape[1])
    ]
    longest = max(lengths, default=0)
    for column, length in enumerate(lengths):
        if length < longest:
            longest_name = names[lengths.index(longest)]
            raise EcgSignalError(
                f"In '{source}', column '{names[column]}' has {length} values but column "
                f"'{longest_name}' has {longest}. All leads must be equally long."
            )


def _name_key(name: str) -> str:
    return _NAME_KEY_PUNCTUATION.sub("", name.casefold())


def _time_column(names: list[str], source: str) -> int | None:
    found = [index for index, name in enumerate(names) if _name_key(name) in _TIME_COLUMN_SECONDS]
    if len(found) > 1:
        shown = ", ".join(f"'{names[index]}'" for index in found)
        raise EcgFormatError(f"'{source}' has more than one time column ({shown}); please keep one.")
    return found[0] if found else None


def _rate_from_times(times: np.ndarray, seconds_per_unit: float, name: str, source: str) -> float:
    """Sampling rate in Hz from evenly spaced times; refuses gaps, repeats and backwards steps."""
    if len(times) < 2:
        raise EcgTooShortError(f"'{source}' has fewer than two rows of samples.")
    if np.isnan(times).any():
        row = int(np.argmax(np.isnan(times))) + 2
        raise EcgRateError(f"The time column '{name}' in '{source}' is empty in row {row}.")
    span = float(times[-1] - times[0])
    if not span > 0:
        raise EcgRateError(f"The time column '{name}' in '{source}' does not increase.")
    period = span / (len(times) - 1)
    # Each time may be off its ideal place by rounding in the file, but by less than half a
    # sample: more means a missing, repeated or reordered row.
    expected = times[0] + period * np.arange(len(times))
    off = np.abs(times - expected)
    if off.max() > 0.5 * period or (np.diff(times) <= 0).any():
        row = int(np.argmax(off > 0.5 * period)) + 2 if off.max() > 0.5 * period else 2
        raise EcgRateError(
            f"The times in column '{name}' of '{source}' are not evenly spaced (around row {row}): "
            "a row may be missing or repeated. The sampling rate cannot be worked out from them."
        )
    rate_hz = 1.0 / (period * seconds_per_unit)
    whole = round(rate_hz)
    if whole > 0 and abs(rate_hz - whole) <= _WHOLE_RATE_TOLERANCE * whole:
        return float(whole)
    return rate_hz


def _leads_in_mv(
    values: np.ndarray, names: list[str], lead_columns: list[int]
) -> tuple[tuple[str, ...], np.ndarray]:
    """Lead names without their units, and the lead columns converted to float32 millivolts."""
    lead_names = []
    signal_mv = np.empty((values.shape[0], len(lead_columns)), dtype=np.float32)
    for position, column in enumerate(lead_columns):
        lead_name, unit = _lead_name_and_unit(names[column], column)
        if unit is None:
            _unitless_range_check(values[:, column], lead_name)
            factor = 1.0
        else:
            factor = units_mv_factor(unit, lead_name)
        signal_mv[:, position] = values[:, column] * factor
        lead_names.append(lead_name)
    return tuple(lead_names), signal_mv


def _lead_name_and_unit(column_name: str, column: int) -> tuple[str, str | None]:
    match = _UNIT_IN_BRACKETS.match(column_name) or _UNIT_AFTER_SEPARATOR.match(column_name)
    lead, unit = (match.group("lead"), match.group("unit")) if match else (column_name, None)
    return lead_name_canonical(lead) or f"Lead {column + 1}", unit


def _unitless_range_check(values: np.ndarray, lead_name: str) -> None:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return
    low, high = np.percentile(finite, [0.1, 99.9])
    if high - low > MAX_UNITLESS_RANGE_MV:
        raise EcgSignalError(
            f"The values of lead '{lead_name}' span {high - low:,.0f}, far too much for millivolts. "
            f"If they are microvolts, put the unit in the column name, for example '{lead_name} (uV)'."
        )
