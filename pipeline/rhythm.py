"""The rhythm call of a recording: its classes, the result types, and what a classifier provides.

The analysis (`pipeline.analysis.analyze`) asks a `RhythmClassifier` for the rhythm of the
analysed lead. The classifier looks at 10-s windows, gives each window a probability per class,
and smooths the windows into episodes; `Rhythm` is what it returns and what the analysis JSON
carries under ``"rhythm"`` (see ARCHITECTURE.md). The CNN that implements it lives in its own
module; this one holds only the contract, so that the analysis, the dashboard and the tests can
rely on it whether or not a model is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from pipeline.rhythm_features import RecordingBeats

# The exact class names of ARCHITECTURE.md, in the order the model card lists them.
RHYTHM_CLASSES: tuple[str, ...] = ("Normal", "SVT", "AF", "VF", "VT", "Heart block", "Other", "Noise")
# The label of the one VF-or-VT call (`VfVtCall`), as a bedside monitor's "VFib/VTach" alarm.
VF_VT_LABEL = "VF/VT"


@dataclass(frozen=True)
class RhythmWindow:
    """One classified window of the recording.

    Attributes:
        start_s, end_s: the window's place in the recording, seconds from its start.
        label: the most probable class.
        probabilities: probability per class name (they sum to 1).
    """

    start_s: float
    end_s: float
    label: str
    probabilities: dict[str, float]


@dataclass(frozen=True)
class RhythmEpisode:
    """A stretch of consecutive windows of one class, after smoothing.

    Attributes:
        start_s, end_s: seconds from the start of the recording.
        label: the class of the episode.
        probability: the mean probability of that class over the episode's windows.
    """

    start_s: float
    end_s: float
    label: str
    probability: float


@dataclass(frozen=True)
class Rhythm:
    """The rhythm of a recording.

    Attributes:
        label: the dominant rhythm (the class covering most of the recording's usable time).
        confidence: its probability, 0-1.
        probabilities: the record's probability per class (mean over windows), 0-1.
        windows: every classified window, in time order.
        episodes: the smoothed episodes, in time order.
        lead: the name of the lead that was classified.
    """

    label: str
    confidence: float
    probabilities: dict[str, float]
    windows: tuple[RhythmWindow, ...]
    episodes: tuple[RhythmEpisode, ...]
    lead: str


@dataclass(frozen=True)
class VfVtCall:
    """The VF/VT call over a recording: each 10-s window called VF/VT or not, where the model's
    card validates that call on its own (`pipeline.rhythm_cnn.ShockAdvisory`) while its rhythm
    names are not validated. VF and VT are one call, as a bedside monitor's "VFib/VTach" alarm.

    Attributes:
        threshold: a window is VF/VT where P(VF) + P(VT) reaches it (the card's).
        windows: per window (start_s, end_s, P(VF) + P(VT)), in time order.
        episodes: consecutive windows called VF/VT, label ``"VF/VT"``, probability the mean
            P(VF) + P(VT) over them; the boundaries lie halfway between the centres of the first
            and last called window and their uncalled neighbours (as `Rhythm` episodes).
        lead: the lead that was classified.
    """

    threshold: float
    windows: tuple[tuple[float, float, float], ...]
    episodes: tuple[RhythmEpisode, ...]
    lead: str

    @property
    def windows_called(self) -> int:
        return sum(p >= self.threshold for _, _, p in self.windows)


class VfVtCaller(Protocol):
    """What the analysis needs of the validated VF/VT call (the CNN's, or a test double)."""

    def recording_call(
        self, lead_mv: np.ndarray, fs: float, *, lead: str, beats: RecordingBeats | None = None
    ) -> VfVtCall:
        """The VF/VT call of every 10-s window of one lead (1-D, mV) sampled at ``fs`` Hz."""
        ...


class RhythmClassifier(Protocol):
    """What the analysis needs of a rhythm classifier (the CNN, or a test double in tests)."""

    def classify(
        self, lead_mv: np.ndarray, fs: float, *, lead: str, beats: RecordingBeats | None = None
    ) -> Rhythm:
        """The rhythm of one lead (1-D, mV) sampled at ``fs`` Hz, named ``lead``.

        ``beats``: the lead's R peaks and ectopic flags when they are already found (the
        analysis's beats step); None: the classifier finds them if it needs them.
        """
        ...
