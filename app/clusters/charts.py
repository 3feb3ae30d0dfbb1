"""Small charts of a cluster's probe readings: latency and the clients' query rate, last hours.

Fed by :func:`models.cluster_health.probe_history` through :func:`app.clusters.probes.history`;
one point per minute, so six hours stay a few hundred points however often the poller probes.
Times are UTC, as the cluster's events table shows them.
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # the options below are Bokeh's; pages load it too
import numpy as np
import panel as pn
from bokeh.models import DatetimeTickFormatter

from models.cluster_health import ProbeHistory

BUCKET_SECONDS = 60
# The time axis spans at least this much, so its ticks fall on whole minutes.
MIN_SPAN = np.timedelta64(15, "m")


def _clock_ticks(plot, _element) -> None:
    """A few clock times on the time axis (HoloViews' own formatter adds seconds and a date
    line): the charts span minutes to hours, and the events table below gives the dates."""
    axis = plot.state.xaxis[0]
    clock = "%H:%M"
    axis.formatter = DatetimeTickFormatter(
        seconds=clock, minsec=clock, minutes=clock, hourmin=clock, hours=clock, days="%d %b"
    )
    axis.ticker.desired_num_ticks = 5


EMPTY = (
    "No readings yet: the poller measures a running cluster every few seconds, and the charts "
    "of latency and query rate fill in from then."
)


def _curve(
    at: np.ndarray, values: np.ndarray, title: str, unit: str, color: str, span: tuple
) -> hv.Curve:
    curve = hv.Curve(
        (at, values), kdims=[hv.Dimension("at", label="Time (UTC)")], vdims=[hv.Dimension(title)]
    )
    return curve.opts(
        color=color,
        line_width=1.5,
        height=170,
        responsive=True,
        min_width=260,
        tools=["hover"],
        toolbar=None,
        default_tools=[],
        title=title,
        ylabel=unit,
        hooks=[_clock_ticks],
        xlim=span,
        fontsize={"title": 10},
        ylim=(0, None),
    )


def probe_charts(history: ProbeHistory, hours: float) -> pn.viewable.Viewable:
    """Latency and query rate of ``history`` as two line charts, or a note while it is empty."""
    if not len(history):
        return pn.pane.Markdown(EMPTY, name="charts-empty")
    shown = history.binned(BUCKET_SECONDS)
    if len(shown) < 2:  # the first minute: every reading, so there is a line to see
        shown = history
    end = shown.at[-1]
    span = (min(shown.at[0], end - MIN_SPAN), end)
    latency = _curve(shown.at, shown.latency_ms, "Latency of SELECT 1", "ms", "#1f6feb", span)
    rate = _curve(
        shown.at,
        shown.queries_per_second,
        "Query rate, probes excluded",
        "queries/s",
        "#8250df",
        span,
    )
    return pn.Column(
        pn.Row(
            pn.pane.HoloViews(latency, sizing_mode="stretch_width", name="latency-chart"),
            pn.pane.HoloViews(rate, sizing_mode="stretch_width", name="rate-chart"),
            sizing_mode="stretch_width",
        ),
        pn.pane.Markdown(
            f"Last {hours:g} h, one point a minute (mean latency; clients' queries over the "
            "minute, without Curvehouse's own probes).",
            styles={"color": "#57606a", "font-size": "12px"},
            margin=(0, 10),
        ),
        sizing_mode="stretch_width",
        name="charts",
    )
