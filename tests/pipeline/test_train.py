"""Training the rhythm CNN (pipeline.train): the sampling, the Noise sources, the device augmentation,
and a smoke training on two real records that writes a loadable model and its card."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from pipeline.rhythm import RHYTHM_CLASSES
from pipeline.rhythm_augment import nstdb_noise_bank
from pipeline.rhythm_cnn import CnnRhythmClassifier
from pipeline.rhythm_dataset import RhythmDataset, rhythm_dataset_built
from pipeline.rhythm_features import N_RR_FEATURES, RR_FEATURE_NAMES
from pipeline.train import (
    CARD_JSON,
    CARD_MARKDOWN,
    MODEL_FILE,
    NOISE_CLASS,
    TrainingConfig,
    card_external_checks_set,
    class_draw_shares,
    device_filtered,
    epoch_drawn,
    following_windows,
    machine_described,
    main,
    synthetic_noise_windows,
)
from tests.pipeline.physionet_data import PHYSIONET, physionet_record

SMOKE_RECORDS = ("mitdb/100", "vfdb/418")


@pytest.fixture(scope="module")
def dataset():
    for record in SMOKE_RECORDS:
        physionet_record(*record.split("/"))
    return rhythm_dataset_built(PHYSIONET, records=list(SMOKE_RECORDS))


@pytest.fixture(scope="module")
def bank():
    physionet_record("nstdb", "em")
    return nstdb_noise_bank(PHYSIONET / "nstdb", part="train")


def test_square_root_sampling_shrinks_the_imbalance_without_removing_it():
    shares = class_draw_shares(np.array([10_000, 100, 0]), exponent=0.5)
    np.testing.assert_allclose(shares, [100 / 110, 10 / 110, 0.0])
    np.testing.assert_allclose(class_draw_shares(np.array([10_000, 100]), exponent=0.0), [0.5, 0.5])


def test_synthetic_noise_is_normalised_and_finite():
    windows = synthetic_noise_windows(20, np.random.default_rng(3))
    assert windows.shape == (20, 2500) and windows.dtype == np.float32
    assert np.all(np.isfinite(windows))
    assert np.all(np.abs(np.median(windows, axis=1)) < 1e-3)


def test_device_filtering_keeps_shape_and_a_seed_repeats_it(dataset):
    X = dataset.X[:8]
    config = TrainingConfig(p_lowpass=1.0, p_highpass=1.0, p_invert=0.5)
    a = device_filtered(X, np.random.default_rng(5), config)
    b = device_filtered(X, np.random.default_rng(5), config)
    assert a.shape == X.shape and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, X)


def test_an_epoch_holds_noise_even_without_recorded_noise_windows(dataset, bank):
    assert dataset.class_windows()["Noise"] == 0
    X, rr, y = epoch_drawn(dataset, bank, np.random.default_rng(2), TrainingConfig(), n_windows=400)
    assert X.shape == (400, 2500) and rr.shape == (400, N_RR_FEATURES) and y.shape == (400,)
    assert np.all(np.isfinite(rr))
    present = set(np.unique(y))
    assert NOISE_CLASS in present
    assert present <= {RHYTHM_CLASSES.index(name) for name in ("Normal", "VF", "Noise")}


def test_smoke_training_writes_a_loadable_model_and_its_card(tmp_path, dataset):
    out = tmp_path / "model"
    argv = ["--data", str(PHYSIONET), "--out", str(out), "--epochs", "1", "--windows-per-epoch", "128"]
    assert main([*argv, "--records", *SMOKE_RECORDS, "--seed", "11"]) == 0
    model = keras.models.load_model(out / MODEL_FILE, compile=False)
    p = np.asarray(model.predict_on_batch([dataset.X[:4], dataset.rr[:4]]))
    assert p.shape == (4, len(RHYTHM_CLASSES))
    # Its ONNX export beside it, what the app runs: the same probabilities.
    exported = CnnRhythmClassifier.load(out / MODEL_FILE)
    assert exported.path == (out / MODEL_FILE).with_suffix(".onnx").resolve() and exported.model is None
    np.testing.assert_allclose(exported.window_probabilities(dataset.X[:4], dataset.rr[:4]), p, atol=1e-5)
    card = json.loads((out / CARD_JSON).read_text(encoding="utf-8"))
    assert card["classes"] == list(RHYTHM_CLASSES)
    assert card["fs_hz"] == 250.0 and card["window_s"] == 10.0
    assert card["rr_features"] == list(RR_FEATURE_NAMES)
    assert card["training"]["seed"] == 11
    assert "--records" in card["training"]["command"]
    assert "mitdb/100" in card["training"]["trained_on"]
    assert card["label_table"]["wfdb"]["(AFIB"] == "AF"
    assert {"tensorflow", "keras", "numpy"} <= set(card["libraries"])
    assert card["evaluation"] is None
    markdown = (out / CARD_MARKDOWN).read_text(encoding="utf-8")
    assert "# Model card" in markdown and "No cross-validation report" in markdown


def test_a_new_cross_validation_goes_into_the_card_of_a_model_of_the_same_procedure(tmp_path):
    import shutil

    from pipeline.rhythm_cnn import DEFAULT_CARD_PATH
    from pipeline.train import CARD_MARKDOWN, card_evaluation_replaced

    shutil.copy(DEFAULT_CARD_PATH, tmp_path / DEFAULT_CARD_PATH.name)
    card = json.loads(DEFAULT_CARD_PATH.read_text(encoding="utf-8"))
    report = {**card["evaluation"], "macro_f1": 0.123, "command": "python -m pipeline.evaluate --new"}
    report["config"], report["seed"] = card["training"]["config"], card["training"]["seed"]

    path = card_evaluation_replaced(tmp_path, report)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["evaluation"]["macro_f1"] == 0.123
    assert written["training"] == card["training"] and written["data"] == card["data"]
    markdown = (tmp_path / CARD_MARKDOWN).read_text(encoding="utf-8")
    assert "0.123" in markdown and "python -m pipeline.evaluate --new" in markdown

    with pytest.raises(ValueError, match="seed"):
        card_evaluation_replaced(tmp_path, {**report, "seed": card["training"]["seed"] + 1})
    assert json.loads(path.read_text(encoding="utf-8"))["evaluation"]["macro_f1"] == 0.123  # untouched

    # A replicate (another seed, same configuration) keeps its bars beside the evaluation.
    replicate = {**report, "seed": 7, "macro_f1": 0.111, "per_record": {"mitdb/100": {}}}
    card_evaluation_replaced(tmp_path, report, [replicate])
    written = json.loads(path.read_text(encoding="utf-8"))
    assert [r["seed"] for r in written["evaluation_replicates"]] == [7]
    assert written["evaluation_replicates"][0]["bars"] == report["bars"]
    assert "per_record" not in written["evaluation_replicates"][0]
    assert "Seed 7" in (tmp_path / CARD_MARKDOWN).read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="not a replicate"):
        card_evaluation_replaced(tmp_path, report, [{**replicate, "config": {"epochs": 1}}])


def _smoke_trained_in_a_new_process(out, *, threads: int) -> list[np.ndarray]:
    """``python -m pipeline.train`` on the smoke records in a fresh Python with TensorFlow's
    defaults (oneDNN on unless the training turns it off), and the weights it wrote."""
    import os
    import subprocess
    import sys

    from pipeline.rhythm_model import ONEDNN_SWITCH, THREAD_SETTINGS

    environ = {k: v for k, v in os.environ.items() if k not in (ONEDNN_SWITCH, *THREAD_SETTINGS)}
    command = [sys.executable, "-m", "pipeline.train", "--data", str(PHYSIONET), "--out", str(out)]
    command += ["--epochs", "2", "--windows-per-epoch", "256", "--seed", "5", "--threads", str(threads)]
    command += ["--records", *SMOKE_RECORDS]
    subprocess.run(command, check=True, env=environ, capture_output=True, timeout=600)
    return keras.models.load_model(out / MODEL_FILE, compile=False).get_weights()


def test_the_same_command_trains_the_same_model_bit_for_bit(tmp_path):
    # With TensorFlow's default oneDNN kernels two such runs ended 0.40 apart in their largest
    # weight (measured); a seed that does not repeat its model is no record of how it was made.
    first = _smoke_trained_in_a_new_process(tmp_path / "first", threads=2)
    second = _smoke_trained_in_a_new_process(tmp_path / "second", threads=2)

    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    card = json.loads((tmp_path / "first" / CARD_JSON).read_text(encoding="utf-8"))
    assert card["training"]["threads"] == 2 and "--threads 2" in card["training"]["command"]


def test_training_refuses_a_tensorflow_imported_without_its_reproducible_settings(monkeypatch):
    import os
    import sys

    from pipeline.rhythm_model import ONEDNN_SWITCH, tensorflow_made_reproducible

    assert "tensorflow" in sys.modules  # imported with this module (keras)
    monkeypatch.setenv(ONEDNN_SWITCH, "1")
    with pytest.raises(RuntimeError, match="TF_ENABLE_ONEDNN_OPTS=0"):
        tensorflow_made_reproducible()
    monkeypatch.setenv(ONEDNN_SWITCH, "0")
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    with pytest.raises(RuntimeError, match="TF_NUM_INTRAOP_THREADS=3"):
        tensorflow_made_reproducible(3)
    assert tensorflow_made_reproducible() == (os.cpu_count() or 1)
    with pytest.raises(RuntimeError, match="at least 1"):
        tensorflow_made_reproducible(0)


def test_a_window_is_continued_only_by_the_next_window_of_the_same_episode():
    n = 6
    dataset = RhythmDataset(
        X=np.zeros((n, 2500)),
        rr=np.zeros((n, N_RR_FEATURES)),
        y=[0, 0, 0, 2, 0, 0],
        record=["mitdb/1", "mitdb/1", "mitdb/1", "mitdb/1", "mitdb/2", "mitdb/1"],
        subject=["mitdb/1", "mitdb/1", "mitdb/1", "mitdb/1", "mitdb/2", "mitdb/1"],
        database=["mitdb"] * n,
        lead=["MLII", "MLII", "MLII", "MLII", "MLII", "V1"],
        start_s=[0.0, 5.0, 15.0, 20.0, 5.0, 5.0],
        pure=[True] * n,
        noisy=[False] * n,
        primary=[True, True, True, True, True, False],
    )
    # 0 -> 1 (5 s later, same lead and class); 1: nothing at 10 s; 2 -> 3 changes class;
    # record 2 and lead V1 continue nothing of record 1's MLII.
    np.testing.assert_array_equal(following_windows(dataset), [1, -1, -1, -1, -1, -1])


def test_rate_scaling_plays_windows_faster_and_moves_their_rate_feature(dataset, bank):
    rate = RR_FEATURE_NAMES.index("rate")
    config = TrainingConfig(rate_scaling=1.0)
    X, rr, y = epoch_drawn(dataset, bank, np.random.default_rng(4), config, n_windows=300)
    plain_X, plain_rr, plain_y = epoch_drawn(
        dataset, bank, np.random.default_rng(4), TrainingConfig(), n_windows=300
    )
    normal = y == RHYTHM_CLASSES.index("Normal")
    # mitdb 100 beats at 60-90/min; played up to 1.3 times faster its windows reach up to 117/min.
    assert np.median(rr[normal, rate]) > np.median(plain_rr[plain_y == RHYTHM_CLASSES.index("Normal"), rate])
    assert np.all(75 * 2 ** rr[normal, rate] < 1.3 * 75 * 2 ** dataset.rr[:, rate].max() + 1e-3)
    assert X.shape == plain_X.shape and np.all(np.isfinite(X))


def _shipped_card_with_external_check(tmp_path, report_name: str) -> tuple[dict, dict]:
    """The shipped card copied into ``tmp_path`` with the committed report ``docs/<report_name>``
    as its external check: (the report, the card written)."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    shipped = (repo / "pipeline" / "models" / CARD_JSON).read_text(encoding="utf-8")
    (tmp_path / CARD_JSON).write_text(shipped, encoding="utf-8")
    report = json.loads((repo / "docs" / report_name).read_text(encoding="utf-8"))
    card_external_checks_set(tmp_path, [report])
    card = json.loads((tmp_path / CARD_JSON).read_text(encoding="utf-8"))
    assert card["evaluation"] == json.loads(shipped)["evaluation"]
    return report, card


def test_external_checks_are_listed_in_the_card_and_another_models_are_refused(tmp_path):
    report, card = _shipped_card_with_external_check(tmp_path, "bench-rhythm-ptbxl-sample.json")
    (check,) = card["external_checks"]
    normal = report["per_class"]["Normal"]
    assert check["per_class"]["Normal"]["support"] == normal["support"]
    markdown = (tmp_path / CARD_MARKDOWN).read_text(encoding="utf-8")
    assert "## External checks" in markdown
    assert f"ptbxl, 500 Hz: {report['windows']} windows of {report['records']} records" in markdown
    assert report["command"] in markdown
    with pytest.raises(ValueError, match="not this card's model"):
        card_external_checks_set(tmp_path, [{**report, "model": "/elsewhere/other.keras"}])


def test_an_external_check_against_beat_labels_is_listed_with_its_categories(tmp_path):
    report, card = _shipped_card_with_external_check(tmp_path, "bench-rhythm-qtdb-beats.json")
    (check,) = card["external_checks"]
    assert check["reference"] == "beats"
    assert check["per_category"] == report["per_category"]
    sinus = report["per_category"]["supraventricular"]
    markdown = (tmp_path / CARD_MARKDOWN).read_text(encoding="utf-8")
    assert (
        f"qtdb, against its beat labels: {report['records']} records ({report['skipped_records']} left out); "
        f"{sinus['windows']} windows without a ventricular beat: {sinus['called_vf_vt']} called VF/VT"
    ) in markdown
    assert report["command"] in markdown


def test_the_card_names_the_cpu_it_was_trained_on():
    # A run repeats bit for bit on the same machine only (docs/rhythm-cv-rerun.json): the card's
    # machine names the CPU model that /proc/cpuinfo gives (read here independently).
    import os
    import platform
    from pathlib import Path

    described = machine_described()
    assert described.startswith(platform.machine() + ", ")
    assert described.endswith(f"{os.cpu_count()} CPU cores")
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        if names:
            assert f", {names[0]}, " in described
