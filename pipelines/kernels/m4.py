"""M4 reduction per pixel column (Jugel et al., VLDB 2014), for curves drawn as vector lines.

Within one pixel column, consecutive samples only draw a vertical run between their lowest and
highest rows; keeping the first, last, lowest and highest sample of each such run keeps every
pixel, and the segments between columns are kept as they were. Samples outside the view's x
range or not finite are always kept.
"""

from __future__ import annotations

import numpy as np

from pipelines.kernels import ngjit
from pipelines.kernels.lines import to_pixel


@ngjit
def m4_keep(x, y, offsets, view):
    """A mask over the samples: True for those an M4 reduction keeps."""
    xmin, xmax, sx, tx, xtop = view[0], view[1], view[4], view[5], int(view[8])
    keep = np.zeros(len(x), dtype=np.bool_)
    for ci in range(len(offsets) - 1):
        s, e = offsets[ci], offsets[ci + 1]
        run_col = -1
        first = low = high = -1
        for j in range(s, e):
            inside = np.isfinite(x[j]) and np.isfinite(y[j]) and xmin <= x[j] <= xmax
            col = to_pixel(x[j], sx, tx, xtop) if inside else -1
            if col != run_col or col < 0:
                if run_col >= 0:
                    keep[first] = keep[j - 1] = keep[low] = keep[high] = True
                run_col, first, low, high = col, j, j, j
                if col < 0:
                    keep[j] = True
                    continue
            if y[j] < y[low]:
                low = j
            if y[j] > y[high]:
                high = j
        if run_col >= 0:
            keep[first] = keep[e - 1] = keep[low] = keep[high] = True
    return keep
