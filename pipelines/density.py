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

from pipelines.kernels.density import density, shared_columns

_FLOATS = (np.float32, np.float64)
_CODES = (np.int16, np.int32)
_DELTAS = (np.int8,)  # x as per-sample differences (see :func:`density_and_drawn`)


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


def _layout(x, y, offsets, coded: bool = False, x_deltas: bool = False):
    x = np.asarray(x)
    y = np.asarray(y)
    kinds = _CODES if coded else _FLOATS
    x_kinds = _DELTAS if x_deltas else kinds
    if x.dtype not in x_kinds or y.dtype not in kinds:
        raise DensityInputError(
            f"x must be {' or '.join(np.dtype(k).name for k in x_kinds)} and y "
            f"{' or '.join(np.dtype(k).name for k in kinds)}; got {x.dtype}, {y.dtype}"
        )
    if x.ndim != 1:
        raise DensityInputError("x must be 1-D")
    if y.ndim == 2:
        if offsets is not None:
            raise DensityInputError("with y of shape (C, N) the x axis is shared; omit offsets")
        if y.shape[1] != x.shape[0]:
            raise DensityInputError(f"y has {y.shape[1]} samples per curve, x has {x.shape[0]}")
        n, samples = y.shape
        offsets = np.arange(n + 1, dtype=np.int64) * samples
        flat = np.ascontiguousarray(y).reshape(-1)
        return True, np.ascontiguousarray(x), flat, offsets, n
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
    return False, np.ascontiguousarray(x), np.ascontiguousarray(y), offsets, n


def _bounds(offsets: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Where each thread's share of ``picks`` starts: balanced by samples, not by curves."""
    threads = max(1, min(len(picks), numba.get_num_threads()))
    sizes = np.cumsum(offsets[picks + 1] - offsets[picks])
    total = sizes[-1] if len(sizes) else 0
    bounds = np.searchsorted(sizes, np.linspace(0, total, threads + 1)[1:-1], side="right")
    return np.concatenate([[0], bounds, [len(picks)]]).astype(np.int64)


def _per_curve(values, n: int, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.shape != (n,) or values.dtype.kind not in "iu":
        raise DensityInputError(f"{name} must be {n} integers, one per curve")
    return np.ascontiguousarray(values, dtype=np.int64)


NO_BOX = (0, -1, 0, -1)  # an empty pixel box: no pick test
_NO_COLUMNS = np.zeros(0, dtype=np.int64)  # x is not one shared axis: columns per curve


def _run(
    x,
    y,
    offsets,
    categories,
    n_categories,
    x_range,
    y_range,
    width,
    height,
    box=NO_BOX,
    *,
    steps=None,
    picks=None,
    x_first=None,
    y_base=None,
):
    """``steps``: (2, C) float64 quantisation steps when x and y are integer codes; ``picks``:
    the curves to draw (indices), all by default; ``x_first`` and ``y_base`` as in
    :func:`density_and_drawn`."""
    coded = steps is not None
    if (x_first is not None or y_base is not None) and not coded:
        raise DensityInputError("x deltas and y bases are for integer codes, with their steps")
    deltas = x_first is not None
    shared, x, y, offsets, n = _layout(x, y, offsets, coded=coded, x_deltas=deltas)
    if shared and (deltas or y_base is not None):
        raise DensityInputError("a shared x axis takes codes as they are: no deltas or bases")
    x_first, y_base = (
        None if b is None else _per_curve(b, n, name)
        for b, name in ((x_first, "x_first"), (y_base, "y_base"))
    )
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
        # A copy: one per curve, cheap, and always writable, so a read-only colour column
        # (as pandas answers one) does not make numba compile the kernel once more.
        cats = np.array(cats, dtype=np.int32)
    if steps is None:  # floats times 1.0 of their own type: the values, in their precision
        x_scale, y_scale = np.ones(n, dtype=x.dtype), np.ones(n, dtype=y.dtype)
    else:
        steps = np.asarray(steps, dtype=np.float64)
        if steps.shape != (2, n):
            raise DensityInputError(f"steps must have shape (2, {n}): x and y step per curve")
        x_scale, y_scale = np.ascontiguousarray(steps[0]), np.ascontiguousarray(steps[1])
    picks = np.arange(n, dtype=np.int64) if picks is None else np.asarray(picks, dtype=np.int64)
    if len(picks) and (picks.min() < 0 or picks.max() >= n):
        raise DensityInputError(f"picks must be curve indices in 0..{n - 1}")
    view = view_transform(x_range, y_range, width, height)
    columns = _NO_COLUMNS
    if shared and n and np.all(x_scale == x_scale[0]):  # one x axis: its columns, once
        columns = shared_columns(x, x_scale[0], view)
    hits = np.zeros(n, dtype=np.bool_)
    box = np.asarray(box, dtype=np.int64)
    counts = density(
        x,
        y,
        offsets,
        shared,
        x_scale,
        y_scale,
        x_first,
        y_base,
        picks,
        cats,
        int(n_categories),
        _bounds(offsets, picks),
        view,
        int(width),
        int(height),
        box,
        hits,
        columns,
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


def density_and_drawn(
    x: np.ndarray,
    y: np.ndarray,
    offsets: np.ndarray,
    *,
    steps: np.ndarray | None = None,
    x_first: np.ndarray | None = None,
    y_base: np.ndarray | None = None,
    picks: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    n_categories: int = 1,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int,
    height: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Counts ``uint32`` (height, width, K) and, per curve, whether it draws a pixel of the
    view: the curves a picture shows, which extents overlapping the view do not tell.

    ``steps``: (2, C) float64 when ``x``, ``y`` are int16 or int32 codes, each curve's x and y
    step, so a value is ``code * step`` exactly as the engine computes it (the store's samples
    at a quarter or half the memory of float64 values, not converted first); None for floats.
    ``x_first``: with codes, each curve's first x code, and x is int8, each sample's code minus
    the one before (how the memory cache holds x that rises by small steps: a byte a sample).
    ``y_base``: with codes, added to each curve's y codes (codes relative to the middle of a
    curve's range fit int16 where absolute ones need int32). ``picks``: which curves to draw
    (indices), all by default.
    """
    counts, drawn = _run(
        x,
        y,
        offsets,
        categories,
        n_categories,
        x_range,
        y_range,
        width,
        height,
        (0, int(width) - 1, 0, int(height) - 1),
        steps=steps,
        picks=picks,
        x_first=x_first,
        y_base=y_base,
    )
    return np.ascontiguousarray(np.moveaxis(counts, 0, -1)), drawn


def coded_density(
    x: np.ndarray, y: np.ndarray, offsets: np.ndarray, *, steps: np.ndarray, **view
) -> np.ndarray:
    """:func:`density_and_drawn`'s counts for integer codes and their ``steps``."""
    return density_and_drawn(x, y, offsets, steps=steps, **view)[0]


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
    steps: np.ndarray | None = None,
    x_first: np.ndarray | None = None,
    y_base: np.ndarray | None = None,
    picks: np.ndarray | None = None,
) -> np.ndarray:
    """Which curves draw a pixel inside ``box`` = ``(col0, col1, row0, row1)`` (inclusive,
    rows from the bottom as in :func:`curve_density`): one bool per curve. The pixels are
    those of :func:`curve_density` on the same view, so a pick matches the picture.
    ``steps``, ``x_first``, ``y_base`` and ``picks`` as in :func:`density_and_drawn` (curves
    not picked are False)."""
    c0, c1, r0, r1 = box
    if not (0 <= c0 <= c1 < width and 0 <= r0 <= r1 < height):
        raise DensityInputError(f"box {box} is not inside the {width}x{height} canvas")
    return _run(
        x,
        y,
        offsets,
        None,
        1,
        x_range,
        y_range,
        width,
        height,
        box,
        steps=steps,
        picks=picks,
        x_first=x_first,
        y_base=y_base,
    )[1]


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
    codes = np.array([0, 1, 0, 1], dtype=np.int32)
    steps = np.ones((2, 2))
    coded_density(codes, codes, offsets, steps=steps, **ranges)
    coded_density(codes.astype(np.int16), codes.astype(np.int16), offsets, steps=steps, **ranges)
    compact = dict(x_first=np.zeros(2, np.int64), y_base=np.zeros(2, np.int64), steps=steps)
    for y in (codes.astype(np.int16), codes):  # as the memory cache holds codes
        coded_density(codes.astype(np.int8), y, offsets, **compact, **ranges)
