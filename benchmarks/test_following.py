"""A live page's second: 10 curves committed, then the followed picture of a 10,000-curve window.

Two ways in the same run: the followed picture (:mod:`pipelines.following`: the new commit's
curves read from the engine and their counts added, the ones that left the window taken away)
against the window drawn whole from the line's curves held in memory (appended to, not loaded
again), as every other view is. Timed from the question to the picture, the store's version
check and the new curves' read included; the commit itself is not (the listener pays it, not
the page).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from benchmarks.conftest import report, size
from models.identifiers import identifier
from pipelines.curves import Curves
from pipelines.hot import HotCache
from pipelines.sources import MemorySamples
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter, View

pytestmark = pytest.mark.benchmark
CURVES = size(300, 30_000)  # a process of about 10,000
ARRIVING = 10
ROUNDS = size(3, 15)
TARGET_MS = 50


@pytest.fixture(scope="module")
def line(embedded_provider):
    client = embedded_provider.client()
    database = f"bench_{uuid.uuid4().hex[:8]}"
    store = CurveStore.open(client, database)
    store.write(generate_demo(DemoSpec(curves=CURVES)), DatasetSpec("demo", "demo", "bench"))
    yield store
    client.command(f"DROP DATABASE {identifier(database)}")
    client.close()


def test_followed_picture_after_ten_new_curves(line):
    store = line
    base = CurveFilter.of(project="demo", process="press-fit")
    newest = pd.Timestamp.now(tz="UTC")
    timings: dict[str, list[float]] = {"followed": [], "drawn whole": []}
    pictures = {}
    for way in timings:
        cache = HotCache(1 << 31)
        memory = MemorySamples(cache)
        start = pd.Timestamp("2000-01-01", tz="UTC")  # every stored curve in the window
        held = Curves(store.client, store.database, base, source=memory)
        view = held.density(View(width=800, height=400)).view  # the line's curves held
        reader = Curves(store.client, store.database, replace(base, start=start), source=memory)
        (reader.following if way == "followed" else reader.density)(view)  # drawn whole once
        for r in range(ROUNDS):
            batches = list(generate_demo(DemoSpec(curves=ARRIVING, seed=1000 + r)))
            for batch in batches:
                batch.meta["curve_key"] += f"-{way}-{r}"
                batch.meta["started_at"] = newest + pd.Timedelta(seconds=r)
            store.write(batches, DatasetSpec("demo", "import", f"{way}-{r}"))
            start += pd.Timedelta(microseconds=1)  # the window slides (no curve leaves here)
            reader = Curves(store.client, store.database, replace(base, start=start), source=memory)
            draw = reader.following if way == "followed" else reader.density
            began = time.perf_counter()
            pictures[way] = draw(view)
            timings[way].append(time.perf_counter() - began)
        # The followed picture reads the new curves alone; the whole one appends them.
        assert cache.loads == 1 and cache.appends == (0 if way == "followed" else ROUNDS)
        whole = reader.density(view)  # the same picture, drawn whole
        np.testing.assert_array_equal(pictures[way].counts, whole.counts)
    followed, whole = (float(np.median(t)) for t in timings.values())
    report(
        f"A live page's update: {ARRIVING} new curves on a {pictures['followed'].curves:,}-curve "
        f"window (800x400, median of {ROUNDS})",
        [
            {
                "way": way,
                "ms (median)": f"{np.median(t) * 1e3:.1f}",
                "ms (worst)": f"{max(t) * 1e3:.1f}",
                "within 50 ms": "yes" if np.median(t) * 1e3 <= TARGET_MS else "no",
            }
            for way, t in timings.items()
        ]
        + [{"way": "followed, times faster", "ms (median)": f"{whole / followed:.1f}x"}],
        ["way", "ms (median)", "ms (worst)", "within 50 ms"],
    )
