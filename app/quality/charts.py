"""One control chart of the Quality page as a HoloViews overlay: its points, centre line,
limits and the points the run rules flag.

A chart of more than :data:`DENSE_POINTS` points draws them as counts per cell. 100,000
circles cost Bokeh seconds to send and draw, and read as one blot; counted on a grid
(:func:`pipelines.feature_charts.count_points`) and shaded as the curve densities are
(:mod:`pipelines.shading`), they cost a fixed few hundred kB, and a zoom counts again over the
new span. Hover gives each cell's count. The lines and flagged points stay vector glyphs over
it, the limits drawn through their bends only (the same lines), so they stay readable.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass

import holoviews as hv
import numpy as np
import pandas as pd

from app.plot_hooks import Ranges, follow_ranges, plain_canvas
from models.plants import load_plants
from pipelines.feature_charts import DENSE_POINTS, Distribution, Plotted, bends, count_points
from pipelines.kernels.features import FEATURES
from pipelines.render import palette
from pipelines.shading import BAR, LEVELS, CountScale

__all__ = [
    "DENSE_POINTS",
    "FEATURE_WORDS",
    "Drawn",
    "chart_plot",
    "dense_points",
    "distribution_plot",
    "local_times",
    "parts_zone",
    "points_grid",
    "shown_span",
]

FEATURE_WORDS = {
    "area": "Area under the curve (work)",
    "peak_y": "Peak y",
    "peak_x": "x at the peak",
    "final_y": "Final y",
    "final_x": "Final x",
    "min_y": "Lowest y",
    "duration": "Duration (last x − first x)",
    "sample_count": "Samples",
}
assert set(FEATURE_WORDS) == set(FEATURES), "a feature without words, or words without one"
OUT = "#d62728"
POINTS = "#1f5fa8"
AXIS = "part started"
CELLS = (90, 420)  # (rows, columns): about 2-3 px a cell on the page's 260 px high chart
# From a mid blue: a cell of one point must read on white as a glyph did (seen on the page).
COLOURS = list(palette("Blues"))[LEVELS * 2 // 5 :]


def parts_zone(rows: pd.DataFrame) -> str:
    """Where ``rows``' parts were made, for the times people read: their plant's zone when
    they are of one plant, else UTC."""
    plants = rows["plant"].dropna().unique()
    return (load_plants().zone(plants[0]) if len(plants) == 1 else None) or "UTC"


def local_times(times: pd.Series, zone: str) -> np.ndarray:
    """Engine times (UTC without a zone) on ``zone``'s clocks, for an axis people read."""
    stamps = pd.to_datetime(pd.Series(times)).dt.tz_localize("UTC").dt.tz_convert(zone)
    return stamps.dt.tz_localize(None).to_numpy()


def shown_span(at: np.ndarray, x_range: tuple) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The view's time span, its ends moved onto the first or last point when within a ms of
    it: the browser's ranges are ms floats, and HoloViews' first range, the points' extent,
    comes back from them a few µs inside (the first and last part would go missing)."""
    x0, x1 = (pd.Timestamp(v).as_unit("ns") for v in x_range)
    first, last = pd.Timestamp(at.min()), pd.Timestamp(at.max())
    ms = pd.Timedelta(milliseconds=1)
    return (first if first < x0 <= first + ms else x0), (last if last - ms <= x1 < last else x1)


def points_grid(
    at: np.ndarray, values: np.ndarray, x_range: tuple | None, y_range: tuple | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cells' centres (times, values), and per cell its level and count over the ranges
    (the points' extents where a range is not given yet)."""
    if x_range is None or None in x_range:
        x_range = (at.min(), at.max())
    if y_range is None or None in y_range:
        y_range = (float(values.min()), float(values.max()))
    x0, x1 = shown_span(at, x_range)
    if x1 <= x0:
        x0, x1 = x0 - pd.Timedelta(minutes=1), x0 + pd.Timedelta(minutes=1)
    y0, y1 = (float(v) for v in y_range)
    if y1 <= y0:
        y0, y1 = y0 - max(abs(y0), 1.0) * 1e-3, y0 + max(abs(y0), 1.0) * 1e-3
    rows, columns = CELLS
    counts = count_points(at, values, (x0, x1), (y0, y1), CELLS)
    span = (x1 - x0).value
    xs = (x0.value + (np.arange(columns) + 0.5) * span / columns).astype("datetime64[ns]")
    ys = y0 + (np.arange(rows) + 0.5) * (y1 - y0) / rows
    levels = CountScale.of(counts).levels(counts)
    kind = np.uint16 if counts.max(initial=0) < 1 << 16 else np.uint32
    return xs, ys, levels, counts.astype(kind)


def dense_points(at: np.ndarray, values: np.ndarray, kdims: list[str]) -> hv.DynamicMap:
    """The points as a shaded grid over their extents, counted again over the span shown at
    every zoom and pan (its stream, a :data:`app.plot_hooks.Ranges`, is the map's only one;
    :func:`chart_plot` has the plot follow it)."""
    at = np.asarray(at).astype("datetime64[ns]")
    values = np.asarray(values, np.float64)

    def draw(x_range=None, y_range=None) -> hv.Image:
        xs, ys, levels, counts = points_grid(at, values, x_range, y_range)
        image = hv.Image(
            (xs, ys, levels, counts),
            kdims=kdims,
            vdims=[hv.Dimension("level"), hv.Dimension("parts", label="points here")],
        )
        return image.opts(
            cmap=COLOURS,
            color_levels=LEVELS,
            clim=BAR,
            clipping_colors={"min": "transparent"},
            tools=["hover"],
            hover_tooltips=[("points here", "@{parts}")],
        )

    return hv.DynamicMap(draw, streams=[Ranges()])


@dataclass(frozen=True)
class Drawn:
    overlay: hv.Overlay
    brush: hv.streams.BoundsX | None  # the time span dragged across the chart, if brushable
    dense: bool
    tap: hv.streams.Tap | None = None  # a click on the chart, if brushable


def chart_plot(
    plotted: Plotted,
    at: np.ndarray,
    *,
    name: str,
    zone: str,
    dense_from: int = DENSE_POINTS,
    on_brush: Callable[..., None] | None = None,
    on_tap: Callable[..., None] | None = None,
) -> Drawn:
    """``plotted`` over its times ``at`` (on the plant's clocks): glyphs up to ``dense_from``
    points, counts per cell above. With ``on_brush``, dragging across the chart calls it with
    the span (``boundsx``), on either kind; with ``on_tap``, a click calls it with its place
    (``x``, ``y``)."""
    chart = plotted.chart
    dense = len(chart.points) > dense_from
    select = ["xbox_select"] if on_brush else []
    if dense:
        dots = dense_points(at, chart.points, [AXIS, name]).opts(tools=select)
        layers = [dots]
        lines = [bends(v) for v in (chart.center, chart.lower, chart.upper)]
    else:
        points = hv.Curve((at, chart.points), AXIS, name).opts(color=POINTS)
        dots = hv.Scatter((at, chart.points), AXIS, name).opts(size=4, color=POINTS, tools=select)
        layers, lines = [points, dots], [slice(None)] * 3
    brush = hv.streams.BoundsX(source=dots, subscribers=[on_brush]) if on_brush else None
    tap = hv.streams.Tap(source=dots, subscribers=[on_tap]) if on_tap else None
    kept = lines[0]
    centre = hv.Curve((at[kept], chart.center[kept]), AXIS, name).opts(
        color="#2ca02c", line_dash="dashed", line_width=2.5 if dense else 1
    )
    limits = [
        hv.Curve((at[kept], bound[kept]), AXIS, name).opts(color=OUT, line_dash="dotted")
        for bound, kept in zip((chart.lower, chart.upper), lines[1:], strict=True)
    ]
    flagged = sorted({v.index for v in plotted.violations})
    # Dense charts may flag thousands: small and see-through, under the limits, they leave the
    # counts and the lines readable.
    marks = hv.Scatter((at[flagged], chart.points[flagged]), AXIS, name).opts(
        color=OUT, size=4 if dense else 9, alpha=0.6 if dense else 1.0, marker="circle"
    )
    shapes = [*layers, marks, centre, *limits] if dense else [*layers, centre, *limits, marks]
    shown = "points, shaded by how many share a cell" if dense else "points"
    title = f"{chart.name.capitalize()} chart · {len(chart.points):,} {shown} · {zone} time"
    # ``*`` so a dense chart is one DynamicMap of overlays, as HoloViews would have them.
    # Zooms and pans reach the counts through Bokeh's event: HoloViews' RangeXY would draw a
    # dense chart twice before anyone zoomed (0.06 s each).
    hook = follow_ranges(dots.streams[0], x_times=True) if dense else plain_canvas
    overlay = functools.reduce(operator.mul, shapes).opts(
        active_tools=select,
        title=title,
        height=260,
        responsive=True,
        show_legend=False,
        toolbar="above",
        padding=0.04,
        hooks=[hook],
    )
    return Drawn(overlay, brush, dense, tap)


def distribution_plot(
    shown: Distribution, name: str, lower: float | None = None, upper: float | None = None
) -> hv.Overlay:
    """The parts' histogram with the normal capability assumes over it, and the spec limits
    as red lines: what Cp, Cpk, Pp and Ppk sum up."""
    bars = hv.Histogram((shown.edges, shown.counts), kdims=[name], vdims=["parts"]).opts(
        color="#9ecae1", line_color="#4292c6", alpha=0.9
    )
    fit = hv.Curve((shown.x, shown.fitted), name, "parts", label="normal fit").opts(
        color="#08306b", line_width=2
    )
    layers = [bars, fit]
    for limit, words in ((lower, "lower spec limit"), (upper, "upper spec limit")):
        if limit is not None:
            layers.append(hv.VLine(limit, label=words).opts(color=OUT, line_dash="dashed"))
    return hv.Overlay(layers).opts(
        responsive=True,
        height=260,
        title=f"Distribution · {len(shown.counts)} bins · mean {shown.mean:.4g}, "
        f"σ {shown.sigma:.3g}",
        legend_position="top_right",
        toolbar=None,
        hooks=[plain_canvas],
    )
