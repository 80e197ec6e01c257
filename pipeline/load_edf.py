"""Read an EDF, EDF+ or BDF file (European Data Format) with pyEDFlib.

EDF stores each signal as integers with a physical range and unit in the header; pyEDFlib
returns the physical values (Kemp et al., Electroenceph Clin Neurophysiol 1992;82:391-393;
EDF+: Kemp & Olivan, Clin Neurophysiol 2003;114:1755-1761). The EDF+ "annotations" signal
is not an ECG lead and pyEDFlib leaves it out, so a file holding only annotations has no
signals here and is refused with that reason.

Every signal must be a voltage (uV, mV or V) sampled at the same rate: an ECG file with a
respiration or blood-pressure channel, or leads at different rates, is refused with a clear
message rather than silently cut down.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyedflib

from pipeline.ecg import Ecg, lead_name_canonical
from pipeline.errors import EcgFormatError, EcgSignalError
from pipeline.units import units_mv_factor


def edf_read(path: Path, *, source: str) -> Ecg:
    """Read every signal of the EDF/EDF+/BDF file ``path`` as an ECG lead, in millivolts.

    Args:
        path: the file.
        source: the name to show for this recording (a file name, not a path).

    Returns:
        The recording, not yet validated (see `pipeline.validate.ecg_validate`).

    Raises:
        EcgFormatError: not a readable EDF file, or one with annotations only.
        EcgSignalError: a signal not in a voltage unit, or signals at different rates or lengths.
    """
    try:
        reader = pyedflib.EdfReader(str(path))
    except Exception as error:  # pyEDFlib raises OSError with edflib's reason for any bad header
        raise EcgFormatError(
            f"'{source}' could not be read as an EDF file: it is damaged or not an EDF file."
        ) from error
    try:
        return _signals_read(reader, source, Path(source).stem)
    finally:
        reader.close()


def _signals_read(reader: pyedflib.EdfReader, source: str, record_name: str) -> Ecg:
    n_signals = reader.signals_in_file
    if n_signals == 0:
        if reader.annotations_in_file:
            raise EcgFormatError(
                f"'{source}' holds only annotations (notes and events), no ECG signal. "
                "Please send the EDF file that holds the recording itself."
            )
        raise EcgFormatError(f"'{source}' holds no signals.")

    lead_names = tuple(
        lead_name_canonical(reader.getLabel(index)) or f"Lead {index + 1}" for index in range(n_signals)
    )
    rates_hz = [float(reader.getSampleFrequency(index)) for index in range(n_signals)]
    if len(set(rates_hz)) > 1:
        listed = ", ".join(f"{name} {rate:g}/s" for name, rate in zip(lead_names, rates_hz, strict=True))
        raise EcgSignalError(
            f"The signals in '{source}' were recorded at different rates ({listed}). "
            "All ECG leads must have the same number of samples per second."
        )
    factors = [
        units_mv_factor(reader.getPhysicalDimension(index), name) for index, name in enumerate(lead_names)
    ]
    lengths = [int(length) for length in reader.getNSamples()]
    if len(set(lengths)) > 1:
        raise EcgSignalError(
            f"The leads in '{source}' have different lengths; they must all be equally long."
        )

    signal_mv = np.empty((lengths[0], n_signals), dtype=np.float32)
    try:
        for index, factor in enumerate(factors):
            signal_mv[:, index] = reader.readSignal(index) * factor
    except Exception as error:  # edflib reports a truncated data record as a bare OSError/ValueError
        raise EcgFormatError(f"'{source}' is damaged: its signals could not be read completely.") from error
    return Ecg(
        signal_mv=signal_mv,
        fs=rates_hz[0],
        lead_names=lead_names,
        source=source,
        record_name=record_name,
    )
