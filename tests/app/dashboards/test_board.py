"""An open dashboard in-process (no document: work is shown as it finishes): every panel draws
the engine's own figures (a saved view exactly its density at the panel's size, a KPI tile
exactly :func:`kpis`' figure, a trend its figure per bucket); panels are added at a free place,
moved and resized as the browser reports, removed, and saved; a viewer's shared dashboard
cannot be changed from the page; an SPC panel charts a configured feature of the project as the
Quality page reads it."""

from __future__ import annotations

import html
import uuid

import numpy as np
import pandas as pd
import pytest
from bokeh.models import Line, Scatter

from app.dashboards.board import DashboardBoard
from app.dashboards.spec import describe, formatted
from app.dashboards.tiles import PanelDrawer, ViewPanel, explorer_state, panel_of, trend_figure
from app.explorer.state import ExplorerState
from app.services import Services
from models import accounts, dashboards, saved_views
from models.access import Principal
from models.feature_definitions import create_feature, retire_feature
from models.settings import Settings
from models.tables import FeatureDefinition, Project, ProjectMember, Role
from pipelines.configured import as_configured
from pipelines.curves import Curves
from pipelines.features import fill_configured
from pipelines.kpis import kpis
from pipelines.rules import Rule, Scope, Window
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

pytestmark = pytest.mark.integration

VIEW = {"process": "screwdriving", "cmap": "fire"}


@pytest.fixture(scope="module")
def curves(embedded_provider):
    """90 demo curves of project "demo" in a database of their own, written once."""
    client = embedded_provider.client()
    name = f"t_{uuid.uuid4().hex[:12]}"
    store = CurveStore.open(client, name, sweep_stale_after=0)
    store.write(generate_demo(DemoSpec(curves=90, seed=4)), DatasetSpec("demo", "demo", "d"))
    yield embedded_provider.client, name
    client.command(f"DROP DATABASE IF EXISTS `{name}`")
    client.close()


@pytest.fixture
def plant(tmp_path, curves):
    """In the metadata store Dan (engineer) with a shared view and a shared dashboard of a
    view, a KPI tile and a trend, and Eve (viewer); the curves are :func:`curves`'."""
    services = Services(Settings(home=tmp_path))
    people = {}
    with services.metadata.sessions() as session:
        project = accounts.default_project(session)
        project.name = "demo"
        for name, role in (("dan", Role.ENGINEER), ("eve", Role.VIEWER)):
            user = accounts.create_user(session=session, email=f"{name}@p.example", password=None)
            session.add(ProjectMember(project=project, user=user, role=role))
            session.flush()
            people[name] = Principal(user.email, user.id)
        view = saved_views.save_view(
            session=session,
            actor=people["dan"],
            project=project,
            name="Press-fit NOK",
            query={"project": "demo", **VIEW},
            shared=True,
        )
        session.flush()
        panels = [
            {"kind": "view", "view_id": view.id, "x": 0, "y": 0, "w": 6, "h": 4},
            {"kind": "kpi", "metric": "nok_rate", "filter": {}, "x": 6, "y": 0, "w": 3, "h": 2},
            {
                "kind": "trend",
                "metric": "parts",
                "bucket": "shift",
                "filter": {"process": "press-fit"},
                "x": 6,
                "y": 2,
                "w": 6,
                "h": 3,
            },
        ]
        board = dashboards.create_dashboard(
            session=session,
            actor=people["dan"],
            project=project,
            name="Line 1",
            panels=panels,
            shared=True,
        )
        session.commit()
        ids = {"project": project.id, "board": board.id, "view": view.id}
    yield services, people, ids, curves, panels
    services.close()


def opened(plant, who: str) -> DashboardBoard:
    services, people, ids, (factory, database), _ = plant
    with services.metadata.sessions() as session:
        project = session.get(Project, ids["project"])
        session.expunge(project)
    board = DashboardBoard(
        services=services,
        actor=people[who],
        project=project,
        board_id=ids["board"],
        reader=lambda: Curves(factory(), database, projects=("demo",)),
    )
    assert board.wait(60)
    return board


def test_every_panel_draws_the_engines_own_figures(plant):
    board = opened(plant, "eve")
    try:
        view, tile, trend = board.panels
        assert all(p.drawn for p in board.panels)
        # The saved view: exactly its density at the panel's size.
        state = ExplorerState()
        state.from_query({"project": "demo", **VIEW})
        _, _, (factory, database), _ = plant[1:]
        reader = Curves(factory(), database, projects=("demo",))
        expected = reader.matching(state.curve_filter()).density(state.view(*view.size()))
        assert isinstance(view, ViewPanel) and view.image.curves == expected.curves > 0
        np.testing.assert_array_equal(view.image.counts, expected.counts)
        # The KPI tile: kpis()' figure, as the tile writes it.
        rate = kpis(reader).figures.iloc[0]["nok_rate"]
        assert f">{formatted('nok_rate', rate)}<" in tile.body.object
        # The trend: parts per shift of press-fit.
        shifts = kpis(reader.filter(process="press-fit"), (), "shift").figures
        source = points(trend.body.object).data_source
        assert list(source.data["value"]) == list(shifts["parts"].astype(float))
        assert len(source.data["bucket"]) == len(shifts)
        reader.client.close()
        # A viewer changes nothing here: no remove buttons, no grid dragging.
        assert not board.editable
        assert not any(p.remove.visible for p in board.panels)
        assert not board.grid.allow_drag and not board.grid.allow_resize
    finally:
        board.close()


def moved(board: DashboardBoard, places: dict[int, tuple[int, int, int, int]]) -> None:
    """What gridstack.js reports after a drag or resize: every panel's cells."""
    state = []
    for i, panel in enumerate(board.panels):
        s = panel.spec
        x, y, w, h = places.get(i, (s["x"], s["y"], s["w"], s["h"]))
        state.append({"id": str(id(panel.layout)), "x0": x, "y0": y, "x1": x + w, "y1": y + h})
    board.grid.state = state


def test_add_move_resize_remove_and_save(plant):
    services, people, ids, _, _ = plant
    board = opened(plant, "dan")
    try:
        assert board.editable and not board.changed
        board.kind.value = "kpi"
        board.metric.value = "first_pass_yield"
        board.window.value = "shift"
        board.curves_pick.value = ids["view"]  # the filter of the saved view
        added = board.add(board.form_spec())
        assert added is not None, board.message
        # The first free 3 x 2 place: beside the KPI tile.
        assert (added.spec["x"], added.spec["y"]) == (9, 0)
        assert added.spec["filter"] == {"process": "screwdriving", "live": "shift"}  # no cmap
        assert board.wait(60) and added.drawn and board.changed
        moved(board, {0: (0, 0, 5, 5), 3: (0, 5, 4, 2)})
        assert board.wait(60)
        view = board.panels[0]
        assert view.image.view.width == view.size()[0]  # drawn again at its new size
        board.remove(board.panels[1])
        assert board.save(), board.message
        with services.metadata.sessions() as session:
            kept = dashboards.find_dashboard(session, people["eve"], ids["board"]).panels
        assert [(p["kind"], p["x"], p["y"], p["w"], p["h"]) for p in kept] == [
            ("view", 0, 0, 5, 5),
            ("trend", 6, 2, 6, 3),
            ("kpi", 0, 5, 4, 2),
        ]
        assert not board.changed
    finally:
        board.close()


def test_an_spc_panel_draws_a_features_individuals_chart(plant):
    """The form's SPC chart of the project's curves: the feature of the most common process's
    busiest station and program, every part in time order as the Quality page charts it, and
    what cannot be charted said."""
    _, _, (factory, database), _ = plant[1:]
    board = opened(plant, "dan")
    try:
        board.kind.value = "spc"
        assert board.feature.visible and not board.metric.visible
        board.feature.value = "peak_y"
        board.curves_pick.value = board.curves_pick.options["All curves of the project"]
        spec = board.form_spec()
        assert spec == {"kind": "spc", "metric": "peak_y", "filter": {}}
        panel = board.add(spec)
        assert panel is not None and board.wait(60) and panel.drawn, panel.note.object
        reader = Curves(factory(), database, projects=("demo",))
        (process,) = reader.processes(limit=1)
        rows = reader.filter(process=process).features(("station", "program", "started_at"))
        reader.client.close()
        for column in ("station", "program"):  # SPC charts one station's one program
            rows = rows[rows[column] == rows[column].value_counts().idxmax()]
        expected = rows.sort_values(["started_at", "curve_id"])["peak_y"].to_numpy()
        # The points (and the line through them) carry the feature under its words.
        shown = [r.data_source.data["Peak y"] for r in panel.body.object.renderers]
        assert len(shown) >= 2 and len(expected) >= 3
        assert any(np.array_equal(np.asarray(v, float), expected) for v in shown)
        assert panel.body.object.title.text == ""  # the panel's heading says what it shows
        station, program = rows.iloc[0][["station", "program"]]
        heading = html.unescape(panel.heading.object)
        assert f"{process} · {station} · {program} · {len(rows)} parts" in heading
        assert describe(spec, {}) == "Peak y, individuals chart"
        assert board.add({**spec, "metric": "happiness"}) is None
        assert html.unescape(board.message).startswith("no curve feature 'happiness'")
    finally:
        board.close()


def test_an_unusable_panel_says_why(plant):
    services, people, ids, _, _ = plant
    board = opened(plant, "dan")
    try:
        board.kind.value = "trend"
        board.curves_pick.value = 0
        board.bucket.value = "week"
        spec = board.form_spec()
        assert board.add({**spec, "metric": "happiness"}) is None
        assert html.unescape(board.message).startswith("no metric 'happiness'; choose one of")
        assert len(board.panels) == 3
    finally:
        board.close()
    with services.metadata.sessions() as session:
        view = saved_views.find_view(session, people["dan"], ids["view"])
        saved_views.delete_view(session=session, actor=people["dan"], view=view)
        session.commit()
    board = opened(plant, "eve")
    try:
        assert "was deleted" in board.panels[0].note.object
    finally:
        board.close()


def test_a_saved_views_verdicts_mean_the_process_rules_its_viewer_sees(plant):
    """A view coloured or filtered by verdict without a rule named means every current rule of
    its process, as in the explorer: the board gives its panels the person's rules."""
    rule = Rule("press-in", Scope("demo", "press-fit"), Window(1, 2, 0, 1), rule_id=5, version=1)
    query = {"project": "demo", "process": "press-fit", "color_by": "verdict", "verdict": "fail"}
    state = explorer_state(query, lambda project, process: [rule] if process == "press-fit" else [])
    assert state.view(40, 20).verdict_rules == (5,)
    assert state.curve_filter().rules == (5,)
    assert explorer_state(query).view(40, 20).verdict_rules == ()  # without rules: none
    board = opened(plant, "eve")
    try:
        (view, *_) = board.panels
        assert view.rules_of("demo", "press-fit") == []  # read from the store: none made there
    finally:
        board.close()


def test_the_panels_of_one_drawing_read_a_process_rules_once(plant, monkeypatch):
    """Panels draw at once and often share a process: the board reads its rules once per
    drawing, and again when it is drawn again (rules made meanwhile count)."""
    import app.dashboards.board as board_module

    asked = []
    monkeypatch.setattr(
        board_module, "process_rules", lambda services, actor, *key: asked.append(key) or []
    )
    board = opened(plant, "eve")
    try:
        board.wait()
        asked.clear()
        rules_of = board.panels[0].rules_of
        for _ in range(3):
            assert rules_of("demo", "press-fit") == []
        rules_of("demo", "weld")
        assert asked == [("demo", "press-fit"), ("demo", "weld")]
        board.draw_all()
        board.wait()
        rules_of("demo", "press-fit")
        assert asked[2:] == [("demo", "press-fit")]
    finally:
        board.close()


def test_an_spc_panel_charts_a_configured_feature(plant):
    """A configured feature of the project is offered by its name and what it computes,
    charted for its own process (not the project's busiest) from the values the Quality page
    reads; another project's is refused; once retired its panel says so and the dashboard
    still saves, while a new panel cannot chart it."""
    services, people, ids, (factory, database), _ = plant
    reader = Curves(factory(), database, projects=("demo",))
    busiest, process, *_ = reader.processes(limit=3)
    with services.metadata.sessions() as session:
        project = session.get(Project, ids["project"])
        row = create_feature(
            session=session,
            actor=people["dan"],
            project=project,
            process=process,
            name="stiffness",
            kind="slope",
            a=-1e9,
            b=1e9,
        )
        other = Project(organisation_id=project.organisation_id, name="elsewhere")
        session.add(other)
        session.flush()
        theirs = FeatureDefinition(
            project_id=other.id,
            process=process,
            name="theirs",
            kind="y_at_x",
            a=1.0,
            created_by="x",
        )
        session.add(theirs)
        session.commit()
        feature, theirs_column = as_configured(row), f"feature_{theirs.id}"
    filled = fill_configured(
        reader.client, database, "demo", [feature], computed_at=pd.Timestamp.now(tz="UTC")
    )
    rows = reader.filter(process=process).features(("station", "program", "started_at"), [feature])
    reader.client.close()
    assert filled > 0 and np.isfinite(rows[feature.column]).sum() >= 3
    board = opened(plant, "dan")
    try:
        board.kind.value = "spc"
        offered = {key: words for words, key in board.feature.options.items()}
        assert offered[feature.column] == f"stiffness ({process}: {feature.describe()})"
        assert "peak_y" in offered and theirs_column not in offered
        board.feature.value = feature.column
        board.curves_pick.value = board.curves_pick.options["All curves of the project"]
        spec = board.form_spec()
        assert spec == {"kind": "spc", "metric": feature.column, "filter": {}}
        panel = board.add(spec)
        assert panel is not None and board.wait(60) and panel.drawn, panel.note.object
        for column in ("station", "program"):  # SPC charts one station's one program
            rows = rows[rows[column] == rows[column].value_counts().idxmax()]
        expected = rows.sort_values(["started_at", "curve_id"])[feature.column].to_numpy()
        shown = [r.data_source.data["stiffness"] for r in panel.body.object.renderers]
        assert any(np.array_equal(np.asarray(v, float), expected) for v in shown)
        assert panel.body.object.title.text == ""  # the panel's heading says what it shows
        station, program = rows.iloc[0][["station", "program"]]
        heading = html.unescape(panel.heading.object)
        assert f"{process} · {station} · {program} · {len(rows)} parts" in heading
        assert describe(spec, {}, [feature]) == "stiffness, individuals chart"
        assert board.add({**spec, "metric": theirs_column}) is None
        said = html.unescape(board.message)
        assert said.startswith(f"no curve feature '{theirs_column}' in project 'demo'")
        assert board.add({**spec, "filter": {"process": busiest}}) is None
        assert f"is a feature of process '{process}'" in html.unescape(board.message)
        assert board.save(), board.message
    finally:
        board.close()
    with services.metadata.sessions() as session:
        row = session.get(FeatureDefinition, feature.id)
        retire_feature(session=session, actor=people["dan"], feature=row)
        session.commit()
    board = opened(plant, "dan")
    try:
        (kept,) = [p for p in board.panels if p.spec["kind"] == "spc"]
        assert "was retired" in kept.note.object
        assert feature.column not in board.feature.options.values()
        board.name_input.value = "Line 1, renamed"
        assert board.save(), board.message  # the retired feature's panel stays
        assert board.add({**spec}) is None
        assert html.unescape(board.message).startswith(f"no curve feature '{feature.column}'")
    finally:
        board.close()


def points(chart):
    """A trend's point per bucket (the renderer its hover reads)."""
    (dots,) = [r for r in chart.renderers if isinstance(r.glyph, Scatter)]
    return dots


def test_a_trends_line_breaks_where_buckets_have_no_parts():
    """Days with parts, one day without, then idle weeks: every bucket with parts has its point,
    and the line through them breaks after the day before each gap."""
    days = pd.to_datetime(["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-06", "2026-11-07"])
    days = days.append(pd.to_datetime(["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]))
    figures = pd.DataFrame(
        {"bucket": days, "bucket_end": days + pd.Timedelta(days=1), "parts": range(1, 10)}
    )
    chart = trend_figure(figures, "parts", 400, 200, "UTC")
    assert list(points(chart).data_source.data["value"]) == list(range(1, 10))
    (line,) = [r for r in chart.renderers if isinstance(r.glyph, Line)]
    values = np.asarray(line.data_source.data["y"], dtype=float)
    at = np.asarray(line.data_source.data["x"])
    assert len(values) == 11
    assert list(np.flatnonzero(np.isnan(values))) == [3, 6]  # after Nov 4 and after Nov 7
    assert at[3] == np.datetime64("2026-11-05") and at[6] == np.datetime64("2026-11-08")


def test_a_trend_reads_on_its_plants_clocks(plant):
    """A trend of one plant's parts has its times on that plant's clocks (Leipzig: Berlin's);
    of several plants' parts, on UTC, said on its axis."""
    _, _, _, (factory, database), _ = plant
    reader = Curves(factory(), database, projects=("demo",))
    drawer = PanelDrawer(lambda: Curves(factory(), database, projects=("demo",)), None)
    try:
        for where, zone in (({"plant": "Leipzig"}, "Europe/Berlin"), ({}, "UTC")):
            spec = {"kind": "trend", "metric": "parts", "bucket": "shift", "filter": where}
            trend = panel_of(
                {**spec, "x": 0, "y": 0, "w": 6, "h": 3},
                "t",
                project="demo",
                views={},
                on_remove=None,
            )
            trend.draw(drawer)
            assert drawer.wait(60)
            chart = trend.body.object
            assert chart.xaxis[0].axis_label == f"{zone} time"
            shifts = kpis(reader.filter(**where), (), "shift").figures
            utc = pd.to_datetime(shifts["bucket"], utc=True)
            expected = utc.dt.tz_convert(zone).dt.tz_localize(None).to_numpy()
            np.testing.assert_array_equal(points(chart).data_source.data["bucket"], expected)
    finally:
        drawer.close()
        reader.client.close()
