"""The rhythm CNN's network (pipeline.rhythm_model): its shape, its size, and its seed."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.rhythm import RHYTHM_CLASSES
from pipeline.rhythm_features import N_RR_FEATURES
from pipeline.rhythm_model import INPUT_SAMPLES, N_CLASSES, rhythm_cnn_built

# "A few MB at most saved": float32 weights, 4 bytes each.
MAX_PARAMETERS = 500_000


@pytest.fixture(scope="module")
def model():
    return rhythm_cnn_built(seed=7)


def test_takes_a_10_s_window_at_250_hz_and_its_rr_features_and_gives_one_probability_per_class(model):
    assert INPUT_SAMPLES == 2500
    assert model.input_shape == [(None, INPUT_SAMPLES), (None, N_RR_FEATURES)]
    assert model.output_shape == (None, N_CLASSES) == (None, len(RHYTHM_CLASSES))


def test_is_small(model):
    assert model.count_params() < MAX_PARAMETERS


def test_outputs_are_probabilities_for_any_batch(model):
    rng = np.random.default_rng(1)
    for n in (1, 3, 17):
        windows = rng.normal(size=(n, INPUT_SAMPLES)).astype(np.float32)
        rr = rng.normal(size=(n, N_RR_FEATURES)).astype(np.float32)
        p = np.asarray(model.predict_on_batch([windows, rr]))
        assert p.shape == (n, N_CLASSES)
        assert np.all(p >= 0)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_the_seed_fixes_the_initial_weights(model):
    again, other = rhythm_cnn_built(seed=7), rhythm_cnn_built(seed=8)
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b) for a, b in zip(model.get_weights(), other.get_weights(), strict=True)
    )
