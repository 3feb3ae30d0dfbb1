"""The Quality page's charts: a control chart (its points, centre line, limits and the points
the run rules flag) and the distribution, each a HoloViews map drawn once and then given new
data, so the page's figures stay and only their data changes.

A chart of more than :data:`DENSE_POINTS` points draws them as counts per cell. 100,000
circles cost Bokeh seconds to send and draw, and read as one blot; counted on a grid
(:func:`pipelines.feature_charts.count_points`) and shaded as the curve densities are
(:mod:`pipelines.shading`), they cost a fixed few hundred kB, and a zoom counts again over the
new span. Hover gives each cell's count. The lines and flagged points stay vector glyphs over
it, the limits drawn through their bends only (the same lines), so they stay readable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import holoviews as hv
import numpy as np
import pandas as pd

from app.plot_hooks import Ranges, follow_ranges, plain_canvas
from models.plants import load_plants
from pipelines.feature_charts import (
    DENSE_POINTS,
    Distribution,
    Plotted,
    bends,
    broken_at_pauses,
    count_points,
)
from pipelines.kernels.features import FEATURES
from pipelines.render import palette
from pipelines.shading import BAR, LEVELS, CountScale

__all__ = [
    "DENSE_POINTS",
    "FEATURE_WORDS",
    "ControlChart",
    "DistributionChart",
    "Shown",
    "dense_points",
    "local_times",
    "parts_zone",
    "plants_zone",
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
    return plants_zone(list(rows["plant"].dropna().unique()))


def plants_zone(plants: Sequence[str]) -> str:
    """The zone of the times people read for parts of ``plants``: the plant's when there is
    one, else UTC."""
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


def dense_points(
    at: np.ndarray,
    values: np.ndarray,
    kdims: list[str],
    x_range: tuple | None = None,
    y_range: tuple | None = None,
) -> hv.Image:
    """The points as a shaded grid over the span shown (their extents before the first zoom
    or pan)."""
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


@dataclass(frozen=True)
class Shown:
    """What one chart shows: ``plotted`` over its times ``at`` (on the plant's clocks), its
    y axis named ``name``, the times of ``zone``."""

    plotted: Plotted
    at: np.ndarray
    name: str
    zone: str


class ControlChart:
    """One control chart, drawn once and given new data after: another feature, station or
    limit replaces the data of the same Bokeh figure. A new figure each time was most of the
    Quality page's redraw (HoloViews builds it, the browser lays it out).

    Glyphs up to ``dense_from`` points, counts per cell above (:attr:`dense`; a chart fits
    data of its own kind only, see :meth:`fits`). With ``on_brush``, dragging across the
    chart calls it with the span (``boundsx``), on either kind; with ``on_tap``, a click calls
    it with its place (``x``, ``y``). ``titled``: the chart says what it shows above it."""

    def __init__(
        self,
        first: Shown,
        *,
        dense_from: int = DENSE_POINTS,
        on_brush: Callable[..., None] | None = None,
        on_tap: Callable[..., None] | None = None,
        titled: bool = True,
    ) -> None:
        self.titled = titled
        self.dense = len(first.plotted.chart.points) > dense_from
        self.select = ["xbox_select"] if on_brush else []
        self.data = hv.streams.Pipe(data=first)
        # Zooms and pans reach the counts through Bokeh's event: HoloViews' own RangeXY would
        # draw a dense chart twice before anyone zoomed (0.06 s each).
        self.ranges = Ranges()
        # The points are a map of their own: the brush and the click follow them.
        self.points = hv.DynamicMap(
            self._points, streams=[self.data, self.ranges] if self.dense else [self.data]
        )
        follow = follow_ranges(self.ranges, x_times=True) if self.dense else plain_canvas
        self.overlay = (self.points * hv.DynamicMap(self._lines, streams=[self.data])).opts(
            active_tools=self.select,
            height=260,
            responsive=True,
            show_legend=False,
            toolbar="above",
            padding=0.04,
            hooks=[follow, self._title],
        )
        self.brush = (
            hv.streams.BoundsX(source=self.points, subscribers=[on_brush]) if on_brush else None
        )
        self.tap = hv.streams.Tap(source=self.points, subscribers=[on_tap]) if on_tap else None

    def fits(self, shown: Shown, dense_from: int = DENSE_POINTS) -> bool:
        """Whether this chart draws ``shown`` as a new one of ``dense_from`` would."""
        return (len(shown.plotted.chart.points) > dense_from) == self.dense

    def show(self, shown: Shown) -> None:
        """``shown`` in place of what the chart showed, over all of its span."""
        self.ranges.update(x_range=None, y_range=None)
        self.data.send(shown)

    # Each frame's ranges are its data's (``framewise``), except while a zoom or pan draws it.

    def _points(self, data: Shown, x_range=None, y_range=None) -> hv.Element:
        chart, kdims = data.plotted.chart, [AXIS, data.name]
        if self.dense:
            dots = dense_points(data.at, chart.points, kdims, x_range, y_range)
        else:
            dots = hv.Scatter((data.at, chart.points), *kdims).opts(size=4, color=POINTS)
        return dots.opts(tools=self.select, framewise=True)

    def _lines(self, data: Shown) -> hv.Overlay:
        """The centre line, the limits and the flagged points (and a sparse chart's line
        through its points)."""
        chart, at, kdims = data.plotted.chart, data.at, [AXIS, data.name]
        if self.dense:
            lines = [bends(v) for v in (chart.center, chart.lower, chart.upper)]
        else:
            lines = [slice(None)] * 3
        kept = lines[0]
        centre = hv.Curve((at[kept], chart.center[kept]), *kdims).opts(
            color="#2ca02c", line_dash="dashed", line_width=2.5 if self.dense else 1
        )
        limits = [
            hv.Curve((at[kept], bound[kept]), *kdims).opts(color=OUT, line_dash="dotted")
            for bound, kept in zip((chart.lower, chart.upper), lines[1:], strict=True)
        ]
        flagged = sorted({v.index for v in data.plotted.violations})
        # Dense charts may flag thousands: small and see-through, under the limits, they leave
        # the counts and the lines readable.
        marks = hv.Scatter((at[flagged], chart.points[flagged]), *kdims).opts(
            color=OUT, size=4 if self.dense else 9, alpha=0.6 if self.dense else 1.0
        )
        if self.dense:
            shapes = [marks, centre, *limits]
        else:
            through = hv.Curve(broken_at_pauses(at, chart.points), *kdims).opts(color=POINTS)
            shapes = [through, centre, *limits, marks]
        return hv.Overlay([s.opts(framewise=True) for s in shapes])

    def _title(self, plot, _element) -> None:
        """What the chart shows, above it (a hook: the words follow the data)."""
        data = self.data.data
        chart = data.plotted.chart
        shown = "points, shaded by how many share a cell" if self.dense else "points"
        words = (
            f"{chart.name.capitalize()} chart · {len(chart.points):,} {shown} · {data.zone} time"
        )
        plot.state.title.text = words if self.titled else ""


class DistributionChart:
    """The parts' histogram with the normal capability assumes over it, and the spec limits as
    red lines: what Cp, Cpk, Pp and Ppk sum up. Drawn once and given new data after, as
    :class:`ControlChart`."""

    def __init__(self, first: Distribution, name: str, limits: Sequence[float] = ()) -> None:
        self.data = hv.streams.Pipe(data=(first, name, tuple(limits)))
        self.overlay = hv.DynamicMap(self._draw, streams=[self.data])

    def show(self, shown: Distribution, name: str, limits: Sequence[float] = ()) -> None:
        self.data.send((shown, name, tuple(limits)))

    @staticmethod
    def _draw(data: tuple[Distribution, str, tuple[float, ...]]) -> hv.Overlay:
        shown, name, limits = data
        bars = hv.Histogram((shown.edges, shown.counts), kdims=[name], vdims=["parts"]).opts(
            color="#9ecae1", line_color="#4292c6", alpha=0.9, framewise=True
        )
        fit = hv.Curve((shown.x, shown.fitted), name, "parts", label="normal fit").opts(
            color="#08306b", line_width=2, framewise=True
        )
        # The axis follows the parts: a limit far outside them is off the chart, not squeezing
        # the histogram into a sliver.
        spec = hv.VLines(list(limits), kdims=[name], label="spec limits").opts(
            color=OUT, line_dash="dashed", apply_ranges=False
        )
        return (bars * fit * spec).opts(
            responsive=True,
            height=260,
            title=f"Distribution · {len(shown.counts)} bins · mean {shown.mean:.4g}, "
            f"σ {shown.sigma:.3g}",
            legend_position="top_right",
            toolbar=None,
            hooks=[plain_canvas],
        )
