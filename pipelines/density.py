"""``curve_density``: the number of distinct curves through each pixel, as Datashader draws lines.

A pixel's value is how many curves' polylines pass through it; a curve counts once per pixel
however many of its segments cross it. "Passes through" is decided exactly as
``datashader.Canvas.line`` decides it without antialiasing: same pixel mapping (a value on the
upper bound falls into the last pixel), Liang-Barsky clipping to the view, Bresenham stepping,
and NaN breaking the line. Row 0 of the result is ``y_range[0]``, as in Datashader's aggregate.
"""

from __future__ import annotations

import numba
import numpy as np

from pipelines.kernels.density import density

_FLOATS = (np.float32, np.float64)


class DensityInputError(ValueError):
    """Arrays or view parameters that do not describe curves on a canvas."""


def view_transform(x_range, y_range, width: int, height: int) -> np.ndarray:
    """Bounds, Datashader's scale and translate per axis, and the canvas size in pixels."""
    for name, (lo, hi) in (("x_range", x_range), ("y_range", y_range)):
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise DensityInputError(
                f"{name} must be two finite numbers, low < high; got {lo}, {hi}"
            )
    if int(width) < 1 or int(height) < 1:
        raise DensityInputError(f"width and height must be positive; got {width}x{height}")
    xmin, xmax = float(x_range[0]), float(x_range[1])
    ymin, ymax = float(y_range[0]), float(y_range[1])
    # Datashader's LinearAxis.compute_scale_and_translate
    sx = width / (xmax - xmin)
    tx = -xmin * sx
    sy = height / (ymax - ymin)
    ty = -ymin * sy
    # One float64 array, as kernels take only arrays and scalars; the last two are pixel counts.
    return np.array(
        [xmin, xmax, ymin, ymax, sx, tx, sy, ty, round(xmax * sx + tx), round(ymax * sy + ty)],
        dtype=np.float64,
    )


def _layout(x, y, offsets):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.dtype not in _FLOATS or y.dtype not in _FLOATS:
        raise DensityInputError(f"x and y must be float32 or float64; got {x.dtype}, {y.dtype}")
    if x.ndim != 1:
        raise DensityInputError("x must be 1-D")
    if y.ndim == 2:
        if offsets is not None:
            raise DensityInputError("with y of shape (C, N) the x axis is shared; omit offsets")
        if y.shape[1] != x.shape[0]:
            raise DensityInputError(f"y has {y.shape[1]} samples per curve, x has {x.shape[0]}")
        n, samples = y.shape
        bounds = np.linspace(0, n, max(1, min(n, numba.get_num_threads())) + 1).astype(np.int64)
        offsets = np.arange(n + 1, dtype=np.int64) * samples
        flat = np.ascontiguousarray(y).reshape(-1)
        return True, np.ascontiguousarray(x), flat, offsets, n, bounds
    if offsets is None:
        raise DensityInputError("concatenated samples need offsets (length curves + 1)")
    offsets = np.asarray(offsets)
    if offsets.dtype.kind not in "iu" or offsets.ndim != 1 or len(offsets) < 1:
        raise DensityInputError("offsets must be a 1-D integer array of length curves + 1")
    offsets = offsets.astype(np.int64, copy=False)
    if offsets[0] != 0 or offsets[-1] != len(x) or len(y) != len(x) or np.any(np.diff(offsets) < 0):
        raise DensityInputError(
            "offsets must start at 0, never decrease and end at len(x) == len(y)"
        )
    n = len(offsets) - 1
    threads = max(1, min(n, numba.get_num_threads()))
    # Balance threads by samples, not by curves.
    bounds = np.searchsorted(offsets, np.linspace(0, offsets[-1], threads + 1)).astype(np.int64)
    bounds[0], bounds[-1] = 0, n
    return False, np.ascontiguousarray(x), np.ascontiguousarray(y), offsets, n, bounds


NO_BOX = (0, -1, 0, -1)  # an empty pixel box: no pick test


def _run(x, y, offsets, categories, n_categories, x_range, y_range, width, height, box=NO_BOX):
    shared, x, y, offsets, n, bounds = _layout(x, y, offsets)
    if categories is None:
        cats = np.zeros(n, dtype=np.int32)
    else:
        cats = np.asarray(categories)
        if cats.dtype == np.bool_:
            cats = cats.astype(np.int32)  # e.g. is_nok: False -> 0, True -> 1
        if cats.shape != (n,) or cats.dtype.kind not in "iu":
            raise DensityInputError(f"categories must be {n} integers, one per curve")
        if n and (cats.min() < 0 or cats.max() >= n_categories):
            raise DensityInputError(f"categories must lie in 0..{n_categories - 1}")
        cats = cats.astype(np.int32, copy=False)
    view = view_transform(x_range, y_range, width, height)
    hits = np.zeros(n, dtype=np.bool_)
    box = np.asarray(box, dtype=np.int64)
    counts = density(
        x,
        y,
        offsets,
        shared,
        cats,
        int(n_categories),
        bounds,
        view,
        int(width),
        int(height),
        box,
        hits,
    )
    return counts, hits


def curve_density(
    x: np.ndarray,
    y: np.ndarray,
    offsets: np.ndarray | None = None,
    *,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int,
    height: int,
) -> np.ndarray:
    """Distinct curves per pixel, ``uint32`` of shape ``(height, width)``.

    ``x``, ``y``: all curves' samples concatenated, with ``offsets`` (int, length C+1) as in
    Arrow's list layout; or a shared ``x`` of length N with ``y`` of shape (C, N).
    """
    return _run(x, y, offsets, None, 1, x_range, y_range, width, height)[0][0]


def curve_density_by_category(
    x: np.ndarray,
    y: np.ndarray,
    offsets: np.ndarray | None = None,
    *,
    categories: np.ndarray,
    n_categories: int,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int,
    height: int,
) -> np.ndarray:
    """Distinct curves per pixel and category, ``uint32`` of shape ``(height, width, K)``.

    ``categories`` holds one integer in ``0..n_categories-1`` per curve (e.g. OK=0, NOK=1).
    """
    counts, _ = _run(x, y, offsets, categories, n_categories, x_range, y_range, width, height)
    return np.ascontiguousarray(np.moveaxis(counts, 0, -1))


def curves_through(
    x: np.ndarray,
    y: np.ndarray,
    offsets: np.ndarray | None = None,
    *,
    box: tuple[int, int, int, int],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int,
    height: int,
) -> np.ndarray:
    """Which curves draw a pixel inside ``box`` = ``(col0, col1, row0, row1)`` (inclusive,
    rows from the bottom as in :func:`curve_density`): one bool per curve. The pixels are
    those of :func:`curve_density` on the same view, so a pick matches the picture."""
    c0, c1, r0, r1 = box
    if not (0 <= c0 <= c1 < width and 0 <= r0 <= r1 < height):
        raise DensityInputError(f"box {box} is not inside the {width}x{height} canvas")
    return _run(x, y, offsets, None, 1, x_range, y_range, width, height, box)[1]


def warm_up() -> None:
    """Compile (or load from numba's cache) the kernels a first view needs, on two curves."""
    x = np.array([0.0, 1.0, 0.0, 1.0])
    offsets = np.array([0, 2, 4], dtype=np.int64)
    ranges = dict(x_range=(0.0, 1.0), y_range=(0.0, 1.0), width=4, height=4)
    curve_density(x, x, offsets, **ranges)
    curve_density_by_category(
        x, x, offsets, categories=np.array([0, 1], dtype=np.int32), n_categories=2, **ranges
    )
    curves_through(x, x, offsets, box=(0, 3, 0, 3), **ranges)
