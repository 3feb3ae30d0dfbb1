"""What computing curve features at import costs (issue 19: "features at import add ≤ 10 % to
the import time"): the demo's curves written through :meth:`CurveStore.write`, the product's
atomic import, three ways in the same run: without features (the fixed features' kernel and
their rows left out, what an import cost before features), with the fixed features
(what every import does), and with three configured features of each process besides (a y at
an x, an x at a y and a slope, as engineers define them). Each way writes the same batches,
generated once, into a fresh database; medians of the rounds.

Rounds of one way vary by ±20 % on the 2-core machine, more than what features add, so the
wall clock is read two ways:

* *added*: the median of each round's ratio to the same round's write without features, with
  its 95 % bootstrap interval (``scipy.stats.bootstrap``). With 9 rounds one run's median
  ranged from +3 to +12 % for the same code; 21 rounds give an interval of about ±3 points, and
  the issue's "≤ 10 %" is read as the interval's upper end being under it;
* *at most*: the features' own cost, which depends far less on what the rest of the machine
  does: the CPU time of the thread that computes the rows (the kernels run on it:
  :func:`pipelines.kernels.leave_a_core`), plus the time the importing thread spends inserting
  them. Everything features can add to an import is in that figure, had nothing overlapped;
  the thread runs beside the samples' insert, so the wall clock shows less.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid

import numpy as np
import pytest
from scipy.stats import bootstrap

import pipelines.store as store_module
from benchmarks.conftest import FULL, report
from pipelines.features import Configured
from pipelines.kernels.features import FEATURES
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

CURVES = 10_000 if FULL else 150
# CURVEHOUSE_BENCH_IMPORT_ROUNDS sets another count (a narrower interval takes more rounds):
# ``make bench-import`` runs the 21 rounds whose interval reads issue 19's limit (about two
# minutes); ``make bench`` runs 7, enough for the "at most" figure and a wider interval.
ROUNDS = int(os.environ.get("CURVEHOUSE_BENCH_IMPORT_ROUNDS", 7 if FULL else 1))
LIMIT = 0.10  # the "add ≤ 10 % to the import time"
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


def written(client, batches, way: str, monkeypatch) -> tuple[float, float]:
    """Seconds to write ``batches`` one ``way`` into a new database (dropped after), and the
    seconds its computed rows cost (see the module)."""
    store = CurveStore.open(client, f"bench_{uuid.uuid4().hex[:8]}")
    own = []  # seconds of the rows' computing thread and of their inserts
    run = store_module._ImportRun

    def timed(method, clock):
        def call(*args, **kwargs):
            started = clock()
            try:
                return method(*args, **kwargs)
            finally:
                own.append(clock() - started)

        return call

    with monkeypatch.context() as patch:
        patch.setattr(run, "computed", timed(run.computed, time.thread_time))
        patch.setattr(run, "insert_rows", timed(run.insert_rows, time.perf_counter))
        if way == "without features":
            none = np.empty((len(FEATURES), 0))
            table = store_module.feature_table
            patch.setattr(store_module, "batch_features", lambda batch: (none, None))
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
    return took, sum(own)


@pytest.mark.benchmark(group="import-features")
def test_features_at_import(embedded_provider, batches, monkeypatch):
    client = embedded_provider.client()
    try:
        ways = ("without features", "with fixed features", "with configured features too")
        written(client, batches, ways[2], monkeypatch)  # compile every kernel first
        times = {way: [] for way in ways}
        owns = {way: [] for way in ways}
        for r in range(ROUNDS):  # interleaved, so a busy moment hits every way alike,
            for k in range(len(ways)):  # and each way in each place of a round in turn
                way = ways[(r + k) % len(ways)]
                took, own = written(client, batches, way, monkeypatch)
                times[way].append(took)
                owns[way].append(own)
    finally:
        client.close()
    samples = sum(b.point_count for b in batches)
    for way in ways:
        took = statistics.median(times[way])
        # Paired: each round's write against that round's write without features, so a slow
        # stretch of the machine (rounds here vary by ±20 %) weighs on both sides of a ratio.
        ratios = [t / base - 1 for t, base in zip(times[way], times[ways[0]], strict=True)]
        added = statistics.median(ratios)
        low, high = interval(ratios)
        cost = (statistics.median(owns[way]) - statistics.median(owns[ways[0]])) / (
            statistics.median(times[ways[0]])
        )
        RESULTS.append(
            {
                "import": way,
                "curves": f"{CURVES:,}",
                "samples": f"{samples / 1e6:.1f} M",
                "median s": f"{took:.2f}",
                "rounds s": ", ".join(f"{t:.2f}" for t in times[way]),
                "added": f"{added * 100:+.1f} %",
                "95 % interval": f"{low * 100:+.1f} to {high * 100:+.1f} %",
                # What this way's rows cost beyond the way without features, against the
                # import without features: the most they can add (see the module).
                "rows' own s": f"{statistics.median(owns[way]):.3f}",
                "at most": f"{cost * 100:+.1f} %",
                # Whether the interval lies under the limit (at full size only: one toy
                # round says nothing of the sort). "no" means this run could not tell: the
                # machine's noise widened the interval past the limit.
                "interval ≤ 10 %": ("yes" if high <= LIMIT else "no") if FULL else "–",
            }
        )


def interval(ratios: list[float]) -> tuple[float, float]:
    """The 95 % percentile-bootstrap interval of the ratios' median (one round: that ratio)."""
    if len(ratios) < 2 or len(set(ratios)) < 2:
        return ratios[0], ratios[0]
    found = bootstrap(
        (np.asarray(ratios),),
        np.median,
        n_resamples=9_999,
        method="percentile",
        rng=np.random.default_rng(0),
    )
    return float(found.confidence_interval.low), float(found.confidence_interval.high)


def teardown_module() -> None:
    if RESULTS:
        report("Features at import", RESULTS, list(RESULTS[0]))
