"""The cluster detail's charts from probe histories, without a store or a browser (issue 16)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn

from app.clusters.charts import EMPTY, probe_charts
from models.cluster_health import ProbeHistory

NAN = np.nan


def history(seconds: list[int], latency: list[float], queries: list[float]) -> ProbeHistory:
    at = np.datetime64("2026-12-04T10:00:00", "us") + np.array(seconds) * np.timedelta64(1, "s")
    spent = np.r_[NAN, np.diff(seconds)].astype(float)
    return ProbeHistory(
        at=at,
        latency_ms=np.array(latency, float),
        queries_per_second=np.array(queries, float) / spent,
        client_queries=np.array(queries, float),
        seconds=spent,
    )


def test_no_readings_show_a_note_not_an_empty_chart():
    shown = probe_charts(history([], [], []), 6)
    assert isinstance(shown, pn.pane.Markdown) and shown.object == EMPTY


def test_readings_become_two_line_charts_one_point_a_minute():
    shown = probe_charts(history([0, 30, 60, 90], [2, 4, 6, 8], [NAN, 3, 0, 6]), 6)
    latency, rate = (pane.object for pane in shown.select(pn.pane.HoloViews))
    assert isinstance(latency, hv.Curve) and isinstance(rate, hv.Curve)
    np.testing.assert_equal(latency.dimension_values(1), [3.0, 7.0])
    np.testing.assert_allclose(rate.dimension_values(1), [0.1, 0.1])
    assert latency.kdims[0].label == "Time (UTC)"
    assert list(latency.dimension_values(0)) == [
        np.datetime64("2026-12-04T10:00", "us"),
        np.datetime64("2026-12-04T10:01", "us"),
    ]


def test_the_first_minute_draws_every_reading_on_a_quarter_hour_axis():
    shown = probe_charts(history([0, 2, 4], [2, 4, 6], [NAN, 0, 2]), 6)
    latency, rate = (pane.object for pane in shown.select(pn.pane.HoloViews))
    np.testing.assert_equal(latency.dimension_values(1), [2.0, 4.0, 6.0])
    np.testing.assert_equal(rate.dimension_values(1), [NAN, 0.0, 1.0])
    axis = hv.render(latency, backend="bokeh").x_range
    assert axis.end - axis.start == np.timedelta64(15, "m")  # ticks fall on whole minutes
