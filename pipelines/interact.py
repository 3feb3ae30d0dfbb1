"""What the explorer does around the raster, in pixels: which pixels a click or a box means,
the parts found there, and a few curves as lines.

Every function takes a :class:`~pipelines.views.View` with its ranges set (as returned in
``DensityImage.view``), so a pick or a highlight speaks of exactly the pixels on screen. The
reading itself is :class:`pipelines.curves.Curves`'s (``pick``, ``highlight``); this module
holds the pixel arithmetic and the line reduction, and no SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.samples import CurveSet
from pipelines.views import View


@dataclass
class Pick:
    total: int  # curves with a pixel in the box
    curves: pd.DataFrame  # the newest ``limit`` of them, with their metadata


@dataclass
class Line:
    meta: pd.Series
    x: np.ndarray
    y: np.ndarray


def data_box(view: View, box: tuple[int, int, int, int]) -> tuple[tuple, tuple]:
    """The data region of a pixel box, widened by one pixel on each side: where the curves
    drawing a pixel in the box must reach."""
    (x0, x1), (y0, y1) = view.x_range, view.y_range
    c0, c1, r0, r1 = box
    dx, dy = (x1 - x0) / view.width, (y1 - y0) / view.height
    return (x0 + (c0 - 1) * dx, x0 + (c1 + 2) * dx), (y0 + (r0 - 1) * dy, y0 + (r1 + 2) * dy)


def pixel_box(view: View, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    """The pixels (col0, col1, row0, row1) of ``view`` covering a data rectangle, clipped to
    the canvas: what a click or a box selection on the raster means."""
    (vx0, vx1), (vy0, vy1) = view.x_range, view.y_range

    def index(v: float, lo: float, hi: float, n: int) -> int:
        return int(min(max(np.floor((v - lo) / (hi - lo) * n), 0), n - 1))

    cols = sorted((index(x0, vx0, vx1, view.width), index(x1, vx0, vx1, view.width)))
    rows = sorted((index(y0, vy0, vy1, view.height), index(y1, vy0, vy1, view.height)))
    return (cols[0], cols[1], rows[0], rows[1])


def lines(curves: CurveSet, view: View) -> list[Line]:
    """Each curve as a vector line, M4-reduced to the canvas: the same pixels, fewer points."""
    from pipelines.density import view_transform
    from pipelines.kernels.m4 import m4_keep

    keep = m4_keep(
        curves.x,
        curves.y,
        curves.offsets,
        view_transform(view.x_range, view.y_range, view.width, view.height),
    )
    drawn = []
    for i, row in curves.meta.iterrows():
        s, e = curves.offsets[i], curves.offsets[i + 1]
        mask = keep[s:e]
        drawn.append(Line(row, curves.x[s:e][mask], curves.y[s:e][mask]))
    return drawn
