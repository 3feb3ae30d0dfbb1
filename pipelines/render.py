"""Density images as HoloViews objects: a static image, or a DynamicMap that redraws on zoom.

No Panel here: in a live notebook or a served page, HoloViews' RangeXY stream calls back into
:func:`pipelines.overlay.density_image` with the new ranges, so each zoom is a fresh, exact
aggregation in the engine and the kernel.
"""

from __future__ import annotations

from collections.abc import Callable

import datashader.transfer_functions as tf
import holoviews as hv
import numpy as np
import xarray as xr

from pipelines.overlay import DensityImage

# Categorical colours (result first: OK blue, NOK red), then a qualitative palette.
PALETTE = ["#1f5fa8", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
RESULT_COLORS = {"OK": "#1f5fa8", "NOK": "#d62728", "UNKNOWN": "#7f7f7f"}


def _coords(image: DensityImage) -> tuple[np.ndarray, np.ndarray]:
    (x0, x1), (y0, y1) = image.view.x_range, image.view.y_range
    width, height = image.view.width, image.view.height
    xs = x0 + (np.arange(width) + 0.5) * (x1 - x0) / width
    ys = y0 + (np.arange(height) + 0.5) * (y1 - y0) / height
    return xs, ys


def to_hv(image: DensityImage) -> hv.Image | hv.RGB:
    """Curves per pixel as an ``hv.Image`` (empty pixels transparent), or an ``hv.RGB`` of
    categories mixed by their counts when the view is coloured by a column."""
    xs, ys = _coords(image)
    bounds = (
        image.view.x_range[0],
        image.view.y_range[0],
        image.view.x_range[1],
        image.view.y_range[1],
    )
    kdims = [image.x_label, image.y_label]
    if image.counts.ndim == 3:
        keys = image.categories or ["none"]
        counts = image.counts if image.categories else np.zeros((*image.counts.shape[:2], 1))
        data = xr.DataArray(counts, coords=[ys, xs, keys], dims=["y", "x", "category"])
        colors = {k: RESULT_COLORS.get(k, PALETTE[i % len(PALETTE)]) for i, k in enumerate(keys)}
        rgba = tf.shade(data, color_key=colors, how="eq_hist", min_alpha=60)
        array = rgba.to_numpy().view(np.uint8).reshape(*rgba.shape, 4)
        return hv.RGB(array[::-1], bounds=bounds, kdims=kdims)
    values = image.counts.astype(np.float64)
    values[values == 0] = np.nan
    return hv.Image((xs, ys, values), kdims=kdims, vdims=[hv.Dimension("curves", label="curves")])


def dynamic(render: Callable[[tuple | None, tuple | None], DensityImage], **opts) -> hv.DynamicMap:
    """A DynamicMap whose every zoom or pan calls ``render(x_range, y_range)``."""

    def draw(x_range=None, y_range=None):
        return to_hv(render(x_range, y_range)).opts(**opts)

    return hv.DynamicMap(draw, streams=[hv.streams.RangeXY()])
