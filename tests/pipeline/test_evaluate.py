"""The cross-validation's arithmetic (pipeline.evaluate): confusion matrix, per-class metrics,
macro-F1 over the classes with data, the shock-advisory view and the bars."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.evaluate import (
    bars_checked,
    class_metrics,
    confusion_matrix,
    macro_f1,
    shock_advisory,
    shock_advisory_called,
)
from pipeline.rhythm import RHYTHM_CLASSES

N, SVT, AF, VF, VT = (RHYTHM_CLASSES.index(c) for c in ("Normal", "SVT", "AF", "VF", "VT"))


def probabilities_with_shock(shock: list[float]) -> np.ndarray:
    """Windows whose P(VF) + P(VT) is ``shock`` (split evenly), the rest Normal."""
    p = np.zeros((len(shock), len(RHYTHM_CLASSES)))
    p[:, VF] = p[:, VT] = np.asarray(shock) / 2
    p[:, N] = 1 - np.asarray(shock)
    return p


@pytest.fixture
def matrix():
    y_true = np.array([N] * 100 + [AF] * 10 + [VF] * 10 + [VT] * 10)
    y_pred = np.array(
        [N] * 99 + [VT] + [AF] * 9 + [N] + [VF] * 8 + [VT] * 1 + [N] + [VT] * 6 + [VF] * 2 + [N] * 2
    )
    return confusion_matrix(y_true, y_pred)


def test_rows_are_the_reference_and_columns_the_model(matrix):
    assert matrix.shape == (8, 8)
    assert matrix[N, N] == 99 and matrix[N, VT] == 1 and matrix[AF, N] == 1
    assert matrix.sum() == 130


def test_sensitivity_ppv_and_f1_per_class(matrix):
    metrics = class_metrics(matrix)
    assert metrics["AF"]["sensitivity"] == pytest.approx(0.9)
    assert metrics["AF"]["ppv"] == pytest.approx(1.0)
    assert metrics["AF"]["f1"] == pytest.approx(2 * 0.9 / 1.9)
    assert metrics["Normal"]["ppv"] == pytest.approx(99 / 103)
    assert metrics["SVT"] == {"support": 0, "called": 0, "sensitivity": None, "ppv": None, "f1": None}


def test_macro_f1_counts_only_classes_with_windows(matrix):
    metrics = class_metrics(matrix)
    expected = np.mean([metrics[c]["f1"] for c in ("Normal", "AF", "VF", "VT")])
    assert macro_f1(metrics) == pytest.approx(expected)


def test_shock_advisory_counts_vf_and_vt_together(matrix):
    shock = shock_advisory(matrix)
    assert shock["vf_called_vf_or_vt"] == pytest.approx(0.9)
    assert shock["vt_called_vf_or_vt"] == pytest.approx(0.8)
    assert shock["normal_called_vf_or_vt"] == pytest.approx(0.01)


def test_bars_say_which_are_met(matrix):
    metrics = class_metrics(matrix)
    report = {"per_class": metrics, "macro_f1": macro_f1(metrics), "shock_advisory": shock_advisory(matrix)}
    bars = {b["bar"]: b["met"] for b in bars_checked(report)}
    assert bars["Normal called VF/VT <= 1 %"] is True
    assert bars["VF called VF/VT >= 95 %"] is False
    assert bars["Heart block F1 >= 0.80"] is False  # no heart-block window: not met, never assumed


def test_the_vf_vt_call_adds_vf_and_vt_against_one_half():
    y = np.array([VF, VF, VT, VT, N, N, N, N])
    # VF+VT split between the two at 0.6 (most probable class Normal at 0.4): called VF/VT.
    p = probabilities_with_shock([0.6, 0.4, 0.5, 0.9, 0.49, 0.0, 0.0, 0.0])
    called = shock_advisory_called(p, y, noise_probabilities=probabilities_with_shock([0.2, 0.7]))
    assert called["threshold"] == 0.5 and "P(VF) + P(VT) >= 0.5" in called["rule"]
    assert called["vf_called_vf_or_vt"] == pytest.approx(0.5)
    assert called["vt_called_vf_or_vt"] == pytest.approx(1.0)  # 0.5 itself is called
    assert called["normal_called_vf_or_vt"] == pytest.approx(0.0)  # 0.49 is not
    assert called["noise_called_vf_or_vt"] is None  # no Noise window
    assert called["nstdb_eval_noise_called_vf_or_vt"] == pytest.approx(0.5)
    # The eight-class view differs: the first window's most probable class is Normal.
    assert np.argmax(p[0]) == N


def test_a_smoke_cross_validation_scores_every_window_once_by_a_model_that_never_saw_it(tmp_path):
    import json

    from pipeline.evaluate import main
    from tests.pipeline.physionet_data import PHYSIONET, physionet_record

    records = ("mitdb/100", "vfdb/418")
    for record in records:
        physionet_record(*record.split("/"))
    for noise in ("em", "ma", "bw"):
        physionet_record("nstdb", noise)
    out, saved = tmp_path / "cv.json", tmp_path / "cv.npz"
    argv = ["--data", str(PHYSIONET), "--folds", "2", "--records", *records, "--epochs", "1", "--other-leads"]
    argv += ["--onset-windows", "VF", "VT"]
    argv += ["--windows-per-epoch", "64", "--out", str(out), "--save-probabilities", str(saved)]
    argv += ["--save-models", str(tmp_path / "folds")]
    assert main(argv) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["per_record"]) == set(records)
    assert sum(sum(r["called"].values()) for r in report["per_record"].values()) == report["windows"]
    # Both records have two leads: the other lead's windows train, only the lead closest to II is
    # scored; so do the onset windows (418's ventricular flutter bursts), which one class does not
    # cover wholly.
    assert report["training_windows_onset"] > 0 and report["config"]["onset_classes"] == ["VF", "VT"]
    assert report["training_windows_other_leads"] == report["windows"] + report["training_windows_onset"]
    assert len(report["bars"]) == 6 and report["speed"]["record_30min_windows"] == 359
    with np.load(saved) as stored:
        assert stored["probabilities"].shape == (report["windows"], len(RHYTHM_CLASSES))
        np.testing.assert_allclose(stored["probabilities"].sum(axis=1), 1.0, rtol=1e-4)
        # Two subjects, two folds: each record's windows were scored by the other record's model.
        folds = {str(r): set(stored["fold"][stored["record"] == r].tolist()) for r in records}
        assert all(len(f) == 1 for f in folds.values()) and folds[records[0]] != folds[records[1]]
        assert stored["noise_probabilities"].shape == (2 * 100, len(RHYTHM_CLASSES))
        assert stored["noise_rr"].shape[0] == 2 * 100
    # The VF/VT call, and scored again from the saved probabilities alike.
    assert report["shock_advisory"]["threshold"] == 0.5 and "shock_advisory_argmax" in report
    assert {b["key"] for b in report["bars"]} >= {"macro_f1", "shock:vf_called_vf_or_vt"}
    rescored = tmp_path / "rescored.json"
    rescored.write_text(json.dumps({**report, "shock_advisory": {}, "bars": []}), encoding="utf-8")
    assert main(["--data", str(PHYSIONET), "--rescore", str(saved), "--out", str(rescored)]) == 0
    again = json.loads(rescored.read_text(encoding="utf-8"))
    assert again["shock_advisory"] == pytest.approx(report["shock_advisory"], nan_ok=True)
    assert again["bars"] == report["bars"]
    # Each fold's model is kept with the records it never saw: the other fold's.
    held_out = json.loads((tmp_path / "folds" / "folds.json").read_text(encoding="utf-8"))
    assert sorted(held_out) == ["fold-1.keras", "fold-2.keras"]
    assert sorted(sum(held_out.values(), [])) == sorted(records)
    assert all((tmp_path / "folds" / name).exists() for name in held_out)
    for fold, name in enumerate(sorted(held_out)):
        assert folds[held_out[name][0]] == {fold}


def _saved_run(path, probabilities, fold=(0, 0, 1, 1)):
    """A run's saved out-of-fold probabilities, as `--save-probabilities` writes them."""
    np.savez(
        path,
        probabilities=np.asarray(probabilities, dtype=np.float32),
        y=np.array([N, N, VT, VF]),
        record=np.array(["mitdb/100", "mitdb/100", "vfdb/418", "vfdb/418"]),
        start_s=np.array([0.0, 5.0, 0.0, 5.0]),
        fold=np.asarray(fold),
        noise_probabilities=np.zeros((0, len(RHYTHM_CLASSES)), dtype=np.float32),
    )
    return str(path)


def test_an_ensemble_is_scored_on_the_mean_of_its_runs_probabilities(tmp_path, capsys):
    import json

    from pipeline.evaluate import main

    def rows(*pairs):  # (class, probability) per window, the rest of the mass on Normal
        p = np.zeros((len(pairs), len(RHYTHM_CLASSES)))
        for i, (c, q) in enumerate(pairs):
            p[i, c] += q
            p[i, N] += 1 - q
        return p

    # Run A calls the second normal window VT (0.6) and misses the VT window (0.4); run B the
    # reverse. Their mean: P(VT) 0.4 on the normal window (not called), 0.6 on the VT one (called).
    a = _saved_run(tmp_path / "a.npz", rows((N, 1.0), (VT, 0.6), (VT, 0.4), (VF, 0.9)))
    b = _saved_run(tmp_path / "b.npz", rows((N, 1.0), (VT, 0.2), (VT, 0.8), (VF, 0.7)))
    out = tmp_path / "ensemble.json"
    assert main(["--data", "unused", "--ensemble", a, b, "--out", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    shock = report["shock_advisory"]
    assert (shock["normal_called_vf_or_vt"], shock["vt_called_vf_or_vt"], shock["vf_called_vf_or_vt"]) == (
        0.0,
        1.0,
        1.0,
    )
    assert report["confusion_matrix"][VT][VT] == 1 and report["confusion_matrix"][N][N] == 2
    assert report["ensemble_of"] == [a, b] and report["folds"] == 2 and report["nstdb_eval_noise"] is None
    assert {bar["key"] for bar in report["bars"]} >= {"macro_f1", "shock:normal_called_vf_or_vt"}
    # Runs with other folds are not one procedure: refused, with the reason.
    c = _saved_run(tmp_path / "c.npz", rows((N, 1.0), (N, 1.0), (VT, 1.0), (VF, 1.0)), fold=(1, 1, 0, 0))
    assert main(["--data", "unused", "--ensemble", a, c, "--out", str(out)]) == 2
    assert "other windows or folds" in capsys.readouterr().err
    assert main(["--data", "unused", "--ensemble", a]) == 2
