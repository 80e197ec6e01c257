"""The rhythm dataset builder (pipeline.rhythm_dataset) on real mitdb and vfdb records and their
rhythm annotations: window labels, straddling windows, lead choice, quality flags, saving, folds."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.load import load_ecg
from pipeline.rhythm import RHYTHM_CLASSES
from pipeline.rhythm_dataset import (
    TARGET_FS_HZ,
    RhythmDataset,
    annotated_class_seconds,
    datasets_joined,
    lead_windows,
    load_rhythm_dataset,
    main,
    onset_window_ends,
    record_folds,
    rhythm_dataset_built,
    save_rhythm_dataset,
    subject_of,
    wfdb_record_dataset,
    wfdb_record_paths,
    window_folds,
    window_normalised,
    window_starts,
    windows_labelled,
)
from pipeline.rhythm_labels import RhythmSegment
from tests.pipeline.physionet_data import PHYSIONET, physionet_record


def classes_of(dataset: RhythmDataset) -> list[str]:
    return [RHYTHM_CLASSES[i] for i in dataset.y]


def test_record_201_opens_in_atrial_fibrillation():
    # 201.atr: (AFIB from 0.2 s, (NOD from 378.4 s.
    dataset = wfdb_record_dataset(physionet_record("mitdb", "201"), "mitdb", span_s=(0.0, 370.0))

    assert classes_of(dataset) == ["AF"] * len(dataset)
    # The window at 0 s starts before the first label (0.2 s): it has no class and is dropped.
    assert dataset.start_s.tolist() == [5.0 * k for k in range(1, 73)]
    assert dataset.X.shape == (72, 2500) and dataset.X.dtype == np.float32
    assert set(dataset.lead) == {"MLII"} and set(dataset.record) == {"mitdb/201"}
    assert set(dataset.subject) == {"mitdb/201+202"} and set(dataset.database) == {"mitdb"}
    assert dataset.pure.all()


def test_vfdb_418_ventricular_flutter_episode_yields_vf_windows():
    # 418.atr: (VFL from 879.8 s to 896.1 s, (N around it.
    dataset = wfdb_record_dataset(physionet_record("vfdb", "418"), "vfdb", span_s=(860.0, 910.0))

    assert dict(zip(dataset.start_s.tolist(), classes_of(dataset), strict=True)) == {880.0: "VF", 885.0: "VF"}


def test_straddling_windows_are_dropped_or_marked():
    path = physionet_record("vfdb", "418")

    marked = wfdb_record_dataset(path, "vfdb", span_s=(860.0, 910.0), straddling="mark")

    pure_starts = marked.start_s[marked.pure].tolist()
    assert pure_starts == [880.0, 885.0]
    straddling = dict(
        zip(marked.start_s[~marked.pure].tolist(), classes_of(marked.subset(~marked.pure)), strict=True)
    )
    # 875-885 s: 4.8 s Normal then 5.2 s VF -> VF; 890-900 s: 6.1 s VF, 3.9 s Normal -> VF;
    # 860-870 s: VFL from 867.2 s -> mostly Normal.
    assert straddling[875.0] == "VF" and straddling[890.0] == "VF" and straddling[860.0] == "Normal"


def test_windows_are_resampled_and_normalised():
    dataset = wfdb_record_dataset(physionet_record("mitdb", "100"), "mitdb", span_s=(0.0, 60.0))

    low, median, high = np.percentile(dataset.X, (1, 50, 99), axis=1)
    np.testing.assert_allclose(median, 0.0, atol=1e-6)
    np.testing.assert_allclose(high - low, 1.0, atol=1e-5)
    assert dataset.fs == TARGET_FS_HZ


def test_lead_closest_to_ii_is_used():
    assert set(wfdb_record_dataset(physionet_record("mitdb", "114"), "mitdb", span_s=(0, 60)).lead) == {
        "MLII"
    }
    assert set(wfdb_record_dataset(physionet_record("mitdb", "102"), "mitdb", span_s=(0, 60)).lead) == {"V5"}


def test_other_leads_add_their_windows_for_training_flagged_not_primary():
    # mitdb 114 is recorded V5 then MLII: MLII is the lead the classifier reads.
    path = physionet_record("mitdb", "114")
    alone = wfdb_record_dataset(path, "mitdb", span_s=(0, 60))
    both = wfdb_record_dataset(path, "mitdb", span_s=(0, 60), other_leads=True)
    assert alone.primary.all() and set(alone.lead) == {"MLII"}
    assert set(both.lead[both.primary]) == {"MLII"} and set(both.lead[~both.primary]) == {"V5"}
    primary, other = both.subset(both.primary), both.subset(~both.primary)
    np.testing.assert_array_equal(primary.X, alone.X)
    np.testing.assert_array_equal(other.start_s, primary.start_s)
    np.testing.assert_array_equal(other.y, primary.y)  # the rhythm is the record's, whatever the lead
    assert not np.array_equal(other.X, primary.X)


def test_windows_where_the_lead_is_marked_noisy_are_flagged():
    # 105.atr: "~" subtype 1 (signal 0 noisy) from 847.8 s to 854.9 s; subtype 2 (signal 1 only)
    # from 246.5 s to 273.9 s.
    dataset = wfdb_record_dataset(physionet_record("mitdb", "105"), "mitdb")
    noisy = dict(zip(dataset.start_s.tolist(), dataset.noisy.tolist(), strict=True))

    assert noisy[845.0] and noisy[850.0]
    assert not noisy[835.0] and not noisy[855.0]
    assert not noisy[250.0] and not noisy[255.0]


def test_onset_windows_end_3_to_9_s_into_ventricular_flutter():
    # 418.atr: (VFL from 867.2 s, (N from 876.2 s, (VFL from 879.8 s to 896.1 s.
    dataset = wfdb_record_dataset(
        physionet_record("vfdb", "418"), "vfdb", span_s=(860.0, 910.0), onset_classes=("VF",)
    )

    onset = dataset.subset(~dataset.pure)
    # Both episodes last over 9 s: 7 windows each, ending 3, 4, ... 9 s after the onset.
    onsets = np.repeat([867.2, 879.8], 7)
    np.testing.assert_allclose(onset.start_s + 10.0 - onsets, np.tile(np.arange(3.0, 10.0), 2), atol=0.1)
    assert set(classes_of(onset)) == {"VF"}
    assert dataset.start_s[dataset.pure].tolist() == [880.0, 885.0]  # the pure windows unchanged


def test_onset_windows_need_a_labelled_rhythm_before_and_the_episode_to_last():
    fs = 10.0
    n, af, vt = (RHYTHM_CLASSES.index(c) for c in ("Normal", "AF", "VT"))
    classes = np.full(900, n, dtype=np.int8)
    classes[100:300] = af
    classes[300:325] = vt  # 2.5 s of VT: too short for an onset window
    classes[400:450] = -1  # asystole (no class) ...
    classes[450:600] = vt  # ... then VT: no rhythm before its onset to tell it from
    classes[700:] = vt  # VT from 70 s after Normal: ends at 73 ... 79 s; the one at 80 s is past 9 s

    ends, labels = onset_window_ends(classes, fs)

    assert (ends / fs).tolist() == [73.0, 74.0, 75.0, 76.0, 77.0, 78.0, 79.0]
    assert set(labels.tolist()) == {vt}
    classes[650] = -1  # a gap 5 s before the onset: the windows that would hold it are left out
    ends, _ = onset_window_ends(classes, fs)
    assert (ends / fs).tolist() == [76.0, 77.0, 78.0, 79.0]


def test_stretch_before_the_first_label_has_no_window():
    # vfdb 610's first rhythm label comes at 56.0 s.
    dataset = wfdb_record_dataset(physionet_record("vfdb", "610"), "vfdb", span_s=(0.0, 120.0))

    assert dataset.start_s.min() == 60.0


def test_labels_of_one_class_do_not_straddle():
    fs = 250.0
    segments = [RhythmSegment(0.0, 12.0, "(N", "Normal"), RhythmSegment(12.0, 30.0, "(SBR", "Normal")]
    lead = np.sin(2 * np.pi * 1.2 * np.arange(round(30 * fs)) / fs)

    dataset = windows_labelled(lead, fs, segments, record="x/1", subject="x/1", database="x", lead="II")

    assert dataset.start_s.tolist() == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert set(classes_of(dataset)) == {"Normal"} and dataset.pure.all()


def test_excluded_label_leaves_its_windows_out():
    fs = 250.0
    segments = [RhythmSegment(0.0, 20.0, "(VT", "VT"), RhythmSegment(20.0, 40.0, "(ASYS", None)]
    lead = np.sin(2 * np.pi * 3.0 * np.arange(round(40 * fs)) / fs)

    dropped = windows_labelled(lead, fs, segments, record="x/1", subject="x/1", database="x", lead="II")
    marked = windows_labelled(
        lead, fs, segments, record="x/1", subject="x/1", database="x", lead="II", straddling="mark"
    )

    assert dropped.start_s.tolist() == [0.0, 5.0, 10.0]
    # 15-25 s is half VT, half asystole: the tie goes to VT; 20-30 s and later have no class.
    assert marked.start_s.tolist() == [0.0, 5.0, 10.0, 15.0]


def test_window_grid_and_normalisation_of_a_flat_window():
    assert window_starts(2500, 250.0, 5.0).tolist() == [0]
    assert window_starts(2499, 250.0, 5.0).tolist() == []
    assert window_starts(3750, 250.0, 2.5).tolist() == [0, 625, 1250]
    flat = window_normalised(np.full((1, 2500), 3.0))
    assert np.all(flat == 0.0)
    with pytest.raises(ValueError, match="stride_s"):
        window_starts(5000, 250.0, 0.0)


def test_lead_windows_match_the_dataset_windows():
    path = physionet_record("mitdb", "100")
    dataset = wfdb_record_dataset(path, "mitdb", span_s=(0.0, 60.0))
    ecg = load_ecg(path)
    windows, start_s = lead_windows(ecg.signal_mv[:, 0], ecg.fs)

    rows = np.searchsorted(start_s, dataset.start_s)
    np.testing.assert_array_equal(windows[rows], dataset.X)


def test_save_and_load_keep_every_field(tmp_path):
    first = wfdb_record_dataset(physionet_record("mitdb", "201"), "mitdb", span_s=(0, 120))
    second = wfdb_record_dataset(
        physionet_record("vfdb", "418"), "vfdb", span_s=(860, 910), straddling="mark", other_leads=True
    )
    dataset = datasets_joined([first, second])

    save_rhythm_dataset(dataset, tmp_path / "windows.npz")
    loaded = load_rhythm_dataset(tmp_path / "windows.npz")

    for name in (
        "X",
        "rr",
        "y",
        "record",
        "subject",
        "database",
        "lead",
        "start_s",
        "pure",
        "noisy",
        "primary",
    ):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(dataset, name))
    assert not loaded.primary.all()
    assert (loaded.fs, loaded.classes) == (dataset.fs, dataset.classes)


def test_a_file_built_for_other_classes_is_refused(tmp_path):
    dataset = wfdb_record_dataset(physionet_record("mitdb", "201"), "mitdb", span_s=(0, 30))
    save_rhythm_dataset(dataset, tmp_path / "windows.npz")
    with np.load(tmp_path / "windows.npz") as stored:
        arrays = dict(stored)
    arrays["classes"] = np.asarray(["Normal", "AF"])
    np.savez(tmp_path / "other.npz", **arrays)

    with pytest.raises(ValueError, match="classes"):
        load_rhythm_dataset(tmp_path / "other.npz")


def test_subjects_of_records():
    assert subject_of("mitdb/201") == subject_of("mitdb/202") == "mitdb/201+202"
    assert subject_of("mitdb/203") == "mitdb/203"
    assert subject_of("vfdb/418") == "vfdb/418"


@pytest.fixture(scope="module")
def annotated_seconds() -> dict[str, np.ndarray]:
    physionet_record("mitdb", "100")
    return annotated_class_seconds(wfdb_record_paths(PHYSIONET))


def test_five_folds_keep_subjects_whole_and_spread_the_rare_classes(annotated_seconds):
    subjects = {record: subject_of(record) for record in annotated_seconds}

    folds = record_folds(annotated_seconds, subjects, k=5)

    assert set(folds) == set(annotated_seconds) and len(folds) == 70
    assert set(folds.values()) == set(range(5))
    assert folds["mitdb/201"] == folds["mitdb/202"]
    for name in ("VF", "VT", "AF", "SVT", "Noise", "Other", "Normal"):
        column = RHYTHM_CLASSES.index(name)
        holding = {folds[record] for record, seconds in annotated_seconds.items() if seconds[column] > 0}
        assert holding == set(range(5)), name
    # Heart block: four subjects (mitdb 231, vfdb 428-430), so four folds.
    block = RHYTHM_CLASSES.index("Heart block")
    carriers = [record for record, seconds in annotated_seconds.items() if seconds[block] > 0]
    assert sorted(carriers) == ["mitdb/231", "vfdb/428", "vfdb/429", "vfdb/430"]
    assert len({folds[record] for record in carriers}) == 4


def test_folds_are_deterministic_and_refuse_impossible_k(annotated_seconds):
    subjects = {record: subject_of(record) for record in annotated_seconds}

    assert record_folds(annotated_seconds, subjects, k=3) == record_folds(annotated_seconds, subjects, k=3)
    with pytest.raises(ValueError, match="k must be"):
        record_folds(annotated_seconds, subjects, k=1)
    with pytest.raises(ValueError, match="k must be"):
        record_folds(annotated_seconds, subjects, k=70)  # 69 subjects


def test_window_folds_follow_their_records():
    dataset = rhythm_dataset_built(PHYSIONET, records=["mitdb/201", "mitdb/202", "vfdb/418"])

    folds = record_folds(dataset.class_windows_by_record(), dataset.subject_by_record(), k=2)
    per_window = window_folds(dataset, folds)

    assert folds["mitdb/201"] == folds["mitdb/202"] != folds["vfdb/418"]
    for record, fold in folds.items():
        assert set(per_window[dataset.record == record]) == {fold}


def test_command_line_writes_the_dataset(tmp_path, capsys):
    physionet_record("mitdb", "201")
    out = tmp_path / "windows.npz"

    status = main(
        [
            "--data",
            str(PHYSIONET),
            "--out",
            str(out),
            "--records",
            "mitdb/201",
            "vfdb/418",
            "--stride-s",
            "10",
        ]
    )

    assert status == 0
    dataset = load_rhythm_dataset(out)
    assert set(dataset.record) == {"mitdb/201", "vfdb/418"}
    assert np.all(dataset.start_s % 10.0 == 0.0)
    printed = capsys.readouterr().out
    assert f"{len(dataset)} windows" in printed and "AF" in printed
