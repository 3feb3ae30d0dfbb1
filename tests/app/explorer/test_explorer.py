"""The explorer component against a real engine: state in, the pipelines' answers on the page.

Served pages are covered by tests/ui; here the component runs in-process, where finished work
is shown at once (no document), and :meth:`CurveExplorer.wait` waits for it.
"""

import html
import threading

import numpy as np
import pandas as pd
import panel as pn
import pytest

from app.explorer.elements import PLOT_HEIGHT, PLOT_WIDTH
from app.explorer.explorer import CurveExplorer
from app.explorer.parts import PICK_LIMIT
from pipelines import hot
from pipelines.curves import Curves
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter, View
from providers import EngineBusyError

# The explorer above the engine: the node runs the reading and SQL tests in tests/pipelines.
pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]


@pytest.fixture
def demo(engine, store):
    batches = list(generate_demo(DemoSpec(curves=90, seed=4)))
    store.write(batches, DatasetSpec(project="demo", kind="demo", name="d"))
    meta = pd.concat([b.meta for b in batches], ignore_index=True)
    return engine.client, store.database, meta


def open_explorer(demo, client_factory=None, **query) -> CurveExplorer:
    factory, database, _ = demo
    explorer = CurveExplorer(
        client_factory=client_factory or factory, database=database, query=query or None
    )
    explorer.wait()
    return explorer


def written(figure: pn.indicators.Number) -> str:
    """The figure's value as the card writes it."""
    return figure.format.format(value=figure.value)


def test_opens_on_the_largest_process_with_its_density(demo):
    factory, database, meta = demo
    explorer = open_explorer(demo)
    largest = meta["process"].value_counts().idxmax()
    assert (explorer.state.project, explorer.state.process) == ("demo", largest)
    image = explorer.plot.image
    where = CurveFilter.of(project="demo", process=largest)
    shown = View(width=PLOT_WIDTH, height=PLOT_HEIGHT)
    expected = Curves(factory(), database, where).density(shown)
    np.testing.assert_array_equal(image.counts, expected.counts)
    assert image.curves == (meta["process"] == largest).sum()
    assert written(explorer.plot.figures["Curves shown"]) == f"{image.curves:,}"
    # Issue 16: the figures say they count curves; the samples read are a status detail.
    nok = image.results.get("NOK", 0)
    assert list(explorer.plot.figures) == [
        "Curves shown",
        "OK / NOK curves",
        "NOK rate of curves",
        "Query time",
    ]
    assert html.unescape(written(explorer.plot.figures["OK / NOK curves"])).endswith(f"/ {nok:,}")
    assert explorer.plot.status.startswith(f"{image.curves:,} curves · x ")
    assert f" ms · {image.samples:,} samples read" in explorer.plot.status
    assert explorer.controls.filters["station"].options  # pickers know the stations
    assert not explorer.message and not explorer.plot.empty


def test_a_filter_changes_the_count(demo):
    _, _, meta = demo
    explorer = open_explorer(demo)
    shown = meta[meta.process == explorer.state.process]
    station = sorted(shown.station.unique())[0]
    explorer.state.station = [station]
    explorer.wait()
    chosen = shown[shown.station == station]
    assert explorer.plot.image.curves == len(chosen) > 0
    assert len(chosen) < len(shown)
    assert explorer.plot.image.results == chosen.result.value_counts().to_dict()


def test_a_zoom_renders_the_new_ranges(demo):
    explorer = open_explorer(demo)
    (x0, x1), (y0, y1) = explorer.plot.image.view.x_range, explorer.plot.image.view.y_range
    zoom = (x0 + (x1 - x0) * 0.4, x0 + (x1 - x0) * 0.5)
    explorer.plot.on_range(x_range=zoom, y_range=(y0, y1))  # what a RangesUpdate event says
    explorer.wait()
    assert explorer.plot.image.view.x_range == zoom
    assert explorer.state.to_query()["x"] == f"{zoom[0]:.10g},{zoom[1]:.10g}"


def test_rapid_zooms_show_the_last_one(demo):
    explorer = open_explorer(demo)
    (x0, x1), y_range = explorer.plot.image.view.x_range, explorer.plot.image.view.y_range
    for k in range(1, 11):
        explorer.plot.on_range(x_range=(x0, x0 + (x1 - x0) / k), y_range=y_range)
    explorer.wait()
    assert explorer.plot.image.view.x_range == (x0, x0 + (x1 - x0) / 10)
    assert explorer.plot.renders.skipped >= 5  # most never started: nothing queued up


def test_a_selection_lists_the_parts_drawn_there_and_exports_them(demo):
    factory, database, _ = demo
    explorer = open_explorer(demo)
    box = (300, 660, 100, 380)
    explorer.select_box(box)
    explorer.wait()
    where, view = explorer.state.curve_filter(), explorer.plot.image.view
    expected = Curves(factory(), database, where).pick(view, box, limit=PICK_LIMIT)
    assert explorer.parts.picked.total == expected.total > 0
    assert set(explorer.parts.table.value["part_serial"]) == set(expected.curves["part_serial"])
    assert f"{expected.total:,} parts" in explorer.parts.title
    assert len(explorer.plot.highlighted) == min(expected.total, 20)
    csv = explorer.parts.to_csv().splitlines()
    assert csv[0].startswith("curve_id,curve_key,part_serial") and len(csv) == expected.total + 1
    assert not explorer.parts.csv.disabled


class Held:
    """A client that, once held, waits at its next use until the test releases it: work
    caught in flight."""

    def __init__(self, client) -> None:
        self._client = client
        self.holding = False
        self.started, self.release = threading.Event(), threading.Event()

    def __getattr__(self, name):
        if self.holding:
            self.started.set()
            assert self.release.wait(30)
        return getattr(self._client, name)


def held_clients(demo) -> tuple[list[Held], object]:
    """A client factory whose clients can be held: the explorer's are for renders,
    selections and the hover, in that order."""
    factory, _, _ = demo
    made: list[Held] = []

    def make():
        made.append(Held(factory()))
        return made[-1]

    return made, make


def test_a_filter_change_drops_a_selection_still_running(demo):
    clients, factory = held_clients(demo)
    explorer = open_explorer(demo, client_factory=factory)
    held = clients[1]  # selections
    held.holding = True
    explorer.select_box((0, PLOT_WIDTH - 1, 0, PLOT_HEIGHT - 1))
    assert held.started.wait(30)
    explorer.state.result = ["NOK"]  # clears the selection while the old one still runs
    held.release.set()
    explorer.wait()
    assert explorer.parts.picked is None and explorer.parts.table.value.empty
    assert explorer.plot.highlighted == []


def test_selections_use_the_filter_of_the_picture_on_screen(demo):
    clients, factory = held_clients(demo)
    explorer = open_explorer(demo, client_factory=factory, result="NOK")
    nok = explorer.plot.image.curves
    held = clients[0]  # renders
    held.holding = True
    explorer.state.result = []  # a render of every result starts, and is held
    assert held.started.wait(30)
    explorer.select_box((0, PLOT_WIDTH - 1, 0, PLOT_HEIGHT - 1))
    explorer.parts.wait(30)
    assert explorer.parts.picked.total == nok  # the NOK picture is what is on screen
    held.release.set()
    explorer.wait()
    assert explorer.plot.image.curves > nok


def test_hover_names_the_parts_under_the_cursor(demo):
    explorer = open_explorer(demo)
    counts = explorer.plot.image.counts
    row, col = np.unravel_index(np.argmax(counts), counts.shape)
    (x0, x1), (y0, y1) = explorer.plot.image.view.x_range, explorer.plot.image.view.y_range
    x = x0 + (col + 0.5) * (x1 - x0) / PLOT_WIDTH
    y = y0 + (row + 0.5) * (y1 - y0) / PLOT_HEIGHT
    explorer.plot.on_pointer(x=x, y=y)  # what the PointerXY stream sends
    explorer.wait()
    assert f"**{counts[row, col]:,} curves**" in explorer.parts.hover


def test_colour_by_shows_a_legend_and_the_png_export(demo):
    _, _, meta = demo
    explorer = open_explorer(demo, color_by="result")
    image = explorer.plot.image
    assert image.categories and explorer.plot.legend.visible
    for result, n in meta[meta.process == explorer.state.process].result.value_counts().items():
        assert f"{result} <span style='color:#5a6b7f'>({n:,})" in explorer.plot.legend.object
    data = explorer.plot.to_png()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    explorer.state.norm = "linear"  # another colour mapper: the plot is rebuilt, no error
    explorer.state.cmap = "fire"
    assert explorer.plot.drawn_as[-2:] == ("linear", "fire")


def test_envelope_and_reference_part_are_drawn(demo):
    _, _, meta = demo
    explorer = open_explorer(demo)
    chosen = meta[meta.process == explorer.state.process]
    program = chosen.program.value_counts().idxmax()  # an envelope is of one program
    serial = chosen[chosen.program == program].part_serial.iloc[0]
    explorer.state.param.update(program=[program], envelope=True, reference=serial)
    explorer.wait()
    band = explorer.plot.band
    assert {"x", "p05", "p50", "p95"} <= set(band.columns) and len(band) > 10
    assert len(explorer.plot.reference_lines) == 1
    explorer.state.reference = "NO-SUCH-PART"
    explorer.wait()
    assert explorer.plot.reference_lines == []
    assert "no curve of part" in explorer.plot.status


def test_the_url_reopens_the_same_view(demo):
    explorer = open_explorer(demo)
    first = next(iter(explorer.controls.filters["station"].options.values()))
    explorer.state.param.update(station=[first], cmap="fire")
    explorer.plot.on_range(x_range=(2.0, 8.0), y_range=(0.0, 20.0))
    explorer.wait()
    again = open_explorer(demo, **explorer.state.to_query())
    assert again.state.to_query() == explorer.state.to_query()
    np.testing.assert_array_equal(again.plot.image.counts, explorer.plot.image.counts)


def test_an_invalid_filter_is_a_message(demo):
    explorer = open_explorer(demo, start="not a time")
    assert explorer.message
    assert "Invalid filter" in explorer.message and "start" in explorer.message


def test_an_empty_result_shows_the_empty_state(demo):
    explorer = open_explorer(demo, serial="NO-SUCH-SERIAL")
    assert explorer.plot.image.curves == 0 and explorer.plot.empty
    assert not explorer.message


def test_a_view_no_curve_passes_through_says_so(demo):
    """Zoom into a pixel the overview left empty, amid curves whose extents cover it."""
    explorer = open_explorer(demo)
    image = explorer.plot.image
    (x0, x1), (y0, y1) = image.view.x_range, image.view.y_range
    dx, dy = (x1 - x0) / image.view.width, (y1 - y0) / image.view.height
    rows, cols = np.nonzero(image.counts == 0)
    middle = np.argsort(np.hypot(rows - len(image.counts) / 2, cols - image.counts.shape[1] / 2))
    for i in middle[:40]:
        left, bottom = x0 + (cols[i] + 0.1) * dx, y0 + (rows[i] + 0.1) * dy
        explorer.plot.on_range(x_range=(left, left + 0.8 * dx), y_range=(bottom, bottom + 0.8 * dy))
        explorer.wait()
        if explorer.plot.image.near:
            break
    assert explorer.plot.image.near > 0 and explorer.plot.image.curves == 0
    assert "No curve passes through this view" in explorer.plot.empty
    assert written(explorer.plot.figures["Curves shown"]) == "0"


def test_an_unavailable_engine_is_a_message():
    def busy():
        raise EngineBusyError("The embedded ClickHouse data at /x is in use by another process")

    explorer = CurveExplorer(client_factory=busy, database="nowhere")
    assert "in use by another process" in explorer.message
    assert isinstance(explorer.__panel__(), pn.Column)


def test_an_empty_store_says_how_to_get_curves(engine, store):
    explorer = CurveExplorer(client_factory=engine.client, database=store.database)
    explorer.wait()
    assert explorer.plot.empty and not explorer.message
    assert "No curves stored yet" in explorer.plot.empty
    assert "curvehouse demo" in explorer.plot.empty


def test_an_empty_projects_advice_is_asked_once_however_often_it_is_drawn(engine, store):
    """The advice reads the metadata store (who may import, who administers): a zoom or a
    changed y range of an empty project must not read it again."""
    asked: list[str] = []

    def advice(project: str) -> str:
        asked.append(project)
        return f"Nothing in {project} yet."

    explorer = CurveExplorer(
        client_factory=engine.client,
        database=store.database,
        projects=("line-9",),
        empty_advice=advice,
    )
    explorer.wait()
    for y_range in ((0.0, 5.0), (1.0, 2.0), (0.0, 9.0)):
        explorer.state.y_range = y_range
        explorer.wait()
    assert explorer.plot.empty == "Nothing in line-9 yet."
    assert asked == ["line-9"]
    explorer.close()


def drawn(explorer: CurveExplorer):
    """The explorer's plot as Bokeh models in a document, as a served page has them."""
    from bokeh.document import Document
    from bokeh.models import GlyphRenderer, Image

    doc = Document()
    root = explorer.plot.canvas.get_root(doc)
    doc.add_root(root)
    (renderer,) = [r for r in root.select({"type": GlyphRenderer}) if isinstance(r.glyph, Image)]
    return root, renderer


def test_a_new_view_goes_into_the_drawn_plot_as_holoviews_would_draw_it(demo, monkeypatch, request):
    """Only the image changed: its data goes straight into the page's Bokeh models, with no
    HoloViews refresh, and they hold what HoloViews draws for that image: same levels, counts,
    bounds, colours and colour bar."""
    import holoviews as hv
    from bokeh.events import RangesUpdate
    from bokeh.models import ColorBar, Plot

    from app.explorer import elements

    explorer = open_explorer(demo, norm="log", cmap="fire")
    # Panel keeps a drawn root (and so the explorer) in its registry: close the engine
    # clients here, or a later test in this process could not open its own home's engine.
    request.addfinalizer(explorer.close)
    root, renderer = drawn(explorer)
    source, mapper = renderer.data_source, renderer.glyph.color_mapper
    palette = list(mapper.palette)
    refreshes = []
    monkeypatch.setattr(hv.streams.Stream, "trigger", staticmethod(refreshes.append))
    (x0, x1), (y0, y1) = explorer.plot.image.view.x_range, explorer.plot.image.view.y_range
    zoom = (x0 + (x1 - x0) * 0.3, x0 + (x1 - x0) * 0.6), (y0, y0 + (y1 - y0) * 0.7)
    (figure,) = root.select({"type": Plot})
    (x_range, y_range) = zoom
    # What the browser sends when a zoom has rested.
    figure._trigger_event(
        RangesUpdate(figure, x0=x_range[0], x1=x_range[1], y0=y_range[0], y1=y_range[1])
    )
    explorer.wait()
    image = explorer.plot.image
    assert (image.view.x_range, image.view.y_range) == zoom
    assert refreshes == []  # no HoloViews refresh: the models were updated in place
    fresh = hv.renderer("bokeh").get_plot(elements.raster(image, "fire", "log"))
    want = fresh.handles["source"].data
    assert set(source.data) == set(want)
    for key in want:
        np.testing.assert_array_equal(source.data[key][0], want[key][0])
    assert renderer.glyph.color_mapper is mapper and list(mapper.palette) == palette
    assert palette == list(fresh.handles["color_mapper"].palette)
    (bar,) = [r for r in figure.right if isinstance(r, ColorBar)]
    (fresh_bar,) = [r for r in fresh.state.right if isinstance(r, ColorBar)]
    assert list(bar.ticker.ticks) == list(fresh_bar.ticker.ticks)
    assert bar.major_label_overrides == fresh_bar.major_label_overrides
    assert (figure.x_range.start, figure.x_range.end) == zoom[0]
    assert (figure.y_range.start, figure.y_range.end) == zoom[1]


def test_a_gesture_that_ends_where_it_began_hides_the_drawing_notice(demo, request):
    """The browser shows "Drawing…" at any pan or wheel; when the view did not change no image
    follows to hide it, so the server does."""
    from bokeh.events import RangesUpdate
    from bokeh.models import Label, Plot

    from app.explorer import elements

    explorer = open_explorer(demo)
    request.addfinalizer(explorer.close)
    root, _ = drawn(explorer)
    (figure,) = root.select({"type": Plot})
    (notice,) = [r for r in figure.center if isinstance(r, Label)]
    assert notice.name == elements.DRAWING_NOTICE
    notice.visible = True  # what the browser does at the gesture
    (x0, x1), (y0, y1) = explorer.plot.image.view.x_range, explorer.plot.image.view.y_range
    figure._trigger_event(RangesUpdate(figure, x0=x0, x1=x1, y0=y0, y1=y1))
    explorer.wait()
    assert not notice.visible
    assert explorer.plot.image.view.x_range == (x0, x1)  # nothing was redrawn


def test_a_filter_loading_shows_a_first_picture_then_the_whole_one(demo, monkeypatch):
    monkeypatch.setattr(hot, "PREVIEW_MIN_SAMPLES", 1)
    _factory, _database, meta = demo
    explorer = open_explorer(demo)
    (x0, x1), y_range = explorer.plot.image.view.x_range, explorer.plot.image.view.y_range
    explorer.state.param.update(x_range=(x0, (x0 + x1) / 2), y_range=y_range)  # zoomed first
    explorer.wait()
    runs = explorer.plot.renders
    delivered, skipped = runs.delivered, runs.skipped
    shown, said = [], []
    curves_shown = explorer.plot.figures["Curves shown"]
    explorer.plot.param.watch(lambda e: shown.append(e.new), "image")
    explorer.plot.param.watch(lambda e: said.append((e.new, curves_shown.value)), "status")
    before = curves_shown.value
    other = next(p for p in sorted(meta["process"].unique()) if p != explorer.state.process)
    explorer.state.process = other
    explorer.wait()
    first, whole = shown[0], shown[-1]
    total = int((meta["process"] == other).sum())
    assert (first.loading, whole.loading) == (total, 0) and first.view == whole.view
    assert 0 < first.curves < whole.curves == total
    # Said as such; the figures wait for the whole picture.
    words = f"First picture: {first.curves:,} of {total:,} curves drawn, loading the rest…"
    assert (words, before) in said
    assert said[-1][0].startswith(f"{total:,} curves · x ") and said[-1][1] == total
    # One render for the new process and its refitted view: a second would throw the first,
    # loading one, away with its first picture.
    assert (runs.delivered, runs.skipped) == (delivered + 1, skipped)
    explorer.close()


def test_a_process_change_renames_the_axes_and_hover_in_place(demo):
    from bokeh.document import Document
    from bokeh.models import HoverTool

    explorer = open_explorer(demo)
    document = Document()
    document.add_root(explorer.plot.canvas.get_root(document))
    explorer.wait()
    figure = explorer.plot._raster_plot.state
    before = (figure.xaxis[0].axis_label, figure.yaxis[0].axis_label)
    _, _, meta = demo
    other = next(p for p in sorted(meta["process"].unique()) if p != explorer.state.process)
    explorer.state.process = other
    explorer.wait()
    image = explorer.plot.image
    assert explorer.plot._raster_plot.state is figure  # the same plot, new names
    names = (figure.xaxis[0].axis_label, figure.yaxis[0].axis_label)
    assert names == (image.x_label, image.y_label) != before
    (hover,) = figure.select(type=HoverTool)
    assert [t[0] for t in hover.tooltips] == [*names, "curves per pixel"]
    explorer.close()  # the document keeps it alive: its clients would keep other engines out


def test_the_process_rules_are_drawn_over_the_picture(demo):
    from bokeh.document import Document
    from bokeh.models import GlyphRenderer, Segment

    from pipelines.rules import Envelope, NoPassLine, Rule, Scope, Window
    from pipelines.rules.strokes import rule_strokes

    factory, database, meta = demo
    process = meta["process"].value_counts().idxmax()
    program, other = sorted(meta.loc[meta["process"] == process, "program"].unique())[:2]
    box = Rule("press-in", Scope("demo", process), Window(1, 3, 5, 9, entry="left", exit="right"))
    only = Rule("only other", Scope("demo", process, programs=(other,)), NoPassLine(0, 0, 1, 1))
    band = Rule(
        "band",
        Scope("demo", process),
        Envelope(0, 10, ((0, 0), (10, 4)), ((0, 2), (5, 7), (10, 9))),
    )
    asked = []

    def rules_of(project, shown_process):
        asked.append((project, shown_process))
        return [box, only, band]

    explorer = CurveExplorer(client_factory=factory, database=database, rules_of=rules_of)
    document = Document()
    document.add_root(explorer.plot.canvas.get_root(document))
    explorer.wait()
    assert asked[-1] == ("demo", process)
    drawn = explorer.plot._rules_data.strokes
    pd.testing.assert_frame_equal(drawn, rule_strokes([box, only, band]))
    assert (drawn["part"] == "bound").sum() == 3  # the envelope's lower and upper polylines
    # In the Bokeh document: the strokes' segments, coloured by what they are.
    from app.explorer.rule_marks import PART_COLORS
    from pipelines.rules.strokes import PARTS

    assert set(PART_COLORS) == set(PARTS)  # every kind of stroke has its colour

    segments = [
        r.data_source.data
        for r in document.select({"type": GlyphRenderer})
        if isinstance(r.glyph, Segment) and len(r.data_source.data.get("x0", []))
    ]
    assert [sorted(d["x0"]) for d in segments] == [sorted(drawn["x0"])]
    assert list(segments[0]["color"]) == [PART_COLORS[p] for p in drawn["part"]]
    legend = html.unescape(explorer.plot.legend.object)
    for words in (
        "3 rules of this process",
        "enter here",
        "leave here",
        "must not touch",
        "envelope",
    ):
        assert words in legend
    # A zoom keeps the drawn strokes (the same object): the overlay is not redrawn for them.
    (x0, x1), y_range = explorer.plot.image.view.x_range, explorer.plot.image.view.y_range
    before = len(asked)  # the plot once for the filter; the sidebar's verdict filter too
    explorer.state.param.update(x_range=(x0, (x0 + x1) / 2), y_range=y_range)
    explorer.wait()
    assert explorer.plot._rules_data.strokes is drawn
    assert set(asked) == {("demo", process)} and len(asked) == before  # not again for a zoom
    # A program the narrow rule does not judge: only the rules for every program stay.
    explorer.state.program = [program]
    explorer.wait()
    assert set(explorer.plot._rules_data.strokes["rule"]) == {"press-in", "band"}
    explorer.close()  # the document keeps it alive: its clients would keep other engines out
