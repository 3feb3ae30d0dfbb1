"""The pages' shared plot hooks, on plots HoloViews builds (the browser's side is
tests/ui/test_curves_browser.py::test_the_hover_rests_while_the_plot_is_dragged)."""

import holoviews as hv
import holoviews.plotting.bokeh  # options and plots need a backend
import numpy as np

from app.plot_hooks import HOVER_REST, plain_canvas


def test_a_plain_canvas_rests_its_hover_from_a_drags_start_to_its_end():
    """Once per plot, however often HoloViews runs the hook again (it does on every update):
    the drag's start stops the hover, its end lets it inspect again."""
    image = hv.Image(np.eye(3)).opts(tools=["hover"], hooks=[plain_canvas])
    plot = hv.renderer("bokeh").get_plot(image)
    plain_canvas(plot)  # as on an update
    figure = plot.state
    assert figure.output_backend == "canvas"
    rests = {
        event: [cb for cb in figure.js_event_callbacks.get(event, []) if cb.name == HOVER_REST]
        for event in ("panstart", "panend", "pan", "wheel")
    }
    assert [len(rests[e]) for e in ("panstart", "panend", "pan", "wheel")] == [1, 1, 0, 0]
    (start,), (end,) = rests["panstart"], rests["panend"]
    assert start.args == {"plot": figure, "dragging": True}
    assert end.args == {"plot": figure, "dragging": False}
    assert "tool.active = !dragging" in start.code and "_move_exit" in start.code


def test_pages_do_not_load_the_webgl_bundle():
    """The plots draw on a plain canvas, so Bokeh's WebGL bundle is left out of the scripts
    a page loads (tests/ui/test_xss_browser.py watches the browser's requests)."""
    import bokeh.resources

    components = bokeh.resources.Resources(mode="server").components
    assert "bokeh" in components and "bokeh-widgets" in components
    assert "bokeh-gl" not in components
