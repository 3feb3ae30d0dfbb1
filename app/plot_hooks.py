"""HoloViews hooks shared by the pages' plots: a plain canvas with a hover that rests while the
plot is dragged, and zooms and pans followed through Bokeh's own event.

HoloViews asks Bokeh for WebGL. Without a GPU (a line TV, a server-side browser, most thin
clients) Chromium copies the WebGL layer onto the page's canvas on every paint: 370 ms of a
zoom in the explorer, and about 0.4 s of the Quality page's redraw. The plots here draw
images and a few lines, which gain nothing from WebGL.

Bokeh's hover inspects on every pointer move and again on every repaint, and a drag is both:
it placed its tooltip twice a move. It rests from a drag's start to its end, its tooltip
hidden, and comes back at the next move: a 12-move pan in the explorer took 0.7-1.0 s of the
page's main thread instead of 1.2-1.4 s (Chromium's trace, two runs each way).

HoloViews' ``RangeXY`` stream reports a plot's first ranges as soon as it is drawn, so a
DynamicMap on it is drawn twice before anyone zooms; Bokeh's ``RangesUpdate`` comes only
when a gesture rests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bokeh.resources
import holoviews as hv
import pandas as pd
from bokeh.events import RangesUpdate
from bokeh.models import CustomJS

# So no page loads Bokeh's WebGL bundle (194 kB of script on every page, whether it shows a
# plot or not). A private list of Bokeh 3.x, guarded: tests/ui/test_xss_browser.py fails if
# a page loads the bundle.
if "bokeh-gl" in getattr(bokeh.resources.Resources, "_default_components", ()):
    bokeh.resources.Resources._default_components = [
        c for c in bokeh.resources.Resources._default_components if c != "bokeh-gl"
    ]


class Ranges(hv.streams.RangeXY):
    """What a followed plot's DynamicMap reads: the ranges shown, None until the first zoom or
    pan. Not linked to the plot by HoloViews (:func:`follow_ranges` feeds it), and a
    ``RangeXY``, so a redraw it sets off keeps the ranges the person chose, even on a plot
    whose ranges follow its data (``framewise``)."""

    def __init__(self, **params: Any) -> None:
        super().__init__(linked=False, **params)


HOVER_REST = "ch-hover-rest"  # the drag callbacks' name (tests look for it)
# ``_move_exit`` is BokehJS's own "pointer left the plot" (tooltips cleared, no inspection on
# the next repaint); guarded, as it is not public. ``active`` is a browser-side property.
_HOVER_REST_JS = """
for (const tool of plot.toolbar.tools) {
  if (tool.type !== "HoverTool") continue
  tool.active = !dragging
  const view = dragging && window.Bokeh && Bokeh.index ? Bokeh.index.find_one(tool) : null
  if (view != null && typeof view._move_exit === "function") view._move_exit()
}
"""


def plain_canvas(plot: Any, _element: Any = None) -> None:
    """Draw ``plot`` (a HoloViews Bokeh plot) on a 2D canvas, its hover resting while it is
    dragged; as a hook it runs on every update, so HoloViews cannot turn WebGL back on."""
    figure = plot.state
    figure.output_backend = "canvas"
    if any(cb.name == HOVER_REST for cb in figure.js_event_callbacks.get("panstart", [])):
        return
    for event, dragging in (("panstart", True), ("panend", False)):
        args = {"plot": figure, "dragging": dragging}
        figure.js_on_event(event, CustomJS(name=HOVER_REST, args=args, code=_HOVER_REST_JS))


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
