"""From curves to distinct-curve counts: the kernel's side of a view, and what a view reports.

Whatever holds the samples (an engine's answers, codes held in memory, a curve set a page
loaded), the picture is made here, so every source draws the same pixels and reports the same
figures (curves drawn, curves near, samples, labels, timings). Only NumPy arrays reach the
kernel; the kernel module is imported on first use, so reading curves never loads numba.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipelines.prefetch import prefetch
from pipelines.samples import CurveSet
from pipelines.views import COLOR_COLUMNS, FilterError, View, padded

if TYPE_CHECKING:
    from pipelines.hot import HotCurves

# Samples fetched and drawn at a time (as answered: reduced, or read from a level, a curve
# answers fewer than it stores): bounds memory, and lets fetching overlap drawing.
CHUNK_SAMPLES = 16_000_000
# A held filter's view reads only the samples it needs when that is at most this share of them.
CUT_WORTH = 0.7


@dataclass
class DensityImage:
    """Counts for one view, with what it took to make them."""

    counts: np.ndarray  # uint32 (height, width), or (height, width, K) with categories
    view: View  # with the ranges actually used
    categories: list[str] = field(default_factory=list)
    curves: int = 0  # curves drawn: matching the filter, with a pixel in the view
    near: int = 0  # curves matching the filter whose extents meet the view (drawn or not)
    samples: int = 0  # samples fetched from the engine
    results: dict[str, int] = field(default_factory=dict)  # curves drawn per result (OK, NOK)
    category_curves: dict[str, int] = field(default_factory=dict)  # curves drawn per category
    x_label: str = "x"
    y_label: str = "y"
    seconds: dict[str, float] = field(default_factory=dict)
    # A first picture while a filter loads: drawn from the curves read so far, of this many
    # matching in all (0: every matching curve is drawn).
    loading: int = 0


@dataclass
class Comparison:
    """Two selections drawn on one canvas."""

    a: DensityImage
    b: DensityImage

    @property
    def difference(self) -> np.ndarray:
        """Share of A's curves minus share of B's through each pixel, in -1..1."""
        share_a = self.a.counts / max(self.a.curves, 1)
        share_b = self.b.counts / max(self.b.curves, 1)
        return share_a - share_b


def axis_labels(meta: pd.DataFrame) -> dict[str, str]:
    """Axis labels from the first curve's quantity names and units."""
    if meta.empty:
        return {"x_label": "x", "y_label": "y"}
    first = meta.iloc[0]

    def label(name: str, unit: str, fallback: str) -> str:
        if not name:
            return fallback
        return f"{name} ({unit})" if unit else name

    return {
        "x_label": label(first.x_name, first.x_unit, "x"),
        "y_label": label(first.y_name, first.y_unit, "y"),
    }


def tally(meta: pd.DataFrame, column: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in meta[column].astype(str).value_counts().items()}


def _canvas(meta: pd.DataFrame, view: View) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """``meta`` with category codes when the view is coloured, the categories, and zero
    counts of the right shape."""
    if view.color_by:
        codes, uniques = pd.factorize(meta["category"].astype(str), sort=True)
        meta = meta.assign(category_code=codes.astype(np.int32))
        return meta, list(uniques), np.zeros((view.height, view.width, len(uniques)), np.uint32)
    return meta, [], np.zeros((view.height, view.width), dtype=np.uint32)


@dataclass
class _Drawn:
    """What one view drew, gathered while drawing: turned into a :class:`DensityImage`."""

    meta: pd.DataFrame  # the curves whose extents meet the view
    shown: pd.DataFrame  # those drawing a pixel
    categories: list[str]
    counts: np.ndarray
    samples: int
    engine: float
    kernel: float

    def image(self, view: View, started: float) -> DensityImage:
        return DensityImage(
            counts=self.counts,
            view=view,
            categories=self.categories,
            curves=len(self.shown),
            near=len(self.meta),
            samples=self.samples,
            results=tally(self.shown, "result"),
            category_curves=tally(self.shown, "category") if self.categories else {},
            seconds={
                "engine": self.engine,
                "kernel": self.kernel,
                "total": time.perf_counter() - started,
            },
            **axis_labels(self.meta),
        )


def _chunks(meta: pd.DataFrame, budget: int, sizes: np.ndarray | None) -> list[pd.DataFrame]:
    """Consecutive groups of curves whose answers hold about ``budget`` samples each (``sizes``
    per curve, else its stored samples). Not smaller: on two cores, fetching one group while
    drawing another slowed a 5 M-sample view from 255 to 276 ms, the engine and the kernel each
    wanting both cores."""
    if meta.empty:
        return []
    sizes = meta["point_count"].to_numpy() if sizes is None else sizes
    group = np.cumsum(sizes) // max(1, budget)
    return [part for _, part in meta.groupby(group, sort=True)]


def draw_fetched(
    meta: pd.DataFrame,
    view: View,
    fetch: Callable[[pd.DataFrame], Iterator[CurveSet]],
    *,
    sizes: np.ndarray | None = None,
    chunk_samples: int = CHUNK_SAMPLES,
    started: float,
) -> DensityImage:
    """Counts of the curves in ``meta`` (their extents meet ``view``, ranges set), whose
    samples ``fetch(part)`` yields for each chunk of about ``chunk_samples`` samples
    (``sizes``: how many each curve's answer holds, when not all of its stored samples).

    Counts of disjoint sets of curves add up, so memory stays bounded, and the next chunk is
    fetched while the kernel draws this one.
    """
    from pipelines.density import density_and_drawn

    meta, categories, counts = _canvas(meta, view)
    kwargs = dict(x_range=view.x_range, y_range=view.y_range, width=view.width, height=view.height)

    def fetched():
        for part in _chunks(meta, chunk_samples, sizes):
            answers = fetch(part)
            while True:
                began = time.perf_counter()
                curves = next(answers, None)
                if curves is None:
                    break
                yield curves, time.perf_counter() - began

    engine = kernel = 0.0
    samples = 0
    drawn = []
    for curves, seconds in prefetch(fetched(), depth=1):
        engine += seconds
        began = time.perf_counter()
        part, shows = density_and_drawn(
            curves.x,
            curves.y,
            curves.offsets,
            steps=None if curves.x_step is None else np.vstack(curves.steps()),
            categories=curves.meta["category_code"].to_numpy() if categories else None,
            n_categories=max(1, len(categories)),
            **kwargs,
        )
        counts += part.reshape(counts.shape)
        kernel += time.perf_counter() - began
        drawn.append(curves.meta["curve_id"].to_numpy()[shows])
        samples += len(curves.y) if curves.x_step is not None else int(np.isfinite(curves.y).sum())
    shown = meta[meta["curve_id"].isin(np.concatenate(drawn))] if drawn else meta.iloc[:0]
    return _Drawn(meta, shown, categories, counts, samples, engine, kernel).image(view, started)


def fitted_to(view: View, meta: pd.DataFrame) -> View:
    """``view`` with missing ranges fitted to the stored extents of ``meta``'s curves."""
    if view.x_range is not None and view.y_range is not None:
        return view
    return view.fitted(
        (meta["x_min"].min(), meta["x_max"].max()), (meta["y_min"].min(), meta["y_max"].max())
    )


def draw_held(curves: HotCurves, view: View, *, started: float) -> DensityImage:
    """The view drawn from a filter's codes held in memory (:mod:`pipelines.hot`): the same
    counts and figures the engine's answers give."""
    from pipelines.density import density_and_drawn

    view = fitted_to(view, curves.chosen)
    picks = curves.overlapping(view.x_range, view.y_range)
    meta = curves.meta.iloc[picks]
    if view.color_by:
        if view.color_by not in COLOR_COLUMNS:
            raise FilterError(f"cannot colour by {view.color_by!r}")
        meta = meta.assign(category=meta[view.color_by])
    meta, categories, counts = _canvas(meta, view)
    codes = np.zeros(len(curves.meta), dtype=np.int32)
    if categories:
        codes[picks] = meta["category_code"].to_numpy()
    began = time.perf_counter()
    x, y, offsets, x_first = _cut_to_view(curves, picks, view)
    part, shows = density_and_drawn(
        x,
        y,
        offsets,
        steps=curves.steps,
        x_first=x_first,
        y_base=curves.y_base,
        picks=picks,
        categories=codes,
        n_categories=max(1, len(categories)),
        x_range=view.x_range,
        y_range=view.y_range,
        width=view.width,
        height=view.height,
    )
    counts += part.reshape(counts.shape)
    kernel = time.perf_counter() - began
    samples = int((offsets[picks + 1] - offsets[picks]).sum())
    shown = meta[shows[picks]]
    return _Drawn(meta, shown, categories, counts, samples, 0.0, kernel).image(view, started)


def _cut_to_view(
    curves: HotCurves, picks: np.ndarray, view: View
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The held codes (x, y, offsets and, for x held as steps, each curve's first x code), cut
    to the samples ``view`` needs when that saves reading enough of them
    (:mod:`pipelines.kernels.trim`: same pixels); curves keep their indices."""
    from pipelines.kernels.trim import gather, kept_deltas, kept_ranges

    edges = (picks.astype(np.int64), float(view.x_range[0]), float(view.x_range[1]))
    x_first = curves.x_first
    if x_first is None:
        starts, stops = kept_ranges(curves.x, curves.offsets, curves.steps[0], *edges)
    else:
        starts, stops, x_first = kept_deltas(
            curves.x, curves.offsets, curves.steps[0], x_first, curves.x_last, *edges
        )
    kept = int((stops - starts).sum())
    if kept > CUT_WORTH * int((curves.offsets[picks + 1] - curves.offsets[picks]).sum()):
        # an overview: copying would cost more
        return curves.x, curves.y, curves.offsets, curves.x_first
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(stops - starts, out=offsets[1:])
    x, y = (gather(codes, starts, stops, offsets) for codes in (curves.x, curves.y))
    return x, y, offsets, x_first


def draw(curves: CurveSet, view: View) -> DensityImage:
    """Distinct-curve counts of curves already in memory (ranges of ``view`` required)."""
    from pipelines.density import curve_density

    began = time.perf_counter()
    counts = curve_density(
        curves.x,
        curves.y,
        curves.offsets,
        x_range=view.x_range,
        y_range=view.y_range,
        width=view.width,
        height=view.height,
    )
    return DensityImage(
        counts=counts,
        view=view,
        curves=len(curves),
        samples=int(np.isfinite(curves.y).sum()),
        seconds={"kernel": time.perf_counter() - began},
        **axis_labels(curves.meta),
    )


def extent_view(curves: CurveSet, view: View) -> View:
    """``view`` fitted to the finite samples of ``curves``, padded as an automatic fit pads."""
    x, y = curves.x[np.isfinite(curves.x)], curves.y[np.isfinite(curves.y)]
    if not len(x):
        return view.zoomed((0.0, 1.0), (0.0, 1.0))
    return view.zoomed(padded(x.min(), x.max()), padded(y.min(), y.max()))
