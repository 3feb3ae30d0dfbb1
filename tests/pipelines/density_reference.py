"""The slow, obvious reference: Datashader per curve with ``any()``, summed."""

from __future__ import annotations

import datashader as ds
import numpy as np
import pandas as pd


def reference_density(curves, *, x_range, y_range, width, height) -> np.ndarray:
    canvas = ds.Canvas(width, height, x_range=x_range, y_range=y_range)
    total = np.zeros((height, width), dtype=np.uint32)
    for x, y in curves:
        if len(x) < 2:
            continue  # no segment, nothing drawn
        frame = pd.DataFrame({"x": x, "y": y})
        total += canvas.line(frame, "x", "y", agg=ds.any()).values.astype(np.uint32)
    return total


def concatenate(curves):
    """(x, y, offsets) in the Arrow list layout ``curve_density`` takes."""
    offsets = np.zeros(len(curves) + 1, dtype=np.int64)
    np.cumsum([len(x) for x, _ in curves], out=offsets[1:])
    xs = np.concatenate([x for x, _ in curves]) if curves else np.empty(0)
    ys = np.concatenate([y for _, y in curves]) if curves else np.empty(0)
    return xs, ys, offsets
