"""The rhythm classifier's network: a small residual 1-D CNN over one 10-s window at 250 Hz.

The inputs are one window as `pipeline.rhythm_dataset.lead_windows` makes it (2500 samples at
250 Hz, median removed, divided by the 1st-99th percentile range) and its beat features
(`pipeline.rhythm_features`: rate, irregularity, pauses, R-height variability from the detected
beats, P waves and PR intervals from their delineation); the output is a softmax over the eight
classes of `pipeline.rhythm.RHYTHM_CLASSES`, in that order.

Architecture (`rhythm_cnn_built`), after Hannun et al. (2019) and the 1-D ResNets of Ribeiro et
al. (2020), scaled down so that training from scratch on a 2-core CPU takes minutes and a 30-min
record's 359 windows are classified in a fraction of a second:

1. **Stem**: a convolution of 16 filters, 15 taps (60 ms at 250 Hz: about the QRS complex's
   width), stride 2, batch normalisation and ReLU, then max pooling by 2. The signal then runs
   at 62.5 Hz, enough for the rhythm: what separates the classes (RR regularity, P or f waves,
   QRS width, the fibrillatory waveform) lies below 30 Hz.
2. **Four residual blocks** (He et al. 2016), each halving the time axis (stride 2) and
   widening the channels (`BLOCK_FILTERS`): two 7-tap convolutions with batch normalisation,
   ReLU between them, and a 1x1 strided projection on the shortcut. After them one feature
   covers about 16 samples of 62.5 Hz each way, and the receptive field spans several beats.
3. **Global average and max pooling**, concatenated: the rhythm is a property of the whole
   window wherever in it the beats fall (average), while a single feature, such as one wide beat
   or one burst, can matter too (max), then dropout.
4. **RR branch**: the window's RR features through two dense layers of 32 units (`RR_UNITS`).
   Without them the network confused AF with sinus rhythm and ectopy, and VF with VT (record-
   level cross-validation: AF F1 0.52, VF F1 0.22): it has to infer beat-to-beat intervals over
   10 s from a few dozen subjects, while the intervals are exactly what rhythm diagnosis reads
   first and what generalises across devices (`pipeline.rhythm_features`).
5. **Joint layer**: both branches concatenated, one dense layer of 64 units (`JOINT_UNITS`),
   dropout, and the softmax layer.

About 0.2 M parameters (well under 1 MB saved). Every random initialisation is drawn after
`keras.utils.set_random_seed(seed)`, so a seed reproduces the initial weights.

**Reproducible training** (`tensorflow_made_reproducible`, called by `python -m pipeline.train`
and `python -m pipeline.evaluate` before TensorFlow is imported): a seed alone did not repeat a
training run. TensorFlow's oneDNN kernels (on by default on x86-64) sum in an order that varies
from run to run when they use several threads; the differences grow through training, so two
2-thread runs of one seed on this machine ended 0.40 apart in their largest weight after 2
epochs. With oneDNN off (TensorFlow's Eigen kernels, as fast here: 14.7 against 15.0 s for those
2 epochs) and a fixed number of threads, two runs are equal bit for bit
(tests/pipeline/test_train.py). The thread count is part of the arithmetic (Eigen splits a sum by
threads; the card's seed-7 cross-validation called 0.80 % of normal windows VF/VT, its rerun on
one thread 1.07 %): a run repeats with the same ``--threads``, which the card records. So is the
CPU: on another x86-64 machine (AMD EPYC, AVX-512) the same commands, code, libraries and windows
trained other models (the card's seed-20240601 cross-validation: macro-F1 0.468 instead of
0.490; `docs/rhythm-cv-rerun.json`), whether or not XLA and NumPy were held to AVX2, so a run
repeats bit for bit on the same machine only; the card names it (`pipeline.train.machine_described`).

TensorFlow and Keras are imported inside the functions: importing the pipeline stays fast
where no model is built.

References:
    Hannun AY, Rajpurkar P, Haghpanahi M, et al. Cardiologist-level arrhythmia detection and
    classification in ambulatory electrocardiograms using a deep neural network. Nat Med
    2019;25:65-69.
    Ribeiro AH, Ribeiro MH, Paixão GMM, et al. Automatic diagnosis of the 12-lead ECG using a
    deep neural network. Nat Commun 2020;11:1760.
    He K, Zhang X, Ren S, Sun J. Deep residual learning for image recognition. CVPR 2016.

Example:
    >>> model = rhythm_cnn_built(seed=7)  # doctest: +SKIP
    >>> model.output_shape  # doctest: +SKIP
    (None, 8)
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from pipeline.rhythm import RHYTHM_CLASSES
from pipeline.rhythm_dataset import TARGET_FS_HZ, WINDOW_S
from pipeline.rhythm_features import N_RR_FEATURES

if TYPE_CHECKING:
    import keras

# Samples in one input window: 10 s at 250 Hz.
INPUT_SAMPLES = round(WINDOW_S * TARGET_FS_HZ)
N_CLASSES = len(RHYTHM_CLASSES)

STEM_FILTERS = 16
STEM_KERNEL = 15  # 60 ms at 250 Hz: about one QRS complex
STEM_STRIDE = 2
STEM_POOL = 2
# Channels of the four residual blocks; each block halves the time axis.
BLOCK_FILTERS: tuple[int, ...] = (32, 48, 64, 96)
BLOCK_KERNEL = 7
BLOCK_STRIDE = 2
DROPOUT = 0.5
# The RR-feature branch (pipeline.rhythm_features): two small dense layers, then one joint
# layer over both branches, so that the classes can depend on waveform and intervals together
# (a wide complex AND a regular fast rhythm is VT).
RR_UNITS: tuple[int, ...] = (32, 32)
JOINT_UNITS = 64
JOINT_DROPOUT = 0.3
# A little weight decay against the few subjects the rare classes come from.
L2 = 1e-4

DEFAULT_SEED = 20240601
MODEL_NAME = "rhythm_cnn"
# TensorFlow's switch for its oneDNN kernels and its thread counts (within and between
# operations), read once when TensorFlow is imported.
ONEDNN_SWITCH = "TF_ENABLE_ONEDNN_OPTS"
THREAD_SETTINGS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def tensorflow_made_reproducible(threads: int | None = None) -> int:
    """Make this process's TensorFlow training repeat bit for bit (see the module docstring):
    oneDNN off, and ``threads`` threads for TensorFlow's operations.

    Call it before TensorFlow is first imported: TensorFlow reads both settings once, at import.
    ``threads`` None keeps the process's setting (``TF_NUM_INTRAOP_THREADS``, else every CPU).

    Returns:
        The number of threads the run uses, for its record.

    Raises:
        RuntimeError: TensorFlow was already imported with other settings (the run would not
            repeat), or ``threads`` is below 1.
    """
    if threads is not None and threads < 1:
        raise RuntimeError(f"--threads must be at least 1, got {threads}")
    wanted = {ONEDNN_SWITCH: "0"}
    if threads is not None:
        wanted.update({name: str(threads) for name in THREAD_SETTINGS})
    if "tensorflow" in sys.modules:
        differing = sorted(name for name, value in wanted.items() if os.environ.get(name) != value)
        if differing:
            settings = " ".join(f"{name}={wanted[name]}" for name in differing)
            raise RuntimeError(
                "TensorFlow was imported before this training could set it up to repeat; "
                f"start Python with {settings}."
            )
    os.environ.update(wanted)
    return int(os.environ.get(THREAD_SETTINGS[0]) or os.cpu_count() or 1)


def rhythm_cnn_built(seed: int = DEFAULT_SEED) -> keras.Model:
    """The untrained network (see the module docstring), its weights drawn from ``seed``.

    Inputs: ``[windows, rr]``, float32 windows x `INPUT_SAMPLES` and windows x
    `N_RR_FEATURES`; output: class probabilities x `N_CLASSES`.
    """
    import keras

    keras.utils.set_random_seed(seed)
    regulariser = keras.regularizers.L2(L2)
    window = keras.Input(shape=(INPUT_SAMPLES,), name="window")
    rr = keras.Input(shape=(N_RR_FEATURES,), name="rr")
    x = keras.layers.Reshape((INPUT_SAMPLES, 1))(window)
    x = keras.layers.Conv1D(
        STEM_FILTERS,
        STEM_KERNEL,
        strides=STEM_STRIDE,
        padding="same",
        use_bias=False,
        kernel_regularizer=regulariser,
    )(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling1D(STEM_POOL, padding="same")(x)
    for filters in BLOCK_FILTERS:
        x = _residual_block(x, filters, regulariser)
    waveform = keras.layers.Concatenate()(
        [keras.layers.GlobalAveragePooling1D()(x), keras.layers.GlobalMaxPooling1D()(x)]
    )
    waveform = keras.layers.Dropout(DROPOUT)(waveform)
    intervals = rr
    for units in RR_UNITS:
        intervals = keras.layers.Dense(units, activation="relu", kernel_regularizer=regulariser)(intervals)
    joined = keras.layers.Concatenate()([waveform, intervals])
    joined = keras.layers.Dense(JOINT_UNITS, activation="relu", kernel_regularizer=regulariser)(joined)
    joined = keras.layers.Dropout(JOINT_DROPOUT)(joined)
    outputs = keras.layers.Dense(
        N_CLASSES, activation="softmax", kernel_regularizer=regulariser, name="rhythm"
    )(joined)
    return keras.Model([window, rr], outputs, name=MODEL_NAME)


def _residual_block(x: keras.KerasTensor, filters: int, regulariser: keras.Regularizer) -> keras.KerasTensor:
    """Two 7-tap convolutions, the first strided, with a 1x1 strided projection as the shortcut."""
    import keras

    shortcut = keras.layers.Conv1D(
        filters, 1, strides=BLOCK_STRIDE, padding="same", use_bias=False, kernel_regularizer=regulariser
    )(x)
    shortcut = keras.layers.BatchNormalization()(shortcut)
    y = keras.layers.Conv1D(
        filters,
        BLOCK_KERNEL,
        strides=BLOCK_STRIDE,
        padding="same",
        use_bias=False,
        kernel_regularizer=regulariser,
    )(x)
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.ReLU()(y)
    y = keras.layers.Conv1D(
        filters, BLOCK_KERNEL, padding="same", use_bias=False, kernel_regularizer=regulariser
    )(y)
    y = keras.layers.BatchNormalization()(y)
    return keras.layers.ReLU()(keras.layers.Add()([shortcut, y]))
