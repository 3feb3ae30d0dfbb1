"""Curves averaged in equal x bins: what an envelope compares (:mod:`pipelines.unusual`).

Curves come in Arrow's list layout (``offsets``, length C+1) as floats in engineering units;
a sample with a non-finite x or y is skipped.
"""

from __future__ import annotations

import numpy as np

from pipelines.kernels import ngjit


@ngjit
def average_in_bins(x, y, offsets, lo, width, bins):
    """A float64 array (C, ``bins``): curve c's mean y in each of ``bins`` equal x bins over
    ``[lo[c], lo[c] + width[c])``, NaN where it has no sample (one at the end is outside)."""
    n = len(offsets) - 1
    sums = np.zeros((n, bins))
    counts = np.zeros((n, bins), dtype=np.int64)
    for c in range(n):
        start, scale = lo[c], bins / width[c]
        for i in range(offsets[c], offsets[c + 1]):
            xv, yv = x[i], y[i]
            if not (np.isfinite(xv) and np.isfinite(yv)):
                continue
            at = np.floor((xv - start) * scale)
            if at < 0 or at >= bins:
                continue
            b = int(at)
            sums[c, b] += yv
            counts[c, b] += 1
    out = np.full((n, bins), np.nan)
    for c in range(n):
        for b in range(bins):
            if counts[c, b] > 0:
                out[c, b] = sums[c, b] / counts[c, b]
    return out
