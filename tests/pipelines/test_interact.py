"""Pick, highlight, envelope and compare, each checked against a brute-force computation."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.curves import Curves
from pipelines.density import curve_density, view_transform
from pipelines.fetch import ENVELOPE_LEVELS
from pipelines.kernels.m4 import m4_keep
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter, View
from tests.pipelines.density_reference import concatenate
from tests.pipelines.test_fetch import full_curves

VIEW = dict(x_range=(0.0, 10.0), y_range=(-5.0, 5.0), width=30, height=20)

# Logic above the engine's reading: the node runs the reading and SQL tests elsewhere.
pytestmark = pytest.mark.embedded_only


def density_of(curves, view):
    x, y, offsets = concatenate(curves)
    return curve_density(x, y, offsets, **view)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.one_of(st.floats(-3, 13), st.just(np.nan)),
                st.one_of(st.floats(-8, 8), st.just(np.nan)),
            ),
            min_size=0,
            max_size=60,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_m4_keeps_every_pixel(curves):
    arrays = [(np.array([p[0] for p in c]), np.array([p[1] for p in c])) for c in curves]
    x, y, offsets = concatenate(arrays)
    keep = m4_keep(x, y, offsets, view_transform(**VIEW))
    kept = [
        (cx[m], cy[m]) for (cx, cy), m in zip(arrays, np.split(keep, offsets[1:-1]), strict=True)
    ]
    np.testing.assert_array_equal(density_of(kept, VIEW), density_of(arrays, VIEW))


def test_m4_reduces_dense_curves():
    x = np.linspace(0, 10, 5000)
    y = np.sin(x) * 3 + np.random.default_rng(0).normal(0, 0.2, 5000)
    keep = m4_keep(x, y, np.array([0, 5000]), view_transform(**VIEW))
    assert keep.sum() <= 4 * VIEW["width"] + 2
    np.testing.assert_array_equal(
        density_of([(x[keep], y[keep])], VIEW), density_of([(x, y)], VIEW)
    )


@pytest.fixture
def demo_store(store):
    batches = list(generate_demo(DemoSpec(curves=90, seed=9)))
    store.write(batches, DatasetSpec(project="demo", kind="demo", name="d"))
    return store, batches


PRESS = CurveFilter.of(process="press-fit")
PRESS_VIEW = View(x_range=(0.0, 16.0), y_range=(0.0, 40.0), width=160, height=100)


def brute_force_pick(batches, box):
    keys = []
    for batch in batches:
        for i, row in batch.meta.iterrows():
            if row.process != "press-fit":
                continue
            s, e = batch.offsets[i], batch.offsets[i + 1]
            counts = density_of(
                [(batch.x[s:e] * row.x_step, batch.y[s:e] * row.y_step)],
                dict(x_range=PRESS_VIEW.x_range, y_range=PRESS_VIEW.y_range, width=160, height=100),
            )
            c0, c1, r0, r1 = box
            if counts[r0 : r1 + 1, c0 : c1 + 1].any():
                keys.append(row.curve_key)
    return sorted(keys)


@pytest.mark.integration
@pytest.mark.parametrize(
    "box", [(80, 80, 30, 30), (70, 90, 20, 60), (0, 159, 0, 0), (120, 125, 95, 99)]
)
def test_pick_finds_exactly_the_curves_drawn_there(demo_store, box):
    store, batches = demo_store
    picked = Curves(store.client, store.database, PRESS).pick(PRESS_VIEW, box, limit=1000)
    expected = brute_force_pick(batches, box)
    assert picked.total == len(expected)
    assert sorted(picked.curves["curve_key"]) == expected
    if expected:
        assert picked.curves["started_at"].is_monotonic_decreasing
        assert {"part_serial", "result", "station"} <= set(picked.curves.columns)


@pytest.mark.integration
def test_pick_limit_keeps_the_total(demo_store):
    store, _ = demo_store
    picked = Curves(store.client, store.database, PRESS).pick(PRESS_VIEW, (0, 159, 0, 99), limit=3)
    assert len(picked.curves) == 3 and picked.total == 30


@pytest.mark.integration
def test_highlight_draws_the_same_pixels_with_fewer_points(demo_store):
    store, batches = demo_store
    press = Curves(store.client, store.database, PRESS)
    wanted = press.pick(PRESS_VIEW, (0, 159, 0, 99), limit=5)
    ids = wanted.curves["curve_id"].tolist()
    lines = press.highlight(ids, PRESS_VIEW)
    assert sorted(line.meta.curve_id for line in lines) == sorted(ids)
    keys = set(wanted.curves["curve_key"])
    originals = full_curves(batches, lambda r: r.curve_key in keys)
    view = dict(x_range=PRESS_VIEW.x_range, y_range=PRESS_VIEW.y_range, width=160, height=100)
    np.testing.assert_array_equal(
        density_of([(line.x, line.y) for line in lines], view), density_of(originals, view)
    )
    assert sum(len(line.x) for line in lines) < sum(len(c[0]) for c in originals)


@pytest.mark.integration
def test_envelope_matches_numpy(demo_store):
    store, batches = demo_store
    view = View(x_range=(0.0, 16.0), y_range=(0.0, 40.0))
    bands = Curves(store.client, store.database, PRESS).envelope(view, bins=40)
    per_curve = []
    for x, y in full_curves(batches, lambda r: r.process == "press-fit"):
        b = np.floor((x - 0.0) * (40 / 16.0)).astype(int)
        ok = (b >= 0) & (b < 40)
        per_curve.append(pd.Series(y[ok]).groupby(b[ok]).mean())
    table = pd.concat(per_curve, axis=1)
    expected = table.quantile(list(ENVELOPE_LEVELS), axis=1, interpolation="linear").T
    got = bands.set_index(np.floor((bands["x"] - 0.0) * 40 / 16.0).astype(int))
    assert got.index.tolist() == sorted(table.index)  # every bin with data, no other
    for level in ENVELOPE_LEVELS:
        column = f"p{round(level * 100):02d}"
        np.testing.assert_allclose(got[column], expected[level].loc[got.index], rtol=1e-9)
    assert (got["curves"] == table.count(axis=1).loc[got.index]).all()
    assert (bands["p05"] <= bands["p50"]).all() and (bands["p50"] <= bands["p95"]).all()


@pytest.mark.integration
def test_compare_two_selections_on_one_canvas(demo_store):
    store, batches = demo_store
    meta = pd.concat([b.meta for b in batches], ignore_index=True)
    welds = meta[meta["process"] == "spot-weld"]
    first, second = sorted(welds["line"].unique())[:2]  # two lines' welds, one canvas
    a = CurveFilter.of(process="spot-weld", line=first)
    b = CurveFilter.of(process="spot-weld", line=second)
    stored = Curves(store.client, store.database)
    result = stored.matching(a).compare(stored.matching(b), View(width=80, height=40))
    assert result.a.view == result.b.view
    assert result.a.curves == (welds["line"] == first).sum() > 0
    assert result.b.curves == (welds["line"] == second).sum() > 0
    diff = result.difference
    expected = result.a.counts / result.a.curves - result.b.counts / result.b.curves
    np.testing.assert_allclose(diff, expected)
    assert diff.max() > 0 > diff.min()  # the two lines' welds differ somewhere
