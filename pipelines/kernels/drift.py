"""CUSUM drift episodes in one pass: every place a station's series signals, and where each
drift began.

:func:`pipelines.drifts.station_drifts` used to run the tabular CUSUM
(:func:`pipelines.spc.drift.cusum`) on the rest of the series after each signal, which costs
the series' length per signal: 78 s for 100,000 parts of a slowly drifting station. Restarting
after a signal is the CUSUM again from zero on the next part, so one pass that resets both sums
there finds the same signals. A drift began at the part after its side's sum last stood at zero
since the restart (Page's change point), as :func:`~pipelines.spc.drift.cusum` says.
"""

from __future__ import annotations

import numpy as np

from pipelines.kernels import ngjit


@ngjit
def cusum_episodes(z, k, h):
    """``(m, 3)`` int64 rows ``(since, signal, way)`` for the standardised series ``z``: the
    first part past ``h`` of each restart, where it began, and +1 up or -1 down. A search
    starts only where at least two parts are left, as the repeated CUSUM did."""
    n = len(z)
    out = np.empty((n, 3), np.int64)
    m = 0
    if n < 2:
        return out[:0]
    hi = lo = 0.0
    zero_hi = zero_lo = -1  # the last part where each sum stood at zero since the restart
    for i in range(len(z)):
        hi = max(0.0, hi + z[i] - k)
        lo = max(0.0, lo - k - z[i])
        if hi == 0.0:
            zero_hi = i
        if lo == 0.0:
            zero_lo = i
        if hi > h or lo > h:
            up = hi > h
            out[m, 0] = (zero_hi if up else zero_lo) + 1
            out[m, 1] = i
            out[m, 2] = 1 if hi - lo > 0.0 else -1
            m += 1
            if i + 1 >= n - 1:  # no search starts on the last part
                break
            hi = lo = 0.0
            zero_hi = zero_lo = i
    return out[:m]
