"""Plants, lines and stations compared in the explorer: one colour each on one raster, exactly
their own densities, and their key figures under the legend, exactly :func:`kpis`' rows.

The explorer runs in-process (no document): finished work is shown at once, and
:meth:`CurveExplorer.wait` waits for it.
"""

import html
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from app.explorer import compare
from app.explorer.compare import (
    COMPARED,
    Compared,
    KpiRow,
    kpi_rows,
    panels_html,
    side_panels,
    table_html,
)
from app.explorer.elements import PLOT_HEIGHT, PLOT_WIDTH
from app.explorer.explorer import CurveExplorer
from app.markup import text
from pipelines.curves import Curves
from pipelines.drawing import DensityImage
from pipelines.kpis import kpis
from pipelines.render import category_colors, png
from pipelines.views import CurveFilter, View
from tests.app.explorer import test_overlays

# The explorer tests' 90-curve demo and the explorer opened on it.
demo = test_overlays.demo
open_explorer = test_overlays.open_explorer

# The explorer above the engine: the node runs the reading and SQL tests in tests/pipelines.
pytestmark = pytest.mark.embedded_only


def reader(demo, where: CurveFilter) -> Curves:
    factory, database, _ = demo
    return Curves(factory(), database, where)


# --- one colour per plant on one raster --------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("by", ["plant", "line"])
def test_each_colour_is_exactly_that_groups_own_density(demo, by):
    """Coloured by plant (or line), each category's layer is the density of that plant's
    curves alone, drawn on the same view; the legend names each with its curves."""
    _, _, meta = demo
    explorer = open_explorer(demo, color_by=by)
    image = explorer.plot.image
    process = explorer.state.process
    groups = sorted(meta.loc[meta.process == process, by].unique())
    assert image.categories == groups and len(groups) >= 3
    assert image.counts.shape == (PLOT_HEIGHT, PLOT_WIDTH, len(groups))
    bare = View(
        x_range=image.view.x_range, y_range=image.view.y_range, width=PLOT_WIDTH, height=PLOT_HEIGHT
    )
    for k, group in enumerate(groups):
        alone = reader(demo, CurveFilter.of(project="demo", process=process, **{by: group}))
        own = alone.density(bare)
        np.testing.assert_array_equal(image.counts[:, :, k], own.counts)
        assert image.category_curves[group] == own.curves > 0
        entry = f"{text(group)} <span style='color:#5a6b7f'>({own.curves:,})"
        assert entry in explorer.plot.legend.object
    assert f"<b>{by}</b>" in explorer.plot.legend.object
    assert explorer.plot.to_png()[:8] == b"\x89PNG\r\n\x1a\n"  # the export, coloured alike


# --- their key figures under the legend ---------------------------------------------------------


def figures_of(demo, explorer: CurveExplorer, by: str) -> pd.DataFrame:
    return kpis(reader(demo, explorer.state.curve_filter()), by=(by,)).figures


@pytest.mark.integration
@pytest.mark.parametrize("by", COMPARED)
def test_the_rows_are_kpis_of_the_filter_in_the_legends_colours(demo, by):
    explorer = open_explorer(demo, color_by=by)
    shown = explorer.compare.compared
    assert shown is not None and shown.by == by
    figures = figures_of(demo, explorer, by)
    assert [r.group for r in shown.rows] == list(figures[by])
    colors = category_colors(explorer.plot.image.categories)
    for row, (_, want) in zip(shown.rows, figures.iterrows(), strict=True):
        assert row.color == colors[row.group]
        assert row.parts == want["parts"] > 0
        for name in ("first_pass_yield", "nok_rate", "parts_per_hour", "cycle_median_s"):
            assert getattr(row, name) == pytest.approx(want[name], nan_ok=True), name
    assert shown.hours == pytest.approx(figures["hours"].iloc[0])
    table = explorer.compare._pane
    assert table.visible and table.object.count("class='ch-kpi-row'") == len(figures)
    assert not shown.failure and shown.panels == ()  # side by side only when asked


@pytest.mark.integration
def test_other_colourings_hide_the_table_and_a_filter_change_recomputes(demo, monkeypatch):
    calls = []
    real = compare.kpis
    monkeypatch.setattr(compare, "kpis", lambda *a, **k: calls.append(k) or real(*a, **k))
    explorer = open_explorer(demo, color_by="plant")
    assert explorer.compare.compared is not None and len(calls) == 1
    # A zoom redraws the picture and keeps the figures: they are of the filter, not the view.
    (x0, x1), y_range = explorer.plot.image.view.x_range, explorer.plot.image.view.y_range
    explorer.plot.on_range(x_range=(x0, x0 + (x1 - x0) / 3), y_range=y_range)
    explorer.wait()
    assert len(calls) == 1 and explorer.compare.compared.by == "plant"
    explorer.state.result = ["NOK"]
    explorer.wait()
    assert len(calls) == 2
    assert all(r.first_pass_yield in (0.0, None) for r in explorer.compare.compared.rows)
    assert [r.parts for r in explorer.compare.compared.rows] == list(
        figures_of(demo, explorer, "plant")["parts"]
    )
    explorer.state.color_by = "result"
    explorer.wait()
    assert explorer.compare.compared is None and not explorer.compare._pane.visible
    assert len(calls) == 2


@pytest.mark.integration
def test_a_failure_is_said_in_the_tables_place_and_the_picture_still_comes(demo, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("Code: 241. Memory limit exceeded\nstack…")

    monkeypatch.setattr(compare, "kpis", broken)
    explorer = open_explorer(demo, color_by="line")
    assert explorer.plot.image.categories and not explorer.message
    shown = explorer.compare.compared
    assert shown.rows == () and shown.failure == (
        "Key figures by line could not be computed: Code: 241. Memory limit exceeded"
    )
    assert explorer.compare._pane.visible and "Memory limit" in explorer.compare._pane.object


# --- side by side ------------------------------------------------------------------------------


@pytest.mark.integration
def test_side_by_side_each_panel_is_the_groups_own_picture(demo, monkeypatch):
    """Each panel is the picture of that plant's curves alone on the plot's view, exactly
    what drawing the plant's own density gives; asking for it (or another colour map) draws
    again, the key figures are not computed again."""
    calls = []
    real = compare.kpis
    monkeypatch.setattr(compare, "kpis", lambda *a, **k: calls.append(k) or real(*a, **k))
    explorer = open_explorer(demo, color_by="plant")
    assert explorer.compare.compared.panels == ()
    assert not explorer.controls.side_by_side.disabled
    explorer.state.side_by_side = True
    explorer.wait()
    image, state = explorer.plot.image, explorer.state
    panels = explorer.compare.compared.panels
    assert [p.group for p in panels] == image.categories and len(panels) >= 3
    bare = View(x_range=image.view.x_range, y_range=image.view.y_range, width=960, height=480)
    for panel in panels:
        where = CurveFilter.of(project="demo", process=state.process, plant=panel.group)
        own = reader(demo, where).density(bare)
        assert panel.curves == own.curves > 0
        assert panel.png == png(own, cmap=state.cmap, how=state.norm)
    assert explorer.compare._pane.object.count("<img src='data:image/png;base64,") == len(panels)
    before = panels[0].png
    explorer.state.cmap = "fire"
    explorer.wait()
    assert explorer.compare.compared.panels[0].png != before
    assert len(calls) == 1
    assert explorer.state.to_query()["side_by_side"] == "1"
    explorer.state.color_by = "program"  # not compared: no panels, the box is greyed
    explorer.wait()
    assert explorer.compare.compared is None and explorer.controls.side_by_side.disabled


# --- the table as HTML, without an engine -------------------------------------------------------


def tiny_image(categories: list[str]) -> DensityImage:
    view = View(x_range=(0.0, 1.0), y_range=(0.0, 1.0), width=2, height=2, color_by="plant")
    counts = np.zeros((2, 2, len(categories)), np.uint32)
    return DensityImage(counts=counts, view=view, categories=categories)


def test_rows_take_the_legends_colours_and_a_group_out_of_view_has_none():
    figures = pd.DataFrame(
        {
            "plant": ["Győr", "Leipzig", "<b>Nowhere</b>"],
            "parts": [10, 20, 3],
            "first_pass_yield": [0.9, np.nan, 1.0],
            "nok_rate": [0.1, 0.05, 0.0],
            "parts_per_hour": [2.5, 5.0, np.nan],
            "cycle_median_s": [4.25, 3.0, 1.0],
            "hours": [4.0, 4.0, 4.0],
        }
    )
    image = tiny_image(["Győr", "Leipzig"])
    rows = kpi_rows(figures, "plant", image)
    colors = category_colors(image.categories)
    assert [r.color for r in rows] == [colors["Győr"], colors["Leipzig"], None]
    assert rows[1] == KpiRow("Leipzig", colors["Leipzig"], 20, None, 0.05, 5.0, 3.0)
    page = table_html(Compared("plant", rows, 4.0))
    assert page.count("class='ch-kpi-row'") == 3
    assert "<th>Plant</th>" in page and "<b>Nowhere" not in page  # a name is text
    cells = page.split("class='ch-kpi-row'")[1]
    assert all(f"<td>{v}</td>" in html.unescape(cells) for v in ("10", "90.0%", "10.0%", "2.5"))
    assert "4.25" in html.unescape(cells)
    assert "title='no curve in this view'" in page.split("class='ch-kpi-row'")[3]
    assert "Throughput over 4.0 h" in html.unescape(page)
    assert table_html(None) == "" == table_html(Compared("plant", (), None))


def test_side_by_side_draws_the_groups_with_most_curves_in_the_legends_order(monkeypatch):
    monkeypatch.setattr(compare, "SIDE_LIMIT", 2)
    image = tiny_image(["A", "B", "C"])
    image.counts[0, 0, :] = (1, 1, 0)  # C draws no pixel
    image.counts[1, 1, 2] = 1
    image.category_curves = {"A": 1, "B": 5, "C": 3}
    panels = side_panels(image, "Blues", "eq_hist")
    assert [p.group for p in panels] == ["B", "C"]  # legend order, most curves first chosen
    assert [p.curves for p in panels] == [5, 3]
    alone = DensityImage(counts=np.ascontiguousarray(image.counts[:, :, 1]), view=image.view)
    assert panels[0].png == png(replace(alone, view=replace(image.view, color_by=None)))
    page = panels_html(Compared("plant", (), None, panels, groups=3))
    assert page.count("<figure class='ch-side-panel'>") == 2
    assert "The 2 of 3 with most curves in the view" in page
    empty = side_panels(tiny_image(["A"]), "Blues", "eq_hist")
    assert empty[0].png == b"" and "no curve in this view" in panels_html(
        Compared("plant", (), None, empty, groups=1)
    )
