"""Checks every loaded ECG passes before analysis: rate, length, gaps, flat, clipped and out-of-scale leads.

Every loader ends here, so whatever the file format, an `Ecg` that reaches the analysis has a
plausible sampling rate, lasts at least 10 s, holds only finite values, and every lead carries
a signal. A recording that fails is refused with an `EcgError` naming the lead and what is wrong,
rather than producing heart rates from a flat line.

Missing samples (NaN, as WFDB writes for "no data" and a CSV writes as an empty cell) are the
one thing repaired: a gap up to `MAX_GAP_S` is bridged by a straight line, longer ones are refused.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.signal import butter, sosfiltfilt

from pipeline.ecg import Ecg
from pipeline.errors import EcgRateError, EcgSignalError, EcgTooShortError

# Below 50 Hz the Nyquist frequency (25 Hz) cuts into the QRS complex, whose energy lies
# mostly between 5 and 30 Hz (Thakor et al., IEEE TBME 1984;31(11):702-706); above 10 kHz the
# file is not a clinical ECG (diagnostic ECGs sample at 500-1000 Hz, pacemaker-spike capture
# at a few kHz) but most likely a wrong header.
MIN_FS_HZ = 50.0
MAX_FS_HZ = 10_000.0

# Rhythm classification and signal quality work on 10-s windows, the length of a standard
# 12-lead ECG (PTB-XL's records are exactly 10 s); a shorter recording gives them nothing.
MIN_DURATION_S = 10.0

# A gap shorter than 50 ms cannot hide a whole QRS complex (80-120 ms), so bridging it with a
# straight line cannot remove or invent a beat; it only blunts at most part of one wave.
# Longer gaps could hide beats and are refused instead of guessed.
MAX_GAP_S = 0.05

# Peak-to-peak below 20 microvolts over at least 10 s is no ECG: even low-voltage QRS complexes
# are above 0.5 mV in the limb leads (Kligfield et al., Circulation 2007;115:1306-1324). Such a
# lead is a disconnected electrode or an unused channel.
MIN_PEAK_TO_PEAK_MV = 0.02

# A saturated amplifier pins a lead to its extreme values for long stretches. Clipped R-wave
# tips alone still let rate and rhythm be read: the QT database's record sel42 has them in
# 11 % of its first lead's samples and is a reference record. A fifth of all samples sitting at
# the two extremes is well beyond that and means the lead cannot be read.
MAX_CLIPPED_FRACTION = 0.20

# An ECG spans a few millivolts: QRS complexes reach 4-5 mV in marked left-ventricular
# hypertrophy, and the widest lead of the 264 PhysioNet records in ../shared (VF, VT and noise
# included) spans 8.5 mV between its 0.5th and 99.5th percentiles once the baseline is removed.
# Fifty millivolts is far beyond any of that, and far below what a unit mistake gives (microvolts
# read as millivolts: a thousand times the true amplitude, which would put every amplitude the
# pipeline judges - P and T waves present, a lead off - out of scale).
MAX_ECG_RANGE_MV = 50.0
_RANGE_PERCENTILES = (0.5, 99.5)
_BASELINE_HIGHPASS_HZ = 0.5


def ecg_validate(ecg: Ecg) -> Ecg:
    """Check ``ecg`` for analysis and bridge short gaps.

    Args:
        ecg: a recording as a loader read it; may contain NaN or infinite samples.

    Returns:
        The same recording, with gaps of up to `MAX_GAP_S` filled by linear interpolation
        (``ecg`` itself when there was nothing to fill).

    Raises:
        EcgRateError: ``fs`` outside `MIN_FS_HZ` .. `MAX_FS_HZ`.
        EcgTooShortError: shorter than `MIN_DURATION_S`.
        EcgSignalError: a lead with no values, a gap longer than `MAX_GAP_S`, a flat lead, a clipped lead,
            or one spanning more than `MAX_ECG_RANGE_MV` (wrong units).

    Example:
        >>> import numpy as np
        >>> from pipeline.ecg import Ecg
        >>> t = np.arange(3600) / 360.0
        >>> ecg = Ecg(np.sin(2 * np.pi * t)[:, None], 360.0, ("II",), "demo.csv", "demo")
        >>> ecg_validate(ecg).n_samples
        3600
    """
    _check_rate(ecg.fs)
    _check_duration(ecg.n_samples, ecg.fs)
    signal = ecg.signal_mv
    if not np.isfinite(signal).all():
        signal = np.column_stack(
            [_lead_gaps_filled(signal[:, lead], ecg.fs, name) for lead, name in enumerate(ecg.lead_names)]
        )
        ecg = dataclasses.replace(ecg, signal_mv=signal)
    for lead, name in enumerate(ecg.lead_names):
        _check_lead_has_signal(signal[:, lead], name)
        _check_amplitude_plausible(signal[:, lead], ecg.fs, name)
    return ecg


def _check_rate(fs: float) -> None:
    if not MIN_FS_HZ <= fs <= MAX_FS_HZ:
        raise EcgRateError(
            f"The recording says it has {fs:g} samples per second. We can only analyse recordings "
            f"with {MIN_FS_HZ:g} to {MAX_FS_HZ:g} samples per second; the file or its settings may be wrong."
        )


def _check_duration(n_samples: int, fs: float) -> None:
    # Compared in whole samples so that a 10-s recording whose rate came out as 499.9999 Hz
    # (a rate inferred from rounded time stamps) is not refused for a rounding error.
    if n_samples < round(MIN_DURATION_S * fs):
        raise EcgTooShortError(
            f"The recording lasts {n_samples / fs:.1f} seconds. At least {MIN_DURATION_S:g} seconds are "
            "needed for an analysis."
        )


def _lead_gaps_filled(lead_mv: np.ndarray, fs: float, name: str) -> np.ndarray:
    """``lead_mv`` with runs of non-finite samples up to `MAX_GAP_S` replaced by a straight line."""
    missing = ~np.isfinite(lead_mv)
    if not missing.any():
        return lead_mv
    if missing.all():
        raise EcgSignalError(f"Lead '{name}' holds no values.")
    edges = np.diff(np.concatenate(([0], missing.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    longest = int(np.argmax(ends - starts))
    if (ends[longest] - starts[longest]) / fs > MAX_GAP_S:
        raise EcgSignalError(
            f"Lead '{name}' has no values for {(ends[longest] - starts[longest]) / fs:.2f} seconds "
            f"from {starts[longest] / fs:.1f} s on. Gaps longer than {MAX_GAP_S * 1000:.0f} ms cannot be "
            "analysed; please record again or send a complete file."
        )
    present = np.flatnonzero(~missing)
    filled = lead_mv.copy()
    # np.interp holds the first/last value beyond the ends: a short gap at the very start or
    # end of the recording is filled flat rather than extrapolated.
    filled[missing] = np.interp(np.flatnonzero(missing), present, lead_mv[present])
    return filled


def _check_lead_has_signal(lead_mv: np.ndarray, name: str) -> None:
    high = float(lead_mv.max())
    low = float(lead_mv.min())
    if high == low == 0.0:
        raise EcgSignalError(
            f"Lead '{name}' is all zeros: there is no signal in it. Check that the electrode was connected."
        )
    if high - low < MIN_PEAK_TO_PEAK_MV:
        raise EcgSignalError(
            f"Lead '{name}' is a flat line: there is no ECG in it. Check that the electrode was connected."
        )
    at_extremes = np.count_nonzero(lead_mv == high) + np.count_nonzero(lead_mv == low)
    if at_extremes / len(lead_mv) > MAX_CLIPPED_FRACTION:
        raise EcgSignalError(
            f"Lead '{name}' is cut off at its highest and lowest values (clipped) for "
            f"{100 * at_extremes / len(lead_mv):.0f}% of the recording, so its waves cannot be measured. "
            "The recorder's gain may have been set too high."
        )


def _check_amplitude_plausible(lead_mv: np.ndarray, fs: float, name: str) -> None:
    """Refuse a lead whose baseline-free range is beyond any ECG's (`MAX_ECG_RANGE_MV`)."""
    highpass = butter(2, _BASELINE_HIGHPASS_HZ, "highpass", fs=fs, output="sos")
    low, high = np.percentile(sosfiltfilt(highpass, lead_mv.astype(np.float64)), _RANGE_PERCENTILES)
    if high - low > MAX_ECG_RANGE_MV:
        raise EcgSignalError(
            f"Lead '{name}' swings over {high - low:,.0f} mV, but an ECG spans a few millivolts. The "
            "file's units are probably wrong (microvolts marked as millivolts?): please check how it "
            "was exported."
        )
