"""The delineation benchmark (pipeline.bench.intervals): the reference parser on the QT Database's
annotation quirks, the scoring arithmetic, and the command on real records."""

from __future__ import annotations

import json

import numpy as np
import pytest
import wfdb

from pipeline.bench.intervals import (
    BOUNDARIES,
    INTERVALS,
    _RecordTask,
    errors_scored,
    grubbs_sds,
    per_record_pooled,
    pooled,
    record_scored,
    record_status,
    reference_beats,
)
from pipeline.bench.intervals import main as bench_main
from pipeline.delineate import ABSENT
from tests.pipeline.physionet_data import physionet_record


def test_reference_beats_pair_each_wave_with_its_beat():
    # sel100's pattern "(p)(N)t)": a T wave with its end only; then a beat without a P wave whose
    # T wave has both boundaries, and a beat without any T wave.
    symbols = list("(p)(N)t)") + list("(N)(t)") + list("(p)(A)")
    samples = (
        [10, 20, 30, 40, 50, 60, 70, 80] + [200, 210, 220, 240, 260, 280] + [390, 400, 410, 420, 430, 440]
    )

    beats = reference_beats(symbols, samples)

    assert len(beats) == 3
    np.testing.assert_array_equal(beats.qrs_peak, [50, 210, 430])
    np.testing.assert_array_equal(beats.qrs_onset, [40, 200, 420])
    np.testing.assert_array_equal(beats.qrs_offset, [60, 220, 440])
    np.testing.assert_array_equal(beats.p_onset, [10, ABSENT, 390])
    np.testing.assert_array_equal(beats.p_offset, [30, ABSENT, 410])
    np.testing.assert_array_equal(beats.t_peak, [70, 260, ABSENT])
    np.testing.assert_array_equal(beats.t_offset, [80, 280, ABSENT])


def test_reference_beats_of_a_real_record():
    annotation = wfdb.rdann(str(physionet_record("qtdb", "sel102")), "q1c")  # paced: no P waves

    beats = reference_beats(annotation.symbol, annotation.sample)

    assert len(beats) == annotation.symbol.count("N") == 85
    assert (beats.p_onset == ABSENT).all()
    assert (beats.qrs_onset < beats.qrs_peak).all() and (beats.qrs_peak < beats.qrs_offset).all()
    assert (beats.t_offset > beats.qrs_offset).all()


def test_errors_and_absent_share():
    reference = reference_beats(
        list("(p)(N)(t)") * 2,
        [10, 20, 30, 40, 50, 60, 70, 80, 90, 110, 120, 130, 140, 150, 160, 170, 180, 190],
    )
    ours = {
        "p_onset": np.array([12, ABSENT]),
        "qrs_onset": np.array([38, 141]),
        "qrs_offset": np.array([62, 160]),
        "t_offset": np.array([95, 186]),
    }

    scores = errors_scored(reference, ours, fs=1000.0)

    assert set(scores) == set(BOUNDARIES) | set(INTERVALS)
    assert scores["p_onset"] == {"errors_ms": [2.0], "absent": 1}
    assert scores["qrs_onset"]["errors_ms"] == [-2.0, 1.0]
    assert scores["qrs"]["errors_ms"] == [4.0, -1.0]  # (62 - 38) - 20, (160 - 141) - 20
    assert scores["pr"]["errors_ms"] == [-4.0] and scores["pr"]["absent"] == 1  # (38 - 12) - 30
    assert scores["qt"]["errors_ms"] == [7.0, -5.0]
    # Two beats are too few for a record's global value (pipeline.intervals.MIN_BEATS).
    assert scores["qrs"]["record_status"] == "neither" and scores["qrs"]["record_error_ms"] is None
    figures = pooled([scores["p_onset"], scores["qrs_onset"]])
    assert figures["n"] == 3 and figures["absent"] == 1 and figures["absent_pct"] == 25.0
    assert figures["mean_ms"] == round((2.0 - 2.0 + 1.0) / 3, 2)


def test_record_global_value_is_the_median_where_both_sides_have_one():
    starts = (0, 100, 200, 300)
    reference = reference_beats(list("(p)(N)(t)") * 4, [b + o for b in starts for o in range(10, 100, 10)])
    ours = {
        "p_onset": np.array([12, ABSENT, ABSENT, ABSENT]),  # one P wave of four: no PR printed
        "qrs_onset": np.array([38, 141, 240, 342]),
        "qrs_offset": np.array([62, 160, 262, 361]),  # QRS 24, 19, 22, 19 ms against 20 each
        "t_offset": np.array([95, 186, 290, 391]),  # QT 57, 45, 50, 49 ms against 50 each
    }

    scores = errors_scored(reference, ours, fs=1000.0)

    assert scores["qrs"]["record_status"] == "scored" and scores["qrs"]["record_error_ms"] == 0.5
    assert scores["qt"]["record_status"] == "scored" and scores["qt"]["record_error_ms"] == -0.5
    assert scores["pr"]["record_status"] == "not_measured" and scores["pr"]["record_error_ms"] is None
    assert scores["pr"]["errors_ms"] == [-4.0]  # the beat itself still counts per beat


def test_record_status_follows_the_analysis_rule_for_printing_an_interval():
    assert record_status(annotated=30, measured=16, beats=30) == "scored"
    assert record_status(annotated=30, measured=14, beats=30) == "not_measured"  # under half
    assert record_status(annotated=1, measured=16, beats=31) == "reported_without_reference"
    assert record_status(annotated=2, measured=2, beats=2) == "neither"  # fewer than 3 beats


def test_a_pr_the_cardiologist_marked_on_one_beat_is_not_the_records_pr():
    # qtdb sel36: P marked on 1 of its 31 annotated beats, 488 ms before the QRS complex; the
    # rhythm is irregular and P waves are hard to see. One beat is not the record's PR interval.
    database = physionet_record("qtdb", "sel36").parent
    annotation = wfdb.rdann(str(database / "sel36"), "q1c")
    assert annotation.symbol.count("p") == 1

    row = record_scored(_RecordTask(str(database), "sel36", "q1c", "0", ("ours",)))

    pr = row["methods"]["ours"]["pr"]
    assert pr["record_status"] in ("reported_without_reference", "neither") and pr["record_error_ms"] is None
    assert row["methods"]["ours"]["qrs"]["record_status"] == "scored"


def test_benchmark_command_writes_valid_json(tmp_path, capsys):
    database = physionet_record("qtdb", "sel100").parent
    out = tmp_path / "result.json"

    status = bench_main(
        ["--db", str(database), "--records", "sel100", "sel30", "--out", str(out), "--jobs", "1"]
    )

    assert status == 0
    result = json.loads(out.read_text())
    assert result["benchmark"] == "intervals" and result["annotator"] == "q1c"
    assert result["records_scored"] == 2 and result["matched_beats"] == result["annotated_beats"] == 60
    ours, neurokit = result["summary"]["ours"], result["summary"]["neurokit"]
    for name in ("p_onset", "qrs_onset", "qrs_offset", "t_offset", "pr", "qrs", "qt"):
        assert ours[name]["n"] + ours[name]["absent"] == 60, name
        assert abs(ours[name]["mean_ms"]) < 25 and ours[name]["sd_ms"] < 30, name
        assert "mean_ms" in neurokit[name]
    assert {"pr", "qrs", "qt"} <= set(result["iec_60601_2_25_limits_ms"])
    assert [row["record"] for row in result["records"]] == ["sel100", "sel30"]
    printed = capsys.readouterr().out
    assert "ours: PR " in printed and "neurokit: PR " in printed and "% absent" in printed


def test_benchmark_lists_records_without_annotations(tmp_path, capsys):
    source = physionet_record("qtdb", "sel100")
    for suffix in (".hea", ".dat", ".q1c"):
        (tmp_path / f"sel100{suffix}").symlink_to(source.with_name(f"sel100{suffix}"))
    # A record with no q1c annotations (its header is enough: it is skipped before being read).
    (tmp_path / "other.hea").write_text(source.with_name("sel100.hea").read_text().replace("sel100", "other"))
    out = tmp_path / "result.json"

    status = bench_main(["--db", str(tmp_path), "--out", str(out), "--no-neurokit", "--jobs", "1"])

    assert status == 0
    result = json.loads(out.read_text())
    assert result["records_skipped"] == {"other": "no .q1c annotation file"}
    assert list(result["summary"]) == ["ours"]
    assert "skipped other: no .q1c annotation file" in capsys.readouterr().out


def test_benchmark_refuses_a_missing_directory(tmp_path, capsys):
    assert bench_main(["--db", str(tmp_path / "nowhere")]) == 2
    assert "is not a directory" in capsys.readouterr().out


def test_per_record_view_is_mean_and_sd_over_records_against_the_iec_limits():
    limit = {"mean": 10.0, "sd": 10.0}

    within = per_record_pooled([4.0, -4.0, 2.0, None], limit, ["scored"] * 3 + ["not_measured"])
    outside = per_record_pooled([30.0, -30.0, 0.0], limit)

    assert within["mean_ms"] == 0.67 and within["records"] == 3 and within["records_not_measured"] == 1
    assert within["sd_ms"] == round(float(np.std([4.0, -4.0, 2.0], ddof=1)), 2) and within["within_iec"]
    assert outside["mean_ms"] == 0.0 and outside["sd_ms"] == 30.0 and not outside["within_iec"]


# --- a second annotator: how precise is the reference? ------------------------------------------


def test_grubbs_recovers_each_measurers_own_error_without_the_truth():
    """Three measurers of the same 200,000 items with independent errors of SD 6, 15 and 12:
    the differences alone give back each SD (Grubbs 1948)."""
    rng = np.random.default_rng(7)
    truth = rng.normal(100.0, 20.0, 200_000)
    ours, first, second = (truth + rng.normal(0.0, sd, truth.size) for sd in (6.0, 15.0, 12.0))

    estimate = grubbs_sds(ours - first, ours - second, first - second)

    assert estimate["ours"] == pytest.approx(6.0, abs=0.3)
    assert estimate["first"] == pytest.approx(15.0, abs=0.3)
    assert estimate["second"] == pytest.approx(12.0, abs=0.3)


def test_grubbs_arithmetic_and_a_negative_variance_shown_as_zero():
    # Var(C-A) = 2, Var(C-B) = 8, Var(A-B) = 18 (sample variances of [0, 2], [0, 4], [0, 6]):
    # ours (2 + 8 - 18) / 2 = -4 -> 0; first (2 + 18 - 8) / 2 = 6; second (8 + 18 - 2) / 2 = 12.
    estimate = grubbs_sds(np.array([0.0, 2.0]), np.array([0.0, 4.0]), np.array([0.0, 6.0]))

    assert estimate == pytest.approx({"ours": 0.0, "first": np.sqrt(6.0), "second": np.sqrt(12.0)})


def annotated_qrs_ms(record: str, annotator: str) -> float:
    """A cardiologist's median QRS duration over the beats he marked, read from the file here."""
    path = str(physionet_record("qtdb", record))
    annotation = wfdb.rdann(path, annotator)
    symbols, samples = annotation.symbol, annotation.sample
    widths = [
        samples[i + 1] - samples[i - 1]
        for i in range(1, len(symbols) - 1)
        if symbols[i] not in "()ptu" and symbols[i - 1] == "(" and symbols[i + 1] == ")"
    ]
    return float(np.median(widths)) * 1000.0 / wfdb.rdheader(path).fs


def test_second_annotator_scores_against_both_cardiologists_of_the_qt_database(tmp_path, capsys):
    database = physionet_record("qtdb", "sel100").parent
    out = tmp_path / "agreement.json"
    records = ["sel100", "sel102", "sel103", "sel30"]  # sel30 has no q2c file

    status = bench_main(
        ["--db", str(database), "--records", *records, "--out", str(out), "--jobs", "1"]
        + ["--no-neurokit", "--second-ann", "q2c"]
    )

    assert status == 0
    result = json.loads(out.read_text())
    rows = {row["record"]: row for row in result["records"]}
    assert "second_annotator" not in rows["sel30"]
    for record in records[:3]:
        second = rows[record]["second_annotator"]
        expected = annotated_qrs_ms(record, "q1c") - annotated_qrs_ms(record, "q2c")
        assert second["first_minus_second_ms"]["qrs"] == pytest.approx(expected), record
        ours_vs_first = rows[record]["methods"]["ours"]["qrs"]["record_error_ms"]
        # ours - q2c = (ours - q1c) + (q1c - q2c), up to the beats each cardiologist marked
        assert abs(second["ours_error_ms"]["qrs"] - (ours_vs_first + expected)) <= 8.0, record
    agreement = result["annotator_agreement"]
    assert agreement["second_annotator"] == "q2c" and agreement["qrs"]["records"] == 3
    assert agreement["qrs"]["record_names"] == records[:3]
    for who in ("ours", "first", "second"):
        low, high = agreement["qrs"]["grubbs_ci95_ms"][who]
        assert 0.0 <= low <= high
    assert agreement["pr"] == {"records": 0}  # q2c marks no P waves
    printed = capsys.readouterr().out
    assert "QRS, 3 records annotated twice: SD ours-q1c" in printed and "Grubbs 1948" in printed
