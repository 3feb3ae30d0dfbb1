"""Stored sample codes to engineering values: ``code * step`` in float64, a step per curve.

NumPy needs a float64 copy of the codes, then a float64 copy of the steps repeated per sample
(when curves differ in resolution) and a multiply: three passes and two temporaries over every
sample. One parallel pass here writes each value once, with the same product (an integer
code converts to float64 exactly, then one rounded multiply), so values are bit for bit those
of ``codes.astype(float64) * step``."""

from __future__ import annotations

import numpy as np
from numba import prange

from pipelines.kernels import ngjit_parallel


@ngjit_parallel
def scaled(codes, steps, offsets):
    """``codes[i] * steps[c]`` for each sample ``i`` of curve ``c`` (``offsets``: where each
    curve's samples start, and the end)."""
    out = np.empty(len(codes), np.float64)
    for c in prange(len(steps)):
        step = steps[c]
        for i in range(offsets[c], offsets[c + 1]):
            out[i] = np.float64(codes[i]) * step
    return out
