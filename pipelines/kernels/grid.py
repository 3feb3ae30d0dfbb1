"""The search behind :func:`pipelines.quantize.choose_step`: the first decimal step on whose grid
every sample lies, in one pass that stops at a step's first miss."""

from __future__ import annotations

import numpy as np

from pipelines.kernels import ngjit

# Every this many samples are read first: a wrong step misses early even when a column starts
# with a long flat run (a press's zero force before contact fits every step).
PROBE_STRIDE = 47


@ngjit
def _fits(values, step, tolerance):
    for stride in (PROBE_STRIDE, 1):
        for i in range(0, values.size, stride):
            v = values[i]
            if not abs(np.rint(v / step) * step - v) <= tolerance:
                return False
    return True


@ngjit
def first_fitting_step(values, steps, tolerance):
    """The index of the first of ``steps`` for which every value is within ``tolerance`` of
    ``rint(value / step) * step``, or -1 when none is."""
    for k in range(steps.size):
        if _fits(values, steps[k], tolerance):
            return k
    return -1
