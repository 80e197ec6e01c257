"""Read PTB-XL in its own layout: the record table with each record's statements and patient, and the records.

PTB-XL (Wagner et al. 2020) holds 21,799 clinical 12-lead ECGs of 10 s from 18,869 patients.
Its folder holds

- ``ptbxl_database.csv``: one row per record, indexed by ``ecg_id``, with ``patient_id``,
  ``scp_codes`` (the SCP-ECG statements as a Python dict literal, statement -> likelihood),
  ``strat_fold`` (the authors' ten folds, which keep each patient's records in one fold) and
  ``filename_lr`` / ``filename_hr``: the WFDB record, relative to the folder, at 100 Hz
  (``records100/00000/00001_lr``) and at 500 Hz (``records500/00000/00001_hr``);
- ``scp_statements.csv``: what each statement means and whether it is diagnostic, form or rhythm;
- ``records100/`` and ``records500/``: the WFDB records, 12 leads (I, II, III, AVR, AVL, AVF,
  V1-V6) in millivolts.

`ptbxl_records` reads the table and gives each record its rhythm class
(`pipeline.rhythm_labels.ptbxl_class`); `ptbxl_ecg` loads one record with `pipeline.load.load_ecg`,
so it is validated like any other ECG; `ptbxl_labelled_ecgs` walks the records that have a class.
A patient can have several records (patient 13619 has eight among the first 40), so every split
for training and evaluation must go by ``patient_id``, never by record.

References:
    Wagner P, Strodthoff N, Bousseljot RD, et al. PTB-XL, a large publicly available
    electrocardiography dataset. Sci Data 2020;7:154. https://physionet.org/content/ptb-xl/

Example:
    >>> records = ptbxl_records("/work/shared/data/physionet/ptbxl-sample")  # doctest: +SKIP
    >>> records[0].ecg_id, records[0].patient_id, records[0].rhythm_class  # doctest: +SKIP
    (1, 15709, 'Normal')
"""

from __future__ import annotations

import ast
import csv
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from pipeline.ecg import Ecg
from pipeline.load import load_ecg
from pipeline.rhythm_labels import PTBXL_MIN_LIKELIHOOD, ptbxl_class

PTBXL_DATABASE_CSV = "ptbxl_database.csv"

# The two versions of every record (Wagner et al. 2020): the original at 500 Hz and a copy
# downsampled to 100 Hz.
Resolution = Literal["lr", "hr"]
PTBXL_FS_HZ: Mapping[str, float] = MappingProxyType({"lr": 100.0, "hr": 500.0})

# Columns in which the table's annotators list the leads with that signal problem (empty: none).
_NOISE_COLUMNS = ("static_noise", "burst_noise", "electrodes_problems")


class PtbxlLayoutError(ValueError):
    """A folder that is not laid out as PTB-XL, or a row of its table that cannot be read."""


@dataclass(frozen=True)
class PtbxlRecord:
    """One row of ``ptbxl_database.csv``, with the rhythm class its statements give.

    Attributes:
        ecg_id: PTB-XL's record number (1-21837, with gaps).
        patient_id: the patient; several records may share one.
        scp_codes: statement -> likelihood (0 = unknown), read-only.
        rhythm_class: the class for training (see `pipeline.rhythm_labels.ptbxl_class`), or None.
        strat_fold: PTB-XL's own fold (1-10), patient-respecting.
        filename_lr, filename_hr: the WFDB record at 100 and 500 Hz, relative to the folder.
        noise_noted: the table notes static noise, burst noise or electrode problems in at least
            one lead (its ``static_noise``, ``burst_noise``, ``electrodes_problems`` columns).
    """

    ecg_id: int
    patient_id: int
    scp_codes: Mapping[str, float]
    rhythm_class: str | None
    strat_fold: int
    filename_lr: str
    filename_hr: str
    noise_noted: bool = False

    def record_path(self, ptbxl_dir: str | os.PathLike[str], resolution: Resolution = "hr") -> Path:
        """The WFDB record (without extension) at the given resolution under ``ptbxl_dir``."""
        return Path(ptbxl_dir) / (self.filename_hr if resolution == "hr" else self.filename_lr)


def ptbxl_records(
    ptbxl_dir: str | os.PathLike[str], *, min_likelihood: float = PTBXL_MIN_LIKELIHOOD
) -> tuple[PtbxlRecord, ...]:
    """Every row of the folder's ``ptbxl_database.csv``, in ``ecg_id`` order.

    Args:
        ptbxl_dir: the PTB-XL folder (holding ``ptbxl_database.csv``, ``records100/``, ``records500/``).
        min_likelihood: passed to `ptbxl_class`: the least likelihood at which a diagnostic
            statement counts.

    Raises:
        PtbxlLayoutError: no ``ptbxl_database.csv`` in the folder, or a row that cannot be read.
    """
    table = Path(ptbxl_dir) / PTBXL_DATABASE_CSV
    if not table.is_file():
        raise PtbxlLayoutError(f"'{ptbxl_dir}' is not a PTB-XL folder: it has no {PTBXL_DATABASE_CSV}.")
    with table.open(newline="", encoding="utf-8") as file:
        rows = [_record_from_row(row, min_likelihood) for row in csv.DictReader(file)]
    return tuple(sorted(rows, key=lambda record: record.ecg_id))


def ptbxl_ecg(
    ptbxl_dir: str | os.PathLike[str], record: PtbxlRecord, *, resolution: Resolution = "hr"
) -> Ecg:
    """Load one PTB-XL record (12 leads, mV) at 500 Hz (``"hr"``) or 100 Hz (``"lr"``).

    Raises:
        EcgError: the record's files are missing or do not pass `pipeline.validate.ecg_validate`.
    """
    return load_ecg(record.record_path(ptbxl_dir, resolution))


def ptbxl_labelled_ecgs(
    ptbxl_dir: str | os.PathLike[str],
    *,
    resolution: Resolution = "hr",
    min_likelihood: float = PTBXL_MIN_LIKELIHOOD,
) -> Iterator[tuple[PtbxlRecord, Ecg]]:
    """Each record that has a rhythm class, with its ECG, in ``ecg_id`` order.

    Records are loaded one at a time, so the whole database never sits in memory. A record whose
    files fail to load raises its `EcgError`; callers that build datasets catch it per record.
    """
    for record in ptbxl_records(ptbxl_dir, min_likelihood=min_likelihood):
        if record.rhythm_class is not None:
            yield record, ptbxl_ecg(ptbxl_dir, record, resolution=resolution)


def _record_from_row(row: Mapping[str, str], min_likelihood: float) -> PtbxlRecord:
    try:
        codes = ast.literal_eval(row["scp_codes"])
        if not isinstance(codes, dict):
            raise ValueError("scp_codes is not a dict")
        scp_codes = {str(code): float(likelihood) for code, likelihood in codes.items()}
        return PtbxlRecord(
            ecg_id=int(row["ecg_id"]),
            # The table writes patient ids as floats ("15709.0").
            patient_id=int(float(row["patient_id"])),
            scp_codes=MappingProxyType(scp_codes),
            rhythm_class=ptbxl_class(scp_codes, min_likelihood=min_likelihood),
            strat_fold=int(row["strat_fold"]),
            filename_lr=row["filename_lr"],
            filename_hr=row["filename_hr"],
            noise_noted=any(row.get(column, "").strip(" ,") for column in _NOISE_COLUMNS),
        )
    except (KeyError, ValueError, SyntaxError) as error:
        raise PtbxlLayoutError(
            f"Row ecg_id={row.get('ecg_id', '?')} of {PTBXL_DATABASE_CSV} cannot be read: {error}"
        ) from error
