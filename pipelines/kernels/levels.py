"""Runs of consecutive samples in one x bucket, for per-curve levels (``pipelines.levels``).

A level ``k`` splits each curve into runs: maximal stretches of consecutive finite samples whose
bucket key ``q >> k`` is the same. A run keeps its first and last sample (the segments joining
it to its neighbours), its lowest and highest y (the rows it draws inside one pixel column) and
its lowest and highest x (so a reader can tell, from the kept samples alone, which pixel columns
the run touches). A sample with a non-finite x or y is a run of its own: it breaks the line.
"""

from __future__ import annotations

import numpy as np

from pipelines.kernels import ngjit


@ngjit
def level_runs(x, y, finite, offsets, q, k):
    """``(keep, starts)``, two masks over the samples: the samples a level keeps, and the first
    sample of each run. ``x`` and ``y`` are compared in their own dtype (values or codes)."""
    n = len(x)
    keep = np.zeros(n, dtype=np.bool_)
    starts = np.zeros(n, dtype=np.bool_)
    for ci in range(len(offsets) - 1):
        j, e = offsets[ci], offsets[ci + 1]
        while j < e:
            starts[j] = True
            keep[j] = True
            if not finite[j]:
                j += 1
                continue
            bucket = q[j] >> k
            lo_y = hi_y = lo_x = hi_x = j
            i = j + 1
            while i < e and finite[i] and (q[i] >> k) == bucket:
                if y[i] < y[lo_y]:
                    lo_y = i
                if y[i] > y[hi_y]:
                    hi_y = i
                if x[i] < x[lo_x]:
                    lo_x = i
                if x[i] > x[hi_x]:
                    hi_x = i
                i += 1
            keep[i - 1] = True
            keep[lo_y] = True
            keep[hi_y] = True
            keep[lo_x] = True
            keep[hi_x] = True
            j = i
    return keep, starts
