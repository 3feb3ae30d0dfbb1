"""The Quality page's brushing: a range of a chart's points draws exactly their parts' curves
and links the explorer to them."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

import holoviews as hv
import numpy as np
import pandas as pd
import pytest

from app.quality.page import QualityPage
from pipelines.curves import Curves
from pipelines.frames import engine_time
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter

pytestmark = pytest.mark.integration
hv.extension("bokeh", logo=False)  # as the served page loads it (app/pages/quality.py)


@pytest.fixture
def quality(engine, store):
    store.write(generate_demo(DemoSpec(curves=300, seed=3)), DatasetSpec("demo", "demo", "d"))
    client = engine.client()
    yield QualityPage("demo", Curves(client, store.database, projects=("demo",)))
    client.close()


def test_brushed_points_draw_exactly_their_parts(quality):
    plotted = quality._plotted
    zone = quality.zone(quality._rows)
    at = [engine_time(t).tz_convert(zone).tz_localize(None) for t in plotted.at]
    assert len(at) >= 8
    quality.on_brush(boundsx=(at[2], at[6]))
    brushed = {i for k in range(2, 7) for i in plotted.curve_ids[k]}
    assert quality.brushed.object.startswith(f"**{len(brushed)} parts brushed**")
    assert quality.brushed_picture.visible and quality.brushed_picture.object[:4] == b"\x89PNG"
    # The explorer link's filter selects those parts and no other.
    link = quality.brushed.object.split("](")[-1].rstrip(")")
    query = {k: v[-1] for k, v in parse_qs(urlsplit(link).query).items()}
    assert (query["station"], query["program"]) == (quality.station.value, quality.program.value)
    where = CurveFilter.of(
        process=query["process"],
        station=query["station"],
        program=query["program"],
        start=pd.Timestamp(query["start"]).to_pydatetime(),
        end=pd.Timestamp(query["end"]).to_pydatetime(),
    )
    shown = quality.curves.matching(where).metadata(None, columns=["curve_id"])
    assert set(shown["curve_id"].astype(int)) == brushed


def test_a_brush_between_points_says_so(quality):
    at = [engine_time(t).tz_localize(None) for t in quality._plotted.at]
    gap = (at[0] - pd.Timedelta(days=3), at[0] - pd.Timedelta(days=2))
    quality.on_brush(boundsx=gap)
    assert quality.brushed.object.startswith("*No point between those times.*")
    assert not quality.brushed_picture.visible


def test_a_dense_chart_brushes_the_same_parts(quality):
    assert isinstance(quality.plots.objects[0].object, hv.Overlay)  # glyphs, below the threshold
    quality.dense_from = 10  # the demo's few hundred points drawn as counts per cell
    quality.draw()
    plotted = quality._plotted
    assert len(plotted.chart.points) > 10
    assert isinstance(quality.plots.objects[0].object, hv.DynamicMap)  # counts, re-counted on zoom
    zone = quality.zone(quality._rows)
    at = [engine_time(t).tz_convert(zone).tz_localize(None) for t in plotted.at]
    quality._brush.event(boundsx=(at[2], at[6]))  # as the browser's box selection sends it
    brushed = {i for k in range(2, 7) for i in plotted.curve_ids[k]}
    assert quality.brushed.object.startswith(f"**{len(brushed)} parts brushed**")
    assert quality.brushed_picture.visible


def test_the_distribution_is_drawn_with_its_normal_fit_and_the_limits(quality):
    values = quality.chosen()["area"].to_numpy()
    quality.lower.value, quality.upper.value = "0", str(float(values.max()) * 2)
    overlay = quality.spread.object
    bars, fit, lower, upper = overlay.values()
    counts, edges = np.histogram(values[np.isfinite(values)], bins=40)
    np.testing.assert_array_equal(bars.dimension_values("parts"), counts)
    assert bars.edges.tolist() == edges.tolist()
    assert fit.label == "normal fit" and fit.dimension_values("parts").max() > 0
    assert (lower.data, upper.data) == (0.0, float(values.max()) * 2)
    assert "Capability" in quality.fit.object
    assert "run rule" in quality.flags.object or "flagged point" in quality.flags.object
    quality.upper.value = ""  # one limit: one line
    assert len(quality.spread.object) == 3


def test_clicking_a_point_opens_its_part(quality):
    plotted = quality._plotted
    zone = quality.zone(quality._rows)
    at = [engine_time(t).tz_convert(zone).tz_localize(None) for t in plotted.at]
    k = len(at) // 2
    # A click a little off the point (as a person clicks) still finds it.
    quality.on_tap(x=at[k] + pd.Timedelta(seconds=30), y=plotted.chart.points[k] * 1.001)
    part = quality._rows[quality._rows["curve_id"] == plotted.curve_ids[k][-1]].iloc[0]
    said = html.unescape(quality.opened.object)
    assert said.startswith(f"**Part {part['part_serial']}**")
    link = said.split("](")[-1].rstrip(")")
    query = {key: v[-1] for key, v in parse_qs(urlsplit(link).query).items()}
    assert query["reference"] == part["part_serial"]  # drawn over its station's density
    assert (query["station"], query["program"]) == (quality.station.value, quality.program.value)
