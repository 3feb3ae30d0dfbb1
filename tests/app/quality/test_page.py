"""The Quality page's brushing: a range of a chart's points draws exactly their parts' curves
and links the explorer to them; its drift pane names the station whose parts drift."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.plotting import figure

from app.markup import text
from app.quality.charts import FEATURE_WORDS
from app.quality.page import QualityPage
from pipelines.batch import TEXT_COLUMNS, CurveBatch
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
    assert not quality._charts[0].dense  # glyphs, below the threshold
    quality.dense_from = 10  # the demo's few hundred points drawn as counts per cell
    quality.draw()
    plotted = quality._plotted
    assert len(plotted.chart.points) > 10
    assert quality._charts[0].dense  # counts, re-counted on zoom: a new figure
    zone = quality.zone(quality._rows)
    at = [engine_time(t).tz_convert(zone).tz_localize(None) for t in plotted.at]
    quality._charts[0].brush.event(
        boundsx=(at[2], at[6])
    )  # as the browser's box selection sends it
    brushed = {i for k in range(2, 7) for i in plotted.curve_ids[k]}
    assert quality.brushed.object.startswith(f"**{len(brushed)} parts brushed**")
    assert quality.brushed_picture.visible


def test_the_distribution_is_drawn_with_its_normal_fit_and_the_limits(quality):
    values = quality.chosen()["area"].to_numpy()
    quality.lower.value, quality.upper.value = "0", str(float(values.max()) * 2)
    bars, fit, spec = quality.spread.object[()].values()
    counts, edges = np.histogram(values[np.isfinite(values)], bins=40)
    np.testing.assert_array_equal(bars.dimension_values("parts"), counts)
    assert bars.edges.tolist() == edges.tolist()
    assert fit.label == "normal fit" and fit.dimension_values("parts").max() > 0
    assert spec.label == "spec limits"
    assert spec.dimension_values(0).tolist() == [0.0, float(values.max()) * 2]
    assert "Capability" in quality.fit.object
    assert "run rule" in quality.flags.object or "flagged point" in quality.flags.object
    quality.upper.value = ""  # one limit: one line
    assert quality.spread.object[()].values()[2].dimension_values(0).tolist() == [0.0]


def test_the_flagged_points_are_listed_newest_first_with_their_parts(engine, store):
    """The list beside the charts, against the charts' own violations sorted the obvious way."""
    store.write(generate_demo(DemoSpec(curves=3000, seed=4)), DatasetSpec("busy", "demo", "d"))
    client = engine.client()
    try:
        _flagged_points_listed(
            QualityPage("busy", Curves(client, store.database, projects=("busy",)))
        )
    finally:
        client.close()


def _flagged_points_listed(quality: QualityPage) -> None:
    # The demo's drifting station, whose parts break the rules most.
    drifting = quality._features.groupby(["station", "program"])["peak_y"].std().idxmax()
    quality.station.value, quality.program.value = drifting
    quality.feature.value = "peak_y"
    # Limits from its first parts only, before the drift: the later ones break the rules.
    started = quality.chosen()["started_at"].sort_values()
    until = engine_time(started.iloc[len(started) // 4]).tz_convert(quality.zone())
    quality.baseline.value = f"{until:%Y-%m-%d %H:%M}"
    made = [quality._plotted, quality._charts[1].data.data.plotted]
    found = [
        (pd.Timestamp(p.at.iloc[v.index]), p.chart.name, v.words, p.curve_ids[v.index][-1])
        for p in made
        for v in p.violations
    ]
    assert len(found) > 12, "the demo should break rules often enough to cut the list"
    found.sort(key=lambda f: f[0], reverse=True)
    lines = quality.flags.object.splitlines()
    assert lines[0] == f"**{len(found)} flagged point(s)**, newest first:"
    assert len(lines) == 1 + 12
    zone = quality.zone(quality._rows)
    serials = dict(zip(quality._rows["curve_id"], quality._rows["part_serial"], strict=True))
    for line, (when, chart, words, curve_id) in zip(lines[1:], found, strict=False):
        local = engine_time(when).tz_convert(zone)
        assert line.startswith(f"- {local:%Y-%m-%d %H:%M} · {chart}: {text(words)} · ")
        assert f"[{text(serials[curve_id])}](curves?" in line


def test_the_spec_limits_do_not_stretch_the_charts(quality):
    """The distribution's x axis is the charts' y quantity, but not linked to them: a spec limit
    far from the values stretches neither (the distribution's axis follows the parts)."""
    quality.lower.value = "0"
    root = pn.panel(quality).get_root(Document())
    figures = {f.title.text.split(" ·")[0]: f for f in root.select({"type": figure})}
    chart, spread = figures["Individuals chart"], figures["Distribution"]
    assert chart.y_range is not spread.x_range
    assert 0 < quality.chosen()["area"].min() * 0.9 < chart.y_range.start
    assert spread.x_range.start > 0  # the limit at 0 is off it


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


# A line in Greenville (America/New_York: UTC-5 in November) whose press ST010 drifts down
# from its 120th part on: its sensor reads every part 3 σ low, of both programs. ST020 and the
# screwdriving station keep steady. A part every 2 minutes from 13:00 UTC, 08:00 there.
LINE_START = pd.Timestamp("2026-11-18 13:00", tz="UTC")
PARTS = 150
DRIFT_FROM = 120
PROGRAMS = {"P-A": (100.0, 1.0), "P-B": (60.0, 0.5)}  # a part's area: median and σ
# A steady part's offset in σ, each program's parts in turn: spread like noise, but never a
# run on one side, so no steady station alarms by chance (random noise does, now and then).
STEADY = (1.0, -1.0, 0.6, -0.6, 0.2, -0.2)


def line_parts() -> CurveBatch:
    """The line's parts as a batch: three samples each, (0, v), (5, v), (10, v), of area 10 v."""
    rows, xs, ys = [], [], []
    stations = [
        ("press-fit", "GSP-L1-ST010", 0.0),
        ("press-fit", "GSP-L1-ST020", 0.5),
        ("screwdriving", "GSP-L1-ST030", 1.0),
    ]
    for process, station, minutes in stations:
        for i in range(PARTS):
            program = list(PROGRAMS)[i % 2]
            median, sigma = PROGRAMS[program]
            area = median + sigma * STEADY[i // 2 % len(STEADY)]
            if station.endswith("ST010") and i >= DRIFT_FROM:
                area -= 3 * sigma
            started = LINE_START + pd.Timedelta(minutes=2 * i + minutes)
            serial = f"GSP-L1-{i:05d}"
            rows.append(
                {
                    **dict.fromkeys(TEXT_COLUMNS, ""),
                    "curve_key": f"{serial}/{station}",
                    "plant": "Greenville",
                    "line": "GSP-L1",
                    "station": station,
                    "process": process,
                    "program": program,
                    "part_serial": serial,
                    "started_at": started,
                    "ended_at": started + pd.Timedelta(seconds=3),
                    "result": "OK",
                    "x_step": 0.01,
                    "y_step": 0.001,
                }
            )
            xs.append(np.array([0, 500, 1000], dtype=np.int32))
            ys.append(np.full(3, round(area / 10 / 0.001), dtype=np.int32))
    return CurveBatch.from_curves(rows, xs, ys)


@pytest.mark.embedded_only  # the engine's reading and drift finding are tested in pipelines
def test_the_drift_pane_names_the_drifting_station_with_its_way_and_local_time(engine, store):
    """The pane lists the station whose parts drift, which way, and since when on the plant's
    clocks; a process whose stations keep steady says none drifts."""
    store.write([line_parts()], DatasetSpec("line", "import", "greenville"))
    client = engine.client()
    try:
        page = QualityPage("line", Curves(client, store.database, projects=("line",)))
        assert page.process.value == "press-fit" and page.feature.value == "area"
        assert page.zone() == "America/New_York"
        said = html.unescape(page.drifts.object)
        named = FEATURE_WORDS["area"].lower()  # "area under the curve (work)"
        heading, *listed = said.splitlines()
        assert heading == f"**Drifting stations** (press-fit, {named}, newest first):"
        (line,) = listed  # one station drifts, once: not the steady ST020
        found = re.fullmatch(
            rf"- GSP-L1-ST010 {re.escape(named)} drifting down since "
            r"(\d{4}-\d\d-\d\d \d\d:\d\d), ([\d.]+) σ \((\d+) parts\)",
            line,
        )
        assert found, line
        # Since when, on Greenville's clocks: at, or a few parts before, the first part read
        # low (17:00 UTC, 12:00 there; shown on UTC clocks it would read five hours later).
        moved = LINE_START + pd.Timedelta(minutes=2 * DRIFT_FROM)
        since = pd.Timestamp(found[1]).tz_localize("America/New_York")
        assert moved - pd.Timedelta(minutes=10) <= since <= moved, (found[1], moved)
        assert float(found[2]) > 1 and int(found[3]) >= 0.8 * (PARTS - DRIFT_FROM)
        # The process of steady stations says none drifts, and the words follow the process.
        page.process.value = "screwdriving"
        said = html.unescape(page.drifts.object)
        assert said == f"**No station of screwdriving drifts** in its parts' {named}."
    finally:
        client.close()
