"""The rhythm CNN at work: one lead in, its rhythm out (`pipeline.rhythm.Rhythm`).

`CnnRhythmClassifier` implements `pipeline.rhythm.RhythmClassifier` with the shipped model
(``pipeline/models/rhythm_cnn.keras``, its card beside it). `CnnRhythmClassifier.load` reads a
model once per path and keeps it (the only global of the pipeline: the loaded model), and
imports its runtime only then, so importing the pipeline stays fast.

Two runtimes, one model: training and evaluation use Keras on TensorFlow; the app runs the same
weights exported to ONNX (``rhythm_cnn.onnx`` beside the ``.keras``, written by
`pipeline.train`; `load` prefers it) with ONNX Runtime. The app's analyses run in background
jobs that are forked from the server process, and TensorFlow's runtime does not survive a
fork: a job that used the model after the server had (the monitor classifies in the server)
hung for good. An ONNX Runtime session is made in each process that uses it (`_OnnxForward`);
the two runtimes give the same probabilities (tests/pipeline/test_rhythm_cnn.py).

What `CnnRhythmClassifier.classify` does with a lead of any rate and length:

1. **Windows** exactly as in training (`pipeline.rhythm_dataset.lead_windows`): resampled to
   250 Hz, 10-s windows every 5 s from the start, each normalised by its median and 1st-99th
   percentile range. When the last window ends before the recording does, one more window is
   cut from the recording's last 10 s, so every second is classified. A recording shorter than
   one window raises `pipeline.errors.EcgTooShortError`: 10 s is the shortest strip the model
   was trained on, and a guess on less is not given.
2. **RR features** of each window (`pipeline.rhythm_features`) from the beats of the whole
   lead (R peaks and ectopic flags): the analysis's own (``beats``), or detected here.
3. **Probabilities**: all windows of the recording and their RR features in one call of a
   `tf.function` traced once for any number of windows (graph mode, no per-call overhead of
   ``model.predict``).
4. **Smoothing into episodes**: each class's probability is passed through a running median
   over `SMOOTHING_WINDOWS` consecutive windows (3: the window and its two neighbours, 10 s on
   each side at the 5-s stride), so that a single window disagreeing with both its neighbours
   does not make an episode of its own, while a change that lasts two windows (15 s) survives.
   Consecutive windows with the same most probable smoothed class form an episode. Windows
   overlap, so an episode ends halfway between the centres of its last window and the next
   episode's first; the first starts at 0 and the last ends at the recording's end. An
   episode's probability is the mean of its class's (unsmoothed) probability over its windows.
5. **The recording's rhythm**: the class whose episodes cover most time, with the mean of its
   probability over the windows of those episodes as the confidence; the recording's
   probabilities are the mean over all windows (they sum to 1). Each window keeps its own,
   unsmoothed, call.

A flat line or a lead of pure noise is the Noise class: training drew flat, white-noise and
nstdb electrode-motion and muscle-noise windows as Noise (`pipeline.train`), so such a lead is
called Noise with the probability the model gives it, not forced into a rhythm.

Example:
    >>> classifier = CnnRhythmClassifier.load()  # doctest: +SKIP
    >>> rhythm = classifier.classify(lead_mv, 360.0, lead="MLII")  # doctest: +SKIP
    >>> rhythm.label, round(rhythm.confidence, 2)  # doctest: +SKIP
    ('AF', 0.93)
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import median_filter

from pipeline.errors import EcgSignalError, EcgTooShortError
from pipeline.rhythm import RHYTHM_CLASSES, VF_VT_LABEL, Rhythm, RhythmEpisode, RhythmWindow, VfVtCall
from pipeline.rhythm_dataset import DEFAULT_STRIDE_S, TARGET_FS_HZ, WINDOW_S, lead_windows
from pipeline.rhythm_features import (
    N_RR_FEATURES,
    RecordingBeats,
    beats_features,
    recording_beats,
    window_features,
)

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "rhythm_cnn.keras"
# The same model exported to ONNX (`export_onnx`): what `CnnRhythmClassifier.load` runs when present.
ONNX_MODEL_PATH = DEFAULT_MODEL_PATH.with_suffix(".onnx")
# The model card beside it: what the model is and how it did on unseen subjects.
DEFAULT_CARD_PATH = DEFAULT_MODEL_PATH.with_name("rhythm_cnn.card.json")
# The VF/VT call (`ShockAdvisory`): VF or VT together more probable than every other rhythm together.
SHOCK_ADVISORY_CLASSES = ("VF", "VT")
SHOCK_ADVISORY_THRESHOLD = 0.5
# Running median over this many consecutive windows (see the module docstring).
SMOOTHING_WINDOWS = 3
INPUT_SAMPLES = round(WINDOW_S * TARGET_FS_HZ)
# A tail longer than this (s) after the last window gets a window of its own, aligned to the end.
TAIL_MIN_S = 1.0


class CnnRhythmClassifier:
    """The rhythm of one lead from the CNN (see the module docstring); build it with `load`."""

    def __init__(self, model: Any, *, path: str | os.PathLike[str] | None = None) -> None:
        """Wrap a loaded Keras ``model`` (inputs windows x 2500 and their RR features, output
        windows x 8 probabilities), or an ONNX model file's `_OnnxForward`."""
        self.path = None if path is None else Path(path)
        if isinstance(model, _OnnxForward):
            self.model = None
            self._forward = model
            return
        import tensorflow as tf

        self.model = model
        self._forward = tf.function(
            lambda x, rr: model([x, rr], training=False),
            input_signature=[
                tf.TensorSpec([None, INPUT_SAMPLES], tf.float32),
                tf.TensorSpec([None, N_RR_FEATURES], tf.float32),
            ],
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str] = DEFAULT_MODEL_PATH) -> CnnRhythmClassifier:
        """The classifier of the model at ``path`` (default: the shipped one), loaded once per
        path: a ``.onnx`` file with ONNX Runtime; a ``.keras`` file with its ``.onnx`` export
        beside it (`export_onnx`) through that export, else with Keras."""
        resolved = Path(path).resolve()
        onnx = resolved.with_suffix(".onnx")
        if resolved.suffix == ".keras" and onnx.is_file():
            resolved = onnx
        return _loaded(str(resolved))

    def window_probabilities(self, windows: np.ndarray, rr: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities of normalised windows (windows x 2500), in one graph call; float64.

        ``rr``: the windows' RR features (`pipeline.rhythm_features`) from their recording's
        beats; None: detected within each window (`pipeline.rhythm_features.window_features`).
        """
        windows = np.asarray(windows, dtype=np.float32).reshape(-1, INPUT_SAMPLES)
        if windows.shape[0] == 0:
            return np.zeros((0, len(RHYTHM_CLASSES)))
        if rr is None:
            rr = window_features(windows, TARGET_FS_HZ)
        rr = np.asarray(rr, dtype=np.float32).reshape(-1, N_RR_FEATURES)
        probabilities = np.asarray(self._forward(windows, rr), dtype=np.float64)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def classify(
        self, lead_mv: np.ndarray, fs: float, *, lead: str, beats: RecordingBeats | None = None
    ) -> Rhythm:
        """The rhythm of one lead (1-D, mV) sampled at ``fs`` Hz, named ``lead``.

        ``beats``: the lead's R peaks and ectopic flags when the caller has them (the analysis's
        beats step); otherwise they are detected here.

        Raises:
            EcgTooShortError: the lead is shorter than one 10-s window.
            EcgSignalError: the lead holds missing (NaN) or infinite samples.
        """
        lead_mv = np.asarray(lead_mv, dtype=np.float64).ravel()
        duration_s = lead_mv.size / float(fs)
        if lead_mv.size < round(WINDOW_S * fs):
            raise EcgTooShortError(
                f"The recording lasts {duration_s:.1f} s; the rhythm needs at least {WINDOW_S:g} s of ECG, "
                "so it was not classified. Please record a longer strip."
            )
        if not np.all(np.isfinite(lead_mv)):
            raise EcgSignalError("The lead has gaps (missing samples), so its rhythm cannot be classified.")
        windows, starts_s = recording_windows(lead_mv, fs)
        beats = recording_beats(lead_mv, fs) if beats is None else beats
        probabilities = self.window_probabilities(windows, beats_features(beats, starts_s))
        return rhythm_of_windows(probabilities, starts_s, duration_s, lead=lead)


class ShockAdvisory:
    """The VF/VT call: VF or VT, as one call, where P(VF) + P(VT) reaches ``threshold``.

    Bedside monitors raise one alarm for the two (a "VFib/VTach" alarm): both are lethal and both
    send the nurse to the bed at once. The model tells them apart poorly (its card's confusion
    matrix: VF windows are mostly called VT), but tells the two together from every other rhythm,
    and that is what its card validates in three bars (the shock-advisory shares, after the AHA's
    goals for arrhythmia analysis, Kerber et al. 1997). The threshold is the card's, the one its
    cross-validation scored (`pipeline.evaluate.shock_advisory_called`): `SHOCK_ADVISORY_THRESHOLD`,
    the binary decision "VF/VT more probable than not", nothing fitted. Build it with
    `shock_advisory`, which returns None where the card did not validate the call.
    """

    def __init__(self, classifier: CnnRhythmClassifier, threshold: float) -> None:
        self.classifier = classifier
        self.threshold = float(threshold)

    def assess(self, lead_mv: np.ndarray, fs: float, *, lead: str) -> tuple[bool, float, Rhythm]:
        """Whether the lead (the last 10 s of a monitor, say) is VF/VT, P(VF) + P(VT), and its `Rhythm`.

        Raises what `CnnRhythmClassifier.classify` raises."""
        rhythm = self.classifier.classify(lead_mv, fs, lead=lead)
        probability = shock_probability(rhythm.probabilities)
        return probability >= self.threshold, probability, rhythm

    def recording_call(
        self, lead_mv: np.ndarray, fs: float, *, lead: str, beats: RecordingBeats | None = None
    ) -> VfVtCall:
        """The VF/VT call of each 10-s window of a recording (`pipeline.rhythm.VfVtCall`): the
        windows of `CnnRhythmClassifier.classify`, each called on its own (no smoothing: the
        call the card validated is the window's).

        Raises what `CnnRhythmClassifier.classify` raises."""
        rhythm = self.classifier.classify(lead_mv, fs, lead=lead, beats=beats)
        windows = tuple((w.start_s, w.end_s, shock_probability(w.probabilities)) for w in rhythm.windows)
        shock = np.array([p for _, _, p in windows])
        called = shock >= self.threshold
        starts_s = np.array([start for start, _, _ in windows])
        episodes = tuple(
            RhythmEpisode(start, end, VF_VT_LABEL, float(shock[run].mean()))
            for run, start, end in window_runs(called, starts_s, lead_mv.size / float(fs))
            if called[run[0]]
        )
        return VfVtCall(self.threshold, windows, episodes, lead)


def shock_probability(probabilities: dict[str, float]) -> float:
    """P(VF) + P(VT) of a rhythm's class probabilities."""
    return float(sum(probabilities.get(name, 0.0) for name in SHOCK_ADVISORY_CLASSES))


def shock_advisory(
    model_path: str | os.PathLike[str] = DEFAULT_MODEL_PATH,
    card_path: str | os.PathLike[str] = DEFAULT_CARD_PATH,
) -> ShockAdvisory | None:
    """The validated VF/VT call of the model at ``model_path``, or None when its card does not
    validate it (`validation_shortfall` with ``scope="shock_advisory"`` says why)."""
    if validation_shortfall(card_path, scope="shock_advisory") is not None:
        return None
    threshold = _card(card_path)["evaluation"]["shock_advisory"]["threshold"]
    return ShockAdvisory(CnnRhythmClassifier.load(model_path), threshold)


def validation_shortfall(
    card_path: str | os.PathLike[str] = DEFAULT_CARD_PATH, *, scope: str = "rhythm"
) -> str | None:
    """Why a model's calls must not yet be shown as findings, or None when they may be used.

    ``scope="rhythm"``: the rhythm calls (all eight classes), fit for clinical display only when
    the model's record-level cross-validation, written in its card (``evaluation.bars``), met
    every bar of the product (macro-F1, AF and Heart block F1, the shock-advisory shares). A wrong
    rhythm on a report can hurt someone: a model that calls 2 % of normal windows VF/VT would put
    a false VF on one strip in fifty.

    ``scope="shock_advisory"``: the VF/VT call alone (`ShockAdvisory`), fit for the monitor's
    alarm when the three shock-advisory bars (VF and VT windows called VF/VT, Normal windows
    called VF/VT) were met by the call with its threshold, both in the card.

    Where the card also holds replicate cross-validations (``evaluation_replicates``: the same
    procedure with other seeds), a bar counts as met only where every one meets it: a figure
    that passes on one training run and fails on the next is not validated.

    Returns:
        A sentence for the findings panel naming the bars missed, or None when all were met.
    """
    if scope not in ("rhythm", "shock_advisory"):
        raise ValueError(f"unknown scope {scope!r}")
    what = "rhythm model" if scope == "rhythm" else "VF/VT call of the rhythm model"
    try:
        card = _card(card_path)
        evaluations = [card["evaluation"], *card.get("evaluation_replicates", [])]
        missed = []
        for evaluation in evaluations:
            bars = evaluation["bars"]
            if scope == "shock_advisory":
                float(evaluation["shock_advisory"]["threshold"])
                bars = [bar for bar in bars if str(bar["key"]).startswith("shock:")]
                if len(bars) != 3:  # VF, VT and Normal windows called VF/VT
                    raise KeyError("shock-advisory bars")
            seed = f" with seed {evaluation['seed']}" if len(evaluations) > 1 else ""
            missed += [(bar, seed) for bar in bars if not bar.get("met")]
    except (OSError, ValueError, KeyError, TypeError):
        return f"The {what} has no readable validation record, so its calls are not shown."
    if not missed:
        return None
    measured: dict[str, list[str]] = {}  # per bar, in the card's order: one entry per evaluation
    for bar, seed in missed:
        measured.setdefault(bar["bar"], []).append(f"{_bar_value(bar)}{seed}")
    listed = "; ".join(f"{name} (measured {', '.join(values)})" for name, values in measured.items())
    return (
        f"The {what} has not yet passed its validation on unseen patients, so its calls are "
        f"not shown. Missed: {listed}."
    )


def _card(card_path: str | os.PathLike[str]) -> dict[str, Any]:
    import json

    return json.loads(Path(card_path).read_text(encoding="utf-8"))


def _bar_value(bar: dict[str, Any]) -> str:
    """A bar's measured value as the bar states it: a share as a percentage, else a number.

    A missed share is never rounded onto its limit: 1.04 % against "<= 1 %" reads "1.04 %", not
    "1.0 %", which would look met."""
    value = float(bar["value"])
    if "%" not in str(bar["bar"]):
        return f"{value:.3g}"
    for decimals in (1, 2, 3):
        text = f"{100.0 * value:.{decimals}f}"
        if float(text) != _bar_limit_pct(str(bar["bar"])):
            return f"{text} %"
    return f"{100.0 * value:.3f} %"


def _bar_limit_pct(text: str) -> float | None:
    """The limit a share bar states (``"Normal called VF/VT <= 1 %"`` -> 1.0), or None."""
    import re

    found = re.search(r"([0-9.]+)\s*%", text)
    return float(found.group(1)) if found else None


@functools.lru_cache(maxsize=4)
def _loaded(path: str) -> CnnRhythmClassifier:
    if path.endswith(".onnx"):
        return CnnRhythmClassifier(_OnnxForward(path), path=path)
    import keras

    return CnnRhythmClassifier(keras.models.load_model(path, compile=False), path=path)


class _OnnxForward:
    """The model of an ONNX file as a function (windows, rr) -> probabilities, through an ONNX
    Runtime session made in the process that calls it: a session, like TensorFlow's runtime,
    does not survive fork(), so a background job forked from the server makes its own (a few
    milliseconds) instead of using the server's. One thread per session: the monitor runs it
    in the web server beside the other requests, and a 30-min record's 359 windows take about
    0.1-0.3 s on one thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._session: Any = None
        self._pid: int | None = None

    def __call__(self, windows: np.ndarray, rr: np.ndarray) -> np.ndarray:
        session = self._session_here()
        names = [node.name for node in session.get_inputs()]  # the Keras inputs' order: windows, rr
        return session.run(None, dict(zip(names, (windows, rr), strict=True)))[0]

    def _session_here(self) -> Any:
        if self._session is None or self._pid != os.getpid():
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(
                self.path, options, providers=["CPUExecutionProvider"]
            )
            self._pid = os.getpid()
        return self._session


def export_onnx(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write a Keras rhythm model to ``path`` as ONNX (what the app runs, see the module
    docstring); the model is called once first, as Keras' exporter needs."""
    windows = np.zeros((1, INPUT_SAMPLES), dtype=np.float32)
    model([windows, np.zeros((1, N_RR_FEATURES), dtype=np.float32)], training=False)
    model.export(str(path), format="onnx", verbose=False)
    return Path(path)


def recording_windows(
    lead_mv: np.ndarray, fs: float, stride_s: float = DEFAULT_STRIDE_S
) -> tuple[np.ndarray, np.ndarray]:
    """The windows the model classifies, and their starts (s): `lead_windows`, plus one ending at the end."""
    windows, starts_s = lead_windows(lead_mv, fs, stride_s=stride_s)
    duration_s = lead_mv.size / float(fs)
    last_end_s = starts_s[-1] + WINDOW_S if starts_s.size else 0.0
    if duration_s - last_end_s > TAIL_MIN_S:
        tail, _ = lead_windows(lead_mv[-round(WINDOW_S * fs) :], fs, stride_s=stride_s)
        windows = np.concatenate([windows, tail[:1]])
        starts_s = np.append(starts_s, duration_s - WINDOW_S)
    return windows, starts_s


def smoothed(probabilities: np.ndarray, size: int = SMOOTHING_WINDOWS) -> np.ndarray:
    """Each class's probability through a running median over ``size`` windows, rows renormalised."""
    if probabilities.shape[0] < 2 or size < 2:
        return probabilities
    filtered = median_filter(probabilities, size=(size, 1), mode="nearest")
    totals = filtered.sum(axis=1, keepdims=True)
    return np.where(totals > 0, filtered / np.where(totals > 0, totals, 1.0), probabilities)


def episodes_of(
    probabilities: np.ndarray, starts_s: np.ndarray, duration_s: float
) -> tuple[tuple[RhythmEpisode, ...], list[np.ndarray]]:
    """The episodes of smoothed window calls (see the module docstring), and each one's window rows."""
    calls = np.argmax(smoothed(probabilities), axis=1)
    episodes, rows = [], []
    for run, start, end in window_runs(calls, starts_s, duration_s):
        c = int(calls[run[0]])
        episodes.append(RhythmEpisode(start, end, RHYTHM_CLASSES[c], float(probabilities[run, c].mean())))
        rows.append(run)
    return tuple(episodes), rows


def window_runs(
    calls: np.ndarray, starts_s: np.ndarray, duration_s: float
) -> list[tuple[np.ndarray, float, float]]:
    """Runs of consecutive windows with the same call: (window rows, start s, end s). Windows
    overlap, so a run ends halfway between the centres of its last window and the next run's
    first; the first run starts at 0 and the last ends at ``duration_s``."""
    centres = starts_s + WINDOW_S / 2
    runs = np.split(np.arange(calls.size), np.flatnonzero(np.diff(calls) != 0) + 1)
    out = []
    for i, run in enumerate(runs):
        start = 0.0 if i == 0 else float((centres[run[0] - 1] + centres[run[0]]) / 2)
        end = duration_s if i == len(runs) - 1 else float((centres[run[-1]] + centres[run[-1] + 1]) / 2)
        out.append((run, start, end))
    return out


def rhythm_of_windows(
    probabilities: np.ndarray, starts_s: np.ndarray, duration_s: float, *, lead: str
) -> Rhythm:
    """The `Rhythm` of a recording from its windows' probabilities (rows) and starts (s)."""
    episodes, rows = episodes_of(probabilities, starts_s, duration_s)
    covered = np.zeros(len(RHYTHM_CLASSES))
    for episode in episodes:
        covered[RHYTHM_CLASSES.index(episode.label)] += episode.end_s - episode.start_s
    dominant = int(np.argmax(covered))
    dominant_rows = np.concatenate(
        [
            run
            for run, episode in zip(rows, episodes, strict=True)
            if episode.label == RHYTHM_CLASSES[dominant]
        ]
    )
    mean = probabilities.mean(axis=0)
    windows = tuple(
        RhythmWindow(
            float(start),
            float(start + WINDOW_S),
            RHYTHM_CLASSES[int(np.argmax(p))],
            _named(p),
        )
        for start, p in zip(starts_s, probabilities, strict=True)
    )
    return Rhythm(
        label=RHYTHM_CLASSES[dominant],
        confidence=float(probabilities[dominant_rows, dominant].mean()),
        probabilities=_named(mean),
        windows=windows,
        episodes=episodes,
        lead=lead,
    )


def _named(p: np.ndarray) -> dict[str, float]:
    return {name: float(value) for name, value in zip(RHYTHM_CLASSES, p, strict=True)}
