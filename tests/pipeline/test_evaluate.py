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
)
from pipeline.rhythm import RHYTHM_CLASSES

N, SVT, AF, VF, VT = (RHYTHM_CLASSES.index(c) for c in ("Normal", "SVT", "AF", "VF", "VT"))


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
