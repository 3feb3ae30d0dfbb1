"""The landing page's states: data, empty store, engine unavailable."""

import html
import re

import panel as pn
import pytest
from bokeh.document import Document
from bokeh.events import RangesUpdate
from bokeh.plotting import figure as BokehFigure

import app.pages.home as home
from app.markup import text
from app.services import Services
from models.settings import Settings
from pipelines.curves import Curves
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from providers import EngineBusyError

pytestmark = pytest.mark.integration


@pytest.fixture
def services():
    with Services(Settings.from_env()) as services:
        yield services


@pytest.fixture
def app_store(services):
    store = services.open_store()
    yield store
    store.client.command(f"DROP DATABASE IF EXISTS {store.db}")


def cards(viewable) -> dict[str, str]:
    """The note under each figure card, keyed by the figure's name."""
    found = {}
    for column in viewable.select(pn.Column):
        if len(column) == 2 and isinstance(column[0], pn.indicators.Number):
            note = re.sub("<[^>]+>", "", column[1].object)
            found[html.unescape(column[0].label)] = html.unescape(note)
    return found


def tables(viewable):
    """The page's tables, keyed by their first column."""
    return {t.value.columns[0]: t for t in viewable.select(pn.widgets.Tabulator)}


def test_empty_store_explains_how_to_get_data(services, app_store):
    view = home.HomePage(services=services).__panel__()
    assert isinstance(view, pn.pane.Markdown)
    assert "curvehouse demo" in view.object
    assert "curvehouse ingest" in view.object


def test_summary_of_stored_curves(services, app_store):
    app_store.write(
        generate_demo(DemoSpec(curves=90, seed=2)),
        DatasetSpec(project="demo", kind="demo", name="d"),
    )
    view = home.HomePage(services=services, preview_curves=20).__panel__()
    found = tables(view)
    breakdown, newest = found["plant"], found["started_at"]
    assert breakdown.value["curves"].sum() == 90
    assert set(breakdown.value.columns) >= {"plant", "line", "station", "ok", "nok", "nok_rate"}
    assert len(newest.value) == 25
    figures = {html.unescape(f.label): f for f in view.select(pn.indicators.Number)}
    written = {name: f.format.format(value=f.value) for name, f in figures.items()}
    assert written["Curves"] == "90" and written["Storage"].endswith(text(" B/pt"))
    assert services.settings.database == app_store.database
    # Parts pass several stations: yield and rejects count parts, the NOK rate counts curves.
    overview = Curves(app_store.client, app_store.database).overview()
    assert overview.parts < overview.curves and overview.rejected_parts <= overview.nok
    notes = cards(view)
    assert written["Parts"] == f"{overview.parts:,}"
    assert written["First-pass yield"] == f"{overview.first_pass_yield:.1%}"
    assert notes["First-pass yield"].endswith(f"{overview.rejected_parts:,} rejected parts")
    assert written["NOK curves"] == f"{overview.nok / 90:.1%}"
    assert notes["NOK curves"] == f"{overview.nok:,} of 90 curves"
    assert notes["Datasets"] == "1 project"
    assert not any("rejected" in note for name, note in notes.items() if name != "First-pass yield")
    # Point counts are written with thousands separators in both tables.
    for table, column in ((breakdown, "points"), (newest, "point_count")):
        assert table.formatters[column].format == "0,0"


def test_engine_trouble_is_a_message_not_a_traceback(services, monkeypatch):
    def busy():
        raise EngineBusyError("The embedded ClickHouse data at /x is in use by another process")

    monkeypatch.setattr(services, "open_store", busy)
    view = home.HomePage(services=services).__panel__()
    assert isinstance(view, pn.pane.Alert)
    assert "in use by another process" in view.object


def test_several_projects_are_grouped_by_project(services, app_store, tmp_path):
    from pipelines.ingest import ingest_file

    app_store.write(
        generate_demo(DemoSpec(curves=30, seed=2)),
        DatasetSpec(project="demo", kind="demo", name="d"),
    )
    path = tmp_path / "line7.csv"
    path.write_text("curve_key,x,y\nA,0,1\nA,1,2\n")
    ingest_file(app_store, path, project="line7")
    breakdown = tables(home.HomePage(services=services, preview_curves=10).__panel__())["project"]
    assert breakdown.groupby == ["project"]
    imported = breakdown.value[breakdown.value["project"] == "line7"]
    assert imported[["plant", "station", "curves"]].values.tolist() == [["(none)", "(none)", 1]]


def test_an_empty_overview_names_the_viewers_projects_and_links_their_pages():
    said = home.empty_store(("line 9", "press-fit"))
    assert "[line 9](/projects?project=line%209)" in html.unescape(said)
    assert "(/projects?project=press-fit)" in said
    assert "curvehouse ingest curves.csv --project 'line 9'" in said  # the right name, quoted
    assert "line-7" not in said
    assert "[Projects page](/projects)" in home.empty_store(None)


def test_a_preview_is_drawn_once_as_the_page_opens_and_again_at_each_zoom(
    services, app_store, monkeypatch
):
    app_store.write(
        generate_demo(DemoSpec(curves=60, seed=3)),
        DatasetSpec(project="demo", kind="demo", name="d"),
    )
    zooms = []
    real = home.draw
    monkeypatch.setattr(home, "draw", lambda curves, view: zooms.append(view) or real(curves, view))
    document = Document()
    root = home.HomePage(services=services, preview_curves=20).__panel__().get_root(document)
    figures = list(root.select({"type": BokehFigure}))
    assert len(figures) == 3  # one per process of the demo plant
    # The kept first picture: HoloViews' RangeXY drew each preview once more here.
    assert zooms == []
    figure = figures[0]
    assert figure.output_backend == "canvas"
    figure._trigger_event(RangesUpdate(figure, x0=1.0, x1=2.0, y0=0.5, y1=3.0))
    assert [(z.x_range, z.y_range) for z in zooms] == [((1.0, 2.0), (0.5, 3.0))]
