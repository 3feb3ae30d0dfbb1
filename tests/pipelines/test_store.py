import numpy as np
import pytest

from pipelines.curves import Curves
from pipelines.store import CurveStore, DatasetSpec, ImportConflictError

pytestmark = pytest.mark.integration

SPEC = DatasetSpec(project="line7", kind="import", name="batch")


def datasets(store):
    """The store's dataset registry, as pages read it."""
    return Curves(store.client, store.database).datasets()


def stored_samples(store):
    rows = store.client.query(
        f"SELECT c.curve_key, s.x, s.y FROM {store.db}.curve_samples AS s "
        f"INNER JOIN {store.db}.curves AS c ON c.curve_id = s.curve_id ORDER BY c.curve_key"
    ).result_rows
    return {key: (np.array(x), np.array(y)) for key, x, y in rows}


def test_round_trip_keeps_every_code(store, demo_batches):
    result = store.write(demo_batches, SPEC)
    assert result.curves_added == sum(len(b) for b in demo_batches)
    assert result.points_added == sum(b.point_count for b in demo_batches)
    stored = stored_samples(store)
    for batch in demo_batches:
        for i, key in enumerate(batch.meta["curve_key"]):
            s, e = batch.offsets[i], batch.offsets[i + 1]
            np.testing.assert_array_equal(stored[key][0], batch.x[s:e])
            np.testing.assert_array_equal(stored[key][1], batch.y[s:e])
    extents = store.client.query_df(
        f"SELECT curve_key, x_min, x_max, y_min, y_max, point_count FROM {store.db}.curves"
    ).set_index("curve_key")
    for batch in demo_batches:
        for i, key in enumerate(batch.meta["curve_key"]):
            s, e = batch.offsets[i], batch.offsets[i + 1]
            x = batch.x[s:e] * batch.meta["x_step"].iloc[i]
            y = batch.y[s:e] * batch.meta["y_step"].iloc[i]
            row = extents.loc[key]
            assert (row.x_min, row.x_max) == (x.min(), x.max())
            assert (row.y_min, row.y_max) == (y.min(), y.max())
            assert row.point_count == e - s
    assert datasets(store)["curve_count"].tolist() == [result.curves_added]


def test_writing_the_same_curves_twice_adds_nothing(store, demo_batches, snapshot):
    store.write(demo_batches, SPEC)
    before = snapshot(store)
    again = store.write(demo_batches, SPEC)
    assert (again.curves_added, again.dataset_id) == (0, None)
    assert again.curves_skipped == sum(len(b) for b in demo_batches)
    assert snapshot(store) == before


def test_a_conflicting_curve_leaves_the_store_unchanged(store, demo_batches, snapshot):
    store.write(demo_batches[:1], SPEC)
    before = snapshot(store)
    changed = demo_batches[0]
    changed.y[0] += 1
    with pytest.raises(ImportConflictError, match=r"already stored .* with different samples"):
        store.write([demo_batches[1], changed], SPEC)
    assert snapshot(store) == before


def test_a_failure_half_way_keeps_nothing(store, demo_batches, snapshot):
    before = snapshot(store)

    def batches_then_crash():
        yield demo_batches[0]
        yield demo_batches[1]
        raise RuntimeError("disk unplugged")

    with pytest.raises(RuntimeError, match="disk unplugged"):
        store.write(batches_then_crash(), SPEC)
    assert snapshot(store) == before


def test_a_failed_commit_is_rolled_back(store, demo_batches, snapshot, monkeypatch):
    before = snapshot(store)
    original = store.client.command

    def fail_on_commit(sql, *args, **kwargs):
        if "INSERT INTO" in sql and ".datasets" in sql:
            raise ConnectionError("connection lost during commit")
        return original(sql, *args, **kwargs)

    monkeypatch.setattr(store.client, "command", fail_on_commit)
    with pytest.raises(ConnectionError):
        store.write(demo_batches, SPEC)
    monkeypatch.undo()
    assert snapshot(store) == before


def test_duplicate_keys_within_one_write_are_refused(store, demo_batches, snapshot):
    before = snapshot(store)
    with pytest.raises(ImportConflictError, match="appears twice"):
        store.write([demo_batches[0], demo_batches[0]], SPEC)
    assert snapshot(store) == before


def leave_uncommitted(store, batch, dataset_id):
    """What a process killed between ATTACH and the commit record leaves behind."""
    from pipelines.batch import curve_ids, fingerprints, to_tables

    curves, samples = to_tables(
        batch,
        project="line7",
        ids=curve_ids("line7", batch.meta["curve_key"]),
        prints=fingerprints(batch),
        dataset_id=dataset_id,
        ingested_at=batch.meta["started_at"].iloc[0],
    )
    store.client.insert_arrow(f"{store.db}.curves", curves)
    store.client.insert_arrow(f"{store.db}.curve_samples", samples)


DEAD = "0000000000004000800000000000dead"
DEAD_ID = f"{DEAD[:8]}-{DEAD[8:12]}-{DEAD[12:16]}-{DEAD[16:20]}-{DEAD[20:]}"


def test_sweep_removes_what_a_killed_import_left(store, demo_batches, snapshot):
    store.write(demo_batches[:1], SPEC)
    before = snapshot(store)
    store.client.command(f"CREATE TABLE {store.db}._staging_{DEAD}_curves AS {store.db}.curves")
    leave_uncommitted(store, demo_batches[1], DEAD_ID)
    # While its staging table is young, the import may still be running: both are spared.
    assert store.sweep(older_than_seconds=3600) == []
    reopened = CurveStore.open(store.client, store.database, sweep_stale_after=0)
    assert snapshot(reopened) == before


def test_a_retry_after_a_killed_import_stores_the_curves(store, demo_batches):
    leave_uncommitted(store, demo_batches[0], DEAD_ID)
    retry = store.write(demo_batches[:1], SPEC)
    assert retry.curves_added == len(demo_batches[0])
    store.sweep(older_than_seconds=0)
    count = store.client.query(f"SELECT count() FROM {store.db}.curves").result_rows[0][0]
    assert count == len(demo_batches[0])


def test_an_interrupted_delete_is_finished_by_the_sweep(store, demo_batches, snapshot):
    before = snapshot(store)
    written = store.write(demo_batches[:1], SPEC)
    # Only the first step of delete_datasets ran: the commit record is gone.
    store.client.command(
        f"ALTER TABLE {store.db}.datasets DELETE WHERE dataset_id = {{d:UUID}}",
        parameters={"d": written.dataset_id},
        settings={"mutations_sync": 2},
    )
    assert store.find_import("line7", "") is None
    store.sweep(older_than_seconds=0)
    assert snapshot(store) == before


def test_sweep_ignores_tables_that_only_look_like_staging(store):
    store.client.command(f"CREATE TABLE {store.db}.`_staging_notes` (v UInt8) ENGINE = Memory")
    store.client.command(f"CREATE TABLE {store.db}._staging_cafe_curves AS {store.db}.curves")
    assert store.sweep(older_than_seconds=0) == []


def test_sweep_spares_young_staging_tables_on_shared_servers(store):
    name = f"_staging_{'c' * 32}_curves"
    store.client.command(f"CREATE TABLE {store.db}.{name} AS {store.db}.curves")
    assert store.sweep(older_than_seconds=3600) == []
    assert store.sweep(older_than_seconds=0) == [name]


def test_delete_datasets_removes_only_those(store, demo_batches):
    first = store.write(demo_batches[:1], SPEC)
    second = store.write(demo_batches[1:], DatasetSpec(project="line7", kind="demo", name="d"))
    store.delete_datasets([second.dataset_id])
    left = store.client.query(
        f"SELECT uniqExact(dataset_id), count() FROM {store.db}.curve_samples"
    ).result_rows[0]
    assert left == (1, first.curves_added)
    assert datasets(store)["kind"].tolist() == ["import"]


def test_a_dataset_kind_the_store_cannot_keep_is_refused_in_words():
    with pytest.raises(ValueError, match="a dataset's kind is one of demo, import, live, not 'i'"):
        DatasetSpec("p", "i", "name")
