"""Voltage units of ECG files and the factor that turns each into millivolts.

WFDB headers (``mV``, ``uV``), EDF headers (``uV``, ``mV``) and CSV column names (``II (uV)``)
name a lead's physical unit as free text. Only voltages make sense for an ECG lead; anything
else (``mmHg`` from a blood-pressure channel, a typo, ``furlongs``) is refused rather than
guessed, because a wrong factor of 1000 would turn a normal ECG into nonsense.
"""

from __future__ import annotations

from pipeline.errors import EcgSignalError

# Keys are case-folded. Both the micro sign (U+00B5) and the Greek mu (U+03BC) occur in files.
_MV_PER_UNIT: dict[str, float] = {
    "mv": 1.0,
    "millivolt": 1.0,
    "millivolts": 1.0,
    "uv": 1e-3,
    "\u00b5v": 1e-3,
    "\u03bcv": 1e-3,
    "microvolt": 1e-3,
    "microvolts": 1e-3,
    "v": 1e3,
    "volt": 1e3,
    "volts": 1e3,
}


def units_is_voltage(unit: str) -> bool:
    """True when ``unit`` is a voltage unit this module can convert (``"uV"``, ``"mV"``, ``"V"``)."""
    return unit.strip().casefold() in _MV_PER_UNIT


def units_mv_factor(unit: str, lead_name: str) -> float:
    """Millivolts per one ``unit``: multiply a lead's values by this to get millivolts.

    Args:
        unit: the unit as the file writes it (``"uV"``, ``"µV"``, ``"mV"``, ``"V"``; any case).
        lead_name: the lead's name, for the error message only.

    Raises:
        EcgSignalError: the unit is not a voltage we know.
    """
    factor = _MV_PER_UNIT.get(unit.strip().casefold())
    if factor is None:
        shown = unit.strip() or "no unit"
        raise EcgSignalError(
            f"Lead '{lead_name}' is measured in '{shown}', which is not a voltage unit. "
            "ECG leads must be in microvolts (uV), millivolts (mV) or volts (V)."
        )
    return factor
