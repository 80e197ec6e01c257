"""Beat-annotated reference windows (pipeline.beat_reference): each window's category checked
against the record's .atr read here independently, and the rules that leave a window out."""

from __future__ import annotations

import numpy as np
import wfdb

from pipeline.beat_reference import (
    SUPRAVENTRICULAR,
    VENTRICULAR,
    beat_reference_windows,
    window_beat_categories,
)
from pipeline.rhythm_dataset import lead_windows
from pipeline.rhythm_features import N_RR_FEATURES
from tests.pipeline.physionet_data import physionet_record


def test_windows_of_a_qtdb_record_follow_its_beat_annotations():
    # sel803 (MIT-BIH Supraventricular Arrhythmia Database): 74 ventricular beats among ~1,000.
    path = physionet_record("qtdb", "sel803")
    windows = beat_reference_windows(path)
    annotation = wfdb.rdann(str(path), "atr")
    times = annotation.sample / annotation.fs
    symbols = np.asarray(annotation.symbol)
    assert set(symbols) <= set("NVA+")  # what the rules below rely on
    _, all_starts = lead_windows(wfdb.rdrecord(str(path)).p_signal[:, 0], annotation.fs)
    assert len(windows.category) + windows.windows_left_out == all_starts.size
    assert windows.X.shape == (len(windows.category), 2500)
    assert windows.rr.shape == (len(windows.category), N_RR_FEATURES)
    for start, category in zip(windows.start_s, windows.category, strict=True):
        inside = symbols[(times >= start) & (times < start + 10.0)]
        assert category == (VENTRICULAR if "V" in inside else SUPRAVENTRICULAR)
    assert {SUPRAVENTRICULAR, VENTRICULAR} == set(windows.category)


def test_a_window_the_reference_does_not_describe_is_left_out():
    starts = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    beats = np.arange(0.5, 60.0, 0.8)  # one beat every 0.8 s
    symbols = np.full(beats.size, "N")
    symbols[np.searchsorted(beats, 12.0)] = "/"  # a paced beat
    symbols[np.searchsorted(beats, 22.0)] = "~"  # a noise mark
    symbols[np.searchsorted(beats, 42.0)] = "V"
    symbols[np.searchsorted(beats, 52.0)] = "s"  # an ST change mark says nothing about the beats
    keep = ~((beats > 31.0) & (beats < 35.5))  # no beat for 4.8 s
    categories = window_beat_categories(beats[keep], symbols[keep], starts)
    assert categories == [SUPRAVENTRICULAR, None, None, None, VENTRICULAR, SUPRAVENTRICULAR]
    assert window_beat_categories(np.array([]), np.array([], dtype=str), starts[:1]) == [None]
