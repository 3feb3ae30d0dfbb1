"""What computing curve features at import costs (issue 19: "features at import add ≤ 10 % to
the import time"): the demo's curves written through :meth:`CurveStore.write`, the product's
atomic import, three ways in the same run: without features (the fixed features' kernel and
their rows left out, what an import cost before features), with the fixed features
(what every import does), and with three configured features of each process besides (a y at
an x, an x at a y and a slope, as engineers define them). Each way writes the same batches,
generated once, into a fresh database; medians of the rounds.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid

import numpy as np
import pytest

import pipelines.store as store_module
from benchmarks.conftest import FULL, report
from pipelines.features import Configured
from pipelines.kernels.features import FEATURES
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

CURVES = 10_000 if FULL else 150
ROUNDS = 7 if FULL else 1
RESULTS: list[dict] = []


def configured(project: str, processes: list[str]) -> list[Configured]:
    """Three features per process, at places inside the demo's curves."""
    made = []
    for process in processes:
        n = len(made)
        made += [
            Configured(n + 1, process, "y_at_x", 2.0),
            Configured(n + 2, process, "x_at_y", 5.0),
            Configured(n + 3, process, "slope", 1.0, 3.0),
        ]
    return made


@pytest.fixture(scope="module")
def batches():
    return list(generate_demo(DemoSpec(curves=CURVES, seed=7)))


def written(client, batches, way: str, monkeypatch) -> float:
    """Seconds to write ``batches`` one ``way`` into a new database (dropped after)."""
    store = CurveStore.open(client, f"bench_{uuid.uuid4().hex[:8]}")
    with monkeypatch.context() as patch:
        if way == "without features":
            none = np.empty((len(FEATURES), 0))
            table = store_module.feature_table
            patch.setattr(store_module, "batch_features", lambda batch: none)
            patch.setattr(
                store_module,
                "feature_table",
                lambda values, **_: table(none, project="", process="", ids=[], dataset_id=""),
            )
        if way == "with configured features too":
            store.configured = configured
        try:
            os.sync()  # the last write's pages reach the disk before, not during, this one
            started = time.perf_counter()
            result = store.write(iter(batches), DatasetSpec("bench", "demo", way))
            took = time.perf_counter() - started
        finally:
            # SYNC: the engine drops in the background otherwise, beside the next write.
            client.command(f"DROP DATABASE {store.db} SYNC")
    assert result.curves_added == CURVES
    return took


@pytest.mark.benchmark(group="import-features")
def test_features_at_import(embedded_provider, batches, monkeypatch):
    client = embedded_provider.client()
    try:
        ways = ("without features", "with fixed features", "with configured features too")
        written(client, batches, ways[2], monkeypatch)  # compile every kernel first
        times = {way: [] for way in ways}
        for r in range(ROUNDS):  # interleaved, so a busy moment hits every way alike,
            for k in range(len(ways)):  # and each way in each place of a round in turn
                way = ways[(r + k) % len(ways)]
                times[way].append(written(client, batches, way, monkeypatch))
    finally:
        client.close()
    samples = sum(b.point_count for b in batches)
    for way in ways:
        took = statistics.median(times[way])
        # Paired: each round's write against that round's write without features, so a slow
        # stretch of the machine (rounds here vary by ±20 %) weighs on both sides of a ratio.
        added = statistics.median(
            t / base - 1 for t, base in zip(times[way], times[ways[0]], strict=True)
        )
        RESULTS.append(
            {
                "import": way,
                "curves": f"{CURVES:,}",
                "samples": f"{samples / 1e6:.1f} M",
                "median s": f"{took:.2f}",
                "rounds s": ", ".join(f"{t:.2f}" for t in times[way]),
                "added": f"{added * 100:+.1f} %",
            }
        )


def teardown_module() -> None:
    if RESULTS:
        report("Features at import", RESULTS, list(RESULTS[0]))
