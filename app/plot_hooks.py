"""HoloViews hooks shared by the pages' plots: a plain canvas, and zooms and pans followed
through Bokeh's own event.

HoloViews asks Bokeh for WebGL. Without a GPU (a line TV, a server-side browser, most thin
clients) Chromium copies the WebGL layer onto the page's canvas on every paint: 370 ms of a
zoom in the explorer, and about 0.4 s of the Quality page's redraw. The plots here draw
images and a few lines, which gain nothing from WebGL.

HoloViews' ``RangeXY`` stream reports a plot's first ranges as soon as it is drawn, so a
DynamicMap on it is drawn twice before anyone zooms; Bokeh's ``RangesUpdate`` comes only
when a gesture rests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import holoviews as hv
import pandas as pd
from bokeh.events import RangesUpdate


class Ranges(hv.streams.RangeXY):
    """What a followed plot's DynamicMap reads: the ranges shown, None until the first zoom or
    pan. Not linked to the plot by HoloViews (:func:`follow_ranges` feeds it), and a
    ``RangeXY``, so a redraw it sets off keeps the ranges the person chose, even on a plot
    whose ranges follow its data (``framewise``)."""

    def __init__(self, **params: Any) -> None:
        super().__init__(linked=False, **params)


def plain_canvas(plot: Any, _element: Any = None) -> None:
    """Draw ``plot`` (a HoloViews Bokeh plot) on a 2D canvas; as a hook it runs on every
    update, so HoloViews cannot turn WebGL back on."""
    plot.state.output_backend = "canvas"


def follow_ranges(
    ranges: hv.streams.Stream, *, x_times: bool = False
) -> Callable[[Any, hv.Element], None]:
    """A hook: the plot's zooms and pans, as the browser reports them, go to ``ranges`` (a
    :class:`Ranges`), and the plot draws on a plain canvas. ``x_times``: a datetime x axis,
    whose ends the browser sends as milliseconds since the epoch."""

    def x_end(value: float) -> Any:
        return pd.Timestamp(value, unit="ms").to_datetime64() if x_times else value

    def hook(plot: Any, _element: hv.Element) -> None:
        plain_canvas(plot)
        if plot.handles.get("follows") is ranges:  # hooks run again on every update
            return
        plot.handles["follows"] = ranges
        plot.state.on_event(
            RangesUpdate,
            lambda e: ranges.event(x_range=(x_end(e.x0), x_end(e.x1)), y_range=(e.y0, e.y1)),
        )

    return hook
