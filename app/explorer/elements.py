"""What the explorer draws and shows, as HoloViews elements and HTML: no state, no engine.

The explorer's components (:mod:`app.explorer.plot`, :mod:`app.explorer.parts`) decide when;
this module decides how.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import holoviews as hv
import numpy as np
import pandas as pd
from bokeh.models import CustomJS, FixedTicker, Label, NumeralTickFormatter

from app.markup import text
from pipelines.drawing import DensityImage
from pipelines.interact import Line
from pipelines.render import category_colors, to_hv
from pipelines.views import FilterError
from providers import ProviderError

PLOT_WIDTH, PLOT_HEIGHT = 960, 480
ENVELOPE_MIN_SHARE = 0.05  # envelope bins reached by fewer curves than this share are hidden
# Overlays: a dark line over a white halo reads on every colour map (light or dark pixels), and
# magenta is in none of them nor in the categories' palette.
ENVELOPE_COLOR, HALO = "#b0006e", "white"
HIGHLIGHT_COLOR, REFERENCE_COLOR = "#ff7f0e", "#111111"
MAX_COUNT_TICKS = 8  # labels on the colour bar of curves per pixel
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


def drawing_notice(plot, element) -> None:
    """A HoloViews hook: "Drawing…" shown in the plot by the browser itself the moment a
    zoom or pan starts, and hidden when the new image's data arrives; the old picture stays,
    rescaled by Bokeh, meanwhile. The status line says the same after a server round trip."""
    figure = plot.state
    figure.lod_timeout = GESTURE_REST_MS
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


def raster(image: DensityImage | None, cmap: str, norm: str) -> hv.Element:
    """The density as an image (or RGB when coloured by a category), with the plot's tools."""
    common = dict(
        hooks=[drawing_notice],
        width=PLOT_WIDTH,
        height=PLOT_HEIGHT,
        tools=["tap", "box_select"],
        active_tools=["wheel_zoom"],
        framewise=True,
        bgcolor="white",
        show_grid=True,
    )
    if image is None:
        return hv.Image([]).opts(cmap=cmap, cnorm=norm, **common)
    element = to_hv(image, how=norm)
    if isinstance(element, hv.RGB):
        return element.opts(**common)
    # float32 holds every count below 2**24 exactly and halves the websocket message (3.7 MB
    # as float64 for 960 x 480), which Python encodes and the browser decodes per view.
    vdim = element.vdims[0].name
    element = element.clone({**element.data, vdim: element.data[vdim].astype(np.float32)})
    return element.opts(
        cmap=cmap,
        cnorm=norm,
        colorbar=True,
        clabel="curves per pixel",
        cformatter=NumeralTickFormatter(format="0,0"),
        colorbar_opts={
            "ticker": FixedTicker(ticks=count_ticks(image.counts.max(), norm, image.counts))
        },
        tools=["hover", "tap", "box_select"],
        **{k: v for k, v in common.items() if k != "tools"},
    )


def paths(lines: list[Line], color: str, width: float) -> hv.Path:
    """Curves as vector lines on top of the raster; they never widen the axes."""
    return hv.Path([{"x": line.x, "y": line.y} for line in lines]).opts(
        color=color, line_width=width, apply_ranges=False
    )


def count_ticks(top: float, norm: str = "linear", counts: np.ndarray | None = None) -> list[int]:
    """Whole numbers for the colour bar of curves per pixel, 1 to ``top``, each once and
    ``top`` always labelled: a count is an integer, and Bokeh's own ticks (1.2, 1.4, ...)
    written as integers repeated themselves ("3,2,2,2,2,2,1,1,1,1"). With ``log``, ticks
    are 1, 2, 5, 10, 20, ... (1, 10, 100, ... over many decades); otherwise evenly spaced
    by 1, 2 or 5 times a power of ten. With ``eq_hist`` and the image's ``counts``, ticks are
    the counts' quantiles, which that normalisation spaces evenly along the bar (even ticks
    crowd into its top end)."""
    top = int(top) if top == top and top >= 1 else 1  # NaN or an empty image: 1
    if top <= 2:
        return list(range(1, top + 1))
    drawn = counts[counts > 0] if counts is not None else np.empty(0)
    if norm == "eq_hist" and drawn.size:
        levels = np.quantile(drawn, np.linspace(0, 1, MAX_COUNT_TICKS), method="lower")
        return [*(int(t) for t in np.unique(levels) if 1 <= t < top), top]
    steps = (m * 10**e for e in range(16) for m in (1, 2, 5))
    if norm == "log":
        ticks = [t for t in steps if t < top]
        if len(ticks) >= MAX_COUNT_TICKS:  # many decades: their powers of ten only
            ticks = [t for t in ticks if str(t).startswith("1")]
        far = [t for t in ticks if t * 1.5 <= top]  # leave room for the top's label
    else:
        step = next(t for t in steps if math.ceil(top / t) < MAX_COUNT_TICKS)
        ticks = [1, *range(step, top, step)]
        far = [t for t in dict.fromkeys(ticks) if t + 0.5 * step <= top]
    return [*far, top]


def envelope_bands(band: pd.DataFrame | None) -> hv.Overlay:
    """5-95 % and 25-75 % bands and the median, where at least 5 % of the curves reach:
    percentiles of the last few long curves would draw a misleading tail. Each line is drawn
    dark over a white halo, so it reads over light and dark pixels of any colour map."""
    if band is None or band.empty:
        data = pd.DataFrame(columns=["x", "curves", "p05", "p25", "p50", "p75", "p95"])
    else:
        data = band[band["curves"] >= ENVELOPE_MIN_SHARE * band["curves"].max()]
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
