"""A followed picture, updated by the curves that came and went, equals the picture drawn whole."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pipelines.curves import Curves
from pipelines.fetch import Commits
from pipelines.hot import HotCache
from pipelines.sources import Committed, EngineSamples, MemorySamples
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter, View
from tests.pipelines import test_fetch

# Logic above the engine's reading: the node runs the reading and SQL tests elsewhere.
pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]
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
    # Drawn whole once; then only the curves that came and went, read as they did: the
    # line's samples are not held.
    assert (memory.live.redraws, memory.live.updates) == (1, len(steps) - 1)
    assert cache.loads == 0


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
    # Open axes fit the whole line, so they stay put as curves arrive and leave.
    where = replace(base, start=pd.Timestamp(started.quantile(0.9)))
    open_axes = Curves(store.client, store.database, where, source=memory).following(
        View(width=90, height=45)
    )
    assert open_axes.view == fitted
    # A part beyond the axes arrives: they stay put, and the picture is updated, not redrawn.
    taller = arriving(70, started.max() + pd.Timedelta(minutes=1))
    for batch in taller:
        batch.meta["y_step"] *= 3
    store.write(taller, DatasetSpec(project="demo", kind="live", name="taller"))
    redraws = memory.live.redraws
    later = replace(where, start=pd.Timestamp(started.quantile(0.95)))
    moved = Curves(store.client, store.database, later, source=memory).following(
        View(width=90, height=45)
    )
    assert moved.view == fitted and memory.live.redraws == redraws
    np.testing.assert_array_equal(moved.counts, engine_image(store, later, fitted).counts)
    assert engine_image(store, base, View(width=90, height=45)).view != fitted  # it was taller


def test_a_commit_landing_while_the_picture_is_drawn_is_counted_once_and_late_parts_never(
    demo_store,
):
    """The picture counts exactly the commits of the store's version it read: one landing while
    it is drawn comes with the next update, and a commit's parts that started before the window
    (a gateway catching up) are not counted even though they are new."""
    store, _ = demo_store
    memory = MemorySamples(HotCache(1 << 30))
    base = CurveFilter.of(process="press-fit")
    started = Curves(store.client, store.database, base).metadata(10_000)["started_at"]
    view = engine_image(store, base, View(width=100, height=50)).view
    newest = started.max()
    where = replace(base, start=pd.Timestamp(started.quantile(0.5)))
    landing = [arriving(60, newest + pd.Timedelta(minutes=1))]

    class CommitsWhileDrawing(Committed):
        def draw(self, where, view, commits):
            if landing:
                store.write(landing.pop(), DatasetSpec(project="demo", kind="live", name="mid"))
            return super().draw(where, view, commits)

    engine = CommitsWhileDrawing(store.client, store.database, memory.engine, base)
    first = memory.live.image(("line",), where, view, engine)
    np.testing.assert_array_equal(
        first.counts,
        engine_image(store, where, view).counts - arriving_counts(store, where, view, "mid"),
    )
    late = arriving(61, pd.Timestamp(started.quantile(0.2)))  # before the window's start
    store.write(late, DatasetSpec(project="demo", kind="live", name="late"))
    later = replace(where, start=pd.Timestamp(started.quantile(0.6)))
    second = memory.live.image(("line",), later, view, engine)
    whole = engine_image(store, later, view)
    np.testing.assert_array_equal(second.counts, whole.counts)
    assert (second.curves, second.near, second.results) == (whole.curves, whole.near, whole.results)
    assert (memory.live.redraws, memory.live.updates) == (1, 1)


def arriving_counts(store, where, view, name):
    """The counts of the curves of the dataset ``name`` alone."""
    dataset = store.client.query(
        f"SELECT dataset_id FROM {store.database}.datasets WHERE name = {{n:String}}",
        parameters={"n": name},
    ).result_rows[0][0]
    engine = Committed(store.client, store.database, EngineSamples(), where)
    return engine.draw(where, view, Commits(datasets=(dataset,))).counts


def test_pages_following_one_filter_share_one_picture_and_its_updates(demo_store):
    """Eight pages of one filter and view ask at once, then again after a commit: the engine
    draws the window once and the new curves once, and every page gets the same picture."""
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import dataclass, field

    @dataclass(frozen=True)
    class Counted(EngineSamples):
        drawn: list = field(default_factory=list)

        def draw(self, *args, **kwargs):
            self.drawn.append(kwargs.get("commits"))
            return super().draw(*args, **kwargs)

    store, _ = demo_store
    engine = Counted()
    memory = MemorySamples(HotCache(1 << 30), engine=engine)
    base = CurveFilter.of(process="press-fit")
    started = Curves(store.client, store.database, base).metadata(10_000)["started_at"]
    view = engine_image(store, base, View(width=120, height=60)).view
    where = replace(base, start=pd.Timestamp(started.quantile(0.5)))

    def pages() -> list:
        with ThreadPoolExecutor(8) as pool:
            return list(
                pool.map(
                    lambda _: (
                        Curves(store.client, store.database, where, source=memory)
                        .following(view)
                        .counts
                    ),
                    range(8),
                )
            )

    first = pages()
    assert len(engine.drawn) == 1 and all(c is first[0] for c in first)
    store.write(
        arriving(61, started.max() + pd.Timedelta(minutes=5)),
        DatasetSpec(project="demo", kind="import", name="live61"),
    )
    second = pages()
    assert len(engine.drawn) == 2 and engine.drawn[1].datasets  # the new curves, once
    assert all(c is second[0] for c in second)
    np.testing.assert_array_equal(second[0], engine_image(store, where, view).counts)
    assert second[0].sum() > first[0].sum()
