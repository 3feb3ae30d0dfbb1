"""Configured features in the engine (y at an x, x at a y, a slope over an x range, per
process): committed with the curves when the store knows them, computed for stored curves by
the fill (once: a second fill writes nothing), equal either way to the slow reference on each
curve's own samples, deleted with their dataset, and read through Curves.features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.curves import Curves
from pipelines.features import Configured, fill_configured
from pipelines.store import DatasetSpec
from pipelines.views import CurveFilter
from tests.pipelines.features_reference import reference_crossing, reference_slope

pytestmark = pytest.mark.integration

SPEC = DatasetSpec(project="line7", kind="import", name="batch")
NOW = pd.Timestamp("2026-12-06 06:00", tz="UTC")


def configured_for(batches) -> list[Configured]:
    """Three features of the demo's first process, placed inside its x and y ranges, and one
    of a process it does not have."""
    process = str(batches[0].meta["process"].iloc[0])
    x_top, y_top = _span(batches, process, "x"), _span(batches, process, "y")
    return [
        Configured(11, process, "y_at_x", 0.4 * x_top),
        Configured(12, process, "x_at_y", 0.5 * y_top),
        Configured(13, process, "slope", 0.2 * x_top, 0.6 * x_top),
        Configured(14, "no-such-process", "y_at_x", 1.0),
    ]


def _span(batches, process: str, axis: str) -> float:
    """The largest value of ``axis`` among the process's curves."""
    high = -np.inf
    for batch in batches:
        meta = batch.meta
        step = meta[f"{axis}_step"].to_numpy(np.float64)
        codes = getattr(batch, axis)
        for c in np.flatnonzero(meta["process"].astype(str).to_numpy() == process):
            part = codes[batch.offsets[c] : batch.offsets[c + 1]] * step[c]
            if len(part):
                high = max(high, float(np.nanmax(part)))
    return high


def reference(feature: Configured, x: np.ndarray, y: np.ndarray) -> float:
    if feature.kind == "y_at_x":
        return reference_crossing(x, y, feature.a)
    if feature.kind == "x_at_y":
        return reference_crossing(y, x, feature.a)
    return reference_slope(x, y, feature.a, feature.b)


def values(store) -> pd.DataFrame:
    return store.client.query_df(
        f"SELECT feature_id, curve_id, toString(dataset_id) AS dataset_id, process, value "
        f"FROM {store.db}.curve_feature_values FINAL ORDER BY feature_id, curve_id"
    )


def check_against_reference(store, configured, rows: pd.DataFrame) -> None:
    curves = Curves(store.client, store.database)
    for feature in configured[:3]:
        mine = rows[rows["feature_id"] == feature.id]
        meta = curves.metadata(limit=None)
        assert len(mine) == (meta["process"] == feature.process).sum() > 0
        for cid, value in list(zip(mine["curve_id"], mine["value"], strict=True))[:40]:
            curve = curves.curve(int(cid))
            want = reference(feature, np.asarray(curve.x, float), np.asarray(curve.y, float))
            np.testing.assert_allclose(value, want, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_values_commit_with_the_curves_and_equal_the_reference(store, demo_batches):
    configured = configured_for(demo_batches)
    asked = []

    def source(project, processes):
        asked.append((project, tuple(processes)))
        return [f for f in configured if f.process in processes]

    store.configured = source
    result = store.write(demo_batches, SPEC)
    assert asked and all(project == "line7" for project, _ in asked)
    rows = values(store)
    assert set(rows["dataset_id"]) == {result.dataset_id}
    assert 14 not in set(rows["feature_id"])  # no curve of that process
    assert rows["value"].notna().any()
    check_against_reference(store, configured, rows)
    # Read through Curves: one column per feature, the same values.
    read = Curves(store.client, store.database, CurveFilter.of(project="line7")).features(
        configured=configured[:3]
    )
    assert len(read) == result.curves_added, read
    for feature in configured[:3]:
        got = read.set_index("curve_id")[feature.column].dropna()
        want = rows[rows["feature_id"] == feature.id].set_index("curve_id")["value"].dropna()
        pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False)
    # Deleting the dataset deletes its values.
    store.delete_datasets([result.dataset_id])
    assert values(store).empty


def test_the_fill_gives_stored_curves_their_values_once(store, demo_batches):
    configured = configured_for(demo_batches)
    store.write(demo_batches, SPEC)  # no source: nothing computed at commit
    assert values(store).empty
    features = Curves(store.client, store.database).features(configured=configured[:1])
    assert features[configured[0].column].isna().all()  # not computed yet: NaN, not 0
    first = fill_configured(store.client, store.database, "line7", configured[:1], computed_at=NOW)
    seen = []
    written = fill_configured(
        store.client,
        store.database,
        "line7",
        configured,
        computed_at=NOW,
        progress=lambda done, total: seen.append((done, total)),
    )
    rows = values(store)
    assert first + written == len(rows) > 0 and seen[-1][0] == seen[-1][1]
    # The process's samples were read once for the two features still missing, and the one
    # already filled was not written again (no duplicate waiting for a merge).
    stored_rows = store.client.query(
        f"SELECT count() FROM {store.db}.curve_feature_values WHERE feature_id = 11"
    ).result_rows[0][0]
    assert stored_rows == first == (rows["feature_id"] == 11).sum()
    check_against_reference(store, configured, rows)
    again = fill_configured(store.client, store.database, "line7", configured, computed_at=NOW)
    assert again == 0
    assert fill_configured(store.client, store.database, "other", configured, computed_at=NOW) == 0
