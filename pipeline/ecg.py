"""The one ECG type every pipeline step takes: samples x leads in millivolts, with its rate and names.

`Ecg` holds what a loader read and nothing it computed. It is frozen and its sample array is
read-only, so a step cannot change the recording another step sees; steps return new arrays.

Lead names of the standard 12-lead ECG are spelled the usual way (``aVR``, not ``AVR``) by the
loaders; other names (``MLII``, ``V5``, ``ECG1``) are kept as the file gives them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.errors import EcgLeadError

# The 12 standard leads, in the usual order (Kligfield et al., Circulation 2007;115:1306-1324).
STANDARD_LEADS: tuple[str, ...] = (
    "I",
    "II",
    "III",
    "aVR",
    "aVL",
    "aVF",
    "V1",
    "V2",
    "V3",
    "V4",
    "V5",
    "V6",
)

# Names that mean "lead II" in files we meet, best first. Lead II is the usual rhythm lead: its
# axis (+60 degrees) runs along the atrial depolarisation vector, so P waves and QRS complexes are
# large and upright in it. MLII (modified lead II, a chest placement used by Holter recorders and
# the MIT-BIH databases) approximates it; "ECG II", "Lead II", "ML2" and the European "DII" are
# other spellings of the same two.
_LEAD_II_TIERS: tuple[frozenset[str], ...] = (
    frozenset({"ii"}),
    frozenset({"mlii"}),
    frozenset({"ml2", "dii", "d2"}),
)
_LEAD_NAME_PREFIX = re.compile(r"^(ecg|ekg|lead)")
_LEAD_NAME_PUNCTUATION = re.compile(r"[\s_\-.:()\[\]]+")


_STANDARD_LEAD_BY_KEY = {lead.casefold(): lead for lead in STANDARD_LEADS}


def leads_quoted(names: Sequence[str]) -> str:
    """Lead names as a reader sees them in a sentence: ``'II', 'V5'`` (names may hold commas)."""
    return ", ".join(f"'{name}'" for name in names)


def lead_name_canonical(name: str) -> str:
    """A lead name as shown to users: standard leads in their usual spelling (``AVR`` -> ``aVR``).

    Files spell the augmented limb leads in upper case (PTB-XL writes ``AVR``); clinicians and
    the paper-grid figure expect ``aVR``. Any other name is returned stripped but unchanged.
    """
    stripped = name.strip()
    return _STANDARD_LEAD_BY_KEY.get(stripped.casefold(), stripped)


def _lead_name_key(name: str) -> str:
    """``"ECG II"``, ``"Lead-II"``, ``"ii"`` -> ``"ii"``: a lead name without case, spaces or prefix."""
    key = _LEAD_NAME_PUNCTUATION.sub("", name.casefold())
    stripped = _LEAD_NAME_PREFIX.sub("", key)
    return stripped or key


@dataclass(frozen=True, eq=False)
class Annotations:
    """Reference annotations of a record (e.g. a WFDB ``.atr`` file), one entry per annotation.

    Attributes:
        sample: sample index of each annotation at the ECG's own ``fs`` (int64).
        symbol: annotation code per entry: a beat symbol (``N``, ``V``, ...) or ``+`` for a rhythm change.
        aux_note: free text per entry (``"(AFIB"`` for a rhythm change), empty when none; NULs removed.
    """

    sample: np.ndarray
    symbol: tuple[str, ...]
    aux_note: tuple[str, ...]

    def __post_init__(self) -> None:
        sample = np.asarray(self.sample, dtype=np.int64).reshape(-1)
        if not len(sample) == len(self.symbol) == len(self.aux_note):
            raise ValueError("Annotations: sample, symbol and aux_note must have one entry each")
        sample.flags.writeable = False
        object.__setattr__(self, "sample", sample)
        object.__setattr__(self, "symbol", tuple(self.symbol))
        object.__setattr__(self, "aux_note", tuple(self.aux_note))

    def __len__(self) -> int:
        return len(self.sample)


@dataclass(frozen=True, eq=False)
class Ecg:
    """One ECG recording.

    Attributes:
        signal_mv: samples x leads, float32, in millivolts, read-only. A float32 array passed in is
            used without a copy, so it becomes read-only for its owner too.
        fs: sampling rate in Hz (samples per second per lead).
        lead_names: one name per column of ``signal_mv``.
        source: the file's name as the user knows it (``"100.hea"``, ``"holter.edf"``); never a path.
        record_name: the record's own name (``"100"``), or the file name without extension.
        annotations: reference annotations that came with the file, or None.
        uncalibrated_leads: the leads whose file gives no amplitude calibration (a WFDB signal
            with an ADC gain of 0 or none, which header(5) calls "uncalibrated" and reads at 200
            units per millivolt). Their millivolts are nominal: shapes, times, rates and
            intervals are measured as usual, amplitudes are not known. Empty for most files.
    """

    signal_mv: np.ndarray
    fs: float
    lead_names: tuple[str, ...]
    source: str
    record_name: str
    annotations: Annotations | None = None
    uncalibrated_leads: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Not copied when it already is float32: a 24-hour 12-lead recording is gigabytes. The array
        # is made read-only instead, so no step can change the recording another step sees.
        signal = np.ascontiguousarray(self.signal_mv, dtype=np.float32)
        if signal.ndim == 1:
            signal = signal[:, np.newaxis]
        if signal.ndim != 2:
            raise ValueError(f"Ecg: signal_mv must be samples x leads, got {signal.ndim} dimensions")
        if signal.shape[1] != len(self.lead_names):
            raise ValueError(f"Ecg: {signal.shape[1]} leads but {len(self.lead_names)} lead names")
        if not (np.isfinite(self.fs) and self.fs > 0):
            raise ValueError(f"Ecg: fs must be a positive number of Hz, got {self.fs!r}")
        # The source is shown to users and stored in reports: a server path there would leak
        # the server's layout, so only a bare file name is allowed.
        if "/" in self.source or "\\" in self.source:
            raise ValueError("Ecg: source must be a file name, not a path")
        signal.flags.writeable = False
        object.__setattr__(self, "signal_mv", signal)
        object.__setattr__(self, "fs", float(self.fs))
        object.__setattr__(self, "lead_names", tuple(str(name) for name in self.lead_names))
        uncalibrated = tuple(str(name) for name in self.uncalibrated_leads)
        if not set(uncalibrated) <= set(self.lead_names):
            raise ValueError("Ecg: uncalibrated_leads must name leads of the recording")
        object.__setattr__(self, "uncalibrated_leads", uncalibrated)

    @property
    def n_samples(self) -> int:
        """Samples per lead."""
        return int(self.signal_mv.shape[0])

    @property
    def n_leads(self) -> int:
        return int(self.signal_mv.shape[1])

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        return self.n_samples / self.fs

    def lead_index(self, name: str) -> int:
        """Column of the lead called ``name``, ignoring case (``"mlii"`` finds ``"MLII"``).

        Raises:
            EcgLeadError: no lead has that name; the message lists the leads there are.
        """
        wanted = name.strip().casefold()
        for index, lead_name in enumerate(self.lead_names):
            if lead_name.strip().casefold() == wanted:
                return index
        raise EcgLeadError(
            f"This recording has no lead called '{name}'. Its leads are: {', '.join(self.lead_names)}."
        )

    def lead_closest_to_ii(self) -> int:
        """Column of the lead best suited as the rhythm lead: II, else MLII, else a II-like name, else 0.

        Lead II shows P waves and QRS complexes upright and large (see `_LEAD_II_TIERS`), which is
        why rhythm strips and the analysis use it; when a recording has no such lead, the first lead
        is the one the recorder put first and is used as is.
        """
        exact = [name.strip().casefold() for name in self.lead_names]
        for tier in _LEAD_II_TIERS[:2]:
            for index, name in enumerate(exact):
                if name in tier:
                    return index
        keys = [_lead_name_key(name) for name in self.lead_names]
        for tier in _LEAD_II_TIERS:
            for index, key in enumerate(keys):
                if key in tier:
                    return index
        return 0
