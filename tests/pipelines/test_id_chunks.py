"""Curve id lists go to the engine in chunks of at most ``frames.ID_CHUNK``: clickhouse-connect
sends bind parameters over 4 KiB as a multipart form, and a ClickHouse server caps a form field
at 128 KiB (about 6,000 ids), so a 10k-curve view must not bind all its ids at once. With a
chunk of 7 ids every read and the import's conflict check answer as with one list."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines import frames, hot
from pipelines.curves import Curves
from pipelines.hot import load
from pipelines.store import DatasetSpec, ImportConflictError
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter, View

pytestmark = pytest.mark.integration
CHUNK = 7


def watch_ids(monkeypatch, client) -> list[int]:
    """Record the length of every bound ``ids`` list the client sends."""
    sizes: list[int] = []
    for name in ("query", "query_df", "raw_query"):
        sent = getattr(client, name)

        def recorded(*args, _sent=sent, **kwargs):
            ids = (kwargs.get("parameters") or {}).get("ids")
            if ids is not None:
                sizes.append(len(ids))
            return _sent(*args, **kwargs)

        monkeypatch.setattr(client, name, recorded)
    return sizes


def per_curve(ids, offsets, x, y) -> dict[int, tuple]:
    """Each curve's samples by id, whatever order the engine answered in (NaN cuts kept)."""
    x, y = (np.nan_to_num(np.asarray(v, dtype=float), nan=np.inf) for v in (x, y))
    return {
        int(cid): (x[offsets[i] : offsets[i + 1]].tolist(), y[offsets[i] : offsets[i + 1]].tolist())
        for i, cid in enumerate(ids)
    }


def reads(store):
    """What the explorer reads by curve ids: the hot load, samples, a pick and its lines."""
    press = Curves(store.client, store.database).filter(project="a", process="press-fit")
    hot = load(store.client, store.database, CurveFilter.of(project="a"))
    whole = press.samples()
    cut = press.samples(x_range=(5.0, 6.0))
    image = press.density(View(width=60, height=30))
    found = press.pick(image.view, (0, 59, 0, 29), limit=4)
    lines = press.highlight(found.curves["curve_id"].tolist(), image.view)
    return {
        "hot": per_curve(hot.meta["curve_id"], hot.offsets, hot.x, hot.y),
        "whole": per_curve(whole.meta["curve_id"], whole.offsets, whole.x, whole.y),
        "cut": per_curve(cut.meta["curve_id"], cut.offsets, cut.x, cut.y),
        "pick": (found.total, found.curves["curve_id"].tolist()),
        "lines": sorted(line.meta.curve_id for line in lines),
    }


def test_reads_by_id_are_chunked_and_answer_the_same(store, monkeypatch):
    store.write(generate_demo(DemoSpec(curves=60, seed=4)), DatasetSpec("a", "demo", "a"))
    one_list = reads(store)
    monkeypatch.setattr(frames, "ID_CHUNK", CHUNK)
    sizes = watch_ids(monkeypatch, store.client)
    chunked = reads(store)
    assert chunked == one_list
    assert sizes and max(sizes) <= CHUNK
    assert sizes.count(CHUNK) > 3  # the lists were long: they really went in pieces


def test_id_chunks_take_a_smaller_size_never_a_larger_one(monkeypatch):
    ids = list(range(23))
    assert [len(c) for c in frames.id_chunks(ids, 5)] == [5, 5, 5, 5, 3]
    assert [i for c in frames.id_chunks(ids, 5) for i in c] == ids
    monkeypatch.setattr(frames, "ID_CHUNK", 4)  # the bound list's limit wins over a larger ask
    assert [len(c) for c in frames.id_chunks(ids, 10)] == [4, 4, 4, 4, 4, 3]
    assert list(frames.id_chunks([], 5)) == []


def test_a_hot_load_asks_for_its_own_smaller_answers(store, monkeypatch):
    """A load reads :data:`pipelines.hot.LOAD_CHUNK` curves per answer (the engine's memory for
    an answer is what a load needs beyond what it keeps), a large one LARGE_LOAD_CHUNK, and
    holds the same curves."""
    store.write(generate_demo(DemoSpec(curves=60, seed=4)), DatasetSpec("a", "demo", "a"))
    whole = load(store.client, store.database, CurveFilter.of(project="a"))
    monkeypatch.setattr(hot, "LOAD_CHUNK", 4)
    sizes = watch_ids(monkeypatch, store.client)
    small = load(store.client, store.database, CurveFilter.of(project="a"))
    assert sizes and max(sizes) <= 4 and len(sizes) >= 60 // 4
    assert per_curve(small.meta["curve_id"], small.offsets, small.x, small.y) == per_curve(
        whole.meta["curve_id"], whole.offsets, whole.x, whole.y
    )
    monkeypatch.setattr(hot, "LARGE_LOAD_SAMPLES", 1_000)  # these 60 curves count as large
    monkeypatch.setattr(hot, "LARGE_LOAD_CHUNK", 3)
    sizes.clear()
    large = load(store.client, store.database, CurveFilter.of(project="a"))
    assert max(sizes) <= 3 and len(sizes) >= 60 // 3
    assert per_curve(large.meta["curve_id"], large.offsets, large.x, large.y) == per_curve(
        whole.meta["curve_id"], whole.offsets, whole.x, whole.y
    )


def test_the_import_conflict_check_is_chunked(store, monkeypatch):
    batches = list(generate_demo(DemoSpec(curves=45, seed=5, batch_points=60_000)))
    spec = DatasetSpec(project="demo", kind="demo", name="d")
    first = store.write(batches, spec)
    monkeypatch.setattr(frames, "ID_CHUNK", CHUNK)
    sizes = watch_ids(monkeypatch, store.client)
    again = store.write(batches, spec)
    assert again.curves_skipped == first.curves_added == 45
    assert sizes and max(sizes) <= CHUNK
    changed = batches[-1]
    changed.y[0] += 1  # same keys, other samples
    with pytest.raises(ImportConflictError, match="different samples"):
        store.write([changed], spec)
