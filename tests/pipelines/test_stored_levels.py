import numpy as np
import pandas as pd
import pytest

from pipelines.batch import TEXT_COLUMNS, CurveBatch, curve_ids, fingerprints, to_tables
from pipelines.curves import Curves
from pipelines.density import curve_density
from pipelines.fetch import drawing_plan, select
from pipelines.levels import compute_levels
from pipelines.store import CurveStore, DatasetSpec, migrate
from pipelines.stored_levels import (
    FEWEST_BUCKETS,
    SAMPLES_PER_BUCKET,
    STORED_LEVELS,
    WORTH_STORING,
    backfill_levels,
    level_rows,
)
from pipelines.views import CurveFilter, View
from tests.pipelines.test_fetch import answered_and_sized

SPEC = DatasetSpec(project="line7", kind="import", name="long curves")


def long_curves(
    curves: int = 24, samples: int = 20_000, seed: int = 3, sparse: bool = False
) -> CurveBatch:
    """Noisy curves with many samples per code of x, some of them going back and forth (a
    hysteresis loop), one of them short, and a third of them on a coarser x step; ``sparse``:
    every fifth one has a sample every 10th code (its finest level worth storing is coarser)."""
    rng = np.random.default_rng(seed)
    xs, ys, steps = [], [], []
    for i in range(curves):
        n = 40 if i == curves - 1 else samples
        x = np.arange(n, dtype=np.int32)
        if i % 4 == 1:  # out and back
            x = np.concatenate([x[: n // 2], x[: n // 2][::-1]]).astype(np.int32)
        elif sparse and i % 5 == 3:
            x = x * 10
        y = np.cumsum(rng.integers(-40, 41, n)).astype(np.int32)
        xs.append(x)
        ys.append(y)
        steps.append(0.002 if i % 3 == 2 else 0.001)
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in xs])]).astype(np.int64)
    meta = pd.DataFrame(
        {
            "curve_key": [f"c{i}" for i in range(curves)],
            **{c: "s1" for c in TEXT_COLUMNS},
            "started_at": pd.Timestamp("2026-11-20", tz="UTC"),
            "ended_at": pd.Timestamp("2026-11-20", tz="UTC"),
            "result": "OK",
            "x_step": steps,
            "y_step": 0.01,
        }
    )
    return CurveBatch(meta, offsets, np.concatenate(xs), np.concatenate(ys))


def test_stored_rows_are_exactly_the_levels_worth_keeping():
    batch = long_curves(sparse=True)
    ids = curve_ids("p", batch.meta["curve_key"])
    _, samples = to_tables(
        batch,
        project="p",
        ids=ids,
        prints=fingerprints(batch),
        dataset_id="00000000-0000-0000-0000-000000000001",
        ingested_at=pd.Timestamp("2026-11-20", tz="UTC"),
    )
    rows = level_rows(samples).to_pandas()
    steps = np.ones((2, len(batch)))
    levels = compute_levels(batch.x, batch.y, batch.offsets, STORED_LEVELS, steps=steps)
    stored = {(int(r.curve_id), int(r.level)): r for r in rows.itertuples()}
    counts = batch.counts()
    for k, level in levels.items():
        for i, cid in enumerate(ids.tolist()):
            s, e = batch.offsets[i], batch.offsets[i + 1]
            span = int(batch.x[s:e].max()) - int(batch.x[s:e].min())
            kept = level.offsets[i + 1] - level.offsets[i]
            worth = (
                kept <= WORTH_STORING * counts[i]
                and counts[i] >= SAMPLES_PER_BUCKET * span / 2**k
                and span >= FEWEST_BUCKETS * 2**k
            )
            assert ((cid, k) in stored) == worth, (i, k)
            if worth:
                row = stored[(cid, k)]
                part = slice(level.offsets[i], level.offsets[i + 1])
                np.testing.assert_array_equal(row.x, level.x[part])
                np.testing.assert_array_equal(row.y, level.y[part])
                assert row.x_step == batch.meta["x_step"].iloc[i]
    assert len(stored) > len(batch)  # several levels are worth it for the long curves
    assert {k for _, k in stored} >= {4, 7}  # the sparse curves' finest is 7
    assert not any(cid == ids[-1] for cid, _ in stored)  # the short curve has none


def level_rows_of(store) -> list[tuple]:
    return store.client.query(
        f"SELECT curve_id, level, x, y, toString(dataset_id) FROM {store.db}.curve_levels "
        "ORDER BY level, curve_id"
    ).result_rows


@pytest.mark.integration
def test_an_aligned_overview_reads_levels_and_draws_the_raw_samples_pixels(store):
    store.write([long_curves()], SPEC)
    curves = Curves(store.client, store.database, CurveFilter())
    fitted = curves.fit(View(width=1000, height=100))
    view = curves.aligned(View(width=1000, height=100))
    assert view.x_range[0] <= fitted.x_range[0] and view.x_range[1] >= fitted.x_range[1]
    assert view.x_range[1] - view.x_range[0] <= 2.01 * (fitted.x_range[1] - fitted.x_range[0])
    meta = select(store.client, store.database, CurveFilter(), view)
    masks, params = drawing_plan(meta, view)
    assert params["level"] in STORED_LEVELS and 0 < masks["levels"].sum() < len(meta)

    raw = curves.samples()
    kw = dict(x_range=view.x_range, y_range=view.y_range, width=1000, height=100)
    expected = curve_density(raw.x, raw.y, raw.offsets, **kw)
    image = curves.density(view)
    np.testing.assert_array_equal(image.counts, expected)
    assert image.samples < len(raw.x) / 3  # levels, not samples, left the engine
    answered, sized = answered_and_sized(store, meta, view)  # what chunks budget by
    assert 0.8 * sized <= answered <= 1.25 * sized  # more where x goes back and forth

    # Curves without a row at that level are reduced in the engine instead: same pixels.
    some = meta.loc[masks["levels"], "curve_id"].tolist()[::2]
    store.client.command(
        f"ALTER TABLE {store.db}.curve_levels DELETE WHERE curve_id IN {{ids:Array(UInt64)}}",
        parameters={"ids": some},
        settings={"mutations_sync": 2},
    )
    np.testing.assert_array_equal(curves.density(view).counts, expected)
    # A view off the grid by a fraction of a code reads no level, and is still exact.
    shifted = view.zoomed((view.x_range[0] + 0.0007, view.x_range[1] + 0.0007), view.y_range)
    assert not drawing_plan(meta, shifted)[0]["levels"].any()
    np.testing.assert_array_equal(
        curves.density(shifted).counts,
        curve_density(raw.x, raw.y, raw.offsets, **{**kw, "x_range": shifted.x_range}),
    )


@pytest.mark.integration
def test_a_canvas_too_wide_for_any_stored_level_keeps_its_overview(store):
    store.write([long_curves()], SPEC)
    curves = Curves(store.client, store.database, CurveFilter())
    assert curves.aligned(View(width=800, height=100)) != curves.fit(View(width=800, height=100))
    # About 40,000 codes of the common step on 8,000 columns: level 3 would fit, and level 4
    # is 3.2 times as wide.
    view = View(width=8000, height=100)
    assert curves.aligned(view) == curves.fit(view)
    # 400 codes a column: level 9 would fit within 2x, but no curve spans 256 of its buckets,
    # so none stores it, and a wider view would buy nothing.
    view = View(width=100, height=100)
    assert curves.aligned(view) == curves.fit(view)


@pytest.mark.integration
@pytest.mark.parametrize("opener", ["store", "notebook"])
def test_levels_are_backfilled_for_curves_stored_before_the_table(store, opener):
    """Whoever opens a schema-5 database first fills the levels: a server opens the store, a
    notebook only migrates (``pipelines.notebook``)."""
    result = store.write([long_curves()], SPEC)
    written = level_rows_of(store)
    assert written
    # A database at schema 5: no levels table, no record of migration 6.
    store.client.command(f"DROP TABLE {store.db}.curve_levels")
    store.client.command(
        f"ALTER TABLE {store.db}.schema_migrations DELETE WHERE version = 6",
        settings={"mutations_sync": 2},
    )
    if opener == "store":
        CurveStore.open(store.client, store.database)
    else:
        assert migrate(store.client, store.database) == [6]
    assert level_rows_of(store) == written
    assert backfill_levels(store.client, store.database) == 0  # nothing missing any more
    store.delete_datasets([result.dataset_id])
    assert level_rows_of(store) == []
