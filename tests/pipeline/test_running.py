"""Running medians and percentiles with windows truncated at the series' ends (pipeline.running)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from pipeline.running import running_median, running_percentile


def test_away_from_the_ends_it_is_scipys_filter():
    values = np.random.default_rng(3).normal(800.0, 50.0, 500)

    for q in (25.0, 50.0, 75.0):
        ours = running_percentile(values, 11, q)
        scipy_filter = ndimage.percentile_filter(values, q, size=11, mode="nearest")
        np.testing.assert_array_equal(ours[5:-5], scipy_filter[5:-5])


def test_at_the_ends_only_the_values_there_count():
    values = np.array([1000.0, 1010.0, 990.0, 1005.0, 995.0, 1000.0, 60.0])

    median = running_median(values, 9)

    # last position: the window holds the last 5 values, sorted [60, 990, 995, 1000, 1005] -> 995;
    # scipy's "nearest" mode would see 60 five times and return 60.
    assert median[-1] == 995.0
    assert ndimage.median_filter(values, size=9, mode="nearest")[-1] == 60.0
    # first position: [1000, 1010, 990, 1005, 995] -> 1000
    assert median[0] == 1000.0


def test_a_series_shorter_than_the_window_uses_all_of_it_nearby():
    values = np.array([1000.0, 1000.0, 1000.0, 60.0])

    assert running_median(values, 9) == pytest.approx([1000.0] * 4)
    assert running_percentile(np.array([]), 9, 50.0).size == 0
