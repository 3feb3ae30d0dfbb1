"""The station board component against a real engine: tiles, pictures, a line, an empty project."""

from __future__ import annotations

from datetime import UTC, datetime
from html import unescape

import numpy as np
import pandas as pd
import pytest

from app.board.board import StationBoard
from pipelines.hot import HotCache
from pipelines.sources import MemorySamples
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

pytestmark = pytest.mark.integration


@pytest.fixture
def made_now(engine, store):
    """The demo's parts, the newest of each station made in the last minutes."""
    batches = list(generate_demo(DemoSpec(curves=90, seed=8)))
    now = pd.Timestamp(datetime.now(UTC))
    for batch in batches:
        n = len(batch.meta)
        batch.meta["started_at"] = (now - pd.to_timedelta(np.arange(n) * 30 + 5, "s")).floor("ms")
    store.write(batches, DatasetSpec("demo", "import", "now"))
    return engine, store, pd.concat([b.meta for b in batches], ignore_index=True)


def board(engine, store, project: str, **options) -> StationBoard:
    shown = StationBoard(
        project=project,
        client=engine.client(),
        database=store.database,
        samples=MemorySamples(HotCache(1 << 28)),
        **options,
    )
    assert shown.wait()
    return shown


def test_every_station_has_a_tile_with_its_picture(made_now):
    engine, store, meta = made_now
    shown = board(engine, store, "demo")
    stations = sorted(meta["station"].unique())
    assert [t.station for t in shown.tiles] == stations
    html = unescape(shown.pane.object)
    assert all(f'data-station="{s}"' in html for s in stations)
    assert html.count("data:image/png;base64,") == len(stations)  # each its own picture
    assert html.count("<polyline") == len(stations)  # with its last part on top
    assert "Station board" in shown.header.object and "updated" in shown.header.object
    shown.close()


def test_a_line_shows_only_its_stations_and_an_empty_project_says_how_parts_arrive(made_now):
    engine, store, meta = made_now
    line = meta["line"].iloc[0]
    one = board(engine, store, "demo", line=line)
    assert {t.line for t in one.tiles} == {line} and one.tiles
    one.close()
    empty = board(engine, store, "nothing-yet")
    assert not empty.tiles
    words = unescape(empty.pane.object)
    assert "No station has made a part" in words and "curvehouse/nothing-yet/curves" in words
    empty.close()
