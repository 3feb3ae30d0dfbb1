"""The Overview's plants, lines and stations open the explorer filtered to them."""

import re
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import panel as pn
import pytest

import app.pages.home as home
from app.explorer.state import ExplorerState
from app.services import Services
from models.settings import Settings
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo


def opened(link: str) -> ExplorerState:
    """The explorer's state as the link opens it."""
    parts = urlsplit(link)
    assert parts.path == "/curves", link
    state = ExplorerState()
    state.from_query({k: v[-1] for k, v in parse_qs(parts.query).items()})
    return state


def test_each_level_links_to_the_explorer_on_its_largest_process():
    frame = pd.DataFrame(
        {
            "project": ["demo"] * 3,
            "plant": ["Győr"] * 3,
            "line": ["L1", "L1", "L2"],
            "station": ["S1", "S2", "S3"],
            "process": ["press-fit", "screwdriving", "spot-weld"],
            "curves": [10, 30, 5],
        }
    )
    links = home.explorer_links(frame)
    station = opened(links.loc[0, "station_link"])
    assert (station.project, station.process) == ("demo", "press-fit")
    assert (station.plant, station.line, station.station) == (["Győr"], ["L1"], ["S1"])
    line = opened(links.loc[0, "line_link"])
    assert (line.process, line.line, line.station) == ("screwdriving", ["L1"], [])
    plant = opened(links.loc[2, "plant_link"])
    assert (plant.process, plant.plant, plant.line) == ("screwdriving", ["Győr"], [])
    assert opened(links.loc[2, "line_link"]).process == "spot-weld"


@pytest.mark.integration
def test_the_overview_rows_open_the_explorer():
    with Services(Settings.from_env()) as services:
        store = services.open_store()
        try:
            store.write(
                generate_demo(DemoSpec(curves=60, seed=2)),
                DatasetSpec(project="demo", kind="demo", name="d"),
            )
            view = home.HomePage(services=services, preview_curves=10).__panel__()
        finally:
            store.client.command(f"DROP DATABASE IF EXISTS {store.db}")
            store.client.close()
    (table,) = [t for t in view.select(pn.widgets.Tabulator) if t.value.columns[0] == "plant"]
    for column in ("line", "station"):
        assert table.formatters[column] == {"type": "link", "urlField": f"{column}_link"}
        assert f"{column}_link" in table.hidden_columns
    rows = table.value
    assert len(rows) > 1
    for row in rows.itertuples():
        state = opened(row.station_link)
        assert (state.project, state.process) == ("demo", row.process)
        assert (state.line, state.station) == ([row.line], [row.station])
        assert opened(row.line_link).line == [row.line]
    (plants,) = [p for p in view.select(pn.pane.Markdown) if p.name == "plant-links"]
    links = re.findall(r"\]\((/curves\?[^)\s]+)\)", plants.object)
    assert {opened(link).plant[0] for link in links} == set(rows["plant"].map(str))
