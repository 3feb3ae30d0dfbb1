"""What the explorer draws and shows, as HoloViews elements and HTML: no state, no engine.

The explorer's components (:mod:`app.explorer.plot`, :mod:`app.explorer.parts`) decide when;
this module decides how.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import holoviews as hv
import numpy as np
import pandas as pd
from bokeh.models import CustomJS, Label

from app.markup import text
from app.plot_hooks import plain_canvas
from pipelines.drawing import DensityImage
from pipelines.interact import Line
from pipelines.render import category_colors, shaded
from pipelines.views import FilterError, View
from providers import ProviderError

PLOT_WIDTH, PLOT_HEIGHT = 960, 480
ENVELOPE_MIN_SHARE = 0.05  # envelope bins reached by fewer curves than this share are hidden
# Overlays: a dark line over a white halo reads on every colour map (light or dark pixels), and
# magenta is in none of them nor in the categories' palette.
ENVELOPE_COLOR, HALO = "#b0006e", "white"
HIGHLIGHT_COLOR, REFERENCE_COLOR = "#ff7f0e", "#111111"
NEWEST_COLOR = "#2ca02c"  # the newest parts while following the line
# Bokeh tells the server of a wheel zoom only when the gesture has rested this long (its
# default, 500 ms, was most of the wait before "Drawing…" appeared).
GESTURE_REST_MS = 100
DRAWING_NOTICE = "ch-drawing"  # the in-plot notice's Bokeh model name (tests look for it)
# Gesture events after which the browser shows the notice at once, before the server hears.
GESTURE_EVENTS = ("wheel", "panstart", "pan", "panend")

# The legend sits under the plot and wraps its entries onto as many lines as it needs: beside
# the 960 px plot it was clipped at a 1400 px window.
CSS = """
.ch-legend {display: flex; flex-wrap: wrap; align-items: center; gap: 4px 16px;
            font-size: 13px; max-width: 100%;}
.ch-legend .entry {white-space: nowrap;}
.ch-legend .note {white-space: normal; color: #7a4b00;}
.ch-legend span.swatch {display: inline-block; width: 12px; height: 12px; border-radius: 2px;
          margin-right: 6px; vertical-align: middle;}
.ch-legend span.line {display: inline-block; width: 22px; height: 0; margin-right: 6px;
          vertical-align: middle; border-top-width: 3px; border-top-style: solid;
          box-shadow: 0 0 0 2px white;}
"""


# One stream per overlay, each with a parameter name of its own.
RasterData = hv.streams.Stream.define("RasterData", image=None)
LinesData = hv.streams.Stream.define("LinesData", lines=[])
BandData = hv.streams.Stream.define("BandData", band=None)
ReferenceData = hv.streams.Stream.define("ReferenceData", reference=[])
NewestData = hv.streams.Stream.define("NewestData", newest=[])


def drawing_notice(plot, element) -> None:
    """A HoloViews hook: "Drawing…" shown in the plot by the browser itself the moment a
    zoom or pan starts, and hidden when the new image's data arrives; the old picture stays,
    rescaled by Bokeh, meanwhile. The status line says the same after a server round trip."""
    figure = plot.state
    figure.lod_timeout = GESTURE_REST_MS
    plain_canvas(plot)
    if any(getattr(r, "name", None) == DRAWING_NOTICE for r in figure.center):
        return
    notice = Label(
        name=DRAWING_NOTICE,
        text="Drawing…",
        x=8,
        y=8,
        x_units="screen",
        y_units="screen",
        text_font_size="13px",
        text_color="#333333",
        background_fill_color="white",
        background_fill_alpha=0.85,
        visible=False,
    )
    figure.add_layout(notice)
    show = CustomJS(args={"notice": notice}, code="notice.visible = true")
    for event in GESTURE_EVENTS:
        figure.js_on_event(event, show)
    source = plot.handles.get("source")
    if source is not None:
        source.js_on_change(
            "data", CustomJS(args={"notice": notice}, code="notice.visible = false")
        )


def raster(
    image: DensityImage | None, cmap: str, norm: str, hooks: tuple[Callable, ...] = ()
) -> hv.Element:
    """The density as colour levels with exact counts for hover (or RGB when coloured by a
    category), with the plot's tools. ``hooks`` run on the raster's plot after the notice's."""
    common = dict(
        hooks=[drawing_notice, *hooks],
        width=PLOT_WIDTH,
        height=PLOT_HEIGHT,
        tools=["tap", "box_select"],
        active_tools=["wheel_zoom"],
        framewise=True,
        bgcolor="white",
        show_grid=True,
    )
    if image is None:
        return hv.Image([]).opts(cmap=cmap, **common)
    element = shaded(image, cmap=cmap, how=norm)
    if isinstance(element, hv.RGB):
        return element.opts(**common)
    return element.opts(**{**common, "tools": ["hover", "tap", "box_select"]})


def warm_plotting() -> None:
    """A process's first HoloViews plot sets up its Bokeh plotting (about 0.3 s here): one
    tiny raster drawn and dropped when the server starts, so no visitor waits for it."""
    view = View(width=2, height=2, x_range=(0.0, 1.0), y_range=(0.0, 1.0))
    image = DensityImage(counts=np.ones((2, 2), np.uint32), view=view)
    plot = hv.renderer("bokeh").get_plot(raster(image, "Blues", "eq_hist"))
    plot.cleanup()


def paths(lines: list[Line], color: str, width: float) -> hv.Path:
    """Curves as vector lines on top of the raster; they never widen the axes."""
    return hv.Path([{"x": line.x, "y": line.y} for line in lines]).opts(
        color=color, line_width=width, apply_ranges=False
    )


def envelope_bands(band: pd.DataFrame | None) -> hv.Overlay:
    """5-95 % and 25-75 % bands and the median, where at least 5 % of the curves reach:
    percentiles of the last few long curves would draw a misleading tail. Each line is drawn
    dark over a white halo, so it reads over light and dark pixels of any colour map."""
    if band is None or band.empty:
        return _no_bands()
    return _bands(band[band["curves"] >= ENVELOPE_MIN_SHARE * band["curves"].max()])


@functools.cache
def _no_bands() -> hv.Overlay:
    """The bands' places when no envelope is drawn, built once: its twelve elements took
    about 200 ms of every plot built."""
    return _bands(pd.DataFrame(columns=["x", "curves", "p05", "p25", "p50", "p75", "p95"]))


def _bands(data: pd.DataFrame) -> hv.Overlay:
    bands = [
        hv.Area((data.x, data[lo], data[hi]), vdims=[lo, hi]).opts(
            color=ENVELOPE_COLOR, alpha=alpha, line_alpha=0, apply_ranges=False
        )
        for lo, hi, alpha in (("p05", "p95", 0.10), ("p25", "p75", 0.14))
    ]
    lines = []
    for level, width, dash in (
        ("p05", 1.2, "dotted"),
        ("p95", 1.2, "dotted"),
        ("p25", 1.5, "dashed"),
        ("p75", 1.5, "dashed"),
        ("p50", 2.5, "solid"),
    ):
        # Two elements, not a clone: a clone shares its original's options.
        halo, line = (hv.Curve((data.x, data[level]), vdims=[level]) for _ in range(2))
        lines.append(halo.opts(color=HALO, line_width=width + 3, alpha=0.85, apply_ranges=False))
        lines.append(
            line.opts(color=ENVELOPE_COLOR, line_width=width, line_dash=dash, apply_ranges=False)
        )
    return hv.Overlay([*bands, *lines])


@dataclass(frozen=True)
class Overlay:
    """One thing drawn over the density, for the legend: its line's colour and dash (None:
    a note without a line, such as why the envelope is not drawn) and what it is, as text."""

    label: str
    color: str | None = None
    dash: str = "solid"


def legend_html(
    image: DensityImage | None, color_by: str, overlays: tuple[Overlay, ...] = ()
) -> str:
    """The legend under the plot: each category's colour and curve count for a categorical
    raster (stations or programs as imported: text), then every overlay drawn on top. Empty
    when there is nothing to name."""
    entries = []
    if image is not None and image.categories:
        colors = category_colors(image.categories)
        entries.append(f"<b>{text(color_by)}</b>")
        entries += [
            f"<span class='entry'><span class='swatch' style='background:{text(colors[k])}'>"
            f"</span>{text(k)} <span style='color:#5a6b7f'>({image.category_curves.get(k, 0):,})"
            "</span></span>"
            for k in image.categories
        ]
    for overlay in overlays:
        if overlay.color is None:
            entries.append(f"<span class='note'>{text(overlay.label)}</span>")
            continue
        style = f"border-top-color:{text(overlay.color)};border-top-style:{text(overlay.dash)}"
        entries.append(
            f"<span class='entry'><span class='line' style='{style}'></span>"
            f"{text(overlay.label)}</span>"
        )
    return f"<div class='ch-legend'>{''.join(entries)}</div>" if entries else ""


def friendly(error: Exception) -> str:
    """What went wrong, in words a plant engineer can act on; never a stack trace. The
    message may quote a value from the URL or the data: it is text."""
    if isinstance(error, FilterError):
        return f"**Invalid filter.** {text(error)}"
    if isinstance(error, ProviderError):
        return f"**The curve store is not available.** {text(error)}"
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"**The engine could not answer.** {text(first[:300])}"
