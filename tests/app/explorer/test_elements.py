"""What the explorer draws, without an engine: the colour bar's ticks, the image sent, the
envelope's lines and the legend's entries."""

import gc

import holoviews as hv
import holoviews.plotting.bokeh  # options and plots need a backend
import numpy as np
import pandas as pd
import pytest
from bokeh.models import ColumnDataSource, FixedTicker

from app.explorer import elements
from app.explorer.elements import Overlay, envelope_bands, legend_html
from app.markup import text
from pipelines.drawing import DensityImage
from pipelines.views import View


def tiny_image(counts: np.ndarray, categories=None) -> DensityImage:
    height, width = counts.shape[:2]
    view = View(x_range=(0.0, 1.0), y_range=(0.0, 1.0), width=width, height=height)
    image = DensityImage(counts=counts, view=view, curves=3)
    if categories:
        image.categories = categories
        image.category_curves = {k: i + 1 for i, k in enumerate(categories)}
    return image


def test_the_colour_bar_ticks_are_the_counts():
    """The bar spans the colour levels; its ticks sit at their counts' levels, labelled with
    the counts."""
    counts = np.zeros((4, 5), dtype=np.uint32)
    counts[1, 1:4] = [1, 2, 3]
    element = elements.raster(tiny_image(counts), "Blues", "linear")
    plot = hv.renderer("bokeh").get_plot(element)
    (bar,) = [r for r in plot.state.right if type(r).__name__ == "ColorBar"]
    assert isinstance(bar.ticker, FixedTicker)
    assert [bar.major_label_overrides[t] for t in bar.ticker.ticks] == ["1", "2", "3"]
    assert list(bar.ticker.ticks) == [0.5, 128, 255.5]  # bottom, middle and top of the bar


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
    assert figure.output_backend == "canvas"  # not WebGL: copying its layer cost 370 ms a view
    (notice,) = [r for r in figure.center if r.name == elements.DRAWING_NOTICE]
    assert notice.text == "Drawing…" and not notice.visible
    for event in ("wheel", "panstart", "pan", "panend"):
        (show,) = [cb for cb in figure.js_event_callbacks[event] if "notice" in cb.args]
        assert show.args["notice"] is notice and "visible = true" in show.code
    sources = [
        s for s in figure.select(type=ColumnDataSource) if "change:data" in s.js_property_callbacks
    ]
    assert sources
    hides = [cb for s in sources for cb in s.js_property_callbacks["change:data"]]
    assert all(cb.args["notice"] is notice and "visible = false" in cb.code for cb in hides)


@pytest.mark.parametrize("top, kind", [(2**16 - 1, np.uint16), (2**24 + 5, np.uint32)])
def test_the_browser_gets_colour_levels_and_exact_counts(top, kind):
    """The page maps uint8 levels to colours linearly (no per-view histogram in the browser);
    hover reads the exact counts, sent in the narrowest type that holds them; empty pixels
    are level 0, below the mapper's range, transparent."""
    counts = np.zeros((4, 5), dtype=np.uint32)
    counts[1, 1:4] = [1, top - 1, top]
    plot = hv.renderer("bokeh").get_plot(elements.raster(tiny_image(counts), "Blues", "eq_hist"))
    data = plot.handles["source"].data
    (levels,), (sent,) = data["image"], data["curves"]
    assert levels.dtype == np.uint8 and sent.dtype == kind
    assert np.array_equal(sent, counts)
    assert (levels[counts == 0] == 0).all() and levels[counts > 0].min() >= 1
    mapper = plot.handles["color_mapper"]
    assert type(mapper).__name__ == "LinearColorMapper" and (mapper.low, mapper.high) == (
        0.5,
        255.5,
    )
    assert len(mapper.palette) == 255 and mapper.low_color == "rgba(0, 0, 0, 0)"
    assert ("curves per pixel", "@{curves}") in plot.handles["hover"].tooltips


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


def test_the_plotting_warm_up_leaves_no_options_behind():
    """It runs once per server start: the raster's options must not stay in HoloViews'
    global store (they would hold what the hooks reference for the server's life)."""
    hv.Store.current_backend = "bokeh"
    before = set(hv.Store.custom_options())
    elements.warm_plotting()
    gc.collect()  # as the server does next; the trees go with their last element
    assert not set(hv.Store.custom_options()) - before  # (other tests' may have gone too)
