"""The explorer's unusual parts card against a real engine: nothing is read until it is opened;
then it lists the picture's filter ranked as the pipelines rank it, follows a filter change,
draws a chosen part over the picture and closes its client with the explorer."""

from __future__ import annotations

import uuid

import pytest

from app.explorer.explorer import CurveExplorer
from app.explorer.unusual import ASK, COLUMNS, LISTED
from pipelines.curves import Curves
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.unusual import rank_unusual, unusual_words

pytestmark = pytest.mark.integration


@pytest.fixture
def demo(embedded_provider):
    """600 demo curves in a database of their own on the built-in engine (the card reads the
    engine as the explorer does: one engine is enough)."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    client = embedded_provider.client()
    store = CurveStore.open(client, database, sweep_stale_after=0)
    store.write(generate_demo(DemoSpec(curves=600, seed=4)), DatasetSpec("demo", "demo", "d"))
    yield embedded_provider.client, database
    client.command(f"DROP DATABASE IF EXISTS `{database}`")
    client.close()


def test_the_filters_unusual_parts_are_listed_once_opened_and_a_chosen_one_is_drawn(demo):
    factory, database = demo
    explorer = CurveExplorer(client_factory=factory, database=database)
    try:
        explorer.wait()
        panel = explorer.unusual
        assert panel.ranked is None and panel.title == ASK
        assert len(explorer._clients) == 3  # closed, it opened nothing
        assert any(shown is panel.card for shown in explorer.__panel__().objects)
        assert panel.table is None and len(panel.card.objects) == 1  # its words, no table yet

        panel.card.collapsed = False
        assert panel.card.objects[-1] is panel.table
        assert panel.wait(120)
        where = explorer.plot.where
        reference = Curves(factory(), database, where)
        expected = rank_unusual(reference, COLUMNS, LISTED)
        assert len(expected) == LISTED
        assert panel.ranked["curve_id"].tolist() == expected["curve_id"].tolist()
        rows = panel.table.value
        assert rows["why"].tolist() == [unusual_words(r) for r in expected.itertuples()]
        assert rows["part_serial"].tolist() == expected["part_serial"].tolist()
        assert all(
            link.startswith("./part?project=demo&serial=") and serial in link.replace("%2F", "/")
            for link, serial in zip(rows["part_page"], rows["part_serial"], strict=True)
        )
        assert len(explorer._clients) == 4  # its own, beside the explorer's three

        panel.table.selection = [2]
        assert panel.wait(60)
        [line] = explorer.plot.highlighted
        assert int(line.meta["curve_id"]) == int(expected.iloc[2]["curve_id"])

        # Another filter on the picture: the open card ranks it.
        station = str(expected.iloc[0]["station"])
        explorer.state.station = [station]
        explorer.wait()
        assert panel.wait(120)
        assert set(panel.ranked["station"]) == {station}
        narrowed = rank_unusual(reference.filter(station=station), COLUMNS, LISTED)
        assert panel.ranked["curve_id"].tolist() == narrowed["curve_id"].tolist()
        reference.client.close()
    finally:
        explorer.close()
    assert explorer._clients == []
