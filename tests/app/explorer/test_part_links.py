"""The explorer's parts open their own page: the listed parts' serials and the parts under the
pointer link to ``/part`` in their project, and the explorer offers a serial search."""

import re
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest

from app.explorer.elements import PLOT_HEIGHT, PLOT_WIDTH
from app.explorer.explorer import CurveExplorer
from app.explorer.parts import LINK_COLUMN, OPEN_PART
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

pytestmark = pytest.mark.integration


@pytest.fixture
def explorer(engine, store):
    batches = list(generate_demo(DemoSpec(curves=60, seed=4)))
    store.write(batches, DatasetSpec(project="demo", kind="demo", name="d"))
    explorer = CurveExplorer(client_factory=engine.client, database=store.database)
    explorer.wait()
    yield explorer
    explorer.close()


def query(link: str) -> dict[str, str]:
    parts = urlsplit(link)
    assert parts.path == "./part", link
    return {k: v[-1] for k, v in parse_qs(parts.query).items()}


def test_a_listed_part_links_to_its_page(explorer):
    explorer.select_box((0, PLOT_WIDTH - 1, 0, PLOT_HEIGHT - 1))
    explorer.wait()
    table = explorer.parts.table
    listed: pd.DataFrame = table.value
    assert len(listed) > 0 and LINK_COLUMN in table.hidden_columns
    assert table.formatters["part_serial"] == {"type": "link", "urlField": LINK_COLUMN}
    for row in listed.itertuples():
        assert query(getattr(row, LINK_COLUMN)) == {"project": "demo", "serial": row.part_serial}
    # The CSV export names each part's project.
    assert (explorer.parts.picked.parts["project"] == "demo").all()


def test_a_part_under_the_pointer_links_to_its_page(explorer):
    counts = explorer.plot.image.counts
    row, col = np.unravel_index(np.argmax(counts), counts.shape)
    (x0, x1), (y0, y1) = explorer.plot.image.view.x_range, explorer.plot.image.view.y_range
    explorer.plot.on_pointer(
        x=x0 + (col + 0.5) * (x1 - x0) / PLOT_WIDTH, y=y0 + (row + 0.5) * (y1 - y0) / PLOT_HEIGHT
    )
    explorer.wait()
    links = re.findall(r"\]\((\./part\?[^)\s]+)\)", explorer.parts.hover)
    assert links
    assert all(query(link)["project"] == "demo" for link in links)


def test_the_explorer_opens_a_part_by_serial():
    assert 'action="./part"' in OPEN_PART and 'name="serial"' in OPEN_PART
    assert 'method="get"' in OPEN_PART
