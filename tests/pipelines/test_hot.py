"""Views drawn from hot curves in memory equal the engine's views, pixel for pixel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import hot as hot_module
from pipelines.batch import CurveBatch, curve_ids
from pipelines.curves import Curves
from pipelines.hot import HotCache, _Codes, _Steps, load, store_version
from pipelines.sources import EngineSamples, MemorySamples
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter, View
from tests.pipelines import test_fetch
from tests.pipelines.test_fetch import expected, full_curves, random_view

pytestmark = pytest.mark.integration
BIG = 1 << 30
# The stores of the engine-path tests, shared as fixtures.
adversarial_store = test_fetch.adversarial_store
demo_store = test_fetch.demo_store


def density_image(store, where, view, cache=None):
    """The view from memory through ``cache`` (a filter that does not fit goes to the engine),
    or from the engine alone without one."""
    source = EngineSamples() if cache is None else MemorySamples(cache)
    return Curves(store.client, store.database, where, source=source).density(view)


def both(store, where, view, cache):
    return density_image(store, where, view), density_image(store, where, view, cache)


def test_random_views_from_memory_equal_the_engine_and_whole_curves(adversarial_store, request):
    store, batch = adversarial_store
    where = CurveFilter.of(project="adv")
    whole = full_curves([batch], lambda r: True)
    cache = HotCache(BIG)
    rng = np.random.default_rng(5)
    # The views test the memory's drawing; the node adds its reading, which fewer views show.
    trials = 10 if "node" in request.node.callspec.id else 40
    held = cache.get(store.client, store.database, where)
    # Curves far outside, spikes: steps beyond a byte, so x is held as codes (the demo's as steps).
    assert held.x_first is None and held.x.dtype in (np.int16, np.int32)
    for trial in range(trials):
        view = random_view(rng, batch, on_codes=bool(trial % 2))
        engine, hot = both(store, where, view, cache)
        np.testing.assert_array_equal(hot.counts, engine.counts, err_msg=str(view))
        np.testing.assert_array_equal(hot.counts, expected(whole, view), err_msg=str(view))
        assert (hot.curves, hot.results) == (engine.curves, engine.results)
        assert hot.curves == sum(bool(expected([c], view).any()) for c in whole)
        assert hot.seconds["engine"] == 0.0


# Result has fixed colours, station is text as imported: the other columns take their path.
@pytest.mark.parametrize("color_by", [None, "result", "station"])
def test_filters_and_colours_from_memory_equal_the_engine(demo_store, color_by):
    store, _ = demo_store
    cache = HotCache(BIG)
    for where in (
        CurveFilter.of(process="press-fit"),
        CurveFilter.of(process="screwdriving", result="NOK"),
        CurveFilter.of(process="spot-weld", station=["LEJ-L1-ST030", "GYR-L1-ST030"]),
    ):
        overview = View(width=120, height=60, color_by=color_by)
        engine, hot = both(store, where, overview, cache)
        assert hot.view == engine.view  # the same automatic fit
        np.testing.assert_array_equal(hot.counts, engine.counts)
        assert (hot.categories, hot.category_curves) == (engine.categories, engine.category_curves)
        (x0, x1), (y0, y1) = engine.view.x_range, engine.view.y_range
        zoom = overview.zoomed((x0 + (x1 - x0) / 3, x0 + (x1 - x0) / 2), (y0, (y0 + y1) / 2))
        engine, hot = both(store, where, zoom, cache)
        np.testing.assert_array_equal(hot.counts, engine.counts)
        assert hot.samples <= engine.samples or hot.curves == engine.curves


def test_codes_are_held_narrow_and_match_what_is_stored(demo_store):
    store, batches = demo_store
    hot = load(store.client, store.database, CurveFilter.of(process="press-fit"))
    # x rises by small steps: a byte a sample; force codes reach past 2**15, their ranges not.
    assert hot.x.dtype == np.int8 and hot.x_first is not None
    assert hot.y.dtype == np.int16 and hot.y_base is not None
    assert hot.nbytes < 3.1 * len(hot.x)
    stored = {
        row.curve_key: (b.x[b.offsets[i] : b.offsets[i + 1]], b.y[b.offsets[i] : b.offsets[i + 1]])
        for b in batches
        for i, row in b.meta.iterrows()
    }
    assert max(codes.max() for _, codes in stored.values()) >= 2**15
    for i, key in enumerate(hot.meta["curve_key"]):
        x, y = hot.codes(i)
        np.testing.assert_array_equal(x, stored[key][0])
        np.testing.assert_array_equal(y, stored[key][1])


@pytest.mark.embedded_only
def test_a_filter_beyond_the_budget_goes_to_the_engine(demo_store):
    store, _ = demo_store
    cache = HotCache(1000)  # bytes: nothing fits
    where = CurveFilter.of(process="press-fit")
    assert cache.get(store.client, store.database, where) is None
    engine, hot = both(store, where, View(width=50, height=30), cache)
    np.testing.assert_array_equal(hot.counts, engine.counts)
    assert hot.seconds["engine"] > 0


def test_a_new_import_is_seen_at_the_next_view(demo_store):
    store, _ = demo_store
    cache = HotCache(BIG)
    where = CurveFilter.of(process="press-fit")
    view = View(x_range=(-1.0, 20.0), y_range=(-1.0, 60.0), width=60, height=30)
    before = density_image(store, where, view, cache)
    more = list(generate_demo(DemoSpec(curves=30, seed=10)))
    for batch in more:  # other parts: new keys
        batch.meta["curve_key"] = batch.meta["curve_key"] + "-late"
    store.write(more, DatasetSpec(project="demo", kind="demo", name="more"))
    engine, after = both(store, where, view, cache)
    assert after.curves > before.curves
    np.testing.assert_array_equal(after.counts, engine.counts)


@pytest.mark.embedded_only
def test_least_recently_used_filters_leave_first(demo_store):
    store, _ = demo_store
    sizes = {
        p: load(store.client, store.database, CurveFilter.of(process=p)).nbytes
        for p in ("press-fit", "screwdriving")
    }
    cache = HotCache(sum(sizes.values()) + 8 * 10**6)  # both fit now, and a third would not
    first = cache.get(store.client, store.database, CurveFilter.of(process="press-fit"))
    cache.get(store.client, store.database, CurveFilter.of(process="screwdriving"))
    assert cache.get(store.client, store.database, CurveFilter.of(process="press-fit")) is first
    cache.get(store.client, store.database, CurveFilter.of(process="spot-weld"))
    kept = {key[1] for key in cache._entries}
    assert len(kept) >= 1 and sum(e.nbytes for e in cache._entries.values()) <= cache.budget


def test_curves_near_a_view_but_not_through_it_are_not_counted(store):
    """Diagonals whose extents cover the view's corner, but whose lines never enter it."""
    meta = test_fetch.adversarial_batch().meta.iloc[:2].copy()
    meta["curve_key"] = ["up", "down"]
    batch = CurveBatch(
        meta.reset_index(drop=True),
        np.array([0, 2, 4]),
        np.array([0, 100, 0, 100], dtype=np.int32),
        np.array([0, 100, 100, 0], dtype=np.int32),
    )
    store.write([batch], DatasetSpec(project="diag", kind="demo", name="d"))
    where = CurveFilter.of(project="diag")
    corner = View(x_range=(80.0, 100.0), y_range=(40.0, 60.0), width=20, height=20)
    middle = View(x_range=(40.0, 60.0), y_range=(40.0, 60.0), width=20, height=20)
    for cache in (None, HotCache(BIG)):
        empty = density_image(store, where, corner, cache)
        assert (empty.curves, empty.near, int(empty.counts.sum())) == (0, 2, 0)
        both_lines = density_image(store, where, middle, cache)
        assert (both_lines.curves, both_lines.near) == (2, 2)
        assert both_lines.results == {"OK": 2}


@pytest.mark.embedded_only
def test_warming_holds_filters_in_order_and_never_pushes_out_an_earlier_one(demo_store):
    """With room for the largest process only, warming holds it and leaves the next ones
    that would not fit beside it to load on demand: loading them would push it out."""
    store, _ = demo_store
    filters = {
        process: CurveFilter.of(project="demo", process=process)
        for process in ("press-fit", "screwdriving", "spot-weld")
    }
    held_bytes = {p: load(store.client, store.database, f).nbytes for p, f in filters.items()}
    bound = {  # what the cache assumes before loading: 8 bytes a sample
        p: 8 * int(Curves(store.client, store.database, f).overview().points)
        for p, f in filters.items()
    }
    order = sorted(filters, key=bound.get, reverse=True)
    budget = bound[order[0]]
    expected, used = [], 0
    for process in order:  # the rule, written out: load while it fits beside those held
        if bound[process] <= budget - used:
            expected.append(process)
            used += held_bytes[process]
    assert expected[0] == order[0] and len(expected) < len(order)  # something is left out
    cache = HotCache(budget)
    assert cache.warm(store.client, store.database, [filters[p] for p in order]) == len(expected)
    assert cache.loads == len(expected)  # nothing loaded and then pushed out
    held = {key[2:4] for key in cache._entries}
    wanted = [filters[p].where() for p in expected]
    assert held == {(sql, repr(sorted(params.items()))) for sql, params in wanted}


@pytest.mark.parametrize("process", ["press-fit", "spot-weld"])
def test_a_zoom_reads_only_the_samples_it_needs_and_draws_the_same(demo_store, process):
    """Held curves are cut to the view's x range before drawing, also where x jitters back
    (press-fit's displacement): a zoom into a third of the x range reads well under the
    filter's samples, and the pixels and figures are still the engine's."""
    store, _ = demo_store
    where = CurveFilter.of(process=process)
    cache = HotCache(BIG)
    held = cache.get(store.client, store.database, where)
    overview = density_image(store, where, View(width=200, height=80), cache)
    assert overview.samples == len(held.x)  # an overview reads everything, uncut
    (x0, x1), (y0, y1) = overview.view.x_range, overview.view.y_range
    zoom = View(width=200, height=80).zoomed((x0 + (x1 - x0) / 3, x0 + (x1 - x0) * 2 / 3), (y0, y1))
    engine, hot = both(store, where, zoom, cache)
    np.testing.assert_array_equal(hot.counts, engine.counts)
    assert (hot.curves, hot.results) == (engine.curves, engine.results)
    assert hot.samples < 0.5 * len(held.x)


@pytest.mark.embedded_only
def test_a_remembered_result_is_made_once_until_an_import(store):
    """The Overview's previews: made on first use, the same object for every later session,
    made anew once a commit changed the store, and only the newest few kept."""
    from pipelines import hot

    first_batches = list(generate_demo(DemoSpec(curves=12, seed=3)))
    store.write(first_batches, DatasetSpec(project="demo", kind="demo", name="first"))
    cache, made = HotCache(BIG), []

    def make(tag):
        made.append(tag)
        return [tag]

    first = cache.remember(store.client, store.database, ("k",), lambda: make("a"))
    assert cache.remember(store.client, store.database, ("k",), lambda: make("b")) is first
    assert cache.remember(store.client, store.database, ("k",), lambda: make("c"), scope="x") == [
        "c"
    ]  # another home's store
    later = list(generate_demo(DemoSpec(curves=5, seed=4)))
    for batch in later:
        batch.meta["curve_key"] = batch.meta["curve_key"] + "-late"
    store.write(later, DatasetSpec(project="demo", kind="demo", name="later"))
    assert cache.remember(store.client, store.database, ("k",), lambda: make("d")) == ["d"]
    for i in range(hot.REMEMBERED + 3):
        cache.remember(store.client, store.database, (i,), lambda i=i: make(i))
    assert len(cache._remembered) == hot.REMEMBERED
    assert made == ["a", "c", "d", *range(hot.REMEMBERED + 3)]


def narrower_filters(store, rng):
    """Stations, results, programs, shifts and time windows (to the microsecond) of held
    processes, alone and together; with the engine's own start times to cut at."""
    rows = store.client.query_df(
        f"SELECT process, station, program, shift, result, started_at FROM {store.db}.curves"
    )
    rows["result"] = rows["result"].astype(str)
    for _ in range(12):
        row = rows.iloc[int(rng.integers(len(rows)))]
        same = rows[rows["process"] == row.process]
        times = same["started_at"].sort_values().to_numpy()
        a, b = sorted(rng.choice(times, 2, replace=False))
        start = pd.Timestamp(a) + pd.Timedelta(microseconds=int(rng.integers(-999, 1000)))
        yield CurveFilter.of(process=row.process, station=row.station)
        yield CurveFilter.of(process=row.process, result=row.result, shift=row["shift"])
        yield CurveFilter.of(process=row.process, program=row.program, start=start)
        yield CurveFilter.of(process=row.process, start=pd.Timestamp(a), end=pd.Timestamp(b))
        yield CurveFilter.of(process=row.process, station=[row.station, "nowhere"], end=start)


@pytest.mark.embedded_only
def test_a_narrower_filter_of_a_held_process_is_picked_out_in_memory(demo_store):
    store, _ = demo_store
    cache = HotCache(BIG)
    processes = ("press-fit", "screwdriving", "spot-weld")
    for process in processes:
        cache.get(store.client, store.database, CurveFilter.of(process=process))
    rng = np.random.default_rng(11)
    for where in narrower_filters(store, rng):
        ids = set(Curves(store.client, store.database, where).metadata(100_000)["curve_id"])
        held = cache.get(store.client, store.database, where)
        assert cache.loads == len(processes), where  # nothing loaded for it
        if not ids:  # the engine answers an empty filter
            assert held is None
            continue
        assert set(held.chosen["curve_id"]) == ids, where
        overview = View(width=90, height=45, color_by="station")
        engine, hot = both(store, where, overview, cache)
        assert hot.view == engine.view, where
        np.testing.assert_array_equal(hot.counts, engine.counts, err_msg=str(where))
        assert (hot.curves, hot.category_curves) == (engine.curves, engine.category_curves)
        box = (30, 60, 10, 35)
        picked = [
            source.through(store.client, store.database, where, engine.view, box)
            for source in (EngineSamples(), MemorySamples(cache))
        ]
        assert sorted(picked[0]) == sorted(picked[1]), where


@pytest.mark.embedded_only
def test_a_serial_search_or_a_wider_filter_is_not_picked_out_of_a_held_one(demo_store):
    store, _ = demo_store
    for where in (
        CurveFilter.of(process="press-fit"),  # wider
        CurveFilter.of(process="press-fit", result="OK", serial="0"),  # the engine's search
        CurveFilter.of(process="press-fit", result=["OK", "NOK"]),  # wider too
        CurveFilter.of(process="screwdriving", result="OK"),  # beside it
    ):
        cache = HotCache(BIG)
        cache.get(store.client, store.database, CurveFilter.of(process="press-fit", result="OK"))
        cache.get(store.client, store.database, where)
        assert cache.loads == 2, where


def one(codes) -> np.ndarray:
    """The offsets of an answer holding one curve."""
    return np.array([0, len(codes)], np.int64)


def test_codes_gathered_answer_by_answer_widen_when_one_does_not_fit_int16():
    small, wide = np.array([-3, 7, 32767], np.int16), np.array([40_000, -40_000], np.int32)
    codes = _Codes(total=4)  # fewer than arrive: the point counts may undercount
    for answer in (small, wide, small.astype(np.int32)):
        codes.add(answer, one(answer))
    held = codes.held()
    assert held.dtype == np.int32 and codes.bases() is None
    assert held.tolist() == [*small.tolist(), *wide.tolist(), *small.tolist()]
    narrow = _Codes(total=6)
    narrow.add(small, one(small))
    narrow.add(small.astype(np.int32), one(small))
    assert narrow.held().dtype == np.int16 and narrow.held().tolist() == small.tolist() * 2


def test_relative_codes_fit_int16_where_each_curve_range_does():
    high = np.array([40_000, 90_000, 65_000], np.int32)  # a range of 50,000 above 2**15
    low = np.array([-5, 5], np.int32)
    codes = _Codes(total=5, relative=True)
    codes.add(np.concatenate([high, low]), np.array([0, 3, 5], np.int64))
    assert codes.held().dtype == np.int16
    assert codes.bases().tolist() == [65_000, 0]
    assert (codes.held() + np.repeat(codes.bases(), [3, 2])).tolist() == [*high, *low]
    wider = np.array([0, 70_000], np.int32)  # a range beyond 2**16: int32 from here on
    codes.add(wider, one(wider))
    held = codes.held() + np.repeat(codes.bases(), [3, 2, 2])
    assert codes.held().dtype == np.int32 and held.tolist() == [*high, *low, *wider]


def test_x_held_as_byte_steps_until_a_step_does_not_fit():
    first, second = np.array([100, 90, 217, 217], np.int16), np.array([-7, 120], np.int16)
    steps = _Steps(total=6)
    assert steps.add(np.concatenate([first, second]), np.array([0, 4, 6], np.int64))
    assert steps.held().dtype == np.int8 and steps.held().tolist() == [0, -10, 127, 0, 0, 127]
    assert steps.firsts().tolist() == [100, -7] and steps.lasts().tolist() == [217, 120]
    big = np.array([0, 128], np.int16)
    assert not steps.add(big, one(big))  # nothing added: the caller carries on with codes
    codes = steps.as_codes()
    codes.add(big, one(big))
    assert codes.held().tolist() == [*first, *second, *big]


@pytest.mark.embedded_only
def test_each_load_and_only_a_load_is_followed_by_the_after_load_hook(demo_store):
    store, _ = demo_store
    released = []
    cache = HotCache(BIG, after_load=released.append)
    press = CurveFilter.of(process="press-fit")
    for where in (press, press, CurveFilter.of(process="press-fit", result="OK")):
        cache.get(store.client, store.database, where)
    assert released == [store.client]  # held, then picked out of the held: one load


def _late(seed: int, curves: int = 30) -> list[CurveBatch]:
    """Demo parts with keys of their own, as another import or a live micro-batch brings."""
    batches = list(generate_demo(DemoSpec(curves=curves, seed=seed)))
    for batch in batches:
        batch.meta["curve_key"] = batch.meta["curve_key"] + f"-late{seed}"
    return batches


def held_curves(hot) -> dict:
    """Each held curve's key with its codes and steps, in a form that ignores the order."""
    return {
        key: (
            *(codes.tolist() for codes in hot.codes(i)),
            tuple(hot.steps[:, i]),
        )
        for i, key in enumerate(hot.meta["curve_key"])
    }


def test_curves_committed_later_are_added_to_a_held_filter_not_loaded_again(demo_store):
    store, _ = demo_store
    cache = HotCache(BIG)
    where = CurveFilter.of(process="press-fit")
    first = cache.get(store.client, store.database, where)
    kept = {name: getattr(first, name).copy() for name in ("x", "y", "offsets", "steps")}
    for seed in (11, 12):  # two commits, as the live listener makes one a second
        store.write(_late(seed), DatasetSpec(project="demo", kind="import", name=f"late{seed}"))
        grown = cache.get(store.client, store.database, where)
        assert cache.loads == 1 and grown is not first
        assert held_curves(grown) == held_curves(load(store.client, store.database, where))
        view = View(width=90, height=45)
        engine, hot = both(store, where, view, cache)
        np.testing.assert_array_equal(hot.counts, engine.counts)
        assert hot.curves == engine.curves
    assert cache.appends == 2 and cache.loads == 1
    for name, values in kept.items():  # a session still drawing the first sees what it saw
        np.testing.assert_array_equal(getattr(first, name), values)
    # A narrower filter is picked out of the grown one, late curves included.
    station = CurveFilter.of(process="press-fit", result="OK")
    narrowed = cache.get(store.client, store.database, station)
    assert narrowed.rows is not None and cache.loads == 1
    engine, hot = both(store, station, View(width=90, height=45), cache)
    np.testing.assert_array_equal(hot.counts, engine.counts)


def test_a_committed_curve_with_a_step_beyond_a_byte_turns_the_held_x_into_codes(demo_store):
    """x held as byte steps, then a commit brings a curve that jumps 500 codes: the grown
    filter holds x as codes, every curve as stored, drawn like the engine; the first is as
    it was."""
    store, _ = demo_store
    cache = HotCache(BIG)
    where = CurveFilter.of(process="press-fit")
    first = cache.get(store.client, store.database, where)
    assert first.x_first is not None
    kept = first.x.copy()
    late = _late(13)
    batch = next(b for b in late if "press-fit" in set(b.meta["process"]))
    i = int(np.flatnonzero(batch.meta["process"].to_numpy() == "press-fit")[0])
    s, e = batch.offsets[i], batch.offsets[i + 1]
    batch.x[(s + e) // 2 : e] += 500
    store.write(late, DatasetSpec(project="demo", kind="import", name="late13"))
    grown = cache.get(store.client, store.database, where)
    assert cache.appends == 1 and grown.x_first is None and grown.x.dtype == np.int16
    assert held_curves(grown) == held_curves(load(store.client, store.database, where))
    for view in (
        View(width=90, height=45),
        View(width=90, height=45).zoomed((5.0, 9.0), (0.0, 30.0)),
    ):
        engine, hot = both(store, where, view, cache)
        np.testing.assert_array_equal(hot.counts, engine.counts)
    np.testing.assert_array_equal(first.x, kept)


def test_curves_held_already_when_their_commit_is_seen_are_not_added_twice(demo_store):
    """A load may read a dataset's curves before its commit record: the version it stamps
    predates them, and the next view must not add them again."""
    store, _ = demo_store
    cache = HotCache(BIG)
    where = CurveFilter.of(process="press-fit")
    before = store_version(store.client, store.database)
    store.write(_late(13), DatasetSpec(project="demo", kind="import", name="late"))
    cache.get(store.client, store.database, where)
    (held,) = cache._entries.values()
    held.version = before  # as if read just before that commit
    again = cache.get(store.client, store.database, where)
    assert again.meta["curve_id"].is_unique
    assert held_curves(again) == held_curves(load(store.client, store.database, where))
    assert cache.loads == 1


@pytest.mark.embedded_only
def test_a_deleted_dataset_has_the_filter_loaded_again(demo_store):
    store, _ = demo_store
    cache = HotCache(BIG)
    where = CurveFilter.of(process="press-fit")
    late = store.write(_late(14), DatasetSpec(project="demo", kind="import", name="late"))
    with_late = cache.get(store.client, store.database, where)
    store.delete_datasets([late.dataset_id])
    without = cache.get(store.client, store.database, where)
    assert cache.loads == 2 and cache.appends == 0
    assert len(without.meta) < len(with_late.meta)
    assert held_curves(without) == held_curves(load(store.client, store.database, where))


def test_codes_appended_later_leave_arrays_given_out_before_unchanged():
    codes = _Codes(total=3)
    codes.add(np.array([1, 2, 3], np.int16), np.array([0, 3]))
    given = codes.held()
    codes.add(np.array([4], np.int16), np.array([0, 1]))  # past the room asked for: a new buffer
    roomy = codes.held()
    codes.add(np.array([5], np.int16), np.array([0, 1]))  # into the room left: the same buffer
    codes.add(np.array([70_000], np.int32), np.array([0, 1]))  # wider: a new buffer again
    assert given.tolist() == [1, 2, 3] and given.dtype == np.int16
    assert roomy.tolist() == [1, 2, 3, 4] and roomy.dtype == np.int16
    assert codes.held().tolist() == [1, 2, 3, 4, 5, 70_000] and codes.held().dtype == np.int32


@pytest.mark.embedded_only
def test_a_filter_too_large_to_hold_is_remembered_once_across_commits(demo_store):
    store, _ = demo_store
    cache = HotCache(1000)  # bytes: nothing fits
    asked = []
    fits = cache._fits
    cache._fits = lambda *args: asked.append(1) or fits(*args)
    where = CurveFilter.of(process="press-fit")
    late = []
    for i in range(3):  # each view after a commit: asked once, one entry however many commits
        late.append(store.write(_late(20 + i), DatasetSpec("demo", "import", f"l{i}")))
        assert cache.get(store.client, store.database, where) is None
    assert len(asked) == 1 and len(cache._too_big) == 1
    store.delete_datasets([w.dataset_id for w in late])  # fewer curves: it may fit now
    assert cache.get(store.client, store.database, where) is None
    assert len(asked) == 2


def first_share(sizes: list[int], run: int, fraction: float, cap: int) -> list[int]:
    """The first share, plainly: curves in the store's order, every k-th run of ``run``
    neighbours (k = samples / share), until the share's samples are read."""
    total = sum(sizes)
    share = min(total * fraction, cap)
    stride = max(1, int(total // share))
    chosen, read = [], 0
    for i, size in enumerate(sizes):
        if (i // run) % stride == 0 and read < share:
            chosen.append(i)
            read += size
    return chosen


def test_a_large_load_shows_a_first_share_of_its_curves_on_the_final_axes(demo_store, monkeypatch):
    store, batches = demo_store
    monkeypatch.setattr(hot_module, "PREVIEW_MIN_SAMPLES", 1)
    monkeypatch.setattr(hot_module, "PREVIEW_RUN", 4)
    where = CurveFilter.of(process="screwdriving")
    reader = Curves(store.client, store.database, where, source=MemorySamples(HotCache(BIG)))
    previews = []
    final = reader.density(View(width=120, height=60), preview=previews.append)
    (first,) = previews
    assert final.loading == 0 and first.loading == final.curves
    assert first.view == final.view  # fitted to every matching curve, not to the share
    assert 0 < first.curves < final.curves
    # The share: runs of neighbouring curves in the tables' sort key, spread over the filter,
    # about a quarter of the samples, each drawn exactly.
    rows = sorted(
        (
            (
                row.plant,
                row.line,
                row.station,
                row.started_at,
                int(curve_ids("demo", [row.curve_key])[0]),
            ),
            int(batch.offsets[i + 1] - batch.offsets[i]),
            row.curve_key,
        )
        for batch in batches
        for i, row in enumerate(batch.meta.itertuples())
        if row.process == "screwdriving"
    )
    sizes = [size for _, size, _ in rows]
    chosen = first_share(sizes, 4, 0.25, hot_module.PREVIEW_MAX_SAMPLES)
    assert first.curves == len(chosen) and len({rows[i][0][2] for i in chosen}) > 1
    keys = {rows[i][2] for i in chosen}
    whole = full_curves(batches, lambda row: row.curve_key in keys)
    np.testing.assert_array_equal(first.counts, expected(whole, first.view))
    # and never more than PREVIEW_MAX_SAMPLES (the curve that reaches it included)
    cap = sum(sizes) // 10
    monkeypatch.setattr(hot_module, "PREVIEW_MAX_SAMPLES", cap)
    _, capped = hot_module._preview_first(pd.DataFrame({"point_count": sizes}))
    assert capped == len(first_share(sizes, 4, 0.25, cap)) < len(chosen)
    # Held now: the next view draws at once, with no first picture.
    reader.density(View(width=120, height=60), preview=previews.append)
    assert len(previews) == 1


@pytest.mark.embedded_only
def test_a_small_load_or_the_engine_shows_no_first_picture(demo_store):
    store, _ = demo_store
    where = CurveFilter.of(process="press-fit", station="LEJ-L1-ST010")
    previews = []
    for source in (MemorySamples(HotCache(BIG)), EngineSamples()):
        Curves(store.client, store.database, where, source=source).density(
            View(width=60, height=30), preview=previews.append
        )
    assert previews == []


@pytest.mark.embedded_only
def test_a_first_picture_that_fails_leaves_the_whole_one(demo_store, monkeypatch, caplog):
    store, _ = demo_store
    monkeypatch.setattr(hot_module, "PREVIEW_MIN_SAMPLES", 1)
    where = CurveFilter.of(process="spot-weld")

    def refuse(_image):
        raise RuntimeError("the page went away")

    reader = Curves(store.client, store.database, where, source=MemorySamples(HotCache(BIG)))
    whole = reader.density(View(width=60, height=30), preview=refuse)
    engine = Curves(store.client, store.database, where).density(View(width=60, height=30))
    np.testing.assert_array_equal(whole.counts, engine.counts)
    assert "a first picture could not be shown" in caplog.text
