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
