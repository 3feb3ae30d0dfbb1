"""An overview read from the stored levels, against the engine path, on the same stored curves.

The store writes each curve's levels with its samples (:mod:`pipelines.stored_levels`). The
overview is the fitted view widened by :meth:`pipelines.curves.Curves.aligned` to a level's
grid, where every run lies in one pixel column: the levels are then read as they are. The
engine path is the same view with the levels table emptied for the moment (each curve reduced
in the engine, as every view without stored levels is), and the two pictures must agree pixel
for pixel. The write itself is timed with and without computing the levels.
"""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from benchmarks.conftest import FULL, compressed_bytes, report
from benchmarks.test_density_views import WHERE, stored_batches
from models.identifiers import identifier
from pipelines.batch import curve_ids, fingerprints, to_tables
from pipelines.curves import Curves
from pipelines.fetch import drawing_plan, select
from pipelines.store import CurveStore, DatasetSpec
from pipelines.stored_levels import level_rows
from pipelines.views import View

# (curves, samples, canvas width): the toy's curves are long enough to store a level (they span
# 256 of its buckets, with 8 samples in each) that a 600-pixel overview reads.
SIZES = [(10_000, 10_000, 800)] if FULL else [(100, 8_000, 600)]
RESULTS: list[dict] = []


def _computing_seconds(curves: int, samples: int) -> float:
    """What computing the levels costs an import: :func:`level_rows` on each batch's rows."""
    spent = 0.0
    for batch in stored_batches(curves, samples):
        ids = curve_ids("bench", batch.meta["curve_key"])
        _, rows = to_tables(
            batch,
            project="bench",
            ids=ids,
            prints=fingerprints(batch),
            dataset_id=str(uuid.uuid4()),
            ingested_at=batch.meta["started_at"].iloc[0],
        )
        began = time.perf_counter()
        level_rows(rows)
        spent += time.perf_counter() - began
    return spent


@pytest.fixture(scope="module", params=SIZES, ids=[f"{c}x{n}" for c, n, _ in SIZES])
def stored(request, embedded_provider):
    curves, samples, width = request.param
    client = embedded_provider.client()
    database = f"bench_{uuid.uuid4().hex[:8]}"
    began = time.perf_counter()
    CurveStore.open(client, database).write(
        stored_batches(curves, samples), DatasetSpec("bench", "demo", "bench")
    )
    writing = time.perf_counter() - began
    computing = _computing_seconds(curves, samples)
    yield client, database, curves, samples, width, writing, computing
    client.command(f"DROP DATABASE {identifier(database)}")
    client.close()


@pytest.mark.benchmark(group="levels")
def test_aligned_overview_from_levels_against_the_engine_path(stored):
    client, database, curves, samples, width, writing, computing = stored
    db = identifier(database)
    chosen = Curves(client, database, WHERE)
    fitted = chosen.fit(View(width=width, height=400))
    view = chosen.aligned(View(width=width, height=400))
    masks, params = drawing_plan(select(client, database, WHERE, view), view)
    assert masks["levels"].all(), "every curve should be read from its level"

    def best(rounds: int = 3):
        seconds, image = float("inf"), None
        for _ in range(rounds):
            began = time.perf_counter()
            image = chosen.density(view)
            seconds = min(seconds, time.perf_counter() - began)
        return seconds, image

    chosen.density(View(width=8, height=8))  # compile
    levels_s, from_levels = best()
    client.command(f"RENAME TABLE {db}.curve_levels TO {db}.held_levels")
    try:
        client.command(f"CREATE TABLE {db}.curve_levels AS {db}.held_levels")
        engine_s, from_engine = best()
    finally:
        client.command(f"DROP TABLE IF EXISTS {db}.curve_levels")
        client.command(f"RENAME TABLE {db}.held_levels TO {db}.curve_levels")
    np.testing.assert_array_equal(from_levels.counts, from_engine.counts)
    points = curves * samples
    widened = (view.x_range[1] - view.x_range[0]) / (fitted.x_range[1] - fitted.x_range[0])
    RESULTS.append(
        {
            "stored": f"{curves:,} x {samples:,}",
            "canvas": f"{width} px, level {params['level']}",
            "x range widened": f"{widened:.2f}x",
            "engine path ms": f"{engine_s * 1e3:.0f} ({from_engine.samples:,} sent)",
            "levels ms": f"{levels_s * 1e3:.0f} ({from_levels.samples:,} read)",
            "ratio": f"{engine_s / levels_s:.1f}x",
            "levels B/pt": f"{compressed_bytes(client, database, 'curve_levels') / points:.2f}",
            "samples B/pt": f"{compressed_bytes(client, database, 'curve_samples') / points:.2f}",
            "write s (levels' share)": f"{writing:.1f} ({computing / writing:.0%})",
            "compute ns/pt": f"{computing / points * 1e9:.0f}",
        }
    )


def teardown_module(module) -> None:
    if RESULTS:
        report(
            "Aligned overview from stored levels vs the engine path (same pixels)",
            RESULTS,
            list(RESULTS[0]),
        )
