"""What the explorer draws and shows, as HoloViews elements and HTML: no state, no engine.

The explorer's components (:mod:`app.explorer.plot`, :mod:`app.explorer.parts`) decide when;
this module decides how.
"""

from __future__ import annotations

import holoviews as hv
import pandas as pd
from bokeh.models import NumeralTickFormatter

from app.markup import text
from pipelines.drawing import DensityImage
from pipelines.interact import Line
from pipelines.render import category_colors, to_hv
from pipelines.views import FilterError
from providers import ProviderError

PLOT_WIDTH, PLOT_HEIGHT = 960, 480
ENVELOPE_MIN_SHARE = 0.05  # envelope bins reached by fewer curves than this share are hidden

CSS = """
.ch-legend span.swatch {display: inline-block; width: 12px; height: 12px; border-radius: 2px;
          margin-right: 6px; vertical-align: middle;}
.ch-legend div {margin: 2px 0; font-size: 13px;}
"""


# One stream per overlay, each with a parameter name of its own.
RasterData = hv.streams.Stream.define("RasterData", image=None)
LinesData = hv.streams.Stream.define("LinesData", lines=[])
BandData = hv.streams.Stream.define("BandData", band=None)
ReferenceData = hv.streams.Stream.define("ReferenceData", reference=[])


def raster(image: DensityImage | None, cmap: str, norm: str) -> hv.Element:
    """The density as an image (or RGB when coloured by a category), with the plot's tools."""
    common = dict(
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
    return element.opts(
        cmap=cmap,
        cnorm=norm,
        colorbar=True,
        clabel="curves per pixel",
        cformatter=NumeralTickFormatter(format="0,0"),
        tools=["hover", "tap", "box_select"],
        **{k: v for k, v in common.items() if k != "tools"},
    )


def paths(lines: list[Line], color: str, width: float) -> hv.Path:
    """Curves as vector lines on top of the raster; they never widen the axes."""
    return hv.Path([{"x": line.x, "y": line.y} for line in lines]).opts(
        color=color, line_width=width, apply_ranges=False
    )


def envelope_bands(band: pd.DataFrame | None) -> hv.Overlay:
    """5-95 % and 25-75 % bands and the median, where at least 5 % of the curves reach:
    percentiles of the last few long curves would draw a misleading tail."""
    if band is None or band.empty:
        data = pd.DataFrame(columns=["x", "curves", "p05", "p25", "p50", "p75", "p95"])
    else:
        data = band[band["curves"] >= ENVELOPE_MIN_SHARE * band["curves"].max()]
    outer = hv.Area((data.x, data.p05, data.p95), vdims=["p05", "p95"]).opts(
        color="#2ca02c", alpha=0.12, line_alpha=0, apply_ranges=False
    )
    inner = hv.Area((data.x, data.p25, data.p75), vdims=["p25", "p75"]).opts(
        color="#2ca02c", alpha=0.2, line_alpha=0, apply_ranges=False
    )
    median = hv.Curve((data.x, data.p50)).opts(
        color="#1b7a1b", line_width=2, line_dash="dashed", apply_ranges=False
    )
    return outer * inner * median


def legend_html(image: DensityImage | None, color_by: str) -> str:
    """A legend for a categorical raster: each category's colour and curve count (the
    categories are stations or programs as imported: text)."""
    if image is None or not image.categories:
        return ""
    colors = category_colors(image.categories)
    rows = "".join(
        f"<div><span class='swatch' style='background:{text(colors[k])}'></span>{text(k)} "
        f"<span style='color:#5a6b7f'>({image.category_curves.get(k, 0):,})</span></div>"
        for k in image.categories
    )
    return f"<div class='ch-legend'><b>{text(color_by)}</b>{rows}</div>"


def friendly(error: Exception) -> str:
    """What went wrong, in words a plant engineer can act on; never a stack trace. The
    message may quote a value from the URL or the data: it is text."""
    if isinstance(error, FilterError):
        return f"**Invalid filter.** {text(error)}"
    if isinstance(error, ProviderError):
        return f"**The curve store is not available.** {text(error)}"
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"**The engine could not answer.** {text(first[:300])}"
