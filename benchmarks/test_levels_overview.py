"""Per-curve levels read for an overview, against today's engine path, on the same stored curves.

The store does not write levels yet (issue 17, "Levels at ingest", step 2): this suite computes
them with :func:`pipelines.levels.compute_levels` from the curves it stores and keeps them in a
table of its own, laid out as the store would (codes with ``T64, ZSTD``), to measure what the
read path would gain before the store carries them. The overview is the fitted view widened by
:func:`pipelines.levels.aligned_view` to a level's grid, where every run lies in one pixel
column: the levels are then read as they are, and the suite checks their picture against the
engine path's, pixel for pixel.
"""

from __future__ import annotations

import time
import uuid

import numpy as np
import pyarrow as pa
import pytest

from benchmarks.conftest import FULL, compressed_bytes, report
from benchmarks.test_density_views import WHERE, stored_batches
from models.identifiers import identifier
from pipelines.batch import curve_ids
from pipelines.density import curve_density
from pipelines.fetch import _assemble, select
from pipelines.frames import query_table
from pipelines.levels import aligned_view, compute_levels
from pipelines.store import CurveStore, DatasetSpec
from pipelines.views import View

# (curves, samples, canvas width): the toy canvas is narrow so its curves have levels to read.
SIZES = [(10_000, 10_000, 800)] if FULL else [(200, 3_000, 100)]
LEVELS = tuple(range(4, 14))
RESULTS: list[dict] = []


def _levels_table(client, db: str, curves: int, samples: int) -> float:
    """Levels of the stored curves in ``db.bench_levels``; returns seconds spent computing."""
    client.command(
        f"CREATE TABLE {db}.bench_levels (curve_id UInt64, level UInt8, x_step Float64, "
        "y_step Float64, x Array(Int32) CODEC(T64, ZSTD(1)), y Array(Int32) CODEC(T64, ZSTD(1)), "
        "runs Array(UInt8) CODEC(ZSTD(1))) ENGINE = MergeTree ORDER BY (level, curve_id) "
        "SETTINGS index_granularity = 256"
    )
    computing = 0.0
    for batch in stored_batches(curves, samples):
        ids = pa.array(curve_ids("bench", batch.meta["curve_key"]), pa.uint64())
        steps = np.array([batch.meta["x_step"].to_numpy(), batch.meta["y_step"].to_numpy()])
        began = time.perf_counter()
        levels = compute_levels(batch.x, batch.y, batch.offsets, LEVELS, steps=steps)
        computing += time.perf_counter() - began
        for k, level in levels.items():

            def lists(offsets, values):
                return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)

            runs = pa.array(np.diff(level.run_offsets).astype(np.uint8))
            table = pa.table(
                {
                    "curve_id": ids,
                    "level": pa.array(np.full(len(ids), k, np.uint8)),
                    "x_step": steps[0],
                    "y_step": steps[1],
                    "x": lists(level.offsets, pa.array(level.x)),
                    "y": lists(level.offsets, pa.array(level.y)),
                    "runs": lists(level.curve_runs, runs),
                }
            )
            client.insert_arrow(f"{db}.bench_levels", table)
    return computing


@pytest.fixture(scope="module", params=SIZES, ids=[f"{c}x{n}" for c, n, _ in SIZES])
def stored(request, embedded_provider):
    curves, samples, width = request.param
    client = embedded_provider.client()
    database = f"bench_{uuid.uuid4().hex[:8]}"
    db = identifier(database)
    CurveStore.open(client, database).write(
        stored_batches(curves, samples), DatasetSpec("bench", "demo", "bench")
    )
    computing = _levels_table(client, db, curves, samples)
    yield client, database, curves, samples, width, computing
    client.command(f"DROP DATABASE {db}")
    client.close()


@pytest.mark.benchmark(group="levels")
def test_aligned_overview_from_levels_against_the_engine_path(stored):
    from pipelines.curves import Curves

    client, database, curves, samples, width, computing = stored
    db = identifier(database)
    chosen = Curves(client, database, WHERE)
    fitted = chosen.fit(View(width=width, height=400))
    unit = 10.0 / samples  # stored_batches' x step
    view = aligned_view(fitted, unit, LEVELS)
    k = round(float(np.log2((view.x_range[1] - view.x_range[0]) / width / unit)))
    kw = dict(x_range=view.x_range, y_range=view.y_range, width=width, height=400)

    def from_levels():
        meta = select(client, database, WHERE, view)
        table = query_table(
            client,
            f"SELECT curve_id, x_step, y_step, x AS xs, y AS ys FROM {db}.bench_levels "
            "WHERE level = {k:UInt8} AND curve_id IN {ids:Array(UInt64)}",
            {"k": k, "ids": meta["curve_id"].tolist()},
        )
        drawn = _assemble(meta, [table])
        return curve_density(drawn.x, drawn.y, drawn.offsets, **kw), len(drawn.x)

    chosen.density(View(width=8, height=8))  # compile
    from_levels()
    engine_s, levels_s = float("inf"), float("inf")
    for _ in range(3):
        began = time.perf_counter()
        image = chosen.density(view)
        engine_s = min(engine_s, time.perf_counter() - began)
        began = time.perf_counter()
        counts, sent = from_levels()
        levels_s = min(levels_s, time.perf_counter() - began)
    np.testing.assert_array_equal(counts, image.counts)
    points = curves * samples
    widened = (view.x_range[1] - view.x_range[0]) / (fitted.x_range[1] - fitted.x_range[0])
    RESULTS.append(
        {
            "stored": f"{curves:,} x {samples:,}",
            "canvas": f"{width} px, level {k}",
            "x range widened": f"{widened:.2f}x",
            "engine path ms": f"{engine_s * 1e3:.0f} ({image.samples:,} sent)",
            "levels ms": f"{levels_s * 1e3:.0f} ({sent:,} read)",
            "levels B/pt": f"{compressed_bytes(client, database, 'bench_levels') / points:.2f}",
            "samples B/pt": f"{compressed_bytes(client, database, 'curve_samples') / points:.2f}",
            "compute ns/pt": f"{computing / points * 1e9:.0f} ({len(LEVELS)} levels)",
        }
    )


def teardown_module(module) -> None:
    if RESULTS:
        report(
            "Aligned overview from stored levels vs the engine path (same pixels)",
            RESULTS,
            list(RESULTS[0]),
        )
