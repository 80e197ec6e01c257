"""Train the rhythm CNN from scratch, with a fixed seed, and write the model with its model card.

What one training run does (`model_trained`):

1. **Data**: the labelled 10-s windows of mitdb and vfdb (`pipeline.rhythm_dataset`, every 5 s,
   windows straddling a class change dropped, except the VF onset windows below), optionally
   PTB-XL, and the first (training) half of nstdb's noise records
   (`pipeline.rhythm_augment.nstdb_noise_bank`, ``part="train"``). The second half is never
   seen here: `pipeline.evaluate` scores the Noise class on it. Each record
   gives the windows of its lead closest to II, the lead the classifier reads; with
   ``--other-leads`` also those of its other lead: the same rhythm with other QRS and P-wave
   shapes (the cross-validation still scores the lead closest to II only). Measured on the
   5-fold cross-validation against the shipped setting (AF F1 0.666, VT called VF/VT 88.1 %,
   Normal called VF/VT 1.2 %): with the default seed AF F1 0.756 but VT 69.5 % (vfdb 611's 179
   VT windows all called Normal) and Normal 1.4 %; with seed 7 AF F1 0.709, VT 89.6 %, Normal
   1.9 % (vfdb 418). AF gains, but a shock-advisory share gets worse on either seed, so the
   shipped model is trained without them.
   With ``--onset-windows VF VT`` training also sees the windows that end 3-9 s into a VF or VT
   episode (`pipeline.rhythm_dataset.onset_window_ends`): what a monitor's last 10 s look like just
   after an onset. Measured against the same procedure without them, both run on one CPU thread
   (seeds 20240601 / 7): VF called VF/VT 95.4 / 96.7 % -> 95.6 / 95.0 %, VT 88.8 / 89.9 % -> 76.2 /
   81.0 % (vfdb 611 and 602 lose most of their VT windows to SVT and Normal), Normal 0.6 / 2.4 % ->
   1.0 / 1.8 %; replaying every vfdb VF episode through the monitor's path with the fold models
   (seed 20240601), the VF/VT call comes within 5 s (worst case) for 109 of 111 episodes instead of
   95, and for 37 instead of 27 of the 39 lasting 5 s or more. The onset windows are the lever for
   the alarm's latency, but VF and VT onsets together cost VT sensitivity below its bar. **VF
   onsets alone (the default, ``--onset-windows VF``)**: VF 96.2 / 96.4 %, VT 90.3 / 90.7 %, Normal
   0.6 / 0.8 %, all three shock-advisory bars met on both seeds, and the held-out call within 5 s
   for 100 of the 111 VF episodes (32 of the 39 lasting 5 s or more). (These latencies, classifying
   every 2 s, took the first positive strip plus one period; taken over every phase of the server's
   classifications, as the benchmark has done since December 2026, the shipped procedure gives 78
   of 111 every 2 s and 94 every second, the monitor's cadence now; 27 and 33 of the 39.) The same
   two baseline runs show how far one procedure moves with its seed and thread count: Normal called
   VF/VT 0.6 % and 2.4 % (the previous card's two-thread runs: 0.80 % and 1.15 %), almost all of it
   vfdb 418 and 419; ``--onset-windows`` alone (no class) trains without onset windows.
2. **Imbalance: square-root sampling.** Each epoch draws `TrainingConfig.windows_per_epoch`
   windows with replacement; a class is drawn with probability proportional to the square root
   of its window count (`class_draw_shares`), a window of that class uniformly. Normal (15,457
   windows) then makes about a third of an epoch instead of two thirds, SVT (310) about 5 %
   instead of 1 %. Fully balanced sampling (exponent 0) would show the 310 SVT windows fifty
   times an epoch and teach the model a uniform prior, which costs precision on the rare classes
   (every Normal window mistaken is a false alarm); square-root sampling is the usual middle
   (Mahajan et al. 2018 sample by the square root of frequency for the same reason). Within a
   class, subjects are drawn the same way (`subject_draw_weights`): a subject's share grows with
   the square root of its windows, so VF is learnt from all nine subjects that carry it and not
   mostly from vfdb 430's 210 windows.
3. **Noise class**: a Noise draw is, in the shares `NOISE_SOURCE_SHARES`, a vfdb ``(NOISE``
   window of the training records, a window of nstdb electrode motion or muscle artefact alone
   from the training half (`pipeline.rhythm_augment.noise_class_windows`), or a synthetic
   unreadable window (`synthetic_noise_windows`): white Gaussian noise of any amplitude, or a
   flat line with a little noise (a lead that is off). So a flat or random lead is Noise, never
   a rhythm.
4. **Augmentation** of every drawn window, each with its own probability
   (`pipeline.rhythm_augment.window_augmented`: amplitude drift, real nstdb noise at 6-24 dB SNR,
   synthetic baseline wander, circular time shift up to 2.5 s), and here, for other devices
   (`device_filtered`): a low-pass at 25-45 Hz (monitors and many Holters record 0.5-40 Hz) or
   a 0.5-Hz high-pass (monitoring mode), and polarity inversion (probability 0.3: vfdb does
   not name its leads, and a lead other than II can be upside down). The epoch is drawn and
   augmented afresh every epoch from a `numpy.random.Generator` seeded by ``seed``. Optionally
   (``--rate-scaling P``, off by default) a drawn window is played up to 1.3 times faster
   (`pipeline.rhythm_augment.rate_scaled`), so that each rhythm is seen at faster rates than its
   training subjects had. Faster only: a slower VT or SVT would fall under 100/min, which
   defines them, and a slower sinus window would stretch its PR interval towards first-degree
   block; Heart block windows are never scaled (a faster one would shorten the PR interval that
   defines first-degree block), nor Noise. Measured with ``--rate-scaling 0.5`` on three seeds
   (December 2026, `docs/rhythm-rate-scaling.json`) and not adopted: Normal windows called VF/VT
   fell from 0.94 / 1.91 / 1.41 % to 0.67 / 0.98 / 0.53 % (vfdb 418's wide-complex sinus rhythm
   at 112/min: 86 / 254 / 183 of 297 windows called VF/VT, now 57 / 108 / 52), but VT windows
   called VF/VT fell from 90.6 / 89.2 / 88.3 % to 83.7 / 76.6 / 69.8 % (vfdb 611's VT at about
   140/min: 121 / 56 / 6 of 179), under the 85 % bar on every seed.
5. **Optimisation**: Adam (Kingma & Ba 2015), learning rate decayed along a cosine to zero
   (Loshchilov & Hutter 2017), batch 64, categorical cross-entropy with label smoothing 0.05
   (Szegedy et al. 2016: keeps the probabilities from saturating, so a doubtful window is not
   reported at 1.00), 12 epochs of 8192 windows. No early stopping: a fixed number of epochs, so
   that a training run is the same whether or not a validation set is held out. About 2.5 min
   on 2 CPU cores (x86-64 with AVX-512).

`python -m pipeline.train` then writes ``rhythm_cnn.keras`` (the Keras 3 format: architecture
and weights in one file), the same model as ``rhythm_cnn.onnx`` (what the app runs with ONNX
Runtime, `pipeline.rhythm_cnn`) and its card, ``rhythm_cnn.card.json`` and ``rhythm_cnn.card.md``:
classes, rate, window, the label table, data, split, the cross-validation's metrics (from
``--cv-report``, the JSON `pipeline.evaluate` writes), the command, seed, date and library
versions. ``--card-only --cv-report REPORT --out DIR`` puts a new cross-validation into the card
of the model already in DIR without training (`card_evaluation_replaced`: same configuration and
seed, or refused).

Seeds: NumPy's generator, Python's and TensorFlow's (`keras.utils.set_random_seed`) all follow
``seed``, and TensorFlow runs without its oneDNN kernels, whose sums varied from run to run
(`pipeline.rhythm_model.tensorflow_made_reproducible`): the same command with the same
``--threads`` (the card records the number) trains the same model bit for bit on the same
machine. Not on another CPU: in December 2026 the card's three cross-validations, rerun on
another x86-64 machine with AVX-512 (AMD EPYC) with the same code, library versions and
windows (the dataset rebuilt equal bit for bit), ended elsewhere: seed 20240601 macro-F1 0.468
instead of 0.490 and VT called VF/VT 77.3 % instead of 90.6 %; seeds 7 and 11 called 0.81 and
0.50 % of normal windows VF/VT instead of 1.91 and 1.41 % (`docs/rhythm-cv-rerun.json`).
TensorFlow's training arithmetic depends on the CPU; each rerun is another draw of the
procedure, and the spread between them is the procedure's own.

References:
    Mahajan D, Girshick R, Ramanathan V, et al. Exploring the limits of weakly supervised
    pretraining. ECCV 2018 (square-root class sampling).
    Kingma DP, Ba J. Adam: a method for stochastic optimization. ICLR 2015.
    Loshchilov I, Hutter F. SGDR: stochastic gradient descent with warm restarts. ICLR 2017.
    Szegedy C, Vanhoucke V, Ioffe S, et al. Rethinking the Inception architecture for computer
    vision. CVPR 2016 (label smoothing).

Command line:
    python -m pipeline.train --data DIR --out DIR [--epochs N] [--seed S] [--threads N] [--records ID ...]
        [--ptbxl DIR] [--cv-report FILE.json] [--windows-per-epoch N] [--rate-scaling P]
    python -m pipeline.train --data DIR --out DIR --card-only --cv-report FILE.json [--replicate F ...]
    python -m pipeline.train --data DIR --out DIR --card-only --external FILE.json [--external FILE.json ...]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.signal import butter, sosfiltfilt

from pipeline.rhythm import RHYTHM_CLASSES
from pipeline.rhythm_augment import (
    NoiseBank,
    noise_class_windows,
    nstdb_noise_bank,
    rate_scaled,
    rate_scaled_features,
    windows_augmented,
)
from pipeline.rhythm_cnn import export_onnx
from pipeline.rhythm_dataset import (
    DEFAULT_STRIDE_S,
    TARGET_FS_HZ,
    WINDOW_S,
    RhythmDataset,
    rhythm_dataset_built,
    window_normalised,
)
from pipeline.rhythm_features import RR_FEATURE_NAMES, window_features
from pipeline.rhythm_labels import PTBXL_CODE_CLASSES, WFDB_RHYTHM_CLASSES
from pipeline.rhythm_model import DEFAULT_SEED, MODEL_NAME, rhythm_cnn_built, tensorflow_made_reproducible

if TYPE_CHECKING:
    import keras

NOISE_CLASS = RHYTHM_CLASSES.index("Noise")
INPUT_SAMPLES = round(WINDOW_S * TARGET_FS_HZ)

# nstdb's em and ma training halves hold 2 records x 2 channels x 900 s: 360 distinct 10-s
# windows; the Noise class's draw share counts them beside vfdb's (NOISE windows.
NSTDB_NOISE_WINDOWS = 360
# Where a Noise draw comes from: vfdb (NOISE windows, nstdb em/ma alone, synthetic (flat/white).
NOISE_SOURCE_SHARES = {"recorded": 0.5, "nstdb": 0.35, "synthetic": 0.15}
# Synthetic unreadable leads: white noise of this standard deviation (mV, log-uniform), or a
# flat line carrying noise below validate's 0.02-mV floor for a live lead.
WHITE_NOISE_MV = (0.01, 2.0)
FLAT_NOISE_MV = (0.0001, 0.005)

# Device bandwidths (see the module docstring): low-pass corners (Hz) and a monitoring high-pass.
LOWPASS_HZ = (25.0, 35.0, 45.0)
HIGHPASS_HZ = 0.5
FILTER_ORDER = 2

MODEL_FILE = f"{MODEL_NAME}.keras"
CARD_JSON = f"{MODEL_NAME}.card.json"
CARD_MARKDOWN = f"{MODEL_NAME}.card.md"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class TrainingConfig:
    """How a model is trained (the module docstring gives the reasons).

    Attributes:
        epochs: passes, each over a freshly drawn and augmented epoch.
        windows_per_epoch: windows drawn per epoch (with replacement).
        batch_size: windows per gradient step.
        learning_rate: Adam's initial rate, decayed along a cosine to 0.
        label_smoothing: mass moved from the true class to all classes evenly.
        sampling_exponent: a class is drawn in proportion to (its windows) ** this; 0 is balanced.
        subject_exponent: within a class, a subject is drawn in proportion to (its windows) ** this.
        p_lowpass, p_highpass, p_invert: probabilities of the device augmentations.
        onset_classes: train also on the windows that end in the first 3-9 s of an episode of
            these classes (`pipeline.rhythm_dataset.onset_window_ends`); VF by default (module
            docstring, step 1).
        rate_scaling, rate_scaling_max: probability that a drawn window of a class in
            `RATE_SCALED_CLASSES` is played faster (`pipeline.rhythm_augment.rate_scaled`), by a
            factor drawn log-uniformly between 1 and ``rate_scaling_max``; 0: never (module
            docstring, step 4).
    """

    epochs: int = 12
    windows_per_epoch: int = 8192
    batch_size: int = 64
    learning_rate: float = 2e-3
    label_smoothing: float = 0.05
    sampling_exponent: float = 0.5
    subject_exponent: float = 0.5
    p_lowpass: float = 0.25
    p_highpass: float = 0.2
    p_invert: float = 0.3
    onset_classes: tuple[str, ...] = ("VF",)
    rate_scaling: float = 0.0
    rate_scaling_max: float = 1.3


DEFAULT_CONFIG = TrainingConfig()
# The classes whose windows rate scaling may play faster (module docstring, step 4).
RATE_SCALED_CLASSES = ("Normal", "SVT", "AF", "VF", "VT", "Other")


@dataclass(frozen=True)
class TrainedModel:
    """A trained network and what went into it.

    Attributes:
        model: the Keras model.
        config: the training configuration.
        seed: the seed.
        train_windows: the training set's windows per class (before sampling), all leads.
        records: the training records.
        seconds: the training's wall-clock time, s.
        other_lead_windows: how many of the windows are of a record's other leads, not of its
            lead closest to II (`pipeline.rhythm_dataset.RhythmDataset.primary`).
    """

    model: Any
    config: TrainingConfig
    seed: int
    train_windows: dict[str, int]
    records: tuple[str, ...]
    seconds: float
    history: list[float] = field(default_factory=list)
    other_lead_windows: int = 0


def class_draw_shares(class_counts: np.ndarray, exponent: float) -> np.ndarray:
    """Each class's share of an epoch: proportional to ``count ** exponent``, 0 for an absent class."""
    counts = np.asarray(class_counts, dtype=np.float64)
    weights = np.where(counts > 0, counts**exponent, 0.0)
    return weights / weights.sum()


def synthetic_noise_windows(n_windows: int, rng: np.random.Generator) -> np.ndarray:
    """Unreadable leads, normalised: half white Gaussian noise, half a flat line with a trace of noise."""
    windows = np.empty((n_windows, INPUT_SAMPLES), dtype=np.float32)
    for row in range(n_windows):
        scale = WHITE_NOISE_MV if rng.random() < 0.5 else FLAT_NOISE_MV
        sd = np.exp(rng.uniform(np.log(scale[0]), np.log(scale[1])))
        windows[row] = window_normalised(rng.normal(0.0, sd, INPUT_SAMPLES))
    return windows


def _sos_bank() -> tuple[list[np.ndarray], np.ndarray]:
    lowpass = [butter(FILTER_ORDER, hz, btype="lowpass", fs=TARGET_FS_HZ, output="sos") for hz in LOWPASS_HZ]
    highpass = butter(FILTER_ORDER, HIGHPASS_HZ, btype="highpass", fs=TARGET_FS_HZ, output="sos")
    return lowpass, highpass


def device_filtered(windows: np.ndarray, rng: np.random.Generator, config: TrainingConfig) -> np.ndarray:
    """``windows`` (normalised) low-passed, high-passed or inverted at random, as other devices record."""
    lowpass, highpass = _sos_bank()
    out = np.array(windows, dtype=np.float64)
    for row in range(out.shape[0]):
        changed = False
        if rng.random() < config.p_lowpass:
            out[row] = sosfiltfilt(lowpass[int(rng.integers(0, len(lowpass)))], out[row])
            changed = True
        if rng.random() < config.p_highpass:
            out[row] = sosfiltfilt(highpass, out[row])
            changed = True
        if rng.random() < config.p_invert:
            out[row] = -out[row]
            changed = True
        if changed:
            out[row] = window_normalised(out[row])
    return out.astype(np.float32)


def epoch_drawn(
    dataset: RhythmDataset,
    bank: NoiseBank,
    rng: np.random.Generator,
    config: TrainingConfig,
    n_windows: int | None = None,
    following: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One training epoch: windows drawn by square-root sampling, Noise sources mixed, augmented.

    ``following``: `following_windows` of ``dataset`` when the caller has it (rate scaling
    needs it; found here otherwise).

    Returns ``(X, rr, y)``: float32 windows x samples, their RR features (the drawn window's own,
    from its recording's beats, or detected in the window for nstdb and synthetic noise) and
    class indices, shuffled.
    """
    n_windows = config.windows_per_epoch if n_windows is None else n_windows
    if config.rate_scaling > 0 and following is None:
        following = following_windows(dataset)
    counts = np.bincount(dataset.y, minlength=len(RHYTHM_CLASSES)).astype(np.float64)
    counts[NOISE_CLASS] += NSTDB_NOISE_WINDOWS
    per_class = rng.multinomial(n_windows, class_draw_shares(counts, config.sampling_exponent))
    parts_x: list[np.ndarray] = []
    parts_rr: list[np.ndarray] = []
    parts_y: list[np.ndarray] = []
    for c, n in enumerate(per_class):
        if n == 0:
            continue
        if c == NOISE_CLASS:
            x, rr = _noise_draws(dataset, bank, rng, int(n))
        else:
            rows = _rows_drawn(dataset, c, int(n), rng, config.subject_exponent)
            x, rr = dataset.X[rows], dataset.rr[rows]
            if config.rate_scaling > 0 and RHYTHM_CLASSES[c] in RATE_SCALED_CLASSES:
                x, rr = _rates_scaled(dataset, following, rows, rng, config)
            x = windows_augmented(x, bank, rng)
        parts_x.append(x)
        parts_rr.append(rr)
        parts_y.append(np.full(int(n), c, dtype=np.int64))
    X, rr, y = np.concatenate(parts_x), np.concatenate(parts_rr), np.concatenate(parts_y)
    X = device_filtered(X, rng, config)
    order = rng.permutation(y.size)
    return X[order], rr[order], y[order]


def following_windows(dataset: RhythmDataset) -> np.ndarray:
    """Per window, the row of the window that continues it (same record and lead, the same
    class covering both wholly, starting `DEFAULT_STRIDE_S` later), or -1 where there is none."""
    keys = list(
        zip(dataset.record, dataset.lead, np.round(dataset.start_s * 1000).astype(np.int64), strict=True)
    )
    row_of = {key: row for row, key in enumerate(keys) if dataset.pure[row]}
    following = np.full(len(dataset), -1, dtype=np.int64)
    step_ms = round(DEFAULT_STRIDE_S * 1000)
    for row, (record, lead, start_ms) in enumerate(keys):
        after = row_of.get((record, lead, start_ms + step_ms), -1)
        if dataset.pure[row] and after >= 0 and dataset.y[after] == dataset.y[row]:
            following[row] = after
    return following


def _rates_scaled(
    dataset: RhythmDataset,
    following: np.ndarray,
    rows: np.ndarray,
    rng: np.random.Generator,
    config: TrainingConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """The windows at ``rows`` and their RR features, each played faster with probability
    ``config.rate_scaling`` where the window that continues it (``following``) exists (step 4)."""
    x, rr = np.array(dataset.X[rows]), np.array(dataset.rr[rows])
    chosen = rng.random(rows.size) < config.rate_scaling
    factors = np.exp(rng.uniform(0.0, np.log(config.rate_scaling_max), rows.size))
    for i in np.flatnonzero(chosen & (following[rows] >= 0)):
        x[i] = rate_scaled(dataset.X[rows[i]], dataset.X[following[rows[i]]], factors[i])
        rr[i] = rate_scaled_features(rr[i], factors[i])
    return x, rr


def subject_draw_weights(subjects: np.ndarray, exponent: float) -> np.ndarray:
    """Per window, its draw probability within its class: a subject weighs ``windows ** exponent``.

    With exponent 0.5 a subject with 400 windows of a class is drawn twice as often as one with
    100, not four times: a class is learnt from all its subjects, not mostly from the largest.
    """
    _, inverse, counts = np.unique(subjects, return_inverse=True, return_counts=True)
    weights = counts[inverse].astype(np.float64) ** (exponent - 1.0)
    return weights / weights.sum()


def _rows_drawn(
    dataset: RhythmDataset, c: int, n: int, rng: np.random.Generator, exponent: float
) -> np.ndarray:
    rows = np.flatnonzero(dataset.y == c)
    return rng.choice(rows, size=n, replace=True, p=subject_draw_weights(dataset.subject[rows], exponent))


def _noise_draws(
    dataset: RhythmDataset, bank: NoiseBank, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray]:
    recorded = np.flatnonzero(dataset.y == NOISE_CLASS)
    shares = dict(NOISE_SOURCE_SHARES)
    if recorded.size == 0:
        shares["nstdb"] += shares.pop("recorded")
    names = list(shares)
    sources = rng.choice(len(names), size=n, p=np.asarray([shares[k] for k in names]))
    parts_x, parts_rr = [], []
    for i, name in enumerate(names):
        k = int(np.sum(sources == i))
        if k == 0:
            continue
        if name == "recorded":
            rows = rng.choice(recorded, size=k, p=subject_draw_weights(dataset.subject[recorded], 0.5))
            parts_x.append(windows_augmented(dataset.X[rows], bank, rng))
            parts_rr.append(dataset.rr[rows])
            continue
        windows = noise_class_windows(bank, k, rng) if name == "nstdb" else synthetic_noise_windows(k, rng)
        parts_x.append(windows)
        parts_rr.append(window_features(windows, TARGET_FS_HZ))
    return np.concatenate(parts_x), np.concatenate(parts_rr)


def model_trained(
    dataset: RhythmDataset,
    bank: NoiseBank,
    *,
    config: TrainingConfig = DEFAULT_CONFIG,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> TrainedModel:
    """A model trained from scratch on ``dataset`` with noise from ``bank`` (its training half).

    Args:
        dataset: the training windows (never the windows it will be scored on).
        bank: nstdb noise, training half.
        config: how to train.
        seed: seeds the initial weights, the sampling and the augmentation.
        progress: called with one line per epoch, or None.
    """
    import keras

    started = time.perf_counter()
    model = rhythm_cnn_built(seed)
    rng = np.random.default_rng(seed)
    steps = config.epochs * int(np.ceil(config.windows_per_epoch / config.batch_size))
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=keras.optimizers.schedules.CosineDecay(config.learning_rate, max(steps, 1))
        ),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    losses: list[float] = []
    following = following_windows(dataset) if config.rate_scaling > 0 else None
    for epoch in range(config.epochs):
        X, rr, y = epoch_drawn(dataset, bank, rng, config, following=following)
        targets = keras.utils.to_categorical(y, len(RHYTHM_CLASSES))
        fitted = model.fit([X, rr], targets, batch_size=config.batch_size, epochs=1, shuffle=False, verbose=0)
        losses.append(float(fitted.history["loss"][-1]))
        if progress is not None:
            accuracy = fitted.history["accuracy"][-1]
            progress(
                f"epoch {epoch + 1}/{config.epochs}: loss {losses[-1]:.4f}, accuracy {accuracy:.3f}, "
                f"{time.perf_counter() - started:.0f} s"
            )
    return TrainedModel(
        model=model,
        config=config,
        seed=seed,
        train_windows=dataset.class_windows(),
        records=tuple(sorted({str(r) for r in dataset.record})),
        seconds=time.perf_counter() - started,
        history=losses,
        other_lead_windows=int(np.sum(~dataset.primary)),
    )


def machine_described() -> str:
    """The machine a model was trained or measured on: architecture, CPU model, cores. The CPU is
    part of a training run's arithmetic (`_threads_markdown`), so the card names it."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            names = (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
            model = next(names, "")
    except OSError:  # not Linux: the platform's own name, where it gives one
        model = platform.processor()
    return ", ".join(part for part in (platform.machine(), model, f"{os.cpu_count()} CPU cores") if part)


def library_versions() -> dict[str, str]:
    """The versions of Python and of the libraries a model depends on."""
    import keras
    import scipy
    import tensorflow as tf
    import wfdb

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "wfdb": wfdb.__version__,
    }


def model_card(
    trained: TrainedModel,
    *,
    command: str,
    data: str,
    cv_report: Mapping[str, Any] | None,
    model_file: str = MODEL_FILE,
    all_records: bool = True,
) -> dict[str, Any]:
    """The model card's content (written as JSON and Markdown by `model_written`).

    ``all_records``: the model was trained on every record of the data (the shipped model, after
    the cross-validation), not on a chosen few (``--records``).
    """
    trained_on = (
        "every record of the data (all folds), after the cross-validation"
        if all_records
        else f"only the records {', '.join(trained.records)} (--records)"
    )
    return {
        "model": MODEL_NAME,
        "file": model_file,
        "task": "rhythm class of one 10-s single-lead ECG window",
        "classes": list(RHYTHM_CLASSES),
        "fs_hz": TARGET_FS_HZ,
        "window_s": WINDOW_S,
        "inference_stride_s": DEFAULT_STRIDE_S,
        "input": (
            "one lead (the lead closest to II), resampled to 250 Hz, 10-s windows, each minus its "
            "median and divided by its 1st-99th percentile range (pipeline.rhythm_dataset.lead_windows); "
            "and the beat features of each window (RR intervals from the R peaks of the whole lead, "
            "P waves and PR intervals from the delineation of all leads: pipeline.rhythm_features)"
        ),
        "rr_features": list(RR_FEATURE_NAMES),
        "label_table": {
            "source": "pipeline/rhythm_labels.py (WFDB_RHYTHM_CLASSES, PTBXL_CODE_CLASSES)",
            "wfdb": dict(WFDB_RHYTHM_CLASSES),
            "ptbxl": dict(PTBXL_CODE_CLASSES),
        },
        "data": {
            "source": data,
            "databases": sorted({record.split("/")[0] for record in trained.records}),
            "records": len(trained.records),
            "windows_per_class": trained.train_windows,
            "other_lead_windows": trained.other_lead_windows,
            "noise": "nstdb em/ma/bw, first half (0-15 min) only; the second half is kept for evaluation",
            "windows": (
                "10 s every 5 s; windows straddling a class change dropped, except the onset windows "
                f"(ending 3-9 s into an episode of {', '.join(trained.config.onset_classes) or 'no class'}); "
                "asystole excluded; the lead closest to II (with --other-leads also the records' other "
                "leads, for training)"
            ),
        },
        "training": {
            "command": command,
            "seed": trained.seed,
            "config": asdict(trained.config),
            "seconds": round(trained.seconds, 1),
            "final_loss": round(trained.history[-1], 4) if trained.history else None,
            "parameters": int(trained.model.count_params()),
            "trained_on": trained_on,
            "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": machine_described(),
        },
        "libraries": library_versions(),
        "evaluation": dict(cv_report) if cv_report is not None else None,
    }


def _threads_markdown(threads: int | None) -> str:
    if threads is None:
        return (
            "- Threads: not recorded. This model was trained before training was made to repeat bit for "
            "bit (oneDNN off, December 2026): the same command now trains another draw of the same procedure."
        )
    return (
        f"- Threads: {threads}, oneDNN off: the same command with `--threads {threads}` trains this "
        "model again bit for bit on the same machine. The CPU is part of the arithmetic: on another one, "
        "with the same data, code and libraries, TensorFlow rounds differently and the command trains "
        "another draw of the same procedure (`docs/rhythm-cv-rerun.json`)."
    )


def card_markdown(card: Mapping[str, Any]) -> str:
    """The model card as Markdown, for people."""
    lines = [
        f"# Model card: {card['model']}",
        "",
        f"**Task**: {card['task']}. **Classes**: {', '.join(card['classes'])}.",
        "",
        f"**Input**: {card['input']}. Rate {card['fs_hz']:g} Hz, window {card['window_s']:g} s; "
        f"inference every {card['inference_stride_s']:g} s (pipeline/rhythm_cnn.py).",
        "",
        "## Data",
        "",
        f"- Source: `{card['data']['source']}`; databases {', '.join(card['data']['databases'])}; "
        f"{card['data']['records']} records.",
        f"- Windows: {card['data']['windows']}.",
        f"- Noise: {card['data']['noise']}.",
        "- Windows per class (all leads): "
        + ", ".join(f"{name} {n}" for name, n in card["data"]["windows_per_class"].items())
        + f"; {card['data'].get('other_lead_windows', 0)} of them of other leads than the one closest to II.",
        f"- Label table: {card['label_table']['source']}.",
        "",
        "| label | class |",
        "|---|---|",
        *[f"| `{label}` | {cls} |" for label, cls in card["label_table"]["wfdb"].items()],
        "",
        "## Training",
        "",
        f"- Command: `{card['training']['command']}`",
        f"- Seed {card['training']['seed']}; {card['training']['parameters']:,} parameters; "
        f"{card['training']['seconds']:.0f} s on {card['training']['machine']}; "
        f"{card['training']['date_utc']}.",
        f"- Configuration: `{json.dumps(card['training']['config'])}`",
        _threads_markdown(card["training"].get("threads")),
        f"- {card['training']['trained_on']}.",
        "- Libraries: " + ", ".join(f"{k} {v}" for k, v in card["libraries"].items()) + ".",
        "",
    ]
    lines += _evaluation_markdown(card.get("evaluation"))
    lines += _replicates_markdown(card.get("evaluation_replicates") or [])
    lines += _external_markdown(card.get("external_checks") or [])
    return "\n".join(lines) + "\n"


# What the card keeps of an external check (`pipeline.evaluate_external`).
EXTERNAL_KEYS = ("database", "resolution", "windows", "records", "skipped_records", "per_class", "command")


def card_external_checks_set(out_dir: str | os.PathLike[str], reports: Sequence[Mapping[str, Any]]) -> Path:
    """List ``reports`` (of `pipeline.evaluate_external`) in the card of the model in ``out_dir``
    (JSON + Markdown) as its external checks, replacing earlier ones; returns the JSON card's path.

    Raises:
        ValueError: a report scored another model file than the card's.
    """
    path = Path(out_dir) / CARD_JSON
    card = json.loads(path.read_text(encoding="utf-8"))
    for report in reports:
        if Path(str(report.get("model", ""))).name != card["file"]:
            raise ValueError(
                f"The external check scored '{report.get('model')}', not this card's model {card['file']}."
            )
    card["external_checks"] = [_external_check(report) for report in reports]
    return _card_written(out_dir, card)


def _external_check(report: Mapping[str, Any]) -> dict[str, Any]:
    """What the card keeps of one external report: against rhythm labels, or against beat labels."""
    if "per_category" in report:  # `pipeline.evaluate_external --reference beats`
        return {
            **{key: report.get(key) for key in EXTERNAL_KEYS if key != "per_class"},
            "reference": "beats",
            "vf_vt_windows_called": report["shock_advisory"]["windows_called"],
            "per_category": report["per_category"],
            "per_source": report["per_source"],
        }
    return {
        **{key: report.get(key) for key in EXTERNAL_KEYS},
        "vf_vt_windows_called": report["shock_advisory"]["windows_called"],
        "normal_called_vf_or_vt": report["shock_advisory"]["normal_called_vf_or_vt"],
        "confusion_matrix": report["confusion_matrix"],
    }


def _card_written(out_dir: str | os.PathLike[str], card: Mapping[str, Any]) -> Path:
    """Write ``card`` into ``out_dir`` as JSON and Markdown; returns the JSON's path."""
    path = Path(out_dir) / CARD_JSON
    path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (Path(out_dir) / CARD_MARKDOWN).write_text(card_markdown(card), encoding="utf-8")
    return path


def _external_markdown(checks: Sequence[Mapping[str, Any]]) -> list[str]:
    if not checks:
        return []
    lines = [
        "",
        "## External checks (databases the model never saw; `python -m pipeline.evaluate_external`)",
        "",
    ]
    for check in checks:
        if check.get("reference") == "beats":
            lines.append(_beat_check_markdown(check))
            continue
        rate = {"hr": ", 500 Hz", "lr": ", 100 Hz"}.get(check.get("resolution") or "", "")
        called = ", ".join(
            f"{name} {round((m['sensitivity'] or 0.0) * m['support'])} of {m['support']} called {name}"
            for name, m in check["per_class"].items()
            if m["support"] > 0
        )
        lines += [
            f"- {check['database']}{rate}: {check['windows']} windows of {check['records']} records "
            f"({check['skipped_records']} left out); {called}; VF/VT called on "
            f"{check['vf_vt_windows_called']} windows (`{check['command']}`).",
        ]
    return lines


def _beat_check_markdown(check: Mapping[str, Any]) -> str:
    """One line of the card for an external check against beat labels (`pipeline.beat_reference`)."""

    def category(name: str, what: str) -> str:
        counts = check["per_category"][name]
        share = counts["share_called_vf_vt"]
        called_normal = counts["called"].get("Normal", 0)
        return (
            f"{counts['windows']} windows {what}: {counts['called_vf_vt']} called VF/VT"
            + (f" ({100 * share:.2f} %)" if share is not None else "")
            + f", {called_normal} called Normal"
        )

    return (
        f"- {check['database']}, against its beat labels: {check['records']} records "
        f"({check['skipped_records']} left out); "
        f"{category('supraventricular', 'without a ventricular beat')}; "
        f"{category('ventricular', 'with ventricular beats')} (`{check['command']}`)."
    )


def _evaluation_markdown(report: Mapping[str, Any] | None) -> list[str]:
    if not report:
        return ["## Evaluation", "", "No cross-validation report was given (`--cv-report`)."]
    lines = ["## Evaluation (record-level cross-validation)", "", report.get("split", ""), ""]
    lines += [f"Command: `{report.get('command', '')}`", ""]
    if report.get("rescored_by"):
        lines += [
            f"VF/VT call scored again from the saved out-of-fold probabilities: `{report['rescored_by']}`",
            "",
        ]
    lines += ["| class | windows | sensitivity | PPV | F1 |", "|---|---|---|---|---|"]
    for name, m in report["per_class"].items():
        lines.append(
            f"| {name} | {m['support']} | {_pct(m['sensitivity'])} | {_pct(m['ppv'])} | {_pct(m['f1'])} |"
        )
    lines += ["", f"**Macro-F1** over the classes with data: {report['macro_f1']:.3f}.", ""]
    lines += _shock_markdown(report["shock_advisory"], report.get("shock_advisory_argmax"))
    noise = report.get("nstdb_eval_noise")
    if noise:
        lines += [
            f"**nstdb noise, evaluation half** ({noise['windows']} windows of em/ma alone): called Noise "
            f"{_pct(noise['called_noise'])}, called VF or VT {_pct(noise['called_vf_or_vt'])}.",
            "",
        ]
    bars = report.get("bars")
    if bars:
        lines += ["| bar | value | met |", "|---|---|---|"]
        lines += [f"| {b['bar']} | {b['value']:.3f} | {'yes' if b['met'] else 'no'} |" for b in bars]
        lines.append("")
    names = list(report["per_class"])
    lines += ["Confusion matrix (rows: reference, columns: model):", ""]
    lines += ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name, row in zip(names, report["confusion_matrix"], strict=True):
        lines.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
    speed = report.get("speed")
    if speed:
        lines += [
            "",
            f"**Speed** ({speed['machine']}): {speed['ms_per_window']:.3f} ms per 10-s window batched; "
            f"{speed['record_30min_s']:.3f} s for a 30-min record's {speed['record_30min_windows']} "
            f"windows (model), {speed['record_30min_with_preprocessing_s']:.3f} s with beat detection "
            f"({speed.get('beat_detection_s', float('nan')):.3f} s; in an analysis its beats step does "
            "it once), resampling, windowing and RR features.",
        ]
        onnx = speed.get("onnx") or {}
        if onnx.get("measured"):
            lines.append(
                f"The same batch in ONNX Runtime {onnx['onnxruntime']} ({onnx.get('threads', 'all')} "
                f"thread(s), as the app runs it): {onnx['ms_per_window']:.3f} ms per window, "
                f"{onnx['record_30min_s']:.3f} s per record (largest probability difference "
                f"{onnx['largest_probability_difference']:.1e})."
            )
        elif onnx:
            lines.append(f"ONNX Runtime not measured: {onnx['reason']}.")
    return lines


def _replicates_markdown(replicates: Sequence[Mapping[str, Any]]) -> list[str]:
    """The replicate cross-validations' bars (a bar is met only where every one meets it)."""
    if not replicates:
        return []
    lines = [
        "",
        "## Replicates (the same procedure, other seeds; a bar counts as met only where all meet it)",
        "",
    ]
    for replicate in replicates:
        values = "; ".join(
            f"{b['bar']}: {b['value']:.4f} ({'met' if b['met'] else 'missed'})" for b in replicate["bars"]
        )
        lines += [f"- Seed {replicate['seed']} (`{replicate['command']}`): {values}.", ""]
    return lines


def _shock_markdown(shock: Mapping[str, Any], argmax: Mapping[str, Any] | None) -> list[str]:
    """The shock-advisory paragraph: the VF/VT call with its threshold, and the eight-class view."""

    def shares(view: Mapping[str, Any]) -> str:
        text = (
            f"VF windows called VF or VT {_pct(view['vf_called_vf_or_vt'])}; "
            f"VT windows called VF or VT {_pct(view['vt_called_vf_or_vt'])}; "
            f"Normal windows called VF or VT {_pct(view['normal_called_vf_or_vt'])}"
        )
        if view.get("noise_called_vf_or_vt") is not None:
            text += f"; vfdb noise windows called VF or VT {_pct(view['noise_called_vf_or_vt'])}"
        return text + "."

    if "threshold" not in shock:
        return [f"**Shock-advisory view**: {shares(shock)}", ""]
    lines = [f"**VF/VT call** ({shock['rule']}; the bars read it): {shares(shock)}"]
    noise = shock.get("nstdb_eval_noise_called_vf_or_vt")
    if noise is not None:
        lines[-1] += f" nstdb evaluation noise called VF or VT {_pct(noise)}."
    if argmax:
        lines += ["", f"**Eight-class view** (VF or VT the most probable class): {shares(argmax)}"]
    return [*lines, ""]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def inference_model(trained: TrainedModel) -> keras.Model:
    """The trained network without its optimiser's state (what inference needs, a third of the size)."""
    model = rhythm_cnn_built(trained.seed)
    model.set_weights(trained.model.get_weights())
    return model


def model_written(trained: TrainedModel, card: Mapping[str, Any], out_dir: str | os.PathLike[str]) -> Path:
    """Write the model, its ONNX export and its card (JSON + Markdown) into ``out_dir``; returns
    the model's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / MODEL_FILE
    model = inference_model(trained)
    model.save(path)
    export_onnx(model, path.with_suffix(".onnx"))  # what the app runs (pipeline.rhythm_cnn)
    (out / CARD_JSON).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / CARD_MARKDOWN).write_text(card_markdown(card), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    config = training_config(args)
    if args.card_only and args.external and not args.cv_report:
        try:
            reports = [json.loads(Path(f).read_text(encoding="utf-8")) for f in args.external]
            path = card_external_checks_set(args.out, reports)
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        print(f"{path}: external checks from {', '.join(args.external)}")
        return 0
    if args.card_only:
        if not args.cv_report:
            print("--card-only needs --cv-report or --external", file=sys.stderr)
            return 2
        replicates = [json.loads(Path(f).read_text(encoding="utf-8")) for f in args.replicate or ()]
        try:
            report = json.loads(Path(args.cv_report).read_text(encoding="utf-8"))
            path = card_evaluation_replaced(args.out, report, replicates)
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        print(f"{path}: evaluation from {args.cv_report}")
        return 0
    try:
        threads = tensorflow_made_reproducible(args.threads)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    dataset = rhythm_dataset_built(
        args.data,
        records=args.records,
        ptbxl_dir=args.ptbxl,
        other_leads=args.other_leads,
        onset_classes=config.onset_classes,
    )
    bank = nstdb_noise_bank(Path(args.data) / "nstdb", part="train")
    print(f"{len(dataset)} windows from {len(set(dataset.record))} records: {dataset.class_windows()}")
    trained = model_trained(dataset, bank, config=config, seed=args.seed, progress=print)
    cv_report = json.loads(Path(args.cv_report).read_text(encoding="utf-8")) if args.cv_report else None
    command = "python -m pipeline.train " + shlex.join(argv)
    card = model_card(
        trained, command=command, data=str(args.data), cv_report=cv_report, all_records=args.records is None
    )
    card["training"]["threads"] = threads
    path = model_written(trained, card, args.out)
    print(f"trained in {trained.seconds:.0f} s -> {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


# What a replicate cross-validation (another seed) keeps in the card: enough to check its bars.
REPLICATE_KEYS = (
    "command",
    "rescored_by",
    "seed",
    "macro_f1",
    "shock_advisory",
    "shock_advisory_argmax",
    "bars",
)


def card_evaluation_replaced(
    out_dir: str | os.PathLike[str],
    cv_report: Mapping[str, Any],
    replicates: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Put ``cv_report`` into the card of the model in ``out_dir`` (JSON + Markdown), the model
    and the rest of the card untouched; returns the JSON card's path.

    A cross-validation evaluates the training procedure: it may stand in the card of a model that
    the same procedure trained, which is checked as far as the card and report record it (the
    same configuration and seed). ``replicates``: cross-validations of the same procedure with
    other seeds (the figures move with the seed); the card keeps their bars, and a bar counts as
    met only where every one meets it (`pipeline.rhythm_cnn.validation_shortfall`).

    Raises:
        ValueError: the report's configuration or seed differs from the card's training, or a
            replicate's configuration does.
    """
    path = Path(out_dir) / CARD_JSON
    card = json.loads(path.read_text(encoding="utf-8"))
    training = card["training"]
    if cv_report.get("config") != training["config"] or cv_report.get("seed") != training["seed"]:
        raise ValueError(
            f"The cross-validation ran with configuration {cv_report.get('config')} and seed "
            f"{cv_report.get('seed')}, the model was trained with {training['config']} and seed "
            f"{training['seed']}: its card cannot carry that evaluation."
        )
    for replicate in replicates:
        if replicate.get("config") != training["config"]:
            raise ValueError(
                f"A replicate ran with configuration {replicate.get('config')}, the model was trained "
                f"with {training['config']}: it is not a replicate of the same procedure."
            )
    card["evaluation"] = dict(cv_report)
    card["evaluation_replicates"] = [{key: r.get(key) for key in REPLICATE_KEYS} for r in replicates]
    return _card_written(out_dir, card)


def training_config(args: argparse.Namespace) -> TrainingConfig:
    """The configuration the options of `add_training_options` ask for."""
    return TrainingConfig(
        epochs=args.epochs,
        windows_per_epoch=args.windows_per_epoch,
        sampling_exponent=args.sampling_exponent,
        onset_classes=tuple(args.onset_windows or ()),
        rate_scaling=args.rate_scaling,
    )


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """The training options `python -m pipeline.train` and `python -m pipeline.evaluate` share."""
    defaults = TrainingConfig()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--windows-per-epoch", type=int, default=defaults.windows_per_epoch)
    parser.add_argument(
        "--sampling-exponent",
        type=float,
        default=defaults.sampling_exponent,
        help="a class is drawn in proportion to (its windows) ** this (0: balanced, 1: as found)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--threads",
        type=int,
        help="TensorFlow's threads (default: TF_NUM_INTRAOP_THREADS, else every CPU); a run repeats "
        "bit for bit with the same seed and the same number of threads",
    )
    parser.add_argument(
        "--other-leads",
        action="store_true",
        help="train on the records' other leads as well as on the lead closest to II",
    )
    parser.add_argument(
        "--onset-windows",
        nargs="*",
        choices=("VF", "VT"),
        default=list(defaults.onset_classes),
        metavar="CLASS",
        help="train also on windows ending 3-9 s into an episode of these classes (default VF; "
        "the flag alone: none)",
    )
    parser.add_argument(
        "--rate-scaling",
        type=float,
        default=defaults.rate_scaling,
        metavar="P",
        help="play a drawn window up to 1.3 times faster with this probability (default 0: never)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.train", description="Train the rhythm CNN from scratch and write its card."
    )
    parser.add_argument("--data", required=True, help="folder holding mitdb/, vfdb/ and nstdb/")
    parser.add_argument("--out", required=True, help="folder to write the model and its card into")
    add_training_options(parser)
    parser.add_argument("--records", nargs="+", help="only these records, e.g. mitdb/100 vfdb/418")
    parser.add_argument("--ptbxl", help="a full PTB-XL folder to train on as well")
    parser.add_argument("--cv-report", help="the JSON of python -m pipeline.evaluate, for the card")
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="do not train: put --cv-report into the card of the model already in --out "
        "(a cross-validation of the same configuration and seed)",
    )
    parser.add_argument(
        "--replicate",
        action="append",
        metavar="REPORT",
        help="with --card-only: a cross-validation of the same configuration with another seed; its "
        "bars must be met too (repeatable)",
    )
    parser.add_argument(
        "--external",
        action="append",
        metavar="REPORT",
        help="with --card-only and no --cv-report: the JSON of python -m pipeline.evaluate_external "
        "for this model, listed in the card as an external check (repeatable; replaces the list)",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
