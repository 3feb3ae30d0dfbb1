"""Cutting curves to the samples a view's x range needs, before the density kernel reads them.

Samples before a curve's first one at or right of the view's left edge all lie left of the view,
so every segment between them has both ends on that side, which Liang-Barsky skips; the same
holds after its last sample at or left of the right edge. Keeping one neighbour on each side
keeps the segments that cross the edges, clipped as before, so the pixels are the same, for any
curve (x may go back and forth in between). Finding the cut reads only the samples it drops,
at about a nanosecond each against several for drawing them: a zoom into a tenth of a held
filter then draws about a tenth of its samples. Values are compared as the kernel computes them
(``code * step`` in float64). Codes held as deltas (:func:`kept_deltas`) are summed on the way.
"""

from __future__ import annotations

import numpy as np

from pipelines.kernels import ngjit


@ngjit
def kept_ranges(x, offsets, x_step, picks, xmin, xmax):
    """``(starts, stops)`` per curve: the samples of each picked curve that the view
    ``xmin..xmax`` needs (unpicked curves: empty)."""
    n = len(offsets) - 1
    starts = np.zeros(n, dtype=np.int64)
    stops = np.zeros(n, dtype=np.int64)
    for p in range(len(picks)):
        ci = picks[p]
        s, e = offsets[ci], offsets[ci + 1]
        step = x_step[ci]
        first = s  # the first sample at or right of the left edge (e: none)
        while first < e and x[first] * step < xmin:
            first += 1
        last = e - 1  # the last sample at or left of the right edge (s - 1: none)
        while last >= s and x[last] * step > xmax:
            last -= 1
        starts[ci] = max(s, first - 1)
        stops[ci] = min(e, last + 2)
    return starts, stops


@ngjit
def kept_deltas(x, offsets, x_step, x_first, x_last, picks, xmin, xmax):
    """:func:`kept_ranges` for x held as deltas (``x[j]`` = code j minus code j - 1; a curve's
    first and last codes in ``x_first`` and ``x_last``), and each picked curve's code at its
    start: the ``x_first`` of the kept samples (others keep theirs)."""
    n = len(offsets) - 1
    starts = np.zeros(n, dtype=np.int64)
    stops = np.zeros(n, dtype=np.int64)
    firsts = x_first.copy()
    for p in range(len(picks)):
        ci = picks[p]
        s, e = offsets[ci], offsets[ci + 1]
        step = x_step[ci]
        first, code, before = s, x_first[ci], x_first[ci]
        while first < e and code * step < xmin:
            first += 1
            before = code
            if first < e:
                code += x[first]
        last, code = e - 1, x_last[ci]
        while last >= s and code * step > xmax:
            code -= x[last]
            last -= 1
        starts[ci] = max(s, first - 1)
        stops[ci] = min(e, last + 2)
        firsts[ci] = before
    return starts, stops, firsts


@ngjit
def gather(values, starts, stops, offsets_out):
    """The kept samples of every curve, one after another (``offsets_out`` from the lengths)."""
    out = np.empty(offsets_out[-1], dtype=values.dtype)
    for ci in range(len(starts)):
        out[offsets_out[ci] : offsets_out[ci + 1]] = values[starts[ci] : stops[ci]]
    return out
