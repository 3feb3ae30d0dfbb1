"""Features in the engine: committed with the curves, absent after a failed import, deleted with
their dataset, backfilled once for curves stored before them, copied with a moved dataset, and
read through :class:`Curves`."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

from pipelines import moves
from pipelines.curves import Curves
from pipelines.features import backfill_features, batch_features, missing_features
from pipelines.kernels.features import FEATURES
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic.shapes import PROCESSES, PROGRAMS

pytestmark = pytest.mark.integration

SPEC = DatasetSpec(project="line7", kind="import", name="batch")


def stored(store) -> pd.DataFrame:
    frame = store.client.query_df(
        f"SELECT project, process, curve_id, toString(dataset_id) AS dataset_id, "
        f"{', '.join(FEATURES)} FROM {store.db}.curve_features ORDER BY curve_id"
    )
    return frame.set_index("curve_id") if not frame.empty else frame


def feature_rows(store) -> int:
    return store.client.query(f"SELECT count() FROM {store.db}.curve_features").result_rows[0][0]


def expected(batches) -> pd.DataFrame:
    """Each curve's features from the batch in memory, keyed by curve key."""
    frames = []
    for batch in batches:
        values, _ = batch_features(batch)
        frame = pd.DataFrame(dict(zip(FEATURES, values, strict=True)))
        frame["curve_key"] = batch.meta["curve_key"].to_numpy()
        frame["process"] = batch.meta["process"].to_numpy()
        frames.append(frame)
    return pd.concat(frames).set_index("curve_key")


def keys(store) -> pd.Series:
    return store.client.query_df(f"SELECT curve_id, curve_key FROM {store.db}.curves").set_index(
        "curve_id"
    )["curve_key"]


def test_an_import_commits_one_feature_row_per_curve(store, demo_batches):
    result = store.write(demo_batches, SPEC)
    rows = stored(store)
    assert len(rows) == result.curves_added
    assert set(rows["dataset_id"]) == {result.dataset_id}
    assert set(rows["project"]) == {"line7"}
    want = expected(demo_batches).loc[keys(store).loc[rows.index]]
    assert rows["process"].tolist() == want["process"].tolist()
    np.testing.assert_array_equal(rows[list(FEATURES)].to_numpy(), want[list(FEATURES)].to_numpy())
    # Curves skipped as already stored get no second row.
    store.write(demo_batches, SPEC)
    assert feature_rows(store) == result.curves_added


def test_a_failed_import_leaves_no_feature_rows(store, demo_batches, monkeypatch):
    def batches_then_crash():
        yield demo_batches[0]
        raise RuntimeError("disk unplugged")

    with pytest.raises(RuntimeError, match="disk unplugged"):
        store.write(batches_then_crash(), SPEC)
    assert feature_rows(store) == 0

    original = store.client.command

    def fail_on_commit(sql, *args, **kwargs):
        if "INSERT INTO" in sql and ".datasets" in sql:
            raise ConnectionError("connection lost during commit")
        return original(sql, *args, **kwargs)

    monkeypatch.setattr(store.client, "command", fail_on_commit)
    with pytest.raises(ConnectionError):
        store.write(demo_batches, SPEC)
    monkeypatch.undo()
    assert feature_rows(store) == 0
    staging = store.client.query(
        "SELECT count() FROM system.tables WHERE database = {d:String} "
        "AND startsWith(name, '_staging_')",
        parameters={"d": store.database},
    ).result_rows[0][0]
    assert staging == 0


def test_deleting_a_dataset_deletes_its_features(store, demo_batches):
    first = store.write(demo_batches[:1], SPEC)
    second = store.write(demo_batches[1:], DatasetSpec("line7", "demo", "d"))
    store.delete_datasets([second.dataset_id])
    assert set(stored(store)["dataset_id"]) == {first.dataset_id}
    assert feature_rows(store) == first.curves_added


def test_the_sweep_removes_feature_rows_of_uncommitted_datasets(store, demo_batches):
    store.write(demo_batches[:1], SPEC)
    orphan = str(uuid.uuid4())
    store.client.command(
        f"INSERT INTO {store.db}.curve_features SELECT project, process, curve_id + 1, "
        f"{{d:UUID}}, {', '.join(FEATURES)} FROM {store.db}.curve_features LIMIT 2",
        parameters={"d": orphan},
    )
    assert orphan in store.sweep(older_than_seconds=0)
    assert orphan not in set(stored(store)["dataset_id"])


def test_backfill_fills_only_what_is_missing_and_is_idempotent(store, demo_batches, snapshot):
    store.write(demo_batches, SPEC)
    full = stored(store)
    some = full.index[::3].tolist()
    store.client.command(
        f"ALTER TABLE {store.db}.curve_features DELETE WHERE curve_id IN {{ids:Array(UInt64)}}",
        parameters={"ids": some},
        settings={"mutations_sync": 2},
    )
    assert sorted(missing_features(store.client, store.database)) == sorted(some)
    assert backfill_features(store.client, store.database) == len(some)
    pd.testing.assert_frame_equal(stored(store), full)
    before = snapshot(store)
    assert backfill_features(store.client, store.database) == 0
    assert snapshot(store) == before


def test_opening_a_store_from_before_features_backfills_it(store, demo_batches):
    store.write(demo_batches, SPEC)
    full = stored(store)
    # What a database of schema version 2 looks like: no table, no ledger row.
    store.client.command(f"DROP TABLE {store.db}.curve_features")
    store.client.command(
        f"ALTER TABLE {store.db}.schema_migrations DELETE WHERE version = 3",
        settings={"mutations_sync": 2},
    )
    reopened = CurveStore.open(store.client, store.database, sweep_stale_after=0)
    pd.testing.assert_frame_equal(stored(reopened), full)


def test_a_moved_dataset_brings_its_features(store, demo_batches):
    written = store.write(demo_batches, SPEC)
    target = CurveStore.open(store.client, f"t_{uuid.uuid4().hex[:12]}", sweep_stale_after=0)
    try:
        assert moves.copy_dataset(store, target, "line7", written.dataset_id, batch_bytes=50_000)
        pd.testing.assert_frame_equal(stored(target), stored(store))
    finally:
        store.client.command(f"DROP DATABASE IF EXISTS {target.db}")


def test_curves_read_the_features_of_their_selection(store, demo_batches):
    store.write(demo_batches, SPEC)
    curves = Curves(store.client, store.database, projects=("line7",))
    press = curves.filter(process="press-fit", result="OK")
    frame = press.features()
    assert list(frame.columns[:7]) == [
        "curve_id",
        "project",
        "process",
        "station",
        "program",
        "started_at",
        "result",
    ]
    assert list(frame.columns[7:]) == list(FEATURES)
    meta = press.metadata(limit=None, columns=["curve_id"])
    assert sorted(frame["curve_id"]) == sorted(meta["curve_id"]) and len(frame)
    assert set(frame["process"]) == {"press-fit"} and set(frame["result"]) == {"OK"}
    assert frame["started_at"].is_monotonic_increasing
    # Nothing selected: an empty frame with the same columns.
    none = curves.filter(process="no-such-process").features(columns=["station"])
    assert none.empty
    assert list(none.columns) == ["curve_id", "project", "process", "station", *FEATURES]
    # Another project's curves are never read.
    assert Curves(store.client, store.database, projects=("other",)).features().empty


def test_demo_features_are_physically_sensible(store, demo_batches):
    store.write(demo_batches, SPEC)
    frame = Curves(store.client, store.database).features(columns=["program", "defect"])
    counts = store.client.query_df(
        f"SELECT curve_id, point_count, x_min, x_max, y_min, y_max FROM {store.db}.curves"
    ).set_index("curve_id")
    frame = frame.join(counts, on="curve_id")
    assert (frame["sample_count"] == frame["point_count"]).all()
    assert (frame["peak_y"] == frame["y_max"]).all() and (frame["min_y"] == frame["y_min"]).all()
    assert (frame["duration"] <= frame["x_max"] - frame["x_min"] + 1e-9).all()
    press = frame[frame["process"] == "press-fit"]
    assert len(press)
    full_scale = PROCESSES["press-fit"].y.step * 65536  # the force sensor's range: 50 kN
    for row in press.itertuples():
        program = PROGRAMS[row.program]
        # The press ends on its block: the peak is the dwell's, at the end of the stroke.
        assert program.block_force * 0.8 < row.peak_y <= full_scale
        assert row.peak_x > program.stroke - 1.5
        assert row.final_x == pytest.approx(row.peak_x, abs=0.1)
        # Work in kN x mm (J): positive, below the peak force over the whole stroke.
        assert 0 < row.area < row.peak_y * row.duration
