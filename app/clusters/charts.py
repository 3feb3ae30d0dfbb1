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

from models.cluster_health import ProbeHistory

BUCKET_SECONDS = 60
EMPTY = (
    "No readings yet: the poller measures a running cluster every few seconds, and the charts "
    "of latency and query rate fill in from then."
)


def _curve(at: np.ndarray, values: np.ndarray, label: str, color: str) -> hv.Curve:
    curve = hv.Curve((at, values), kdims=[hv.Dimension("at", label="Time (UTC)")], vdims=[label])
    return curve.opts(
        color=color,
        line_width=1.5,
        height=170,
        responsive=True,
        min_width=260,
        tools=["hover"],
        toolbar=None,
        default_tools=[],
        title=label,
        fontsize={"title": 10},
        ylim=(0, None),
    )


def probe_charts(history: ProbeHistory, hours: float) -> pn.viewable.Viewable:
    """Latency and query rate of ``history`` as two line charts, or a note while it is empty."""
    if not len(history):
        return pn.pane.Markdown(EMPTY, name="charts-empty")
    shown = history.binned(BUCKET_SECONDS)
    window = f"last {hours:g} h, per minute"
    latency = _curve(shown.at, shown.latency_ms, f"Latency, ms ({window})", "#1f6feb")
    rate = _curve(
        shown.at,
        shown.queries_per_second,
        f"Queries/s, probes excluded ({window})",
        "#8250df",
    )
    return pn.Row(
        pn.pane.HoloViews(latency, sizing_mode="stretch_width", name="latency-chart"),
        pn.pane.HoloViews(rate, sizing_mode="stretch_width", name="rate-chart"),
        sizing_mode="stretch_width",
        name="charts",
    )
