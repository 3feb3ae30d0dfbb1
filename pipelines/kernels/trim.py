"""Cutting curves to the samples a view's x range needs, before the density kernel reads them.

For a curve whose x never goes back (every x finite, non-decreasing), the samples left of the
view but the last one, and right of it but the first one, only form segments with both ends on
one side outside the view, which Liang-Barsky skips; the kept neighbours keep the segments that
cross the view's edges, clipped as before, so the pixels are the same. A zoom into a tenth of a
held filter then reads about a tenth of its samples. Values are compared as the kernel computes
them (``code * step`` in float64).
"""

from __future__ import annotations

import numpy as np

from pipelines.kernels import ngjit


@ngjit
def ordered(x, offsets):
    """Per curve: True when its x codes are non-decreasing (codes are always finite)."""
    out = np.ones(len(offsets) - 1, dtype=np.bool_)
    for ci in range(len(offsets) - 1):
        for j in range(offsets[ci] + 1, offsets[ci + 1]):
            if x[j] < x[j - 1]:
                out[ci] = False
                break
    return out


@ngjit
def kept_ranges(x, offsets, x_step, is_ordered, picks, xmin, xmax):
    """``(starts, stops)`` per curve: the samples of each picked, ordered curve that the view
    ``xmin..xmax`` needs, and the whole curve for the others (unpicked: empty)."""
    n = len(offsets) - 1
    starts = np.zeros(n, dtype=np.int64)
    stops = np.zeros(n, dtype=np.int64)
    for p in range(len(picks)):
        ci = picks[p]
        s, e = offsets[ci], offsets[ci + 1]
        if not is_ordered[ci] or e - s < 3:
            starts[ci], stops[ci] = s, e
            continue
        step = x_step[ci]
        lo, hi = s, e  # first sample with value >= xmin
        while lo < hi:
            mid = (lo + hi) // 2
            if x[mid] * step < xmin:
                lo = mid + 1
            else:
                hi = mid
        first = lo
        lo, hi = first, e  # first sample with value > xmax
        while lo < hi:
            mid = (lo + hi) // 2
            if x[mid] * step <= xmax:
                lo = mid + 1
            else:
                hi = mid
        starts[ci] = max(s, first - 1)
        stops[ci] = min(e, lo + 1)
    return starts, stops


@ngjit
def gather(values, starts, stops, offsets_out):
    """The kept samples of every curve, one after another (``offsets_out`` from the lengths)."""
    out = np.empty(offsets_out[-1], dtype=values.dtype)
    for ci in range(len(starts)):
        out[offsets_out[ci] : offsets_out[ci + 1]] = values[starts[ci] : stops[ci]]
    return out
