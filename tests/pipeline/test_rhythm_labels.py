"""The rhythm label table (pipeline.rhythm_labels) against every rhythm annotation of mitdb and vfdb,
the durations shared/data/README.md publishes for them, and PTB-XL's own statement list."""

from __future__ import annotations

import collections
import csv

import pytest
import wfdb

from pipeline.rhythm import RHYTHM_CLASSES
from pipeline.rhythm_labels import (
    PTBXL_CODE_CLASSES,
    WFDB_RHYTHM_CLASSES,
    RhythmLabelError,
    ptbxl_class,
    ptbxl_classes,
    record_rhythm_segments,
    rhythm_class_of,
    rhythm_segments,
    unmapped_labels,
)
from tests.pipeline.physionet_data import PHYSIONET, physionet_record

# Total seconds per label, summed over each database's records (shared/data/README.md).
README_SECONDS = {
    "mitdb": {"(N": 63_327, "(AFIB": 7_956, "(P": 6_612, "(BII": 700, "(VT": 214, "(SVTA": 210, "(VFL": 144},
    "vfdb": {"(N": 17_228, "(NOISE": 6_065, "(VT": 5_240, "(BI": 4_211, "(VF": 1_689, "(ASYS": 792},
}


def database_records(database: str) -> list[str]:
    records = sorted(path.stem for path in (PHYSIONET / database).glob("*.atr"))
    if not records:
        physionet_record(database, "none")  # skips (or fails in CI) with the reason
    return records


@pytest.fixture(scope="module")
def label_seconds() -> dict[str, collections.Counter]:
    """Seconds per label in each database, from every record's .atr (no signal is read)."""
    totals: dict[str, collections.Counter] = {}
    for database in ("mitdb", "vfdb"):
        totals[database] = collections.Counter()
        for record in database_records(database):
            for segment in record_rhythm_segments(PHYSIONET / database / record):
                totals[database][segment.label] += segment.duration_s
    return totals


def test_every_label_in_mitdb_and_vfdb_is_in_the_table(label_seconds):
    seen = set(label_seconds["mitdb"]) | set(label_seconds["vfdb"])

    assert unmapped_labels(seen) == []
    assert len(seen) == 24  # 15 in mitdb, 17 in vfdb, 8 in both (shared/data/README.md)


def test_table_durations_agree_with_the_published_ones(label_seconds):
    for database, published in README_SECONDS.items():
        for label, seconds in published.items():
            assert label_seconds[database][label] == pytest.approx(seconds, abs=1.0), (database, label)


def test_table_classes_are_the_rhythm_classes_and_all_of_them_are_trained():
    mapped = {value for value in WFDB_RHYTHM_CLASSES.values() if value is not None}

    assert mapped == set(RHYTHM_CLASSES)
    assert set(PTBXL_CODE_CLASSES.values()) <= set(RHYTHM_CLASSES)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("(N", "Normal"),
        ("(NSR", "Normal"),
        ("(SBR", "Normal"),
        ("(SVTA", "SVT"),
        ("(AFIB\x00", "AF"),  # the trailing NUL some files carry
        ("(AFL", "AF"),
        ("(VF", "VF"),
        ("(VFL", "VF"),
        ("(VFIB", "VF"),
        ("(VT", "VT"),
        ("(BI", "Heart block"),
        ("(BII", "Heart block"),
        ("(BIII", "Heart block"),
        ("(B", "Other"),
        ("(T", "Other"),
        ("(P", "Other"),
        ("(PM", "Other"),
        ("(NOD", "Other"),
        ("(IVR", "Other"),
        ("(PREX", "Other"),
        ("(AB", "Other"),
        ("(HGEA", "Other"),
        ("(VER", "Other"),
        ("(NOISE", "Noise"),
        ("(ASYS", None),  # excluded: asystole is none of the classes
    ],
)
def test_label_class(label, expected):
    assert rhythm_class_of(label) == expected


def test_unknown_label_is_refused_by_name_never_guessed():
    with pytest.raises(RhythmLabelError, match=r"\(XYZ"):
        rhythm_class_of("(XYZ")
    with pytest.raises(RhythmLabelError, match=r"record 999.*\(XYZ"):
        rhythm_segments([0, 100], ["+", "+"], ["(N", "(XYZ\x00"], 250.0, 1000, record="999")
    assert unmapped_labels(["(N", "(XYZ\x00", "(Q", "(XYZ"]) == ["(Q", "(XYZ"]


def test_segments_hold_until_the_next_label_or_the_end_of_record_201():
    path = physionet_record("mitdb", "201")
    annotation = wfdb.rdann(str(path), "atr")
    rhythm_at = [s for s, symbol in zip(annotation.sample, annotation.symbol, strict=True) if symbol == "+"]

    segments = record_rhythm_segments(path)

    assert segments[0].label == "(AFIB" and segments[0].rhythm_class == "AF"
    assert segments[0].start_s == pytest.approx(rhythm_at[0] / 360.0)
    assert segments[0].end_s == pytest.approx(rhythm_at[1] / 360.0)
    for before, after in zip(segments, segments[1:], strict=False):
        assert before.end_s == after.start_s
    assert segments[-1].end_s == pytest.approx(650_000 / 360.0)
    assert len(segments) == len(rhythm_at)


def test_no_rhythm_annotation_gives_no_segment():
    assert rhythm_segments([5, 9], ["N", "N"], ["", ""], 360.0, 100) == ()


def test_ptbxl_codes_in_the_table_are_ptbxl_statements():
    path = PHYSIONET / "ptbxl-sample" / "scp_statements.csv"
    if not path.is_file():
        physionet_record("ptbxl-sample", "scp_statements")  # skips with the reason
    with path.open(newline="") as file:
        statements = {row[""]: row for row in csv.DictReader(file)}

    assert set(PTBXL_CODE_CLASSES) <= set(statements)
    # Every rhythm statement of PTB-XL has a class (none is silently ignored).
    rhythm_statements = {code for code, row in statements.items() if row["rhythm"] == "1.0"}
    assert rhythm_statements <= set(PTBXL_CODE_CLASSES)


@pytest.mark.parametrize(
    ("scp_codes", "expected"),
    [
        ({"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0}, "Normal"),  # PTB-XL record 1
        ({"NORM": 80.0, "SBRAD": 0.0}, "Normal"),  # record 2
        ({"IMI": 35.0, "ABQRS": 0.0, "SR": 0.0}, "Normal"),  # record 8: the infarction says nothing of rhythm
        ({"AFLT": 100.0, "ABQRS": 0.0, "AFIB": 0.0}, "AF"),  # record 17
        ({"SR": 0.0, "1AVB": 100.0}, "Heart block"),  # Normal yields to any other class
        ({"NORM": 100.0, "PSVT": 0.0}, "SVT"),
        ({"PACE": 0.0, "3AVB": 100.0}, None),  # two classes other than Normal: ambiguous
        ({"AFIB": 0.0, "PACE": 0.0}, None),
        ({"NORM": 35.0}, None),  # below the likelihood threshold
        ({"1AVB": 15.0, "SR": 0.0}, "Normal"),  # an unlikely block does not count
        ({"IMI": 100.0, "LVH": 50.0}, None),  # no rhythm statement
    ],
)
def test_ptbxl_class_precedence_and_likelihood(scp_codes, expected):
    assert ptbxl_class(scp_codes) == expected


def test_ptbxl_likelihood_threshold_is_adjustable():
    codes = {"NORM": 80.0}

    assert ptbxl_class(codes) == "Normal"
    assert ptbxl_class(codes, min_likelihood=100.0) is None
    assert ptbxl_classes({"AFIB": 0.0, "SR": 0.0, "PACE": 0.0}) == {"AF", "Normal", "Other"}
