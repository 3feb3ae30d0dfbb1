import numpy as np
import pandas as pd
import pytest

from pipelines.catalog import Catalog
from pipelines.overlay import latest_curves
from pipelines.store import DatasetSpec

pytestmark = pytest.mark.integration


def test_an_empty_store_says_so(store):
    catalog = Catalog(store.client, store.database)
    assert catalog.overview().empty
    assert catalog.breakdown().empty
    assert catalog.newest().empty
    assert catalog.bytes_per_point() is None


def test_summaries_match_what_was_written(store, demo_batches):
    store.write(demo_batches, DatasetSpec(project="demo", kind="demo", name="d"))
    meta = pd.concat([b.meta for b in demo_batches])
    catalog = Catalog(store.client, store.database)
    overview = catalog.overview()
    assert overview.curves == len(meta)
    assert overview.points == sum(b.point_count for b in demo_batches)
    assert overview.nok == int((meta["result"] == "NOK").sum())
    assert (overview.projects, overview.datasets) == (1, 1)

    breakdown = catalog.breakdown()
    assert breakdown["curves"].sum() == len(meta)
    assert (breakdown["ok"] + breakdown["nok"] == breakdown["curves"]).all()
    assert set(breakdown["station"]) == set(meta["station"])

    newest = catalog.newest(5)
    assert len(newest) == 5
    assert newest["started_at"].is_monotonic_decreasing
    assert newest["part_serial"].iloc[0] in set(meta["part_serial"])

    assert 0 < catalog.bytes_per_point() < 8


def test_latest_curves_come_back_scaled(store, demo_batches):
    store.write(demo_batches, DatasetSpec(project="demo", kind="demo", name="d"))
    curves = latest_curves(store.client, store.database, process="spot-weld", limit=4)
    assert len(curves) == 4
    assert curves.offsets[-1] == len(curves.x) == len(curves.y)
    assert 5 < curves.y.max() < 20  # kA
    xs, ys = curves.nan_separated()
    assert len(xs) == len(curves.x) + 4
    assert int(np.isnan(xs).sum()) == int(np.isnan(ys).sum()) == 4
    np.testing.assert_array_equal(ys[~np.isnan(ys)], curves.y)
