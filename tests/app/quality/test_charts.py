"""A control chart drawn as glyphs up to a number of points and as counts per cell above it:
the counts are the points', the lines and flagged points stay glyphs, the brush still fires,
and new data goes into the same figure over its own extents."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import pytest
from bokeh.events import RangesUpdate
from bokeh.models import GlyphRenderer, Image, Line, Scatter
from holoviews.plotting.bokeh.callbacks import BoundsXCallback

from app.plot_hooks import Ranges
from app.quality.charts import CELLS, ControlChart, Shown
from pipelines.feature_charts import chart_feature
from tests.pipelines.test_feature_charts import _histogram

hv.extension("bokeh", logo=False)
N = 3000


@pytest.fixture(scope="module")
def plotted():
    return _plotted(5)


def _plotted(seed: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    at = pd.Timestamp("2026-11-02 06:00") + pd.to_timedelta(
        np.sort(rng.integers(0, 5 * 86_400 * 10**9, N)), unit="ns"
    )
    values = rng.normal(10, 1, N) * scale
    values[2000:2012] += 4 * scale  # a run the rules flag
    rows = pd.DataFrame({"curve_id": np.arange(N), "started_at": at, "area": values})
    return chart_feature(rows, "area").charts[0]


def _draw(plotted, dense_from, on_brush=None):
    drawn = ControlChart(_shown(plotted), dense_from=dense_from, on_brush=on_brush)
    return drawn, hv.renderer("bokeh").get_plot(drawn.overlay)


def _shown(plotted, name="area"):
    return Shown(plotted, pd.to_datetime(plotted.at).to_numpy(), name, "UTC")


def _renderers(plot, kind) -> list[GlyphRenderer]:
    return [r for r in plot.state.renderers if isinstance(r.glyph, kind)]


def test_dense_above_the_threshold_only(plotted):
    drawn, plot = _draw(plotted, dense_from=N)
    assert not drawn.dense and not _renderers(plot, Image)
    dots, _marks = _renderers(plot, Scatter)
    assert len(dots.data_source.data["area"]) == N
    drawn, plot = _draw(plotted, dense_from=N - 1)
    assert drawn.dense and len(_renderers(plot, Image)) == 1
    assert "shaded by how many share a cell" in plot.state.title.text


def test_dense_layer_counts_the_points_and_lines_stay_glyphs(plotted):
    at = pd.to_datetime(plotted.at).to_numpy()
    points = plotted.chart.points
    drawn, plot = _draw(plotted, dense_from=100, on_brush=lambda boundsx=None: None)
    (image,) = _renderers(plot, Image)
    ranges = drawn.ranges  # the span shown
    assert isinstance(ranges, Ranges) and ranges.x_range is None  # drawn once, not again

    def shown_counts():
        counts = np.asarray(image.data_source.data["parts"][0])
        assert counts.shape == CELLS
        return counts

    counts = shown_counts()
    extents = (at.min(), at.max()), (points.min(), points.max())
    np.testing.assert_equal(counts, _histogram(at, points, *extents, CELLS))
    assert counts.sum() == N  # the first view holds every point, the first and last too
    # A zoom, as the browser reports it (whole ms since the epoch), counts again over it.
    zoom = (pd.Timestamp(at[1000]).floor("ms"), pd.Timestamp(at[1999]).ceil("ms"))
    ms = [t.value // 10**6 for t in zoom]
    plot.state._trigger_event(RangesUpdate(plot.state, x0=ms[0], x1=ms[1], y0=9.0, y1=11.0))
    assert ranges.x_range == tuple(t.to_datetime64() for t in zoom)
    counts = shown_counts()
    np.testing.assert_equal(counts, _histogram(at, points, zoom, (9.0, 11.0), CELLS))
    assert 0 < counts.sum() < 1000
    # The centre line and limits are glyphs through their bends (flat here: two points each),
    # the flagged points one glyph each.
    lines = _renderers(plot, Line)
    assert len(lines) == 3 and all(len(r.data_source.data["area"]) == 2 for r in lines)
    (marks,) = _renderers(plot, Scatter)
    flagged = {v.index for v in plotted.violations}
    assert flagged and len(marks.data_source.data["area"]) == len(flagged)


def test_a_dense_chart_still_brushes(plotted):
    brushed = []
    drawn, plot = _draw(plotted, 100, on_brush=lambda boundsx=None: brushed.append(boundsx))
    # HoloViews wires the browser's box selection on this figure to the stream ...
    callbacks = []
    plot.traverse(lambda p: callbacks.extend(p.callbacks))
    assert any(isinstance(c, BoundsXCallback) for c in callbacks)
    assert any(t.dimensions == "width" for t in plot.state.tools if hasattr(t, "dimensions"))
    # ... and a selection reaches the page.
    span = (pd.Timestamp("2026-11-03"), pd.Timestamp("2026-11-04"))
    drawn.brush.event(boundsx=span)
    assert brushed == [span]


@pytest.mark.parametrize("dense_from", [100, N], ids=["counts", "glyphs"])
def test_new_data_is_drawn_in_the_same_figure_over_its_own_extents(plotted, dense_from):
    drawn, plot = _draw(plotted, dense_from)
    figure = plot.state
    if drawn.dense:  # zoomed first: the next feature is shown whole all the same
        figure._trigger_event(RangesUpdate(figure, x0=0, x1=1e12, y0=9.0, y1=11.0))
        assert drawn.ranges.x_range is not None
    other = _plotted(6, scale=100.0)  # another feature: a hundred times larger
    assert drawn.fits(_shown(other, "peak"), dense_from)
    drawn.show(_shown(other, "peak"))
    assert plot.state is figure
    assert drawn.ranges.x_range is None and drawn.ranges.y_range is None
    values = other.chart.points
    assert figure.y_range.start < values.min() and figure.y_range.end > values.max()
    assert figure.y_range.end < values.max() * 1.1  # its extents, not the old feature's
    assert figure.yaxis[0].axis_label == "peak"
    assert figure.title.text.startswith(f"Individuals chart · {N:,} points")
    if drawn.dense:
        (image,) = _renderers(plot, Image)
        counts = np.asarray(image.data_source.data["parts"][0])
        at = pd.to_datetime(other.at).to_numpy()
        extents = (at.min(), at.max()), (values.min(), values.max())
        np.testing.assert_equal(counts, _histogram(at, values, *extents, CELLS))
    else:
        dots, _marks = _renderers(plot, Scatter)
        np.testing.assert_array_equal(dots.data_source.data["peak"], values)


def test_data_of_another_kind_needs_a_new_chart(plotted):
    drawn, _plot = _draw(plotted, dense_from=N)  # glyphs
    assert drawn.fits(_shown(plotted), N)
    assert not drawn.fits(_shown(plotted), N - 1)  # as a chart of counts would draw it


def test_the_line_through_a_sparse_charts_points_breaks_at_a_pause():
    """Parts a minute apart, two idle weeks, more parts: the line through the points is not
    drawn across the weeks (the points all are)."""
    at = pd.Timestamp("2026-11-02 06:00") + pd.to_timedelta(
        [*range(30), *range(20 * 1440, 20 * 1440 + 30)], unit="min"
    )
    values = np.random.default_rng(3).normal(10, 1, len(at))
    rows = pd.DataFrame({"curve_id": np.arange(len(at)), "started_at": at, "area": values})
    _, plot = _draw(chart_feature(rows, "area").charts[0], dense_from=N)
    dots = _renderers(plot, Scatter)[0].data_source.data["area"]
    assert len(dots) == len(at) and not np.isnan(dots).any()
    lines = [r.data_source.data["area"] for r in _renderers(plot, Line)]
    gaps = sorted(np.flatnonzero(np.isnan(y)).tolist() for y in lines)
    assert gaps == [[]] * (len(lines) - 1) + [[30]]  # the centre and limits run on
