"""Running medians and percentiles over a series, with windows truncated at its ends.

`scipy.ndimage`'s filters pad a series' ends, and their "nearest" mode repeats the edge value:
a median of 9 at the last position is then the last value five times over, so one artefact at the
end of a series passes through it untouched (a false beat's 56-ms RR interval read as a heart rate
of 1,071 per minute). Here a window near an end holds only the values there are.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def running_median(values: np.ndarray, size: int) -> np.ndarray:
    """Centred running median of ``size`` (odd) values; near the ends, of those there are (at
    least ``size // 2 + 1``)."""
    return running_percentile(values, size, 50.0)


def running_percentile(values: np.ndarray, size: int, q: float) -> np.ndarray:
    """Centred running ``q``-th percentile of ``size`` (odd) values, as `scipy.ndimage`'s
    percentile filter takes it (the value of rank ``int(q / 100 * count)`` in order), over the
    values there are near the ends."""
    values = np.asarray(values, dtype=np.float64)
    half = size // 2
    out = ndimage.percentile_filter(values, q, size=size, mode="nearest")  # right away from the ends
    for i in [*range(min(half, values.size)), *range(max(half, values.size - half), values.size)]:
        window = np.sort(values[max(0, i - half) : i + half + 1])
        out[i] = window[min(int(q / 100.0 * window.size), window.size - 1)]
    return out
