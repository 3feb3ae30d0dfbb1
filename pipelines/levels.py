"""Per-curve levels: samples reduced ahead of any view, in power-of-two x buckets.

Level ``k`` cuts x into buckets of width ``unit * 2**k`` on an origin aligned to 0 (for stored
curves the unit is the curve's x step and a bucket is ``code >> k``, so levels nest exactly). A
curve then splits into *runs*: maximal stretches of consecutive finite samples in one bucket.
Runs follow sample order, so a curve whose x goes back and forth (a hysteresis loop) simply has
more runs; a NaN or infinite sample is a run of its own and keeps breaking the line. Each run
keeps its first and last sample, its lowest and highest y and its lowest and highest x, in
sample order: a subsequence of the curve (at most six samples per run).

Why a run can stand in for its samples, exactly. A curve's pixels are the union of its
segments' pixels. For a view, a run is *clean* when all of its samples lie in one pixel column
inside the view's x range, or all left of it, or all right of it:

* in one column, a connected chain of segments draws exactly the rows between its lowest and
  highest value (clipped to the view), whatever its order; the kept samples are a connected
  chain with the same lowest and highest value, and the segments joining the run to its
  neighbours start and end at the kept first and last sample (the engine's per-view M4 in
  ``pipelines.fetch`` rests on the same argument);
* all on one side outside the view, every segment between two of its samples is skipped by
  Liang-Barsky, and again the joining segments are kept.

A run whose samples reach two columns (a bucket straddling a pixel edge or the view's x bound)
is replaced by its raw samples. Columns come from the kernel's own float64 expression on the
run's lowest and highest x (kept for this), and the mapping is monotonic, so "lowest and highest
x in one column" means every sample is. :func:`choose_level` picks, per view, the coarsest level
whose buckets are at most 1/8 of a pixel column wide, so straddlers hold a small share of the
samples. ``tests/pipelines/test_levels.py`` checks drawing from levels against the kernel on
the raw samples, pixel for pixel.

What that sends: up to 4 samples per bucket, 8 buckets per column, plus about 1/8 of the samples
raw, so it only pays from well over 32 samples per column and curve (measured: 10 k samples on
800 columns draw 72 % of the samples, 100 k draw 31 %, where the per-view M4 sends 26 % and 3 %).
On a view whose pixel columns are a level's buckets (:func:`aligned_view`) no run straddles and
the level *is* the per-view M4, read instead of computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipelines.views import View

# From this many samples per pixel column (over a curve's whole x extent) a curve is drawn
# reduced: by the engine per view (``pipelines.fetch``), or from a stored level; below it,
# reducing costs the engine more than sending the samples.
REDUCE_FROM_PER_COLUMN = 8
# Buckets at most this fraction of a pixel column wide (see choose_level).
BUCKETS_PER_COLUMN = 8
# Bucket keys are clipped into this range so a far-off value cannot overflow int64.
_KEY_LIMIT = 2.0**60


@dataclass
class Level:
    """One level of a batch of curves: the kept samples and where each run sits.

    ``x``, ``y``: kept samples, in the input's dtype (codes or floats). ``offsets`` (C+1):
    kept samples per curve. ``run_offsets`` (R+1): kept samples per run. ``curve_runs`` (C+1):
    runs per curve. ``raw_offsets`` (R+1): where each run starts among the raw samples.
    """

    k: int
    x: np.ndarray
    y: np.ndarray
    offsets: np.ndarray
    run_offsets: np.ndarray
    curve_runs: np.ndarray
    raw_offsets: np.ndarray

    @property
    def runs(self) -> int:
        return len(self.run_offsets) - 1


def _prepare(x, y, offsets, unit, steps):
    """Bucket keys at level 0 and whether each sample is finite (codes are their own keys)."""
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.diff(offsets)
    if steps is not None:
        if x.dtype.kind not in "iu" or y.dtype.kind not in "iu":
            raise ValueError("with steps, x and y must be integer codes")
        return x, y, offsets, x, np.ones(len(x), dtype=np.bool_)
    if unit is None:
        raise ValueError("floats need a bucket unit (a scalar or one per curve)")
    values = x.astype(np.float64)
    finite = np.isfinite(values) & np.isfinite(y)
    unit = np.asarray(unit, dtype=np.float64)
    per_sample = np.repeat(unit, counts) if unit.ndim else unit
    with np.errstate(invalid="ignore", over="ignore"):
        keys = np.floor(np.where(finite, values, 0.0) / per_sample)
    q = np.clip(keys, -_KEY_LIMIT, _KEY_LIMIT).astype(np.int64)
    return x, y, offsets, q, finite


def compute_levels(
    x: np.ndarray,
    y: np.ndarray,
    offsets: np.ndarray,
    ks: list[int] | tuple[int, ...],
    *,
    unit: float | np.ndarray | None = None,
    steps: np.ndarray | None = None,
    runs: bool = True,
) -> dict[int, Level]:
    """Levels ``ks`` of the curves ``x``, ``y`` (concatenated, ``offsets`` as in Arrow).

    Floats need ``unit`` (scalar or one per curve); integer codes take ``steps`` ((2, C) as in
    :func:`pipelines.density.density_and_drawn`) and use the code itself as level-0 bucket.
    ``runs=False`` leaves out where each run lies (``run_offsets``, ``curve_runs`` and
    ``raw_offsets`` empty): drawing on a view aligned to the level needs only the kept samples,
    and storing levels is cheaper without them (about a third of the work).
    """
    from pipelines.kernels.levels import level_runs

    x, y, offsets, q, finite = _prepare(x, y, offsets, unit, steps)
    n = len(x)
    codes = q is x  # codes are their own bucket keys: one array fewer to carry
    index = np.arange(n, dtype=np.int64) if runs else None  # raw position of each sample
    nothing = np.zeros(0, dtype=np.int64)
    levels = {}
    # Coarser levels from the finer one's kept samples: runs nest (a bucket of level k is two
    # of level k - 1), and the first, last and extremes of a union of runs are among theirs,
    # found first in sample order, so the result is the same as from the raw samples.
    for k in sorted({int(k) for k in ks}):
        keep, starts = level_runs(x, y, finite, offsets, q, k)
        kept = np.flatnonzero(keep)
        level = Level(
            k=k,
            x=x[kept],
            y=y[kept],
            offsets=np.searchsorted(kept, offsets).astype(np.int64),
            run_offsets=nothing,
            curve_runs=nothing,
            raw_offsets=nothing,
        )
        if runs:
            first = np.flatnonzero(starts)
            level.run_offsets = np.append(np.searchsorted(kept, first), len(kept)).astype(np.int64)
            level.curve_runs = np.searchsorted(first, offsets).astype(np.int64)
            level.raw_offsets = np.append(index[first], n).astype(np.int64)
            index = index[kept]
        levels[k] = level
        x, y, finite = level.x, level.y, finite[kept]
        q = x if codes else q[kept]
        offsets = level.offsets
    return levels


def choose_level(view: View, unit: float, available: list[int] | tuple[int, ...]) -> int | None:
    """The coarsest available level whose buckets are at most 1/:data:`BUCKETS_PER_COLUMN` of
    a pixel column of ``view``; None when even the finest is wider (draw the raw samples)."""
    pixel = (view.x_range[1] - view.x_range[0]) / view.width
    widest = pixel / BUCKETS_PER_COLUMN / unit
    if not widest >= 1.0:
        return None
    top = math.floor(math.log2(widest))
    fitting = [k for k in available if k <= top]
    return max(fitting) if fitting else None


def aligned_view(view: View, unit: float, available: list[int] | tuple[int, ...]) -> View | None:
    """``view`` widened to the grid of a level: pixel columns exactly ``2**k`` codes wide, edges
    half a code between two codes, covering ``view``'s x range; None when no available level
    is coarse enough. On it every run of level ``k`` lies in one column, so drawing from the
    level needs no raw samples and sends what the per-view M4 sends (codes on ``unit``'s grid).
    The price: the x range grows by up to 2x (the next power of two), plus one column.
    """
    lo, hi = view.x_range[0] / unit, view.x_range[1] / unit  # in codes
    for k in sorted(available):
        size = 2.0**k
        start = math.floor((lo + 0.5) / size) * size - 0.5
        if start + view.width * size >= hi:
            return view.zoomed((start * unit, (start + view.width * size) * unit), view.y_range)
    return None


# How far (in codes) a view's column edges may sit from halfway between two codes for the
# view to count as aligned: far below half a code, which is what keeps every run in one column.
_ALIGNED_WITHIN = 0.01


def aligned_level(
    view: View, steps: np.ndarray, available: list[int] | tuple[int, ...]
) -> np.ndarray:
    """Per x step in ``steps``: the level of ``available`` whose buckets are exactly ``view``'s
    pixel columns (each ``2**k`` codes wide, every edge half a code between two codes, as
    :func:`aligned_view` makes them), or -1. On such a view every run of that level lies in one
    column, so the level alone draws a curve of that step exactly."""
    steps = np.asarray(steps, dtype=np.float64)
    x0, x1 = view.x_range
    with np.errstate(divide="ignore", invalid="ignore"):
        per_column = (x1 - x0) / view.width / steps  # codes per pixel column
        k = np.rint(np.log2(per_column))
        size = 2.0**k
        start = x0 / steps + 0.5  # the left edge, in codes, plus half a code
        off = np.abs(start / size - np.rint(start / size)) * size
        # The edges drift by this much from the grid over the view's width.
        drift = np.abs(per_column - size) * view.width
        fits = (off + drift < _ALIGNED_WITHIN) & np.isin(k, available)
    return np.where(fits, k, -1).astype(np.int64)


def _columns(values: np.ndarray, view_array: np.ndarray) -> np.ndarray:
    """The kernel's pixel column (``to_pixel``) of x values inside the view."""
    sx, tx, top = view_array[4], view_array[5], int(view_array[8])
    p = (values * sx + tx).astype(np.int64)
    return np.where(p == top, p - 1, p)


@dataclass
class Drawable:
    """Samples to hand the kernel instead of the raw ones: the same pixels on one view."""

    x: np.ndarray
    y: np.ndarray
    offsets: np.ndarray
    runs: int  # runs in the level
    raw_runs: int  # of those, drawn from their raw samples (they reach two columns)
    raw_samples: int  # samples those raw runs hold


def clean_runs(level: Level, view: View, steps: np.ndarray | None = None) -> np.ndarray:
    """Per run of ``level``: whether its kept samples draw exactly its pixels on ``view``."""
    from pipelines.density import view_transform

    transform = view_transform(view.x_range, view.y_range, view.width, view.height)
    xmin, xmax = transform[0], transform[1]
    counts = np.diff(level.offsets)
    values = level.x.astype(np.float64)
    if steps is not None:
        values *= np.repeat(np.asarray(steps, np.float64)[0], counts)
    if not level.runs:
        return np.zeros(0, dtype=np.bool_)
    starts = level.run_offsets[:-1]
    with np.errstate(invalid="ignore"):
        low = np.minimum.reduceat(values, starts)
        high = np.maximum.reduceat(values, starts)
    finite = np.isfinite(low) & np.isfinite(high)
    inside = finite & (low >= xmin) & (high <= xmax)
    one_column = np.zeros(len(low), dtype=np.bool_)
    one_column[inside] = _columns(low[inside], transform) == _columns(high[inside], transform)
    single = np.diff(level.run_offsets) == np.diff(level.raw_offsets)  # kept every sample
    return ~finite | single | (finite & ((high < xmin) | (low > xmax))) | one_column


def drawable(
    level: Level,
    x: np.ndarray,
    y: np.ndarray,
    view: View,
    *,
    steps: np.ndarray | None = None,
) -> Drawable:
    """What to draw on ``view`` for the curves ``level`` was computed from (their raw samples
    ``x``, ``y``, needed only for runs that reach two pixel columns): clean runs as their kept
    samples, the others raw. Drawing it gives the raw samples' pixels exactly."""
    clean = clean_runs(level, view, steps)
    kept_counts = np.diff(level.run_offsets)
    raw_counts = np.diff(level.raw_offsets)
    lengths = np.where(clean, kept_counts, raw_counts)
    out_starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    total = int(out_starts[-1])
    # Each output sample: its position inside its run, plus where the run's source starts.
    run_of = np.repeat(np.arange(level.runs), lengths)
    within = np.arange(total, dtype=np.int64) - out_starts[:-1][run_of]
    from_kept = clean[run_of]
    source = (
        np.where(from_kept, level.run_offsets[:-1][run_of], level.raw_offsets[:-1][run_of]) + within
    )
    dtype_x = np.result_type(level.x.dtype, x.dtype)
    dtype_y = np.result_type(level.y.dtype, y.dtype)
    out_x = np.empty(total, dtype=dtype_x)
    out_y = np.empty(total, dtype=dtype_y)
    out_x[from_kept] = level.x[source[from_kept]]
    out_y[from_kept] = level.y[source[from_kept]]
    out_x[~from_kept] = x[source[~from_kept]]
    out_y[~from_kept] = y[source[~from_kept]]
    return Drawable(
        x=out_x,
        y=out_y,
        offsets=out_starts[level.curve_runs],
        runs=level.runs,
        raw_runs=int((~clean).sum()),
        raw_samples=int(raw_counts[~clean].sum()),
    )
