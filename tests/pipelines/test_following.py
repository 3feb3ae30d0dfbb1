"""A followed picture, updated by the curves that came and went, equals the picture drawn whole."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pipelines.curves import Curves
from pipelines.hot import HotCache
from pipelines.sources import EngineSamples, MemorySamples
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter, View
from tests.pipelines import test_fetch

pytestmark = pytest.mark.integration
demo_store = test_fetch.demo_store


def arriving(seed: int, start: pd.Timestamp) -> list:
    """Demo parts of keys of their own, started after ``start``: a live micro-batch."""
    batches = list(generate_demo(DemoSpec(curves=24, seed=seed)))
    for i, batch in enumerate(batches):
        batch.meta["curve_key"] = batch.meta["curve_key"] + f"-live{seed}"
        batch.meta["started_at"] = start + pd.to_timedelta(np.arange(len(batch.meta)) + i, "s")
    return batches


def engine_image(store, where, view):
    return Curves(store.client, store.database, where, source=EngineSamples()).density(view)


def test_a_sliding_window_is_updated_by_the_curves_that_came_and_went(demo_store):
    store, _ = demo_store
    cache = HotCache(1 << 30)
    memory = MemorySamples(cache)
    base = CurveFilter.of(process="press-fit")
    started = Curves(store.client, store.database, base).metadata(10_000)["started_at"]
    view = engine_image(store, base, View(width=120, height=60)).view  # fixed axes
    steps = [started.quantile(q) for q in (0.2, 0.2, 0.35, 0.5, 0.8)]
    newest = started.max()
    shown = []
    for i, start in enumerate(steps):
        if i in (2, 3):  # curves committed meanwhile, newer than every stored one
            batches = arriving(40 + i, newest + pd.Timedelta(minutes=i))
            store.write(batches, DatasetSpec(project="demo", kind="import", name=f"live{i}"))
        where = replace(base, start=pd.Timestamp(start))
        followed = Curves(store.client, store.database, where, source=memory).following(view)
        shown.append(followed.counts)
        whole = engine_image(store, where, view)
        np.testing.assert_array_equal(followed.counts, whole.counts, err_msg=str(start))
        assert (followed.curves, followed.near, followed.results) == (
            whole.curves,
            whole.near,
            whole.results,
        )
    assert shown[1] is shown[0]  # nothing came or went: the same picture, by identity
    # Drawn whole once; then only the curves that came and went, held filter appended to.
    assert (memory.live.redraws, memory.live.updates) == (1, len(steps) - 1)
    assert cache.loads == 1 and cache.appends == 2


def test_an_earlier_start_a_coloured_view_or_open_axes_still_draw_the_right_picture(demo_store):
    store, _ = demo_store
    cache = HotCache(1 << 30)
    memory = MemorySamples(cache)
    base = CurveFilter.of(process="screwdriving")
    started = Curves(store.client, store.database, base).metadata(10_000)["started_at"]
    fitted = engine_image(store, base, View(width=90, height=45)).view
    for start, view in (
        (started.quantile(0.6), fitted),
        (started.quantile(0.3), fitted),  # the window grew backwards: drawn whole again
        (started.quantile(0.3), replace(fitted, color_by="station")),
    ):
        where = replace(base, start=pd.Timestamp(start))
        followed = Curves(store.client, store.database, where, source=memory).following(view)
        whole = engine_image(store, where, view)
        np.testing.assert_array_equal(followed.counts, whole.counts)
        assert followed.categories == whole.categories
    assert memory.live.redraws == 2
    # Open axes fit the whole held filter, so they stay put as curves arrive and leave.
    where = replace(base, start=pd.Timestamp(started.quantile(0.9)))
    open_axes = Curves(store.client, store.database, where, source=memory).following(
        View(width=90, height=45)
    )
    assert open_axes.view == fitted
