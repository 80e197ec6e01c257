"""The rhythm classifier's dataset: 10-s windows of one lead at 250 Hz, each with its reference label's class.

The windows come from real, cardiologist-annotated recordings: the MIT-BIH Arrhythmia Database
(mitdb, 48 records of 30 min at 360 Hz), the MIT-BIH Malignant Ventricular Ectopy Database
(vfdb, 22 records of 35 min at 250 Hz, where VF, VT and noise live) and, when a full copy is
given, PTB-XL (10-s 12-lead ECGs at 500 Hz, one window each). For each record:

1. **Lead**: the lead closest to lead II (`pipeline.ecg.Ecg.lead_closest_to_ii`: II, else MLII,
   else the first lead), loaded and validated by `pipeline.load.load_ecg`. mitdb: MLII in all
   records but 102 and 104 (V5); vfdb names its leads "signal 0/1", so its first lead is used.
   With ``other_leads`` the record's other leads give windows too (``primary`` False: mitdb's
   V1/V2/V4/V5, vfdb's second lead), the same rhythm in other shapes; training uses them, the
   cross-validation scores only the lead closest to II.
2. **Resampling to 250 Hz** (`scipy.signal.resample_poly`, whose Kaiser-windowed FIR is the
   anti-alias filter): vfdb's own rate, so the database with the rarest classes is used as
   recorded; it keeps everything up to 125 Hz, beyond the 0.05-40 Hz monitoring band and the
   QRS complex's energy (mostly 5-30 Hz; Thakor et al. 1984). No other filter: the classifier
   sees the lead as recorded, baseline wander and noise included, so what augmentation adds
   (`pipeline.rhythm_augment`: real noise, wander) is of the same kind as what it meets.
3. **Windows of 10 s** (the standard rhythm strip, and PTB-XL's length) every ``stride_s``
   (default 5 s) from the record's start.
4. **Label**: the class (`pipeline.rhythm_labels`) that covers the whole window; labels of one
   class count as one (``(N`` then ``(SBR`` is Normal throughout). A window that straddles a class
   change, or touches a stretch without a class (before the first label, asystole), is dropped;
   with ``straddling="mark"`` a straddling window is kept with the class covering most of it and
   ``pure`` False, unless more of it has no class than has that class. A rhythm episode shorter
   than 10 s therefore yields no pure window: mitdb's 61 VT episodes last 3.5 s on average.
   With ``onset_classes`` (training only: ``("VF", "VT")`` or ``("VF",)``) the windows that end
   3, 4, ... 9 s into an episode of those classes are added, labelled with the class at their
   end and ``pure`` False (`onset_window_ends`): a monitor reads the last 10 s and must call VF
   while most of its strip still shows the rhythm before the onset, which a model trained on pure
   windows only has never seen. The episode must follow a labelled rhythm (not a stretch without
   a class) and every sample of the window must have a class.
5. **Normalisation** (`window_normalised`), per window: the median is subtracted (the window's
   baseline offset) and the result divided by the range between its 1st and 99th percentiles (at
   least 0.02 mV, `pipeline.validate.MIN_PEAK_TO_PEAK_MV`, so a flat window is not blown up).
   The percentiles are robust where a z-score is not: a single artefact spike barely moves them,
   while it can dominate a standard deviation; and in a window of beats the 99th percentile lies
   in the R waves, so a QRS complex spans about one unit whatever the lead's gain.
6. **Quality flag**: mitdb marks where a lead is noisy or unreadable with ``~`` annotations whose
   subtype's bits name the leads (bit *i*: signal *i* noisy, bit *4 + i*: unreadable; -1: all
   unreadable; WFDB annotation codes). A window that overlaps such a stretch of its lead keeps its
   rhythm label and gets ``noisy`` True, so training can weigh or drop it; vfdb marks its noise
   with the ``(NOISE`` rhythm label instead (the Noise class). PTB-XL windows get ``noisy`` where
   its table notes noise or electrode problems in any lead.
7. **RR features** (`pipeline.rhythm_features`): the R peaks of the whole lead are detected at
   its own rate (`pipeline.qrs.detect_r_peaks`) and flagged ectopic or not
   (`pipeline.beats.ectopic_beats`) and delineated on all the record's leads
   (`pipeline.delineate.delineate_beats`), as `pipeline.analysis.analyze` does, and each window
   gets the features of the beats that fall in it (rate, irregularity of all and of
   normal-to-normal intervals, pauses, ectopy, R-height variability, P waves and PR intervals),
   the model's second input.

`lead_windows` is steps 2, 3 and 5 on their own: what the classifier must do to a lead before
it asks the model, so that it sees what the model was trained on.

**Splits by subject.** Windows of one record are alike, so a split that puts windows of one
record (or one patient) on both sides measures memory, not generalisation. Every window carries
its ``record`` and ``subject``; `record_folds` assigns whole subjects to k folds. mitdb's records
201 and 202 come from the same man (MIT-BIH Arrhythmia Database Directory: 48 records from 47
subjects; these two are the pair), so they form one subject, ``mitdb/201+202``. vfdb's
documentation names no two records of one subject, so each of its 22 records is its own, as is
each PTB-XL ``patient_id``. Whether a vfdb subject also appears in mitdb is not documented.

The folds are stratified greedily: classes are taken rarest first (fewest subjects carrying
them), and each subject carrying the class, largest share first, goes to the fold that holds the
least of that class so far (ties: the fold holding least of all classes, then the lowest number). So
the first k subjects with VF go to k different folds; a class carried by fewer than k subjects
(heart block: mitdb 231, vfdb 428-430) cannot reach every fold. Normal, carried by nearly every
subject, comes last and evens out the fold sizes.

References:
    Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng Med Biol
    2001;20(3):45-50 (and the database directory, https://physionet.org/content/mitdb/1.0.0/).
    Greenwald SD. Development and analysis of a ventricular fibrillation detector. M.S. thesis,
    MIT, 1986 (vfdb).
    Wagner P, Strodthoff N, et al. PTB-XL, a large publicly available electrocardiography
    dataset. Sci Data 2020;7:154.
    Thakor NV, Webster JG, Tompkins WJ. Estimation of QRS complex power spectra for design of a
    QRS filter. IEEE Trans Biomed Eng 1984;31(11):702-706.
    WFDB annotation codes (NOISE "~" and its subtype): https://physionet.org/physiotools/wpg/

Command line:
    python -m pipeline.rhythm_dataset --data DIR --out FILE.npz [--stride-s 5] [--ptbxl DIR]
        [--straddling drop|mark] [--records mitdb/201 vfdb/418 ...] [--folds 5]

Example:
    >>> dataset = rhythm_dataset_built("/work/shared/data/physionet", records=["mitdb/201"])  # doctest: +SKIP
    >>> dataset.X.shape, RHYTHM_CLASSES[dataset.y[1]], dataset.start_s[1]  # doctest: +SKIP
    ((298, 2500), 'AF', 10.0)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np
import wfdb
from scipy.signal import resample_poly

from pipeline.errors import EcgError
from pipeline.load import load_ecg
from pipeline.ptbxl import Resolution, ptbxl_ecg, ptbxl_records
from pipeline.rhythm import RHYTHM_CLASSES
from pipeline.rhythm_features import N_RR_FEATURES, beats_features, recording_beats
from pipeline.rhythm_labels import (
    PTBXL_MIN_LIKELIHOOD,
    RhythmSegment,
    record_rhythm_segments,
    rhythm_segments,
)
from pipeline.validate import MIN_PEAK_TO_PEAK_MV

# vfdb's own rate: the database with VF, VT and noise is used as recorded; 125 Hz of bandwidth
# is more than the rhythm needs (see the module docstring).
TARGET_FS_HZ = 250.0
# The standard rhythm strip, and the length of every PTB-XL record.
WINDOW_S = 10.0
DEFAULT_STRIDE_S = 5.0

# Per-window scale: the range between these percentiles (robust to a few artefact samples).
_SCALE_PERCENTILES = (1.0, 99.0)
# Below this range (mV) a window is flat (validate's floor for a lead carrying any signal).
MIN_SCALE_MV = MIN_PEAK_TO_PEAK_MV

WFDB_DATABASES: tuple[str, ...] = ("mitdb", "vfdb")
PTBXL_DATABASE = "ptbxl"

# Records of one subject (MIT-BIH Arrhythmia Database Directory: records 201 and 202 came from
# the same male subject); record id -> the id that names the subject group.
SAME_SUBJECT_RECORDS: Mapping[str, str] = MappingProxyType({"mitdb/202": "mitdb/201"})
_SUBJECT_GROUP_NAMES: Mapping[str, str] = MappingProxyType({"mitdb/201": "mitdb/201+202"})

# WFDB annotation codes: NOISE "~" marks a change of signal quality; its subtype's bit i says
# signal i is noisy, bit 4 + i that it is unreadable, -1 that every signal is unreadable.
_QUALITY_SYMBOL = "~"
_ALL_UNREADABLE = -1
_UNREADABLE_BIT_OFFSET = 4

_NO_CLASS = -1
_FORMAT_VERSION = 4

# Onset windows (step 4 of the module docstring): windows whose last 3 to 9 s (every 1 s) are the
# first seconds of an episode (VF for the shipped model). A monitor classifies the last 10 s and
# must call VF seconds after the onset, when most of its strip still shows the rhythm before.
ONSET_MIN_S = 3.0
ONSET_MAX_S = 9.0
ONSET_STEP_S = 1.0

Straddling = Literal["drop", "mark"]


@dataclass(frozen=True, eq=False)
class RhythmDataset:
    """Labelled 10-s windows of one lead; row i of every array describes window i.

    Attributes:
        X: windows x samples, float32, normalised (`window_normalised`), at ``fs``.
        rr: windows x `pipeline.rhythm_features.N_RR_FEATURES`, float32: the window's RR-interval
            features, from the R peaks of its whole recording (step 7 of the module docstring).
        y: the class of each window, an index into ``classes`` (int64).
        record: the window's record, qualified by its database (``"mitdb/201"``, ``"ptbxl/17"``).
        subject: the person it was recorded from (``"mitdb/201+202"``, ``"ptbxl/patient-13619"``):
            what a split must keep together.
        database: ``"mitdb"``, ``"vfdb"`` or ``"ptbxl"``.
        lead: the lead's name as the record gives it.
        start_s: the window's start in its record, s.
        pure: one class covers the whole window (always, unless built with ``straddling="mark"``).
        noisy: the annotators marked the lead noisy within the window (see the module docstring).
        primary: the window is of the record's lead closest to II, the lead the classifier reads;
            False for a window of one of its other leads (``other_leads``), which only training
            uses: it shows the network other QRS and P-wave shapes of the same rhythm.
        fs: the windows' sampling rate, Hz.
        classes: the class names ``y`` indexes (`RHYTHM_CLASSES`).
    """

    X: np.ndarray
    rr: np.ndarray
    y: np.ndarray
    record: np.ndarray
    subject: np.ndarray
    database: np.ndarray
    lead: np.ndarray
    start_s: np.ndarray
    pure: np.ndarray
    noisy: np.ndarray
    primary: np.ndarray
    fs: float = TARGET_FS_HZ
    classes: tuple[str, ...] = RHYTHM_CLASSES

    def __post_init__(self) -> None:
        n_samples = round(WINDOW_S * self.fs)
        arrays = {
            "X": np.asarray(self.X, dtype=np.float32).reshape(-1, n_samples),
            "rr": np.asarray(self.rr, dtype=np.float32).reshape(-1, N_RR_FEATURES),
            "y": np.asarray(self.y, dtype=np.int64),
            "record": np.asarray(self.record, dtype=np.str_),
            "subject": np.asarray(self.subject, dtype=np.str_),
            "database": np.asarray(self.database, dtype=np.str_),
            "lead": np.asarray(self.lead, dtype=np.str_),
            "start_s": np.asarray(self.start_s, dtype=np.float64),
            "pure": np.asarray(self.pure, dtype=bool),
            "noisy": np.asarray(self.noisy, dtype=bool),
            "primary": np.asarray(self.primary, dtype=bool),
        }
        n_windows = arrays["X"].shape[0]
        for name, array in arrays.items():
            if array.shape[0] != n_windows:
                raise ValueError(f"RhythmDataset: {name} has {array.shape[0]} rows for {n_windows} windows")
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        if n_windows and not (0 <= arrays["y"].min() and arrays["y"].max() < len(self.classes)):
            raise ValueError("RhythmDataset: y holds an index outside the classes")
        object.__setattr__(self, "fs", float(self.fs))
        object.__setattr__(self, "classes", tuple(self.classes))

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def subset(self, rows: np.ndarray | Sequence[int]) -> RhythmDataset:
        """The windows at ``rows`` (indices, or a boolean mask over the windows)."""
        return RhythmDataset(
            **{name: getattr(self, name)[np.asarray(rows)] for name in _ROW_FIELDS},
            fs=self.fs,
            classes=self.classes,
        )

    def class_windows(self) -> dict[str, int]:
        """Windows per class, every class listed."""
        counts = np.bincount(self.y, minlength=len(self.classes))
        return {name: int(count) for name, count in zip(self.classes, counts, strict=True)}

    def class_windows_by_record(self) -> dict[str, np.ndarray]:
        """Per record, its windows per class (int64, in ``classes`` order)."""
        records, inverse = np.unique(self.record, return_inverse=True)
        counts = np.zeros((records.size, len(self.classes)), dtype=np.int64)
        np.add.at(counts, (inverse, self.y), 1)
        return {str(record): counts[i] for i, record in enumerate(records)}

    def subject_by_record(self) -> dict[str, str]:
        """Each record's subject."""
        return {str(record): str(subject) for record, subject in zip(self.record, self.subject, strict=True)}


_ROW_FIELDS = ("X", "rr", "y", "record", "subject", "database", "lead", "start_s", "pure", "noisy", "primary")


def record_id(database: str, record: str) -> str:
    """The record's name qualified by its database, unique across databases: ``"mitdb/201"``."""
    return f"{database}/{record}"


def subject_of(record: str) -> str:
    """The subject of a mitdb or vfdb record id: ``"mitdb/202"`` -> ``"mitdb/201+202"``, else the record.

    Only for the WFDB databases, whose subjects follow from their documentation (see the module
    docstring); a PTB-XL record's subject is its ``patient_id``, which the table gives.
    """
    group = SAME_SUBJECT_RECORDS.get(record, record)
    return _SUBJECT_GROUP_NAMES.get(group, group)


def lead_resampled(lead_mv: np.ndarray, fs: float, target_fs: float = TARGET_FS_HZ) -> np.ndarray:
    """One lead (1-D, mV) resampled from ``fs`` to ``target_fs`` (polyphase FIR, `resample_poly`), float32."""
    lead = np.asarray(lead_mv, dtype=np.float64)
    ratio = (
        Fraction(target_fs).limit_denominator(1000) / Fraction(fs).limit_denominator(1000)
    ).limit_denominator(1000)
    if ratio == 1:
        return lead.astype(np.float32)
    return resample_poly(lead, ratio.numerator, ratio.denominator).astype(np.float32)


def window_normalised(windows: np.ndarray) -> np.ndarray:
    """Windows (..., samples) minus their median, over their 1st-99th percentile range (>= 0.02 mV).

    Returns float32 windows of the same shape.
    """
    x = np.asarray(windows, dtype=np.float64)
    low, median, high = np.percentile(x, (_SCALE_PERCENTILES[0], 50.0, _SCALE_PERCENTILES[1]), axis=-1)
    scale = np.maximum(high - low, MIN_SCALE_MV)
    return ((x - median[..., np.newaxis]) / scale[..., np.newaxis]).astype(np.float32)


def window_starts(n_samples: int, fs: float, stride_s: float = DEFAULT_STRIDE_S) -> np.ndarray:
    """First sample of every whole 10-s window in ``n_samples`` at ``fs``, one each ``stride_s`` from 0."""
    if not stride_s > 0:
        raise ValueError(f"stride_s must be a positive number of seconds, got {stride_s!r}")
    length = round(WINDOW_S * fs)
    if n_samples < length:
        return np.zeros(0, dtype=np.int64)
    n_windows = int(np.floor(((n_samples - length) / fs) / stride_s + 1e-9)) + 1
    starts = np.round(np.arange(n_windows) * stride_s * fs).astype(np.int64)
    return starts[starts <= n_samples - length]  # rounding must not push the last one past the end


def lead_windows(
    lead_mv: np.ndarray, fs: float, *, stride_s: float = DEFAULT_STRIDE_S
) -> tuple[np.ndarray, np.ndarray]:
    """A lead as the classifier must see it: normalised 10-s windows at 250 Hz, and their starts (s).

    Args:
        lead_mv: one lead, 1-D, mV, at ``fs``.
        fs: its sampling rate, Hz.
        stride_s: seconds from one window's start to the next.

    Returns:
        ``(windows, start_s)``: float32 windows x 2500 samples, and each window's start in seconds.
    """
    lead = lead_resampled(lead_mv, fs)
    starts = window_starts(lead.size, TARGET_FS_HZ, stride_s)
    return _windows_cut(lead, starts), starts / TARGET_FS_HZ


def windows_labelled(
    lead_mv: np.ndarray,
    fs: float,
    segments: Sequence[RhythmSegment],
    *,
    record: str,
    subject: str,
    database: str,
    lead: str,
    noisy_spans_s: Sequence[tuple[float, float]] = (),
    stride_s: float = DEFAULT_STRIDE_S,
    straddling: Straddling = "drop",
    leads_mv: np.ndarray | None = None,
    primary: bool = True,
    onset_classes: Sequence[str] = (),
) -> RhythmDataset:
    """The labelled windows of one lead (steps 2-6 of the module docstring).

    Args:
        lead_mv: one lead, 1-D, mV, at ``fs``.
        fs: its sampling rate, Hz.
        segments: the record's rhythm stretches (`pipeline.rhythm_labels.rhythm_segments`).
        record, subject, database, lead: what every window of this lead records about its origin.
        noisy_spans_s: stretches (start, end in s) where the annotators marked this lead noisy.
        stride_s: seconds from one window's start to the next.
        straddling: ``"drop"`` windows that straddle a class change, or ``"mark"`` them (kept,
            ``pure`` False, with the class covering most of the window).
        leads_mv: all the recording's leads (samples x leads, at ``fs``), to find the P waves the
            window's features count (`pipeline.rhythm_features.recording_beats`); default the lead.
        primary: the lead is the one the classifier reads (see `RhythmDataset`).
        onset_classes: also the windows that end 3-9 s into an episode of these classes
            (`onset_window_ends`), labelled with the class at their end, ``pure`` False; for training.
    """
    if straddling not in ("drop", "mark"):
        raise ValueError(f"straddling must be 'drop' or 'mark', got {straddling!r}")
    resampled = lead_resampled(lead_mv, fs)
    starts = window_starts(resampled.size, TARGET_FS_HZ, stride_s)
    length = round(WINDOW_S * TARGET_FS_HZ)
    classes = _sample_classes(segments, resampled.size)
    per_window = np.lib.stride_tricks.sliding_window_view(classes, length)[starts]
    lowest, highest = per_window.min(axis=1), per_window.max(axis=1)
    pure = (lowest == highest) & (lowest != _NO_CLASS)
    y = np.where(pure, lowest, _NO_CLASS).astype(np.int64)
    if straddling == "mark":
        for row in np.flatnonzero(~pure):
            unlabelled, *per_class = np.bincount(per_window[row] + 1, minlength=len(RHYTHM_CLASSES) + 1)
            largest = int(np.argmax(per_class))
            y[row] = largest if per_class[largest] >= unlabelled else _NO_CLASS
    keep = y != _NO_CLASS
    if onset_classes:
        ends, onset_y = onset_window_ends(classes, TARGET_FS_HZ, onset_classes)
        starts = np.concatenate([starts, ends - length])
        y = np.concatenate([y, onset_y])
        pure = np.concatenate([pure, np.zeros(ends.size, dtype=bool)])
        keep = np.concatenate([keep, np.ones(ends.size, dtype=bool)])
    noisy_samples = _samples_in_spans(noisy_spans_s, resampled.size)
    noisy = np.lib.stride_tricks.sliding_window_view(noisy_samples, length)[starts].any(axis=1)
    n = int(keep.sum())
    return RhythmDataset(
        X=_windows_cut(resampled, starts[keep]),
        rr=beats_features(recording_beats(lead_mv, fs, leads_mv), starts[keep] / TARGET_FS_HZ),
        y=y[keep],
        record=np.full(n, record),
        subject=np.full(n, subject),
        database=np.full(n, database),
        lead=np.full(n, lead),
        start_s=starts[keep] / TARGET_FS_HZ,
        pure=pure[keep],
        noisy=noisy[keep],
        primary=np.full(n, primary),
    )


def onset_window_ends(
    classes: np.ndarray, fs: float, onset_classes: Sequence[str] = ("VF", "VT")
) -> tuple[np.ndarray, np.ndarray]:
    """The ends (sample, exclusive) and classes of the onset windows of a lead's per-sample classes.

    For each episode of ``onset_classes`` (one or several in a row) that follows a labelled
    stretch of another class, the 10-s windows ending `ONSET_MIN_S`, ... `ONSET_MAX_S` s after its
    onset (every `ONSET_STEP_S` s) while the episode lasts; each is labelled with the class at its
    end, and every sample of it has a class.
    """
    length = round(WINDOW_S * fs)
    in_episode = np.isin(classes, [RHYTHM_CLASSES.index(name) for name in onset_classes])
    labelled = classes != _NO_CLASS
    unlabelled_before = np.concatenate([[0], np.cumsum(~labelled)])
    onsets = np.flatnonzero(in_episode[1:] & ~in_episode[:-1] & labelled[:-1]) + 1
    episode_ends = np.flatnonzero(in_episode[:-1] & ~in_episode[1:]) + 1
    seconds = np.arange(ONSET_MIN_S, ONSET_MAX_S + ONSET_STEP_S / 2, ONSET_STEP_S)
    offsets = np.round(seconds * fs).astype(np.int64)
    ends = []
    for onset in onsets:
        following = episode_ends[episode_ends > onset]
        episode_end = int(following[0]) if following.size else classes.size
        for end in onset + offsets:
            if end > episode_end:
                break
            start = end - length
            if start >= 0 and unlabelled_before[end] == unlabelled_before[start]:
                ends.append(end)
    ends_array = np.asarray(ends, dtype=np.int64)
    return ends_array, classes[ends_array - 1].astype(np.int64)


def wfdb_record_dataset(
    record_path: str | os.PathLike[str],
    database: str,
    *,
    stride_s: float = DEFAULT_STRIDE_S,
    straddling: Straddling = "drop",
    span_s: tuple[float, float] | None = None,
    other_leads: bool = False,
    onset_classes: Sequence[str] = (),
) -> RhythmDataset:
    """The labelled windows of one mitdb or vfdb record (its lead closest to II).

    Args:
        record_path: the record without extension (``.../mitdb/201``); its ``.atr`` is read too.
        database: the database's name, stored with every window (``"mitdb"``).
        stride_s, straddling: see `windows_labelled`.
        span_s: only windows lying wholly within (start, end) seconds of the record; the window
            grid stays the record's own (starts at multiples of ``stride_s``).
        other_leads: also the windows of the record's other leads, ``primary`` False (each with
            the features of its own lead's beats), for training.
        onset_classes: also the windows ending in the first seconds of these classes (`windows_labelled`).

    Raises:
        EcgError: the record cannot be loaded; RhythmLabelError: it has a label the table lacks.
    """
    path = Path(record_path)
    ecg = load_ecg(path)
    lead_index = ecg.lead_closest_to_ii()
    annotation = wfdb.rdann(str(path), "atr")
    fs = float(annotation.fs or ecg.fs)
    n_samples = round(ecg.n_samples * fs / ecg.fs)
    segments = rhythm_segments(
        annotation.sample, annotation.symbol, annotation.aux_note, fs, n_samples, record=path.name
    )
    identifier = record_id(database, path.name)
    leads = range(ecg.signal_mv.shape[1]) if other_leads else [lead_index]
    dataset = datasets_joined(
        [
            windows_labelled(
                ecg.signal_mv[:, lead],
                ecg.fs,
                segments,
                record=identifier,
                subject=subject_of(identifier),
                database=database,
                lead=ecg.lead_names[lead],
                noisy_spans_s=_noisy_spans_s(annotation, lead, fs, n_samples),
                stride_s=stride_s,
                straddling=straddling,
                leads_mv=ecg.signal_mv,
                primary=lead == lead_index,
                onset_classes=onset_classes,
            )
            for lead in leads
        ]
    )
    if span_s is None:
        return dataset
    start, end = span_s
    return dataset.subset((dataset.start_s >= start) & (dataset.start_s + WINDOW_S <= end))


def ptbxl_dataset(
    ptbxl_dir: str | os.PathLike[str],
    *,
    resolution: Resolution = "hr",
    min_likelihood: float = PTBXL_MIN_LIKELIHOOD,
    on_skip: Callable[[str, str], None] | None = None,
) -> RhythmDataset:
    """The windows of every PTB-XL record that has a rhythm class: one per record (they last 10 s), lead II.

    Args:
        ptbxl_dir: the PTB-XL folder (`pipeline.ptbxl`).
        resolution: ``"hr"`` (500 Hz, the original) or ``"lr"`` (100 Hz, a downsampled copy).
        min_likelihood: see `pipeline.rhythm_labels.ptbxl_class`.
        on_skip: called with (record id, reason) for each record that cannot be loaded; such
            records are left out.
    """
    parts: list[RhythmDataset] = []
    for record in ptbxl_records(ptbxl_dir, min_likelihood=min_likelihood):
        if record.rhythm_class is None:
            continue
        identifier = record_id(PTBXL_DATABASE, str(record.ecg_id))
        try:
            ecg = ptbxl_ecg(ptbxl_dir, record, resolution=resolution)
        except EcgError as error:  # one unreadable record must not stop the whole database
            if on_skip is not None:
                on_skip(identifier, str(error))
            continue
        lead_index = ecg.lead_closest_to_ii()
        whole = RhythmSegment(0.0, ecg.duration_s, "+".join(record.scp_codes), record.rhythm_class)
        parts.append(
            windows_labelled(
                ecg.signal_mv[:, lead_index],
                ecg.fs,
                [whole],
                record=identifier,
                subject=f"{PTBXL_DATABASE}/patient-{record.patient_id}",
                database=PTBXL_DATABASE,
                lead=ecg.lead_names[lead_index],
                noisy_spans_s=[(0.0, ecg.duration_s)] if record.noise_noted else (),
                stride_s=WINDOW_S,
                leads_mv=ecg.signal_mv,
            )
        )
    return datasets_joined(parts)


def wfdb_record_paths(
    data_dir: str | os.PathLike[str], databases: Sequence[str] = WFDB_DATABASES
) -> dict[str, Path]:
    """Record id -> path (without extension) of each record with a ``.atr`` in ``data_dir/<database>/``."""
    paths: dict[str, Path] = {}
    for database in databases:
        folder = Path(data_dir) / database
        if not folder.is_dir():
            raise FileNotFoundError(f"No '{database}' folder in '{data_dir}'.")
        for header in sorted(folder.glob("*.hea")):
            if header.with_suffix(".atr").is_file():
                paths[record_id(database, header.stem)] = header.with_suffix("")
    return paths


def rhythm_dataset_built(
    data_dir: str | os.PathLike[str],
    *,
    databases: Sequence[str] = WFDB_DATABASES,
    records: Sequence[str] | None = None,
    ptbxl_dir: str | os.PathLike[str] | None = None,
    ptbxl_resolution: Resolution = "hr",
    stride_s: float = DEFAULT_STRIDE_S,
    straddling: Straddling = "drop",
    on_skip: Callable[[str, str], None] | None = None,
    other_leads: bool = False,
    onset_classes: Sequence[str] = (),
) -> RhythmDataset:
    """The dataset of every annotated record of ``databases`` in ``data_dir``, and of PTB-XL when given.

    Args:
        data_dir: the folder holding ``mitdb/`` and ``vfdb/`` (PhysioNet's layout).
        databases: which of its databases to read.
        records: only these record ids (``["mitdb/201", "vfdb/418"]``); default all.
        ptbxl_dir: a PTB-XL folder to add (one window per labelled record), or None.
        ptbxl_resolution: ``"hr"`` (500 Hz) or ``"lr"`` (100 Hz) PTB-XL records.
        stride_s, straddling: see `windows_labelled`.
        on_skip: called with (record id, reason) for each record that cannot be loaded.
        other_leads: also the other leads' windows of the WFDB records (`wfdb_record_dataset`);
            PTB-XL keeps its lead II (21,799 records already show many shapes).
        onset_classes: also the windows ending in the first seconds of these classes (`windows_labelled`).

    Raises:
        RhythmLabelError: a record has a rhythm label the table lacks (no record is guessed).
    """
    paths = wfdb_record_paths(data_dir, databases)
    if records is not None:
        missing = sorted(set(records) - set(paths))
        if missing:
            raise FileNotFoundError(f"No annotated record {', '.join(missing)} under '{data_dir}'.")
        paths = {identifier: paths[identifier] for identifier in records}
    parts = []
    for identifier, path in paths.items():
        try:
            parts.append(
                wfdb_record_dataset(
                    path,
                    identifier.split("/")[0],
                    stride_s=stride_s,
                    straddling=straddling,
                    other_leads=other_leads,
                    onset_classes=onset_classes,
                )
            )
        except EcgError as error:
            if on_skip is not None:
                on_skip(identifier, str(error))
    if ptbxl_dir is not None:
        parts.append(ptbxl_dataset(ptbxl_dir, resolution=ptbxl_resolution, on_skip=on_skip))
    return datasets_joined(parts)


def datasets_joined(parts: Sequence[RhythmDataset]) -> RhythmDataset:
    """The windows of all ``parts`` in order, as one dataset (same rate and classes required)."""
    if not parts:
        return _empty_dataset()
    if len({(part.fs, part.classes) for part in parts}) > 1:
        raise ValueError("datasets_joined: the parts differ in sampling rate or classes")
    return RhythmDataset(
        **{name: np.concatenate([getattr(part, name) for part in parts]) for name in _ROW_FIELDS},
        fs=parts[0].fs,
        classes=parts[0].classes,
    )


def save_rhythm_dataset(dataset: RhythmDataset, path: str | os.PathLike[str]) -> None:
    """Write ``dataset`` to ``path`` as an uncompressed ``.npz`` (strings as unicode arrays: no pickle)."""
    np.savez(
        Path(path),
        format_version=np.int64(_FORMAT_VERSION),
        fs=np.float64(dataset.fs),
        classes=np.asarray(dataset.classes, dtype=np.str_),
        **{name: getattr(dataset, name) for name in _ROW_FIELDS},
    )


def load_rhythm_dataset(path: str | os.PathLike[str]) -> RhythmDataset:
    """Read a dataset written by `save_rhythm_dataset`.

    Raises:
        ValueError: the file was written by another format version, or with other classes than
            `RHYTHM_CLASSES` (its ``y`` would mean something else).
    """
    with np.load(Path(path), allow_pickle=False) as stored:
        if int(stored["format_version"]) != _FORMAT_VERSION:
            raise ValueError(f"'{path}' is a rhythm dataset of format {int(stored['format_version'])}")
        classes = tuple(str(name) for name in stored["classes"])
        if classes != RHYTHM_CLASSES:
            raise ValueError(f"'{path}' was built for the classes {classes}, not {RHYTHM_CLASSES}")
        return RhythmDataset(
            **{name: stored[name] for name in _ROW_FIELDS}, fs=float(stored["fs"]), classes=classes
        )


def annotated_class_seconds(record_paths: Mapping[str, Path]) -> dict[str, np.ndarray]:
    """Per record id, the seconds its annotations give each class (`RHYTHM_CLASSES` order); ``.atr`` only."""
    seconds: dict[str, np.ndarray] = {}
    for identifier, path in record_paths.items():
        amounts = np.zeros(len(RHYTHM_CLASSES))
        for segment in record_rhythm_segments(path):
            if segment.rhythm_class is not None:
                amounts[RHYTHM_CLASSES.index(segment.rhythm_class)] += segment.duration_s
        seconds[identifier] = amounts
    return seconds


def record_folds(
    class_amounts: Mapping[str, np.ndarray | Sequence[float]], subjects: Mapping[str, str], k: int = 5
) -> dict[str, int]:
    """Record id -> fold (0 .. k-1), whole subjects per fold, stratified by class (see the module docstring).

    Args:
        class_amounts: per record, how much of each class it holds (seconds or windows, in
            `RHYTHM_CLASSES` order): `annotated_class_seconds` or `RhythmDataset.class_windows_by_record`.
        subjects: each record's subject (`subject_of`, `RhythmDataset.subject_by_record`).
        k: the number of folds.

    Raises:
        ValueError: k below 2, or more folds than subjects.
    """
    names = sorted({subjects[record] for record in class_amounts})
    if k < 2 or k > len(names):
        raise ValueError(f"k must be between 2 and the number of subjects ({len(names)}), got {k}")
    row = {name: i for i, name in enumerate(names)}
    amounts = np.zeros((len(names), len(RHYTHM_CLASSES)))
    for record, amount in class_amounts.items():
        amounts[row[subjects[record]]] += np.asarray(amount, dtype=np.float64)
    carriers = (amounts > 0).sum(axis=0)
    order = sorted(np.flatnonzero(carriers), key=lambda c: (carriers[c], amounts[:, c].sum()))
    fold_amounts = np.zeros((k, len(RHYTHM_CLASSES)))
    fold_of: dict[int, int] = {}
    for c in order:
        for s in sorted(np.flatnonzero(amounts[:, c] > 0), key=lambda s: (-amounts[s, c], names[s])):
            if s in fold_of:
                continue
            fold = min(range(k), key=lambda f: (fold_amounts[f, c], fold_amounts[f].sum(), f))
            fold_of[s] = fold
            fold_amounts[fold] += amounts[s]
    # Subjects without any class (all their time excluded) still get a fold: the smallest.
    for s in range(len(names)):
        if s not in fold_of:
            fold_of[s] = min(range(k), key=lambda f: (fold_amounts[f].sum(), f))
    return {record: fold_of[row[subjects[record]]] for record in sorted(class_amounts)}


def window_folds(dataset: RhythmDataset, folds: Mapping[str, int]) -> np.ndarray:
    """Each window's fold, from its record's (`record_folds`); int64."""
    return np.asarray([folds[str(record)] for record in dataset.record], dtype=np.int64)


def _windows_cut(lead: np.ndarray, starts: np.ndarray) -> np.ndarray:
    length = round(WINDOW_S * TARGET_FS_HZ)
    if starts.size == 0:
        return np.zeros((0, length), dtype=np.float32)
    return window_normalised(np.lib.stride_tricks.sliding_window_view(lead, length)[starts])


def _sample_classes(segments: Sequence[RhythmSegment], n_samples: int) -> np.ndarray:
    """The class index of every sample at `TARGET_FS_HZ` (-1 where no class), int8."""
    classes = np.full(n_samples, _NO_CLASS, dtype=np.int8)
    for segment in segments:
        if segment.rhythm_class is not None:
            start, end = round(segment.start_s * TARGET_FS_HZ), round(segment.end_s * TARGET_FS_HZ)
            classes[start:end] = RHYTHM_CLASSES.index(segment.rhythm_class)
    return classes


def _samples_in_spans(spans_s: Sequence[tuple[float, float]], n_samples: int) -> np.ndarray:
    inside = np.zeros(n_samples, dtype=bool)
    for start_s, end_s in spans_s:
        inside[round(start_s * TARGET_FS_HZ) : round(end_s * TARGET_FS_HZ)] = True
    return inside


def _noisy_spans_s(
    annotation: wfdb.Annotation, lead: int, fs: float, n_samples: int
) -> list[tuple[float, float]]:
    """Where the ``~`` annotations mark signal ``lead`` noisy or unreadable, in seconds."""
    at = [i for i, symbol in enumerate(annotation.symbol) if symbol == _QUALITY_SYMBOL]
    spans = []
    for k, i in enumerate(at):
        subtype = int(annotation.subtype[i])
        affected = subtype == _ALL_UNREADABLE or bool(
            (subtype >> lead) & 1 or (subtype >> (_UNREADABLE_BIT_OFFSET + lead)) & 1
        )
        if affected:
            end = int(annotation.sample[at[k + 1]]) if k + 1 < len(at) else n_samples
            spans.append((int(annotation.sample[i]) / fs, end / fs))
    return spans


def _empty_dataset() -> RhythmDataset:
    empty = np.zeros(0)
    return RhythmDataset(
        X=np.zeros((0, round(WINDOW_S * TARGET_FS_HZ)), dtype=np.float32),
        rr=np.zeros((0, N_RR_FEATURES), dtype=np.float32),
        y=empty.astype(np.int64),
        record=empty.astype(np.str_),
        subject=empty.astype(np.str_),
        database=empty.astype(np.str_),
        lead=empty.astype(np.str_),
        start_s=empty,
        pure=empty.astype(bool),
        noisy=empty.astype(bool),
        primary=empty.astype(bool),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    def skipped(record: str, reason: str) -> None:
        print(f"{record}: skipped: {reason}", file=sys.stderr)

    dataset = rhythm_dataset_built(
        args.data,
        records=args.records,
        ptbxl_dir=args.ptbxl,
        ptbxl_resolution=args.ptbxl_resolution,
        stride_s=args.stride_s,
        straddling=args.straddling,
        on_skip=skipped,
        other_leads=args.other_leads,
    )
    save_rhythm_dataset(dataset, args.out)
    print(
        f"{len(dataset)} windows of {WINDOW_S:g} s at {dataset.fs:g} Hz, "
        f"every {args.stride_s:g} s -> {args.out}"
    )
    for name, count in dataset.class_windows().items():
        print(f"  {name:<12} {count:>7}")
    subjects = len(set(dataset.subject))
    if args.folds and 2 <= args.folds <= subjects:
        folds = record_folds(dataset.class_windows_by_record(), dataset.subject_by_record(), args.folds)
        fold_of_window = window_folds(dataset, folds)
        print(f"{args.folds} folds by subject (windows per class):")
        for fold in range(args.folds):
            counts = np.bincount(dataset.y[fold_of_window == fold], minlength=len(dataset.classes))
            shown = ", ".join(
                f"{name} {count}" for name, count in zip(dataset.classes, counts, strict=True) if count
            )
            print(f"  fold {fold}: {sum(1 for f in folds.values() if f == fold)} records; {shown}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.rhythm_dataset",
        description="Build the rhythm classifier's dataset: labelled 10-s windows of PhysioNet records.",
    )
    parser.add_argument("--data", required=True, help="folder holding mitdb/ and vfdb/")
    parser.add_argument("--out", required=True, help="the .npz file to write")
    parser.add_argument(
        "--stride-s", type=float, default=DEFAULT_STRIDE_S, help="seconds between window starts"
    )
    parser.add_argument("--straddling", choices=("drop", "mark"), default="drop")
    parser.add_argument(
        "--other-leads", action="store_true", help="also the other leads' windows (for training)"
    )
    parser.add_argument("--ptbxl", help="a full PTB-XL folder to add (holding ptbxl_database.csv)")
    parser.add_argument("--ptbxl-resolution", choices=("hr", "lr"), default="hr")
    parser.add_argument("--records", nargs="+", help="only these records, e.g. mitdb/201 vfdb/418")
    parser.add_argument("--folds", type=int, default=5, help="print a k-fold split by subject (0: none)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
