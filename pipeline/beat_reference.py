"""What a database's beat annotations say about each 10-s rhythm window: ventricular or not.

Many annotated ECG databases label every beat but not the rhythm (the European ST-T Database,
the MIT-BIH Normal Sinus Rhythm, Long-Term and Supraventricular Arrhythmia Databases, and the QT
Database's excerpts of them). A window in which every annotated beat is a normal or
supraventricular complex is not VF and not VT, whatever the rhythm: VT is three or more
consecutive ventricular complexes, and in VF there are no complexes to annotate (the
annotators mark ventricular flutter waves ``!`` and VF's onset ``[`` and end ``]``). Such windows
measure, on people and recorders the rhythm model never saw, how often its VF/VT call is a
false alarm (`pipeline.evaluate_external`); windows with ventricular beats are kept apart.

`window_beat_categories` sorts the windows of a lead, `beat_reference_windows` cuts and
describes the windows of one WFDB record exactly as the classifier sees them
(`pipeline.rhythm_dataset.lead_windows` and the beat features of `pipeline.rhythm_features`,
computed as in training).

Categories (`CATEGORIES`):

``supraventricular``  every annotation in the window is a normal or supraventricular beat
                      (`SUPRAVENTRICULAR_BEATS`) or a mark that says nothing about the beats
                      (`NEUTRAL_MARKS`), and the beats cover it (below).
``ventricular``       as above, with at least one ventricular beat (`VENTRICULAR_BEATS`).
None                  left out: a paced or unclassifiable beat, a ventricular flutter wave, VF's
                      onset or end, a noise or artefact mark, or a stretch without annotated beats
                      longer than `MAX_BEAT_GAP_S` (a pause, a lead off or an unannotated stretch:
                      the reference does not say what happened there).

Symbols are those of the MIT-BIH format (PhysioNet's ``ecgcodes``; AAMI EC57 groups them into
the same beat classes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from pipeline.load import load_ecg
from pipeline.rhythm_dataset import DEFAULT_STRIDE_S, WINDOW_S, lead_windows
from pipeline.rhythm_features import beats_features, recording_beats

# Normal and bundle-branch-block beats (N L R B), atrial and nodal premature beats (A a J S),
# atrial and nodal escape beats (e j), and "n", the supraventricular escape beat of some databases.
SUPRAVENTRICULAR_BEATS = frozenset("NLRBAaJSejn")
# Premature ventricular contraction, R-on-T, ventricular escape, and fusion of a ventricular and a
# normal beat (a ventricular focus fired).
VENTRICULAR_BEATS = frozenset("VrEF")
# Rhythm changes (+, the rhythm is in the label), comments ("), and the European ST-T Database's
# ST-segment (s) and T-wave (T) change marks: they do not touch the beats' classes.
NEUTRAL_MARKS = frozenset('+"sT')
# A longer stretch without an annotated beat leaves the window out (see the module docstring).
MAX_BEAT_GAP_S = 3.0

SUPRAVENTRICULAR = "supraventricular"
VENTRICULAR = "ventricular"
CATEGORIES = (SUPRAVENTRICULAR, VENTRICULAR)


@dataclass(frozen=True, eq=False)
class BeatReferenceWindows:
    """The categorised 10-s windows of one record's lead closest to II; row i describes window i.

    Attributes:
        X: windows x samples, float32, normalised as the classifier reads them (250 Hz).
        rr: the windows' beat features (`pipeline.rhythm_features`), float32.
        start_s: each window's start in the record, s.
        category: each window's category (`CATEGORIES`).
        lead: the lead's name as the record gives it.
        windows_left_out: how many of the lead's windows had no category.
    """

    X: np.ndarray
    rr: np.ndarray
    start_s: np.ndarray
    category: np.ndarray
    lead: str
    windows_left_out: int


def window_beat_categories(
    annotation_times_s: np.ndarray, symbols: np.ndarray, starts_s: np.ndarray, window_s: float = WINDOW_S
) -> list[str | None]:
    """The category of each window starting at ``starts_s`` (see the module docstring).

    Args:
        annotation_times_s: every annotation's time, s, in ascending order.
        symbols: each annotation's symbol (MIT-BIH codes).
        starts_s: the windows' starts, s.
        window_s: the windows' length, s.
    """
    times = np.asarray(annotation_times_s, dtype=np.float64)
    symbols = np.asarray(symbols, dtype=str)
    is_beat = np.isin(symbols, sorted(SUPRAVENTRICULAR_BEATS | VENTRICULAR_BEATS))
    known = is_beat | np.isin(symbols, sorted(NEUTRAL_MARKS))
    is_ventricular = np.isin(symbols, sorted(VENTRICULAR_BEATS))
    categories: list[str | None] = []
    for start in np.asarray(starts_s, dtype=np.float64):
        end = start + window_s
        inside = (times >= start) & (times < end)
        beat_times = times[inside & is_beat]
        if not np.all(known[inside]) or beat_times.size == 0:
            categories.append(None)
            continue
        edges = np.concatenate([[start], beat_times, [end]])
        if np.max(np.diff(edges)) > MAX_BEAT_GAP_S:
            categories.append(None)
            continue
        categories.append(VENTRICULAR if np.any(is_ventricular[inside]) else SUPRAVENTRICULAR)
    return categories


def beat_reference_windows(
    record_path: str | os.PathLike[str], *, stride_s: float = DEFAULT_STRIDE_S
) -> BeatReferenceWindows:
    """The categorised windows of one WFDB record with beat annotations (``.atr``).

    The lead closest to II, 10-s windows every ``stride_s`` s, normalised, with the beat features
    of the R peaks found in the whole lead and the P waves of all its leads: what
    `pipeline.rhythm_dataset.wfdb_record_dataset` gives the classifier in training.

    Raises:
        EcgError: the record cannot be loaded; FileNotFoundError: it has no ``.atr``.
    """
    path = Path(record_path)
    if not path.with_suffix(".atr").is_file():
        raise FileNotFoundError(f"Record '{path.name}' has no .atr beat annotations.")
    ecg = load_ecg(path)
    lead_index = ecg.lead_closest_to_ii()
    lead_mv = ecg.signal_mv[:, lead_index]
    annotation = wfdb.rdann(str(path), "atr")
    times_s = np.asarray(annotation.sample, dtype=np.float64) / float(annotation.fs or ecg.fs)
    windows, starts_s = lead_windows(lead_mv, ecg.fs, stride_s=stride_s)
    categories = window_beat_categories(times_s, np.asarray(annotation.symbol), starts_s)
    keep = np.array([category is not None for category in categories], dtype=bool)
    rr = beats_features(recording_beats(lead_mv, ecg.fs, ecg.signal_mv), starts_s[keep])
    return BeatReferenceWindows(
        X=windows[keep],
        rr=rr,
        start_s=starts_s[keep],
        category=np.array([c for c in categories if c is not None], dtype=str),
        lead=ecg.lead_names[lead_index],
        windows_left_out=int(np.sum(~keep)),
    )
