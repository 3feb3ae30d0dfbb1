"""Density images as HoloViews objects: a static image, or a DynamicMap that redraws on zoom.

No Panel here: in a live notebook or a served page, HoloViews' RangeXY stream calls back into
:meth:`pipelines.curves.Curves.density` with the new ranges, so each zoom is a fresh, exact
aggregation in the engine and the kernel.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable

import datashader.transfer_functions as tf
import holoviews as hv
import numpy as np
import xarray as xr
from holoviews.plotting.util import process_cmap
from PIL import Image

from pipelines.drawing import DensityImage
from pipelines.shading import BAR, LEVELS, CountScale, count_ticks

# Categorical colours (result first: OK blue, NOK red), then a qualitative palette.
PALETTE = ["#1f5fa8", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
RESULT_COLORS = {"OK": "#1f5fa8", "NOK": "#d62728", "UNKNOWN": "#7f7f7f"}
# Verdicts (pipelines.views.VERDICT_CATEGORIES): failed red, passed green, not judged grey.
FIXED_COLORS = {**RESULT_COLORS, "failed": "#d62728", "passed": "#2ca02c", "not judged": "#9a9a9a"}


def _coords(image: DensityImage) -> tuple[np.ndarray, np.ndarray]:
    (x0, x1), (y0, y1) = image.view.x_range, image.view.y_range
    width, height = image.view.width, image.view.height
    xs = x0 + (np.arange(width) + 0.5) * (x1 - x0) / width
    ys = y0 + (np.arange(height) + 0.5) * (y1 - y0) / height
    return xs, ys


@functools.cache
def palette(cmap: str) -> tuple[str, ...]:
    """The colour map's :data:`LEVELS` colours, looked up once: HoloViews resolves a name on
    every image sent, and Matplotlib's miss on its lower-case spelling builds a suggestion
    message over every known map first (3-40 ms of each zoom)."""
    return tuple(process_cmap(cmap, ncolors=LEVELS))


def category_colors(categories: list[str]) -> dict[str, str]:
    """One colour per category: results and verdicts in their fixed colours, others from the
    palette."""
    return {k: FIXED_COLORS.get(k, PALETTE[i % len(PALETTE)]) for i, k in enumerate(categories)}


def shaded_categories(image: DensityImage, how: str) -> np.ndarray:
    """RGBA (height, width, 4) uint8, row 0 at the bottom, categories mixed by their counts."""
    xs, ys = _coords(image)
    keys = image.categories or ["none"]
    counts = image.counts if image.categories else np.zeros((*image.counts.shape[:2], 1))
    data = xr.DataArray(counts, coords=[ys, xs, keys], dims=["y", "x", "category"])
    rgba = tf.shade(data, color_key=category_colors(keys), how=how, min_alpha=60)
    return rgba.to_numpy().view(np.uint8).reshape(*rgba.shape, 4)


def png(image: DensityImage, *, cmap: str = "Blues", how: str = "eq_hist") -> bytes:
    """The image as PNG bytes, shaded as on screen (empty pixels transparent)."""
    if image.counts.ndim == 3:
        rgba = shaded_categories(image, how)
    else:
        colors = process_cmap(cmap, ncolors=256)
        xs, ys = _coords(image)
        data = xr.DataArray(image.counts, coords=[ys, xs], dims=["y", "x"])
        shaded = tf.shade(data, cmap=colors, how=how)
        rgba = shaded.to_numpy().view(np.uint8).reshape(*shaded.shape, 4)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba[::-1]), mode="RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def to_hv(image: DensityImage, *, how: str = "eq_hist") -> hv.Image | hv.RGB:
    """Curves per pixel as an ``hv.Image`` (empty pixels transparent), or an ``hv.RGB`` of
    categories mixed by their counts (normalised by ``how``) when the view is coloured by a
    column."""
    xs, ys = _coords(image)
    bounds = (
        image.view.x_range[0],
        image.view.y_range[0],
        image.view.x_range[1],
        image.view.y_range[1],
    )
    kdims = [image.x_label, image.y_label]
    if image.counts.ndim == 3:
        return hv.RGB(shaded_categories(image, how)[::-1], bounds=bounds, kdims=kdims)
    values = image.counts.astype(np.float64)
    values[values == 0] = np.nan
    return hv.Image((xs, ys, values), kdims=kdims, vdims=[hv.Dimension("curves", label="curves")])


def shaded(
    image: DensityImage, *, cmap: str = "Blues", how: str = "eq_hist", colorbar: bool = True
) -> hv.Image | hv.RGB:
    """The density as the page draws it: colour levels decided here (:mod:`pipelines.shading`)
    and mapped linearly by the browser, the exact counts beside them for hover, and a colour
    bar labelled in curves per pixel. Coloured by a category: the mixed RGB of :func:`to_hv`."""
    if image.counts.ndim == 3:
        return to_hv(image, how=how)
    xs, ys = _coords(image)
    scale = CountScale.of(image.counts, how)
    # Counts for hover in the narrowest exact type: they travel beside the levels.
    kind = np.uint16 if scale.high < 1 << 16 else np.uint32
    element = hv.Image(
        (xs, ys, scale.levels(image.counts), image.counts.astype(kind)),
        kdims=[image.x_label, image.y_label],
        vdims=[hv.Dimension("level"), hv.Dimension("curves", label="curves per pixel")],
    )
    return element.opts(
        cmap=list(palette(cmap)),
        color_levels=LEVELS,
        clim=BAR,
        clipping_colors={"min": "transparent"},
        colorbar=colorbar,
        clabel="curves per pixel",
        cticks=scale.bar_ticks(count_ticks(scale.high, how, image.counts)),
        hover_tooltips=[
            (image.x_label, "$x"),
            (image.y_label, "$y"),
            ("curves per pixel", "@{curves}"),
        ],
    )


def dynamic(
    render: Callable[[tuple | None, tuple | None], DensityImage],
    *,
    cmap: str = "Blues",
    how: str = "eq_hist",
    colorbar: bool = True,
    ranges: hv.streams.Stream | None = None,
    **opts,
) -> hv.DynamicMap:
    """A DynamicMap whose every zoom or pan calls ``render(x_range, y_range)``.

    ``ranges`` carries the zooms and pans: HoloViews' ``RangeXY`` by default, which draws each
    plot a second time as it is first shown (it reports the initial ranges). A server page
    passes its own stream, fed by the browser's range events, and so draws each plot once."""

    def draw(x_range=None, y_range=None):
        return shaded(render(x_range, y_range), cmap=cmap, how=how, colorbar=colorbar).opts(**opts)

    return hv.DynamicMap(draw, streams=[ranges if ranges is not None else hv.streams.RangeXY()])
