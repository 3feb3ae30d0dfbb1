"""The explorer component against a real engine: state in, the pipelines' answers on the page.

Served pages are covered by tests/ui; here the component runs in-process, where finished work
is shown at once (no document), and :meth:`CurveExplorer.wait` waits for it.
"""

import threading

import numpy as np
import pandas as pd
import panel as pn
import pytest

from app.explorer.explorer import PICK_LIMIT, PLOT_HEIGHT, PLOT_WIDTH, CurveExplorer
from pipelines.curves import Curves
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter, View
from providers import EngineBusyError

pytestmark = pytest.mark.integration


@pytest.fixture
def demo(engine, store):
    batches = list(generate_demo(DemoSpec(curves=90, seed=4)))
    store.write(batches, DatasetSpec(project="demo", kind="demo", name="d"))
    meta = pd.concat([b.meta for b in batches], ignore_index=True)
    return engine.client, store.database, meta


def open_explorer(demo, **query) -> CurveExplorer:
    factory, database, _ = demo
    explorer = CurveExplorer(client_factory=factory, database=database, query=query or None)
    explorer.wait()
    return explorer


def test_opens_on_the_largest_process_with_its_density(demo):
    factory, database, meta = demo
    explorer = open_explorer(demo)
    largest = meta["process"].value_counts().idxmax()
    assert (explorer.state.project, explorer.state.process) == ("demo", largest)
    image = explorer._image
    where = CurveFilter.of(project="demo", process=largest)
    shown = View(width=PLOT_WIDTH, height=PLOT_HEIGHT)
    expected = Curves(factory(), database, where).density(shown)
    np.testing.assert_array_equal(image.counts, expected.counts)
    assert image.curves == (meta["process"] == largest).sum()
    assert f">{image.curves:,}<" in explorer.stats.object
    assert explorer.filters["station"].options  # pickers know the stations
    assert not explorer._alert.visible and not explorer._empty.visible


def test_a_filter_changes_the_count(demo):
    _, _, meta = demo
    explorer = open_explorer(demo)
    explorer.state.result = ["NOK"]
    explorer.wait()
    chosen = meta[(meta.process == explorer.state.process) & (meta.result == "NOK")]
    assert explorer._image.curves == len(chosen) > 0
    assert explorer._image.results == {"NOK": len(chosen)}


def test_a_zoom_renders_the_new_ranges(demo):
    explorer = open_explorer(demo)
    (x0, x1), (y0, y1) = explorer._image.view.x_range, explorer._image.view.y_range
    zoom = (x0 + (x1 - x0) * 0.4, x0 + (x1 - x0) * 0.5)
    explorer._on_range(x_range=zoom, y_range=(y0, y1))  # what the plot's RangeXY stream sends
    explorer.wait()
    assert explorer._image.view.x_range == zoom
    assert explorer.state.to_query()["x"] == f"{zoom[0]:.10g},{zoom[1]:.10g}"


def test_rapid_zooms_show_the_last_one(demo):
    explorer = open_explorer(demo)
    (x0, x1), y_range = explorer._image.view.x_range, explorer._image.view.y_range
    for k in range(1, 11):
        explorer._on_range(x_range=(x0, x0 + (x1 - x0) / k), y_range=y_range)
    explorer.wait()
    assert explorer._image.view.x_range == (x0, x0 + (x1 - x0) / 10)
    assert explorer._renders.skipped >= 5  # most never started: nothing queued up


def test_a_selection_lists_the_parts_drawn_there_and_exports_them(demo):
    factory, database, _ = demo
    explorer = open_explorer(demo)
    box = (300, 660, 100, 380)
    explorer.select_box(box)
    explorer.wait()
    where, view = explorer.state.curve_filter(), explorer._image.view
    expected = Curves(factory(), database, where).pick(view, box, limit=PICK_LIMIT)
    assert explorer._picked.total == expected.total > 0
    assert set(explorer.parts.value["part_serial"]) == set(expected.curves["part_serial"])
    assert f"{expected.total:,} parts" in explorer.parts_title.object
    assert len(explorer._lines_data.lines) == min(expected.total, 20)
    csv = explorer.parts_csv().splitlines()
    assert csv[0].startswith("curve_id,curve_key,part_serial") and len(csv) == expected.total + 1
    assert not explorer.csv.disabled


class Held:
    """A client whose first use waits until the test releases it: work caught in flight."""

    def __init__(self, client) -> None:
        self._client = client
        self.started, self.release = threading.Event(), threading.Event()

    def __getattr__(self, name):
        self.started.set()
        assert self.release.wait(30)
        return getattr(self._client, name)


def test_a_filter_change_drops_a_selection_still_running(demo):
    explorer = open_explorer(demo)
    held = explorer._pick_client = Held(explorer._pick_client)
    explorer.select_box((0, PLOT_WIDTH - 1, 0, PLOT_HEIGHT - 1))
    assert held.started.wait(30)
    explorer.state.result = ["NOK"]  # clears the selection while the old one still runs
    held.release.set()
    explorer.wait()
    assert explorer._picked is None and explorer.parts.value.empty
    assert explorer._lines_data.lines == []


def test_selections_use_the_filter_of_the_picture_on_screen(demo):
    explorer = open_explorer(demo, result="NOK")
    nok = explorer._image.curves
    held = explorer._render_client = Held(explorer._render_client)
    explorer.state.result = []  # a render of every result starts, and is held
    assert held.started.wait(30)
    explorer.select_box((0, PLOT_WIDTH - 1, 0, PLOT_HEIGHT - 1))
    explorer._picks.wait(30)
    assert explorer._picked.total == nok  # the NOK picture is what is on screen
    held.release.set()
    explorer.wait()
    assert explorer._image.curves > nok


def test_hover_names_the_parts_under_the_cursor(demo):
    explorer = open_explorer(demo)
    counts = explorer._image.counts
    row, col = np.unravel_index(np.argmax(counts), counts.shape)
    (x0, x1), (y0, y1) = explorer._image.view.x_range, explorer._image.view.y_range
    x = x0 + (col + 0.5) * (x1 - x0) / PLOT_WIDTH
    y = y0 + (row + 0.5) * (y1 - y0) / PLOT_HEIGHT
    explorer._on_pointer(x=x, y=y)
    explorer.wait()
    assert f"**{counts[row, col]:,} curves**" in explorer.hover_info.object


def test_colour_by_shows_a_legend_and_the_png_export(demo):
    _, _, meta = demo
    explorer = open_explorer(demo, color_by="result")
    image = explorer._image
    assert image.categories and explorer.legend.visible
    for result, n in meta[meta.process == explorer.state.process].result.value_counts().items():
        assert f"{result} <span style='color:#5a6b7f'>({n:,})" in explorer.legend.object
    data = explorer.view_png()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    explorer.state.norm = "linear"  # another colour mapper: the plot is rebuilt, no error
    explorer.state.cmap = "fire"
    assert explorer._plot_key[-2:] == ("linear", "fire")


def test_envelope_and_reference_part_are_drawn(demo):
    _, _, meta = demo
    explorer = open_explorer(demo)
    serial = meta[meta.process == explorer.state.process].part_serial.iloc[0]
    explorer.state.param.update(envelope=True, reference=serial)
    explorer.wait()
    band = explorer._band_data.band
    assert {"x", "p05", "p50", "p95"} <= set(band.columns) and len(band) > 10
    assert len(explorer._reference_data.reference) == 1
    explorer.state.reference = "NO-SUCH-PART"
    explorer.wait()
    assert explorer._reference_data.reference == []
    assert "no curve of part" in explorer.status_text.object


def test_the_url_reopens_the_same_view(demo):
    explorer = open_explorer(demo)
    first = next(iter(explorer.filters["station"].options.values()))
    explorer.state.param.update(station=[first], cmap="fire")
    explorer._on_range(x_range=(2.0, 8.0), y_range=(0.0, 20.0))
    explorer.wait()
    again = open_explorer(demo, **explorer.state.to_query())
    assert again.state.to_query() == explorer.state.to_query()
    np.testing.assert_array_equal(again._image.counts, explorer._image.counts)


def test_an_invalid_filter_is_a_message(demo):
    explorer = open_explorer(demo, start="not a time")
    assert explorer._alert.visible
    assert "Invalid filter" in explorer._alert.object and "start" in explorer._alert.object


def test_an_empty_result_shows_the_empty_state(demo):
    explorer = open_explorer(demo, serial="NO-SUCH-SERIAL")
    assert explorer._image.curves == 0 and explorer._empty.visible
    assert not explorer._alert.visible


def test_a_view_no_curve_passes_through_says_so(demo):
    """Zoom into a pixel the overview left empty, amid curves whose extents cover it."""
    explorer = open_explorer(demo)
    image = explorer._image
    (x0, x1), (y0, y1) = image.view.x_range, image.view.y_range
    dx, dy = (x1 - x0) / image.view.width, (y1 - y0) / image.view.height
    rows, cols = np.nonzero(image.counts == 0)
    middle = np.argsort(np.hypot(rows - len(image.counts) / 2, cols - image.counts.shape[1] / 2))
    for i in middle[:40]:
        left, bottom = x0 + (cols[i] + 0.1) * dx, y0 + (rows[i] + 0.1) * dy
        explorer._on_range(x_range=(left, left + 0.8 * dx), y_range=(bottom, bottom + 0.8 * dy))
        explorer.wait()
        if explorer._image.near:
            break
    assert explorer._image.near > 0 and explorer._image.curves == 0
    assert explorer._empty.visible and "No curve passes through this view" in explorer._empty.object
    assert ">0<" in explorer.stats.object


def test_an_unavailable_engine_is_a_message():
    def busy():
        raise EngineBusyError("The embedded ClickHouse data at /x is in use by another process")

    explorer = CurveExplorer(client_factory=busy, database="nowhere")
    assert explorer._alert.visible and "in use by another process" in explorer._alert.object
    assert isinstance(explorer.__panel__(), pn.Column)


def test_an_empty_store_says_how_to_get_curves(engine, store):
    explorer = CurveExplorer(client_factory=engine.client, database=store.database)
    explorer.wait()
    assert explorer._empty.visible and not explorer._alert.visible
    assert "No curves stored yet" in explorer._empty.object
    assert "curvehouse demo" in explorer._empty.object
