"""What the explorer draws, without an engine: the colour bar's ticks, the envelope's lines and
the legend's entries."""

import holoviews as hv
import holoviews.plotting.bokeh  # options and plots need a backend
import numpy as np
import pandas as pd
import pytest
from bokeh.models import ColumnDataSource, FixedTicker

from app.explorer import elements
from app.explorer.elements import Overlay, count_ticks, envelope_bands, legend_html
from app.markup import text
from pipelines.drawing import DensityImage
from pipelines.views import View


@pytest.mark.parametrize("norm", ["eq_hist", "linear", "log"])
@pytest.mark.parametrize("top", [1, 2, 3, 4, 7, 9, 10, 11, 37, 99, 600, 1234, 10_000])
def test_count_ticks_are_whole_distinct_and_label_the_top(top, norm):
    ticks = count_ticks(top, norm)
    assert all(isinstance(t, int) for t in ticks)
    assert ticks == sorted(set(ticks))  # no repeats ("3,2,2,2,2,2,1,1,1,1")
    assert ticks[0] == 1 and ticks[-1] == top  # the top is labelled
    assert len(ticks) <= elements.MAX_COUNT_TICKS + 1


def test_count_ticks_on_small_counts_are_every_count():
    assert count_ticks(3) == [1, 2, 3]
    assert count_ticks(1) == [1]
    assert count_ticks(float("nan")) == [1]
    assert count_ticks(60, "log") == [1, 2, 5, 10, 20, 60]
    assert count_ticks(600, "log") == [1, 10, 100, 600]
    assert count_ticks(1234) == [1, 200, 400, 600, 800, 1000, 1234]
    assert count_ticks(10_000, "log") == [1, 10, 100, 1000, 10_000]


def test_eq_hist_ticks_are_the_counts_quantiles():
    counts = np.array([[0, 1, 1, 1, 1, 2, 2, 3, 5, 40]])
    ticks = count_ticks(40, "eq_hist", counts)
    assert ticks == sorted(set(ticks)) and ticks[0] == 1 and ticks[-1] == 40
    assert set(ticks) <= {1, 2, 3, 5, 40}  # counts that occur, evenly spaced by eq_hist
    assert count_ticks(40, "linear", counts) == count_ticks(40)


def tiny_image(counts: np.ndarray, categories=None) -> DensityImage:
    height, width = counts.shape[:2]
    view = View(x_range=(0.0, 1.0), y_range=(0.0, 1.0), width=width, height=height)
    image = DensityImage(counts=counts, view=view, curves=3)
    if categories:
        image.categories = categories
        image.category_curves = {k: i + 1 for i, k in enumerate(categories)}
    return image


def test_the_colour_bar_ticks_are_the_counts():
    counts = np.zeros((4, 5), dtype=np.uint32)
    counts[1, 1:4] = [1, 2, 3]
    element = elements.raster(tiny_image(counts), "Blues", "eq_hist")
    plot = hv.renderer("bokeh").get_plot(element)
    (bar,) = [r for r in plot.state.right if type(r).__name__ == "ColorBar"]
    assert isinstance(bar.ticker, FixedTicker) and list(bar.ticker.ticks) == [1, 2, 3]


@pytest.mark.parametrize("categories", [None, ["A", "B"]])
def test_a_gesture_shows_the_drawing_notice_in_the_browser(categories):
    """The notice is the browser's own (no server round trip): shown by a JS callback on the
    zoom and pan events, hidden by one on the image's new data; and Bokeh reports a wheel
    zoom after 100 ms of rest, not its default 500 ms."""
    shape = (4, 5, 2) if categories else (4, 5)
    counts = np.zeros(shape, dtype=np.uint32)
    counts[1, 1] = 1
    element = elements.raster(tiny_image(counts, categories), "Blues", "eq_hist")
    plot = hv.renderer("bokeh").get_plot(hv.Overlay([element, element.clone()]))
    figure = plot.state
    assert figure.lod_timeout == elements.GESTURE_REST_MS == 100
    (notice,) = [r for r in figure.center if r.name == elements.DRAWING_NOTICE]
    assert notice.text == "Drawing…" and not notice.visible
    for event in ("wheel", "panstart", "pan", "panend"):
        (show,) = figure.js_event_callbacks[event]
        assert show.args["notice"] is notice and "visible = true" in show.code
    sources = [
        s for s in figure.select(type=ColumnDataSource) if "change:data" in s.js_property_callbacks
    ]
    assert sources
    hides = [cb for s in sources for cb in s.js_property_callbacks["change:data"]]
    assert all(cb.args["notice"] is notice and "visible = false" in cb.code for cb in hides)


def test_the_density_goes_to_the_browser_as_float32_with_exact_counts():
    """Half the websocket message of float64, and every count below 2**24 still exact."""
    counts = np.zeros((4, 5), dtype=np.uint32)
    counts[1, 1:4] = [1, 2**24 - 1, 3]
    plot = hv.renderer("bokeh").get_plot(elements.raster(tiny_image(counts), "Blues", "linear"))
    (sent,) = plot.handles["source"].data["image"]
    assert sent.dtype == np.float32
    assert np.array_equal(np.nan_to_num(sent).astype(np.uint32), counts)
    assert np.isnan(sent[counts == 0]).all()  # empty pixels stay transparent


def band() -> pd.DataFrame:
    xs = np.linspace(0, 10, 20)
    levels = {f"p{p:02d}": xs + i for i, p in enumerate((5, 25, 50, 75, 95))}
    return pd.DataFrame({"x": xs, "curves": 10, **levels})


def test_the_envelope_is_dark_lines_over_white_halos():
    overlay = envelope_bands(band())
    curves = [e for e in overlay.values() if type(e) is hv.Curve]  # an Area is a Curve too
    assert {c.vdims[0].name for c in curves} == {"p05", "p25", "p50", "p75", "p95"}
    for halo, line in zip(curves[::2], curves[1::2], strict=True):
        halo_opts, line_opts = halo.opts.get().kwargs, line.opts.get().kwargs
        assert halo_opts["color"] == "white" and line_opts["color"] == elements.ENVELOPE_COLOR
        assert halo_opts["line_width"] > line_opts["line_width"]
        np.testing.assert_array_equal(halo.dimension_values(1), line.dimension_values(1))


def test_the_legend_names_categories_and_every_overlay():
    counts = np.zeros((2, 2, 2), dtype=np.uint32)
    html = legend_html(
        tiny_image(counts, ["ST010", "<b>ST020</b>"]),
        "station",
        (
            Overlay("Median of 10 curves (P1)", elements.ENVELOPE_COLOR),
            Overlay("Reference part A-1", elements.REFERENCE_COLOR),
            Overlay("Selected parts: the newest 20", elements.HIGHLIGHT_COLOR),
            Overlay("No envelope: choose one program"),
        ),
    )
    assert "<b>station</b>" in html and "ST010" in html
    assert text("<b>ST020</b>") in html and "<b>ST020" not in html  # names are text
    for label in ("Median of 10 curves (P1)", "Reference part A-1", "the newest 20"):
        assert text(label) in html
    assert f"<span class='note'>{text('No envelope: choose one program')}</span>" in html
    assert legend_html(None, "", ()) == ""
    assert "Reference part" in legend_html(None, "", (Overlay("Reference part A-1", "#111"),))


def test_the_legend_wraps_under_the_plot():
    assert "flex-wrap: wrap" in elements.CSS
